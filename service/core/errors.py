"""One JSON error shape for the API: ``{"errors": {field: [messages]}, "message": ...}``.

422 for invalid input (field-level messages in the user's language), 404 for anything outside the
caller's scope (another school's ids look exactly like ids that do not exist), 403 for a role that
may see but not change, 409 for workflow conflicts.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_smorest import Api
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """A refusal by the domain layer; the API turns it into a JSON error with ``status``."""

    status = 422

    def __init__(self, errors: dict[str, list[str]] | str, status: int | None = None) -> None:
        if isinstance(errors, str):
            errors = {"_schema": [errors]}
        self.errors = errors
        if status is not None:
            self.status = status
        super().__init__(errors)


class NotFound(DomainError):
    status = 404

    def __init__(self) -> None:
        super().__init__({"_request": [_("Not found.")]})


class Conflict(DomainError):
    status = 409


def _flatten(messages: Any) -> dict[str, list[str]]:
    """webargs nests errors by location (``json``, ``query``); callers want them by field."""
    out: dict[str, list[str]] = {}
    if not isinstance(messages, dict):
        return {"_schema": [str(messages)]}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            for field, msgs in fields.items():
                out.setdefault(field, []).extend(_strings(msgs))
        else:
            out.setdefault(location, []).extend(_strings(fields))
    return out


def _strings(msgs: Any) -> list[str]:
    """Messages as plain strings (lazy translations resolved; nested errors flattened)."""
    if isinstance(msgs, dict):
        return [f"{k}: {m}" for k, v in msgs.items() for m in _strings(v)]
    if isinstance(msgs, list | tuple):
        return [m for item in msgs for m in _strings(item)]
    return [str(msgs)]


_DEFAULT_MESSAGES = {
    400: _l("Bad request."),
    401: _l("Authentication required."),
    403: _l("You are not allowed to do this."),
    404: _l("Not found."),
    405: _l("Method not allowed."),
    409: _l("Conflict."),
    413: _l("The upload is too large."),
    422: _l("The input is not valid."),
    429: _l("Too many requests; try again later."),
}


def error_response(status: int, errors: dict[str, list[str]] | None = None) -> Any:
    message = str(_DEFAULT_MESSAGES.get(status, _l("Error.")))
    body = {"code": status, "message": message, "errors": errors or {"_request": [message]}}
    resp = jsonify(body)
    resp.status_code = status
    return resp


def html_error(status: int, error: HTTPException | None = None) -> Any:
    """Error page for the web UI, in the user's language."""
    from flask import render_template

    if error is not None and error.code in (301, 302, 303, 307, 308):
        return error.get_response()
    message = str(_DEFAULT_MESSAGES.get(status, _l("Error.")))
    return render_template("error.html", status=status, message=message), status


class HouqinApi(Api):
    """flask-smorest Api with our error body."""

    def handle_http_exception(self, error: HTTPException) -> Any:
        from flask import request

        if not request.path.startswith("/api/"):
            return html_error(error.code or 500, error)
        data = getattr(error, "data", None) or {}
        errors = _flatten(data["messages"]) if "messages" in data else None
        resp = error_response(error.code or 500, errors)
        if error.code == 401:
            resp.headers["WWW-Authenticate"] = 'Bearer realm="houqin"'
        return resp


def register_domain_errors(app: Any) -> None:
    from flask import request

    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError) -> Any:
        if request.path.startswith("/api/"):
            resp = error_response(error.status, error.errors)
            if error.status == 401:
                resp.headers["WWW-Authenticate"] = 'Bearer realm="houqin"'
            return resp
        return html_error(error.status)
