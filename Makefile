# The two commands a new user needs (see README.md):
#   make demo   install into .venv, build the embedded demo (SQLite, eager Celery), serve it on :5000
#   make test   install into .venv and run the whole test suite (PostgreSQL + Redis when reachable;
#               required when CI=true)

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install demo test lint i18n

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/houqin demo

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -n 2 --dist loadfile

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

i18n: install
	scripts/i18n extract && scripts/i18n compile
