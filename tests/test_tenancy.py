"""The two tenant walls: ORM scoping (every backend) and PostgreSQL row-level security."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text, update

from service.accounts.models import User
from service.core.errors import NotFound
from service.core.lookup import get_or_404
from service.db import db
from service.models import school_owned_tables
from service.org.models import School
from service.staff.models import ContractType, StaffMember, StaffRole
from tenants import TenantScope, TenantViolation, use_scope
from tests.conftest import APP_ROLE, District, login


def _new_staff(**kw: Any) -> StaffMember:
    return StaffMember(
        name=kw.pop("name", "新人"),
        role=StaffRole.CLEANER,
        contract_type=ContractType.TEMPORARY,
        hire_date=date(2025, 3, 1),
        **kw,
    )


# --- ORM wall ---------------------------------------------------------------------------------------


def test_no_scope_sees_nothing_and_cannot_insert(app: Any, district: District) -> None:
    with app.app_context():
        assert db.session.scalars(select(School)).all() == []
        assert db.session.scalars(select(StaffMember)).all() == []
        assert db.session.scalar(select(func.count()).select_from(StaffMember)) == 0
        db.session.add(_new_staff(school_id=district.school_a.id))
        with pytest.raises(TenantViolation):
            db.session.flush()
        db.session.rollback()


def test_school_scope_sees_only_its_school(app: Any, district: District) -> None:
    with app.app_context(), use_scope(TenantScope.school(district.school_a.id)):
        assert [s.code for s in db.session.scalars(select(School))] == ["SA"]
        assert [m.name for m in db.session.scalars(select(StaffMember))] == ["张甲厨"]
        # an explicit filter for B does not get around the wall
        assert (
            db.session.scalars(select(StaffMember).where(StaffMember.school_id == district.school_b.id)).all()
            == []
        )
        # joins and subqueries are scoped too
        joined = db.session.execute(select(StaffMember.name, School.name).join(School)).all()
        assert joined == [("张甲厨", "甲小学")]
        in_sub = select(func.count()).select_from(School).where(School.id.in_(select(StaffMember.school_id)))
        assert db.session.scalar(in_sub) == 1


def test_inspector_scope_is_their_clusters_schools(app: Any, district: District) -> None:
    from service.accounts.operations import load_user

    with app.app_context():
        inspector = load_user(district.inspector.id)
        assert inspector is not None
        scope = inspector.acting_scope
        with use_scope(scope):
            codes = sorted(s.code for s in db.session.scalars(select(School)))
        assert codes == ["SA", "SC"]


def test_insert_is_stamped_with_the_scope_school(app: Any, district: District) -> None:
    with app.app_context(), use_scope(TenantScope.school(district.school_a.id)):
        member = _new_staff()
        db.session.add(member)
        db.session.commit()
        assert member.school_id == district.school_a.id


def test_insert_or_update_for_another_school_is_refused(app: Any, district: District) -> None:
    with app.app_context(), use_scope(TenantScope.school(district.school_a.id)):
        db.session.add(_new_staff(school_id=district.school_b.id))
        with pytest.raises(TenantViolation):
            db.session.flush()
        db.session.rollback()
        own = db.session.scalars(select(StaffMember)).one()
        own.school_id = district.school_b.id  # moving a row to another school
        with pytest.raises(TenantViolation):
            db.session.flush()
        db.session.rollback()


def test_inspector_scope_cannot_guess_the_school_of_a_new_row(app: Any, district: District) -> None:
    with app.app_context(), use_scope(TenantScope.schools([district.school_a.id, district.school_c.id])):
        db.session.add(_new_staff())
        with pytest.raises(TenantViolation):
            db.session.flush()
        db.session.rollback()


def test_bulk_update_is_scoped(app: Any, district: District) -> None:
    with app.app_context():
        with use_scope(TenantScope.school(district.school_a.id)):
            db.session.execute(update(StaffMember).values(name="全部改名"))
            db.session.commit()
        with use_scope(TenantScope.bureau()):
            names = dict(db.session.execute(select(StaffMember.school_id, StaffMember.name)).all())
        assert names[district.school_a.id] == "全部改名"
        assert names[district.school_b.id] == "李乙厨"


def test_lookup_by_id_ignores_rows_loaded_in_a_wider_scope(app: Any, district: District) -> None:
    """``Session.get`` would return B from the identity map; ``get_or_404`` always asks the database."""
    with app.app_context():
        with use_scope(TenantScope.bureau()):
            b = db.session.scalars(select(School).where(School.id == district.school_b.id)).one()
            assert b.name == "乙小学"
        with use_scope(TenantScope.school(district.school_a.id)), pytest.raises(NotFound):
            get_or_404(School, district.school_b.id)


def test_only_the_bureau_creates_schools(app: Any, district: District) -> None:
    from service.org.models import CanteenMode, SchoolType

    with app.app_context(), use_scope(TenantScope.school(district.school_a.id)):
        db.session.add(
            School(
                code="SZ",
                name="某学校",
                type=SchoolType.PRIMARY,
                canteen_mode=CanteenMode.NONE,
                cluster_id=district.cluster_1.id,
            )
        )
        with pytest.raises(TenantViolation):
            db.session.flush()
        db.session.rollback()


# --- PostgreSQL row-level security ------------------------------------------------------------------


@pytest.mark.postgres
def test_rls_catalog_every_school_table_forced_with_policy(pg: Any) -> None:
    with pg.admin_engine.connect() as conn:
        tables_with_school_id = set(
            conn.execute(
                text(
                    "SELECT table_name FROM information_schema.columns "
                    "WHERE table_schema = 'public' AND column_name = 'school_id'"
                )
            ).scalars()
        )
        rows = conn.execute(
            text(
                "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
                "(SELECT count(*) FROM pg_policies p WHERE p.tablename = c.relname) AS policies "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind = 'r'"
            )
        ).all()
    catalog = {r.relname: r for r in rows}
    assert tables_with_school_id == set(school_owned_tables())
    for table in sorted(tables_with_school_id | {"schools"}):
        row = catalog[table]
        assert row.relrowsecurity, f"{table}: RLS not enabled"
        assert row.relforcerowsecurity, f"{table}: RLS not forced"
        assert row.policies >= 1, f"{table}: no policy"


@pytest.mark.postgres
def test_app_role_owns_nothing_and_cannot_bypass(pg: Any) -> None:
    with pg.admin_engine.connect() as conn:
        role = conn.execute(
            text(
                "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = :r"
            ),
            {"r": APP_ROLE},
        ).one()
        owned = conn.execute(
            text(
                "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = :r"
            ),
            {"r": APP_ROLE},
        ).scalar()
        db_owner = conn.execute(
            text("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()")
        ).scalar()
        member_of = conn.execute(
            text(
                "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = :r"
            ),
            {"r": APP_ROLE},
        ).scalar()
    assert not role.rolsuper and not role.rolbypassrls and not role.rolcreaterole and not role.rolcreatedb
    assert owned == 0
    assert db_owner != APP_ROLE
    assert member_of == 0


@pytest.fixture
def app_engine(pg: Any) -> Any:
    engine = create_engine(pg.app_url.replace("postgresql://", "postgresql+psycopg://"))
    yield engine
    engine.dispose()


@pytest.mark.postgres
def test_raw_sql_without_tenant_sees_nothing_and_cannot_insert(app_engine: Any, district: District) -> None:
    with app_engine.connect() as conn:
        for table in [*school_owned_tables(), "schools"]:
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0, table
        with pytest.raises(Exception, match="row-level security"):
            conn.execute(
                text(
                    "INSERT INTO staff_members (school_id, name, gender, role, contract_type, hire_date, phone, "
                    "health_cert_no, active, created_at) VALUES (:s, 'x', '', 'cook', 'contract', '2024-01-01', '', '', "
                    "true, now())"
                ),
                {"s": district.school_a.id},
            )


@pytest.mark.postgres
def test_raw_sql_in_a_school_scope_sees_only_that_school(app_engine: Any, district: District) -> None:
    with app_engine.begin() as conn:
        conn.execute(
            text("SELECT set_config('app.scope', 'schools', true), set_config('app.school_id', :i, true)"),
            {"i": str(district.school_a.id)},
        )
        assert conn.execute(text("SELECT array_agg(name) FROM staff_members")).scalar() == ["张甲厨"]
        updated = conn.execute(
            text("UPDATE staff_members SET name = 'x' WHERE school_id = :b"), {"b": district.school_b.id}
        )
        assert updated.rowcount == 0
        with pytest.raises(Exception, match="row-level security"):
            conn.execute(text("UPDATE staff_members SET school_id = :b"), {"b": district.school_b.id})


@pytest.mark.postgres
def test_bureau_scope_sees_every_row_and_the_planner_expects_them(
    app_engine: Any, pg: Any, district: District
) -> None:
    """The bureau's jobs read whole tables as the app role: every row visible (including bureau users
    without a school), and the planner sized for all of them - not the 0.5% it guesses for a condition
    on a setting, which gave the ranking engine nested-loop plans 3-5 times slower at scale."""
    owner = create_engine(pg.owner_url.replace("postgresql://", "postgresql+psycopg://"))
    with owner.begin() as conn:
        conn.execute(text("ANALYZE staff_members"))
    owner.dispose()
    with app_engine.begin() as conn:
        conn.execute(
            text("SELECT set_config('app.scope', 'bureau', true), set_config('app.school_id', '', true)")
        )
        total = conn.execute(text("SELECT count(*) FROM staff_members")).scalar()
        assert total == 2  # 张甲厨 of school A and school B's cook
        assert conn.execute(text("SELECT count(*) FROM users WHERE school_id IS NULL")).scalar() >= 1
        plan = conn.execute(text("EXPLAIN (FORMAT JSON) SELECT * FROM staff_members")).scalar()
        assert plan[0]["Plan"]["Plan Rows"] == total
    with app_engine.begin() as conn:
        conn.execute(
            text("SELECT set_config('app.scope', 'schools', true), set_config('app.school_id', :i, true)"),
            {"i": str(district.school_a.id)},
        )
        assert conn.execute(text("SELECT count(*) FROM staff_members")).scalar() == 1


@pytest.mark.postgres
def test_orm_core_statement_is_caught_by_rls(app: Any, district: District) -> None:
    """Core text() in a school scope: no ORM criteria apply, the database policy still does."""
    with app.app_context(), use_scope(TenantScope.school(district.school_a.id)):
        assert db.session.execute(text("SELECT count(*) FROM staff_members")).scalar() == 1
        assert db.session.execute(text("SELECT count(*) FROM users")).scalar() == 1  # admin_a only
        db.session.rollback()


@pytest.mark.postgres
def test_tenant_setting_does_not_leak_through_the_pool(app: Any, district: District) -> None:
    """After a request as school A, a transaction on a pooled connection with no tenant sees 0 rows."""
    client = app.test_client()
    login(client, "admin_a")
    assert "张甲厨" in client.get(f"/schools/{district.school_a.id}").get_data(as_text=True)
    client.get("/api/v1/staff", headers=district.headers("admin"))  # and one in the bureau scope
    engine = app.extensions["houqin_engine"]
    with engine.connect() as conn:  # the pool hands back a connection those requests used
        assert conn.execute(text("SELECT current_setting('app.school_id', true)")).scalar() in (None, "")
        assert conn.execute(text("SELECT count(*) FROM staff_members")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM schools")).scalar() == 0


@pytest.mark.postgres
def test_scope_switch_inside_a_transaction_is_applied(app: Any, district: District) -> None:
    """Authentication reads users in the bureau scope, then the request narrows to the school."""
    with app.app_context():
        with use_scope(TenantScope.bureau()):
            assert db.session.scalar(select(func.count()).select_from(User)) == 5
        with use_scope(TenantScope.school(district.school_a.id)):
            assert db.session.execute(text("SELECT count(*) FROM users")).scalar() == 1
        db.session.rollback()
