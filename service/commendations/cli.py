"""``houqin commendations``: propose a round and list its candidates from the command line.

houqin commendations propose term 2025-2026-2     compute the candidates now (bureau scope)
houqin commendations list term 2025-2026-2        the candidates with why they qualify or not
"""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from service.commendations import operations
from service.commendations.models import COMMENDATION_LABELS, CommendationCandidate
from service.core.errors import DomainError
from service.db import db
from tenants import TenantScope, use_scope

commendations_cli = AppGroup("commendations", help="Commendations (表彰).")

KIND = click.Choice(["term", "year"])


@commendations_cli.command("propose")
@click.argument("kind", type=KIND)
@click.argument("key")
def propose_command(kind: str, key: str) -> None:
    """Propose (or re-propose) the candidates of a term or a school year."""
    with use_scope(TenantScope.bureau()):
        try:
            row = operations.propose(kind, key)
        except DomainError as exc:
            db.session.rollback()
            for field, messages in exc.errors.items():
                click.echo(f"{field}: {'; '.join(messages)}", err=True)
            sys.exit(1)
        db.session.commit()
        click.echo(
            f"round {row.id} {row.kind.value} {row.key} (rules v{row.rules_version}, as of {row.as_of})"
        )
        for code, counts in row.summary.items():
            name = COMMENDATION_LABELS[operations.Commendation(code)][0]
            click.echo(f"  {name}: {counts['qualifying']} qualifying of {counts['candidates']} candidates")


@commendations_cli.command("list")
@click.argument("kind", type=KIND)
@click.argument("key")
@click.option("--qualifying", is_flag=True, help="Only the candidates who qualify.")
def list_command(kind: str, key: str, qualifying: bool) -> None:
    """The round's candidates: commendation, school (and person), decision, and the reasons."""
    with use_scope(TenantScope.bureau()):
        row = operations.find_round(kind, key)
        if row is None:
            click.echo(f"no round for {kind} {key}; propose it first", err=True)
            sys.exit(1)
        stmt = operations.candidates(row, qualifies=True if qualifying else None)
        for cand in db.session.scalars(stmt):
            _echo(cand)


def _echo(cand: CommendationCandidate) -> None:
    who = cand.school.name + (f" {cand.staff.name}" if cand.staff else "")
    mark = "✓" if cand.qualifies else "✗"
    award = COMMENDATION_LABELS[cand.commendation][0]
    number = f" {cand.certificate_no}" if cand.certificate_no else ""
    click.echo(f"{mark} {award} {who} [{cand.decision.value}]{number}")
    for reason in cand.reasons:
        click.echo(f"    {'+' if reason['ok'] else '-'} {reason['zh']}")
