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
    """Session class carrying the tenant hooks (installed in :mod:`service.models`)."""


_unit: ContextVar[int] = ContextVar("houqin_unit_of_work", default=0)
_unit_counter = itertools.count(1)


def _session_key() -> tuple[int, int]:
    return (threading.get_ident(), _unit.get())


class Database:
    def __init__(self) -> None:
        self.engine: Engine | None = None
        # expire_on_commit=False: the signed-in user was loaded in the bureau scope for authentication;
        # re-loading it after a commit would run in the user's own scope, where a bureau account or an
        # inspector's row is (rightly) invisible.
        self.session = scoped_session(
            sessionmaker(class_=HouqinSession, expire_on_commit=False), scopefunc=_session_key
        )

    def configure(self, url: str, **engine_kwargs: Any) -> Engine:
        if self.engine is not None:
            self.session.remove()
            self.engine.dispose()
        self.engine = make_engine(url, **engine_kwargs)
        self.session.configure(bind=self.engine)
        return self.engine

    def init_app(self, app: Any) -> None:
        self.configure(app.config["DATABASE_URL"])
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
