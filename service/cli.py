"""The ``houqin`` command (Flask's CLI plus Houqin's own groups).

houqin db upgrade                 migrate (as the owner: MIGRATION_DATABASE_URL), seed the shipped
                                  rubrics and rule sets as version 1 where missing (service/seeding.py)
houqin db create-app-role         create the app's login role (run as a superuser)
houqin users create-admin         the bureau's first admin
houqin users add / schools add / clusters add
houqin demo                       embedded demo: SQLite, eager Celery, seeded district, web UI
houqin rank 2026-03 / explain S001 2026-03 / jobs show ID   rankings (service/rankings/cli.py)
houqin bulletin preview 2026-03 [--school S001] [--lang en] [--out DIR] / bulletin issue 2026-03
houqin run / houqin shell         Flask's own
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, FlaskGroup
from sqlalchemy import select, text
from werkzeug.serving import run_simple

from service import create_app, migrate, seeding
from service.accounts.models import Role
from service.accounts.operations import create_user
from service.bulletins.cli import bulletin_cli
from service.commendations.cli import commendations_cli
from service.config import INSTANCE_DIR, InsecureSecretKey
from service.core.errors import DomainError
from service.db import db, make_engine
from service.org.models import CanteenMode, Cluster, School, SchoolType
from service.org.operations import create_school
from service.rankings.cli import COMMANDS as RANKING_COMMANDS
from tenants import TenantScope, rls, use_scope

db_cli = AppGroup("db", help="Database migrations and roles.")
users_cli = AppGroup("users", help="User accounts.")
schools_cli = AppGroup("schools", help="Schools (tenants).")
clusters_cli = AppGroup("clusters", help="Clusters (片区).")


@contextlib.contextmanager
def _refusals_exit() -> Iterator[None]:
    """Print a domain refusal field by field, roll back, and exit 1."""
    try:
        yield
    except DomainError as exc:
        db.session.rollback()
        for field, messages in exc.errors.items():
            click.echo(f"{field}: {'; '.join(messages)}", err=True)
        sys.exit(1)


@db_cli.command("upgrade")
@click.option("--revision", default="heads", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations as the table owner, grant the app role its privileges, then store the shipped
    rubrics and rule sets as version 1 where the district has none (only when upgrading to the head:
    the models describe the newest schema)."""
    url = current_app.config["MIGRATION_DATABASE_URL"]
    migrate.upgrade(url, revision, current_app.config["APP_DB_ROLE"])
    click.echo(f"database at {revision}")
    if revision in ("head", "heads"):
        click.echo(_seeded_line(seeding.seed_database(url)))


def _seeded_line(seeded: seeding.Seeded) -> str:
    if seeded.nothing:
        return "shipped rubrics and rule sets: already present, nothing added"
    parts = []
    if seeded.rubrics:
        parts.append(f"rubrics {', '.join(seeded.rubrics)} (version 1, published)")
    if seeded.rule_sets:
        parts.append(f"rule sets {', '.join(seeded.rule_sets)} (version 1)")
    return "seeded the shipped " + "; ".join(parts)


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    migrate.downgrade(
        current_app.config["MIGRATION_DATABASE_URL"], revision, current_app.config["APP_DB_ROLE"]
    )
    click.echo(f"database at {revision}")


@db_cli.command("create-app-role")
@click.option("--password", default=None, help="Set a login password (omit for trust/peer auth).")
@click.option(
    "--database-url",
    default=None,
    help="Connect as a role allowed to create roles (default: MIGRATION_DATABASE_URL).",
)
def db_create_app_role(password: str | None, database_url: str | None) -> None:
    """Create the app's login role: NOSUPERUSER, NOBYPASSRLS, owning nothing (idempotent)."""
    role = current_app.config["APP_DB_ROLE"]
    engine = make_engine(database_url or current_app.config["MIGRATION_DATABASE_URL"])
    with engine.begin() as conn:
        for stmt in rls.create_app_role_sql(role):
            conn.execute(text(stmt))
        if password:
            quoted = '"' + role.replace('"', '""') + '"'
            literal = "'" + password.replace("'", "''") + "'"
            conn.execute(text(f"ALTER ROLE {quoted} PASSWORD {literal}"))
        unsafe = conn.execute(text(rls.UNSAFE_ROLE_SQL), {"role": role}).scalar()
    engine.dispose()
    if unsafe:
        raise click.ClickException(
            f"role {role} is a superuser or has BYPASSRLS: row-level security would not apply to it"
        )
    click.echo(f"role {role} ready (run `houqin db upgrade` to grant it access)")


@users_cli.command("create-admin")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True, help="Display name, e.g. 王建国")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--email", default="")
def users_create_admin(username: str, display_name: str, password: str, email: str) -> None:
    """Create a bureau admin (the first one, or another) with the password its holder types here."""
    _create_user(username, display_name, "bureau_admin", password, None, (), email, own_password=True)


@users_cli.command("add")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True)
@click.option(
    "--role",
    type=click.Choice(["bureau_admin", "bureau_official", "inspector", "school_admin"]),
    required=True,
)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--school", "school_code", default=None, help="School code (school_admin)")
@click.option("--clusters", "cluster_codes", default="", help="Comma-separated cluster codes (inspector)")
@click.option("--email", default="")
def users_add(
    username: str,
    display_name: str,
    role: str,
    password: str,
    school_code: str | None,
    cluster_codes: str,
    email: str,
) -> None:
    """Add a user of any role; they choose their own password at the first login."""
    codes = tuple(c.strip() for c in cluster_codes.split(",") if c.strip())
    _create_user(username, display_name, role, password, school_code, codes, email)


def _create_user(
    username: str,
    display_name: str,
    role: str,
    password: str,
    school_code: str | None,
    cluster_codes: tuple[str, ...],
    email: str,
    *,
    own_password: bool = False,
) -> None:
    with use_scope(TenantScope.bureau()):
        school_id = None
        if school_code:
            school_id = db.session.scalar(select(School.id).where(School.code == school_code))
            if school_id is None:
                raise click.BadParameter(f"no school with code {school_code}", param_hint="--school")
        cluster_ids = []
        for code in cluster_codes:
            cid = db.session.scalar(select(Cluster.id).where(Cluster.code == code))
            if cid is None:
                raise click.BadParameter(f"no cluster with code {code}", param_hint="--clusters")
            cluster_ids.append(cid)
        with _refusals_exit():
            user = create_user(
                username=username,
                display_name=display_name,
                role=Role(role),
                password=password,
                school_id=school_id,
                cluster_ids=cluster_ids,
                email=email,
                own_password=own_password,
            )
        db.session.commit()
        click.echo(f"created {role} {user.username} (id {user.id})")
        if user.must_change_password:
            click.echo(f"{user.username} chooses their own password at the first login")


@clusters_cli.command("add")
@click.option("--code", required=True)
@click.option("--name", required=True)
def clusters_add(code: str, name: str) -> None:
    """Add a cluster (片区)."""
    with use_scope(TenantScope.bureau()):
        if db.session.scalar(select(Cluster.id).where((Cluster.code == code) | (Cluster.name == name))):
            raise click.BadParameter("a cluster with this code or name exists", param_hint="--code/--name")
        cluster = Cluster(code=code, name=name)
        db.session.add(cluster)
        db.session.commit()
        click.echo(f"created cluster {code} {name} (id {cluster.id})")


@schools_cli.command("add")
@click.option("--code", required=True)
@click.option("--name", required=True)
@click.option(
    "--type",
    "school_type",
    type=click.Choice(["primary", "junior", "senior", "nine_year", "complete"]),
    required=True,
)
@click.option("--cluster", "cluster_code", required=True, help="Cluster code")
@click.option("--canteen", type=click.Choice(["self_run", "contracted", "none"]), default="self_run")
@click.option("--enrollment", type=int, default=0)
@click.option("--staff-count", type=int, default=0)
@click.option("--boarding/--no-boarding", default=False)
@click.option("--principal", default="")
@click.option("--contact", default="")
@click.option("--phone", default="")
def schools_add(
    code: str,
    name: str,
    school_type: str,
    cluster_code: str,
    canteen: str,
    enrollment: int,
    staff_count: int,
    boarding: bool,
    principal: str,
    contact: str,
    phone: str,
) -> None:
    """Add a school (a new tenant)."""
    with use_scope(TenantScope.bureau()):
        cluster_id = db.session.scalar(select(Cluster.id).where(Cluster.code == cluster_code))
        if cluster_id is None:
            raise click.BadParameter(f"no cluster with code {cluster_code}", param_hint="--cluster")
        with _refusals_exit():
            school = create_school(
                {
                    "code": code,
                    "name": name,
                    "type": SchoolType(school_type),
                    "cluster_id": cluster_id,
                    "canteen_mode": CanteenMode(canteen),
                    "enrollment": enrollment,
                    "staff_count": staff_count,
                    "boarding": boarding,
                    "principal_name": principal,
                    "contact_name": contact,
                    "contact_phone": phone,
                }
            )
        db.session.commit()
        click.echo(f"created school {code} {name} (id {school.id})")


@click.command("demo")
@click.option("--serve/--no-serve", default=True, help="Serve the web UI after seeding.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--database", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Show the demo as of this day (YYYY-MM-DD): the year is seeded up to it and the served UI's "
    "clock starts on it. Default: today.",
)
@click.option(
    "--compact", is_flag=True, help="The compact district: the same stories, fewer schools and staff."
)
def demo(
    serve: bool, host: str, port: int, database: Path | None, today: datetime | None, compact: bool
) -> None:
    """Embedded demo: a fresh SQLite database, eager Celery, a seeded district, the web UI."""
    from service.core.timeutil import set_clock
    from service.demo.runner import build_demo

    if today is not None:
        set_clock(today.date())
    path = database or INSTANCE_DIR / "demo.sqlite"
    built = build_demo(path, compact=compact)
    app = built.app
    click.echo(built.text)
    if serve:
        click.echo(f"\nHouqin demo: http://{host}:{port}/  (Ctrl+C to stop)")
        # Not app.run(): Flask ignores it inside its own CLI (FLASK_RUN_FROM_CLI).
        run_simple(host, port, app, threaded=True, use_reloader=False)


cli = FlaskGroup(create_app=create_app, add_default_commands=True, help="Houqin 后勤 command line.")
cli.add_command(db_cli)
cli.add_command(users_cli)
cli.add_command(schools_cli)
cli.add_command(clusters_cli)
cli.add_command(demo)
for _command in RANKING_COMMANDS:  # houqin rank / explain / jobs show
    cli.add_command(_command)
cli.add_command(commendations_cli)
cli.add_command(bulletin_cli)


def main() -> None:
    """``houqin``; a missing or short SECRET_KEY ends it with that one message and status 1."""
    try:
        cli.main(prog_name="houqin")
    except InsecureSecretKey as exc:
        raise SystemExit(f"houqin: {exc}") from None


if __name__ == "__main__":
    main()
