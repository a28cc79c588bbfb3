"""What the generator and the runner share: the scratch database URL and a Flask app bound to it.

The generator connects as the superuser ``postgres``: it needs to bypass row-level security to
bulk-load every school's rows at once. The runner connects with whatever URL it is given; give it the
role made by ``bench.generate --app-role`` to time the engine as production runs it, with the tenant
policies enforced (docs/performance.md gives both).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import make_url

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/houqin_bench"


def database_name(url: str) -> str:
    name = make_url(url).database
    if not name or not name.replace("_", "").isalnum():
        raise SystemExit(f"the database name must be letters, digits and underscores: {name!r}")
    return name


def maintenance_url(url: str) -> str:
    """The same server and user, database ``postgres`` (to drop and create the scratch database)."""
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


def psycopg_url(url: str) -> str:
    """A plain libpq URL (``postgresql://``) for psycopg, whatever SQLAlchemy driver the URL names."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def bench_app(url: str, **overrides: Any) -> Any:
    """The Flask app on the bench database; Celery is eager and local unless overridden.

    Not eager by default would need a broker; eager with nothing subscribed sends nothing anyway.
    """
    from service import create_app

    config: dict[str, Any] = {
        "DATABASE_URL": psycopg_url(url),
        "MIGRATION_DATABASE_URL": psycopg_url(url),
        "SECRET_KEY": "bench-not-secret-0123456789-abcdefghij",
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "memory://",
        "CELERY_RESULT_BACKEND": None,
        "CELERY_ALWAYS_EAGER": True,
        "RATELIMIT_ENABLED": False,
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    config.update(overrides)
    return create_app(config)
