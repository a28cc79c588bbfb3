# syntax=docker/dockerfile:1
#
# One image for every Houqin process: web (gunicorn), worker and beat (celery), and the one-shot
# `houqin db upgrade` migration job. docker-compose.yml picks the process with `command:`.
#
#   docker build -t houqin:latest .
#   docker run --rm -p 8000:8000 -e DATABASE_URL=... -e REDIS_URL=... houqin:latest

FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    TZ=Asia/Shanghai \
    LANG=C.UTF-8

# System libraries (no compilers: every Python dependency ships a manylinux wheel).
#  - fonts-noto-cjk: Chinese glyphs for the PDF certificates (奖状); without it they render as boxes.
#  - libpango-1.0-0, libpangoft2-1.0-0, libharfbuzz-subset0: what WeasyPrint loads at run time
#    (its documented package list for Debian >= 11).
#  - tzdata: bookworm-slim no longer ships it; zoneinfo needs it for Asia/Shanghai.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        fonts-noto-cjk \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        libharfbuzz-subset0 \
        tzdata \
    && rm -rf /var/lib/apt/lists/*

# Unprivileged runtime user with a fixed uid (for volume permissions and `runAsUser`-style policies).
RUN groupadd --system --gid 10001 houqin \
    && useradd --system --uid 10001 --gid houqin --home-dir /home/houqin --create-home \
        --shell /usr/sbin/nologin houqin

WORKDIR /app

# Dependencies first, in their own layer, read from pyproject.toml: this layer is rebuilt only when
# the dependency list changes, not on every code edit.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The application. README.m[d] is a glob so the build also works while the README does not exist.
COPY alembic.ini README.m[d] ./
COPY service/ service/
COPY tenants/ tenants/
COPY tasks/ tasks/
COPY migrations/ migrations/
COPY deploy/ deploy/

# Compile translations if the repository ships .po catalogues (no-op otherwise), then install the
# package itself: this puts the `houqin` console script on PATH (dependencies are already present).
# The in-tree build leftovers are removed so /app holds only the sources.
RUN if find service/translations -name '*.po' -print -quit 2>/dev/null | grep -q .; then \
        pybabel compile -d service/translations; \
    fi \
    && pip install . \
    && rm -rf build ./*.egg-info

# Import the packages from /app rather than from site-packages. service.config derives the project
# root (instance/ directory) from the location of the `service` package, and the `houqin db` commands
# need alembic.ini and migrations/ (not a Python package, so not installed) next to it. With /app
# first on sys.path, the console script, gunicorn and celery all load the same copy, found here.
ENV PYTHONPATH=/app

# The code stays owned by root (read-only for the app); only instance/ (embedded-mode data such as a
# SQLite file, unused when DATABASE_URL is set) is writable by the runtime user.
RUN mkdir -p /app/instance && chown houqin:houqin /app/instance

USER houqin

EXPOSE 8000

# No HEALTHCHECK here: the same image runs worker/beat/migrate, which serve no HTTP. The web
# service's health check (GET /healthz) is declared in docker-compose.yml.
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "service:create_app()"]
