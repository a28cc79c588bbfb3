"""The first wall: the ORM scopes every query to the current tenant and stamps inserts.

``install_tenant_scoping`` hooks a session class so that

* every ORM ``SELECT`` (and ORM-enabled ``UPDATE``/``DELETE``) gets
  ``with_loader_criteria(TenantOwned, school_id IN scope)``, and the tenant root table (``schools``) gets
  ``id IN scope``; the bureau scope adds no criteria, and no scope at all matches nothing;
* a flush refuses new, changed or deleted school-owned rows outside the scope, and fills ``school_id``
  when the scope is exactly one school;
* on PostgreSQL the transaction carries the scope in ``app.scope`` / ``app.school_id`` (see
  :mod:`tenants.rls`), re-applied whenever the scope changes inside a transaction.

ORM criteria do not cover Core statements on raw connections or identity-map hits of ``Session.get``;
row-level security is the floor that catches those, and operations fetch by id with a ``select``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, event
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)

from tenants import rls
from tenants.context import TenantScope, TenantViolation, current_scope

_INSTALLED_KEY = "_houqin_tenant_scoping"


class TenantOwned:
    """Mixin for rows owned by one school: adds the indexed ``school_id`` column.

    Tables with this mixin must also carry ``school_id`` in their primary key or a unique key, and
    reference other school-owned tables with composite ``(school_id, id)`` foreign keys, so the schema
    stays distributable by school.
    """

    __tenant_root_fk__ = "schools.id"
    __tenant_nullable__ = False

    @declared_attr
    def school_id(cls) -> Mapped[int]:
        return mapped_column(
            ForeignKey(cls.__tenant_root_fk__, ondelete="RESTRICT"),
            index=True,
            nullable=cls.__tenant_nullable__,
        )


def _visible_ids(scope: TenantScope) -> tuple[int, ...]:
    return tuple(sorted(scope.school_ids))


def install_tenant_scoping(session_cls: type[Session], tenant_root: type[Any]) -> None:
    """Attach the scoping hooks to ``session_cls``; ``tenant_root`` is the mapped tenant class."""
    if getattr(session_cls, _INSTALLED_KEY, False):
        return
    setattr(session_cls, _INSTALLED_KEY, True)

    @event.listens_for(session_cls, "do_orm_execute")
    def _scope_statement(state: ORMExecuteState) -> None:
        scope = current_scope()
        rls.sync_session(state.session, scope)
        if state.is_column_load:
            return  # refreshing attributes of a row that was already loaded in scope
        if not (state.is_select or state.is_update or state.is_delete):
            return
        if scope.is_bureau:
            return
        ids = _visible_ids(scope)
        state.statement = state.statement.options(
            with_loader_criteria(
                TenantOwned,
                lambda cls: cls.school_id.in_(ids),
                include_aliases=True,
                track_closure_variables=True,
            ),
            with_loader_criteria(
                tenant_root,
                lambda cls: cls.id.in_(ids),
                include_aliases=True,
                track_closure_variables=True,
            ),
        )

    @event.listens_for(session_cls, "before_flush")
    def _check_writes(session: Session, flush_context: Any, instances: Any) -> None:
        scope = current_scope()
        for obj in session.new:
            if isinstance(obj, tenant_root):
                if not scope.is_bureau:
                    raise TenantViolation("only the bureau scope may create schools")
            elif isinstance(obj, TenantOwned):
                if obj.school_id is None and not scope.is_bureau:
                    sid = scope.single_school_id
                    if sid is None:
                        raise TenantViolation(
                            f"cannot tell which school owns a new {type(obj).__name__} in scope {scope}"
                        )
                    obj.school_id = sid
                elif obj.school_id is not None and not scope.allows(obj.school_id):
                    raise TenantViolation(
                        f"{type(obj).__name__} for school {obj.school_id} is outside scope {scope}"
                    )
        for obj in list(session.dirty) + list(session.deleted):
            if isinstance(obj, tenant_root):
                owner = obj.id
            elif isinstance(obj, TenantOwned):
                owner = obj.school_id
            else:
                continue
            if owner is None and scope.is_bureau:
                continue
            if not scope.allows(owner):
                raise TenantViolation(f"{type(obj).__name__} of school {owner} is outside scope {scope}")
        rls.sync_session(session, scope)

    @event.listens_for(session_cls, "after_begin")
    def _apply_on_begin(session: Session, transaction: Any, connection: Any) -> None:
        rls.apply(connection, current_scope(), session.info)

    @event.listens_for(session_cls, "after_transaction_end")
    def _forget_applied(session: Session, transaction: Any) -> None:
        if transaction.parent is None:
            session.info.pop(rls.APPLIED_KEY, None)
