"""Query strings and form fields holding a NUL character (``%00``) or a lone surrogate are refused
before any view runs, on the API (422, JSON error shape, naming the parameter) and on the pages (400).

PostgreSQL cannot store or compare a NUL in ``text`` (``?q=%00`` in a filter failed in the database
as a 500). JSON bodies get the same rule in :mod:`service.core.jsonbody`; uploaded files are read by
their own checks (the workbook upload refuses a damaged file with 422).
"""

from __future__ import annotations

from typing import Any

from flask import request

from service.core.errors import DomainError
from service.core.jsonbody import text_problem


def _refused() -> dict[str, list[str]] | None:
    sources = [request.args]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sources.append(request.form)
    for source in sources:
        for name, value in source.items(multi=True):
            problem = text_problem(name) or text_problem(value)
            if problem:
                return {"?" if text_problem(name) else name: [problem]}
    return None


def install(app: Any) -> None:
    @app.before_request
    def _refuse_unstorable_text() -> Any:
        errors = _refused()
        if errors is None:
            return None
        if request.path.startswith("/api/"):
            raise DomainError(errors)
        from service.core.errors import html_error

        return html_error(400)
