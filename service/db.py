"""The database: declarative base, one engine, and the scoped session every layer uses.

The session is scoped per thread *and* per unit of work (a request, or one task run - see
:func:`unit_of_work`), so an eager task run after a request's commit gets its own session and
transaction instead of borrowing the request's.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class HouqinSession(Session):
    """Session class carrying the tenant hooks (installed in :mod:`service.models`).

    Inside a Flask app context it talks to that app's engine, so several apps in one process (the
    tests, the demo builder) never share a connection pool by accident - unless the session was given
    an engine of its own (``HouqinSession(bind=...)``): ``houqin db upgrade`` writes the shipped
    defaults through the owner's engine from inside the CLI's app context (:mod:`service.seeding`).
    """

    def get_bind(self, *args: Any, **kwargs: Any) -> Any:
        if self.bind is None and has_app_context():
            engine = current_app.extensions.get(ENGINE_KEY)
            if engine is not None:
                return engine
        return super().get_bind(*args, **kwargs)


ENGINE_KEY = "houqin_engine"

_unit: ContextVar[int] = ContextVar("houqin_unit_of_work", default=0)
_unit_counter = itertools.count(1)


def _session_key() -> tuple[int, int]:
    return (threading.get_ident(), _unit.get())


class Database:
    """The scoped session, and the engine of the current app (or of :meth:`configure` outside one)."""

    def __init__(self) -> None:
        self._default_engine: Engine | None = None
        # expire_on_commit=False: the signed-in user was loaded in the bureau scope for authentication;
        # re-loading it after a commit would run in the user's own scope, where a bureau account or an
        # inspector's row is (rightly) invisible.
        self.session = scoped_session(
            sessionmaker(class_=HouqinSession, expire_on_commit=False), scopefunc=_session_key
        )

    @property
    def engine(self) -> Engine | None:
        if has_app_context() and ENGINE_KEY in current_app.extensions:
            return current_app.extensions[ENGINE_KEY]
        return self._default_engine

    def configure(self, url: str, **engine_kwargs: Any) -> Engine:
        """Bind the session outside any Flask app (scripts, benchmarks)."""
        self.session.remove()
        if self._default_engine is not None:
            self._default_engine.dispose()
        self._default_engine = make_engine(url, **engine_kwargs)
        self.session.configure(bind=self._default_engine)
        return self._default_engine

    def init_app(self, app: Any) -> None:
        app.extensions[ENGINE_KEY] = make_engine(app.config["DATABASE_URL"])
        app.extensions["houqin_db"] = self

        @app.teardown_appcontext
        def _remove_session(exc: BaseException | None) -> None:
            self.session.remove()


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


db = Database()


@contextlib.contextmanager
def unit_of_work() -> Iterator[Session]:
    """A fresh session for one job run; removed (and rolled back if uncommitted) at the end."""
    token = _unit.set(next(_unit_counter))
    try:
        yield db.session()
    finally:
        db.session.remove()
        _unit.reset(token)
