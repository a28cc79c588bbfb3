"""Flask extensions as unbound singletons; :func:`service.create_app` binds them in a fixed order."""

from __future__ import annotations

from flask import has_request_context, request, session
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from service.core.errors import HouqinApi
from service.db import db


def select_locale() -> str:
    """zh_CN unless the user switched to English (stored in the session), or an API call asks for it."""
    if not has_request_context():
        return "zh_CN"  # jobs and the CLI speak the default language
    lang = session.get("lang")
    if lang in ("zh_CN", "en"):
        return lang
    # API clients may ask for English with Accept-Language; the web UI stays Chinese until switched.
    if request.path.startswith("/api/"):
        best = request.accept_languages.best_match(["zh", "zh-CN", "en"])
        if best == "en":
            return "en"
    return "zh_CN"


login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)
api = HouqinApi()

__all__ = ["api", "babel", "csrf", "db", "limiter", "login_manager", "select_locale"]
