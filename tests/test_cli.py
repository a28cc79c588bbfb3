"""The operator CLI: first admin, clusters, schools, users - with clear refusals."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from service.accounts.models import Role, User
from service.cli import clusters_cli, schools_cli, users_cli
from service.db import db
from service.org.models import School
from tenants import TenantScope, use_scope


def test_bootstrap_a_district_from_the_cli(app: Any) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        users_cli, ["create-admin", "--username", "root", "--name", "王建国", "--password", "a-long-password"]
    )
    assert result.exit_code == 0, result.output
    assert runner.invoke(clusters_cli, ["add", "--code", "C01", "--name", "城东片区"]).exit_code == 0
    result = runner.invoke(
        schools_cli,
        [
            "add",
            "--code",
            "S001",
            "--name",
            "青山区实验小学",
            "--type",
            "primary",
            "--cluster",
            "C01",
            "--enrollment",
            "1200",
        ],
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        users_cli,
        [
            "add",
            "--username",
            "s001",
            "--name",
            "邵淑芬",
            "--role",
            "school_admin",
            "--school",
            "S001",
            "--password",
            "another-password",
        ],
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        users_cli,
        [
            "add",
            "--username",
            "insp",
            "--name",
            "赵德福",
            "--role",
            "inspector",
            "--clusters",
            "C01",
            "--password",
            "another-password",
        ],
    )
    assert result.exit_code == 0, result.output

    with app.app_context(), use_scope(TenantScope.bureau()):
        users = {u.username: u for u in db.session.scalars(select(User))}
        school = db.session.scalars(select(School)).one()
        assert users["root"].role is Role.BUREAU_ADMIN
        assert users["s001"].school_id == school.id
        assert [c.code for c in users["insp"].clusters] == ["C01"]
        # the operator typed the others' passwords: they choose their own at the first login
        assert not users["root"].must_change_password
        assert users["s001"].must_change_password and users["insp"].must_change_password
        db.session.remove()

    client = app.test_client()
    resp = client.post("/login", data={"username": "s001", "password": "another-password"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/account/password"
    mine = {
        "current_password": "another-password",
        "password": "shao-shufen-2026",
        "repeat": "shao-shufen-2026",
    }
    assert client.post("/account/password", data=mine).status_code == 302
    assert "青山区实验小学" in client.get("/").get_data(as_text=True)


def test_cli_refusals_are_specific_and_write_nothing(app: Any) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        users_cli, ["create-admin", "--username", "root", "--name", "王", "--password", "short"]
    )
    assert result.exit_code == 1
    assert "password" in result.output
    result = runner.invoke(
        schools_cli, ["add", "--code", "S9", "--name", "某小学", "--type", "primary", "--cluster", "NOPE"]
    )
    assert result.exit_code != 0 and "NOPE" in result.output
    result = runner.invoke(
        users_cli,
        ["add", "--username", "x1", "--name", "某", "--role", "school_admin", "--password", "long-enough-pw"],
    )
    assert result.exit_code == 1 and "school_id" in result.output
    with app.app_context(), use_scope(TenantScope.bureau()):
        assert db.session.scalars(select(User)).all() == []
        assert db.session.scalars(select(School)).all() == []
        db.session.remove()
