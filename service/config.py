"""Settings, read from the environment; the defaults are the embedded demo mode.

Embedded mode (no environment at all): SQLite in ``instance/houqin.sqlite``, Celery eager (jobs run
in-process after the commit), in-memory rate limits, mail printed to the log, and a random secret key
generated once into ``instance/secret_key``. Anything else is a deployment and must set ``SECRET_KEY``
(:func:`resolve_secret_key`).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("HOUQIN_INSTANCE_DIR", ROOT / "instance"))

# SECRET_KEY signs the session cookie: whoever knows it can forge any user's session, the bureau
# admin's included. 32 characters of token_urlsafe are 192 bits; shorter values are passwords.
MIN_SECRET_KEY_LENGTH = 32
SECRET_KEY_FILE = "secret_key"  # the embedded mode's generated key, in the instance dir
MAKE_A_SECRET_KEY = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"


class InsecureSecretKey(RuntimeError):
    """``SECRET_KEY`` is missing or too short where it must be set: the app refuses to start."""


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
        # No default: resolve_secret_key (called by create_app) demands one outside the embedded mode.
        "SECRET_KEY": env.get("SECRET_KEY", ""),
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
        "MAIL_TIMEOUT": float(env.get("MAIL_TIMEOUT", "30")),
        # Where the links in notices point (the web app as recipients reach it).
        "PUBLIC_URL": env.get("PUBLIC_URL", "http://127.0.0.1:5000"),
        # Seconds after which a delivery claimed for sending (or a notice run claimed for rendering)
        # whose worker never finished is taken back; it must exceed the send task's time limit.
        "NOTICE_CLAIM_TIMEOUT": int(env.get("NOTICE_CLAIM_TIMEOUT", "300")),
        # How often beat sends the notices tick (seconds). Two minutes in production; a test that runs
        # two real beat processes uses one second.
        "NOTICES_TICK_SECONDS": float(env.get("NOTICES_TICK_SECONDS", "120")),
        "CELERY_VISIBILITY_TIMEOUT": int(env.get("CELERY_VISIBILITY_TIMEOUT", "0")),
        # Extra kombu transport options as JSON (a test gives its worker its own unacked keys).
        "CELERY_BROKER_TRANSPORT_OPTIONS": json.loads(env.get("CELERY_BROKER_TRANSPORT_OPTIONS") or "{}"),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI") or redis_url or "memory://",
        "RATELIMIT_ENABLED": _bool(env.get("RATELIMIT_ENABLED"), default=True),
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "10 per minute"),
        # Failed logins from one address across all usernames (password spraying); successful ones
        # do not count, so a school's office behind one address is not locked out by its own logins.
        "LOGIN_ADDRESS_RATE_LIMIT": env.get("LOGIN_ADDRESS_RATE_LIMIT", "20 per 10 minutes;100 per day"),
        # Server-side web sessions (service/accounts/sessions.py): end after this long without a
        # request, and this long after the login whatever the activity.
        "SESSION_IDLE_MINUTES": int(env.get("SESSION_IDLE_MINUTES", "120")),
        "SESSION_MAX_HOURS": int(env.get("SESSION_MAX_HOURS", "12")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE")),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE")),
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
        # Number of reverse proxies in front of gunicorn whose X-Forwarded-For/-Proto/-Host are trusted
        # (werkzeug's ProxyFix). 0: the client address is the socket's, a client's own header is ignored.
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", "0")),
        "CERT_WARNING_DAYS": int(env.get("CERT_WARNING_DAYS", "30")),
        "TIMEZONE": "Asia/Shanghai",
        # Excel uploads (service/excel): the workbook's own limit, and the request limit (413) a bit
        # above it for the multipart overhead.
        "EXCEL_MAX_BYTES": int(env.get("EXCEL_MAX_BYTES", str(5 * 1024 * 1024))),
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", str(6 * 1024 * 1024))),
        # Rows per sheet and problems answered per workbook (service/excel/upload.py): a hostile
        # workbook stops there instead of holding a worker for minutes.
        "EXCEL_MAX_ROWS": int(env.get("EXCEL_MAX_ROWS", "5000")),
        "EXCEL_MAX_ERRORS": int(env.get("EXCEL_MAX_ERRORS", "200")),
        # Accepting or reopening a report (or upholding an appeal) re-ranks its month, term and year.
        # The application clock starts at this instant instead of the system clock (ISO 8601; demos,
        # training copies and tests - see service/core/timeutil.py). Never set in production.
        "HOUQIN_NOW": env.get("HOUQIN_NOW", ""),
        "RANKINGS_ON_EVENTS": env.get("RANKINGS_ON_EVENTS", "1") not in ("0", "false", "False"),
    }


def is_embedded(config: Mapping[str, Any]) -> bool:
    """The embedded mode runs on a SQLite file with jobs in-process (the default, and ``houqin demo``).

    A Redis URL means processes that must share a key (web, worker, beat): that is a deployment, even
    one left on SQLite by a mistyped or missing ``DATABASE_URL``.
    """
    return str(config.get("DATABASE_URL") or "").startswith("sqlite") and not config.get("REDIS_URL")


def resolve_secret_key(config: Mapping[str, Any], instance_dir: Path) -> str:
    """The key that signs sessions and CSRF tokens, or :class:`InsecureSecretKey`.

    A deployment must set ``SECRET_KEY`` to at least :data:`MIN_SECRET_KEY_LENGTH` characters: a
    default written in the source or in ``docker-compose.yml`` is public, and with it anybody signs a
    session cookie for the bureau admin. The embedded mode without one does not fall back to a
    constant either: it generates a random key once and keeps it in ``instance_dir``, so demo
    sessions survive a restart. A key that is set is checked in every mode (tests included).
    """
    key = str(config.get("SECRET_KEY") or "")
    if key:
        if len(key) < MIN_SECRET_KEY_LENGTH:
            raise InsecureSecretKey(
                f"SECRET_KEY is too short ({len(key)} characters; at least {MIN_SECRET_KEY_LENGTH}). "
                f"Make one with: {MAKE_A_SECRET_KEY}"
            )
        return key
    if is_embedded(config):
        return _instance_secret_key(instance_dir)
    raise InsecureSecretKey(
        "SECRET_KEY is not set. Outside the embedded (SQLite) mode the web app and the worker need "
        f"a random SECRET_KEY of at least {MIN_SECRET_KEY_LENGTH} characters, the same for every "
        f"process. Make one with: {MAKE_A_SECRET_KEY}"
    )


def _instance_secret_key(instance_dir: Path) -> str:
    """The embedded mode's key: read from ``instance_dir/secret_key``, generated there on first use.

    Written to a private temporary file (mode 0600) and hard-linked into place, so two processes
    starting together never read a half-written key and the second one keeps the first one's key.
    """
    path = instance_dir / SECRET_KEY_FILE
    key = _read_key(path)
    if key is not None:
        return key
    instance_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{SECRET_KEY_FILE}.", dir=instance_dir)  # mode 0600
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
        with contextlib.suppress(FileExistsError):  # another process was first: use its key
            os.link(tmp, path)
    finally:
        os.unlink(tmp)
    key = _read_key(path)
    assert key is not None
    return key


def _read_key(path: Path) -> str | None:
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        return None
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise InsecureSecretKey(
            f"{path} holds no usable key (at least {MIN_SECRET_KEY_LENGTH} characters): "
            "delete it to have a new one generated, or set SECRET_KEY"
        )
    return key
