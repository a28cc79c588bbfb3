"""Settings, read from the environment; the defaults are the embedded demo mode.

Embedded mode (no environment at all): SQLite in ``instance/houqin.sqlite``, Celery eager (jobs run
in-process after the commit), in-memory rate limits, mail printed to the log.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("HOUQIN_INSTANCE_DIR", ROOT / "instance"))


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def from_env(env: dict[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask config mapping from ``env`` (default: ``os.environ``)."""
    env = dict(os.environ if env is None else env)
    database_url = env.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'houqin.sqlite'}"
    redis_url = env.get("REDIS_URL", "")
    eager = _bool(env.get("CELERY_ALWAYS_EAGER"), default=not redis_url)
    return {
        "SECRET_KEY": env.get("SECRET_KEY", "dev-only-not-secret-change-me"),
        "DATABASE_URL": database_url,
        # Migrations run as the table owner; the app connects as a role without ownership or BYPASSRLS.
        "MIGRATION_DATABASE_URL": env.get("MIGRATION_DATABASE_URL") or database_url,
        "APP_DB_ROLE": env.get("APP_DB_ROLE", "houqin_app"),
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": env.get("CELERY_BROKER_URL") or redis_url or "memory://",
        "CELERY_RESULT_BACKEND": env.get("CELERY_RESULT_BACKEND") or (redis_url or None),
        "CELERY_ALWAYS_EAGER": eager,
        "CELERY_QUEUE": env.get("CELERY_QUEUE", "houqin"),
        "MAIL_SERVER": env.get("MAIL_SERVER", ""),
        "MAIL_PORT": int(env.get("MAIL_PORT", "25")),
        "MAIL_USERNAME": env.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD", ""),
        "MAIL_USE_TLS": _bool(env.get("MAIL_USE_TLS")),
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER", "houqin@localhost"),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI") or redis_url or "memory://",
        "RATELIMIT_ENABLED": _bool(env.get("RATELIMIT_ENABLED"), default=True),
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "10 per minute"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE")),
        "WTF_CSRF_CHECK_DEFAULT": False,  # checked in a before_request hook, skipped for bearer tokens
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "LANGUAGES": ["zh_CN", "en"],
        "API_TITLE": "Houqin 后勤 API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs",
        "OPENAPI_SWAGGER_UI_URL": "/static/vendor/swagger-ui/",
        # Number of reverse proxies in front of gunicorn whose X-Forwarded-* headers are trusted.
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", "0")),
        "CERT_WARNING_DAYS": int(env.get("CERT_WARNING_DAYS", "30")),
        "TIMEZONE": "Asia/Shanghai",
        # Excel uploads (service/excel): the workbook's own limit, and the request limit (413) a bit
        # above it for the multipart overhead.
        "EXCEL_MAX_BYTES": int(env.get("EXCEL_MAX_BYTES", str(5 * 1024 * 1024))),
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", str(6 * 1024 * 1024))),
        # Accepting or reopening a report (or upholding an appeal) re-ranks its month, term and year.
        # The application clock starts at this instant instead of the system clock (ISO 8601; demos,
        # training copies and tests - see service/core/timeutil.py). Never set in production.
        "HOUQIN_NOW": env.get("HOUQIN_NOW", ""),
        "RANKINGS_ON_EVENTS": env.get("RANKINGS_ON_EVENTS", "1") not in ("0", "false", "False"),
    }
