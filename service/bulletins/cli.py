"""``houqin bulletin preview`` and ``houqin bulletin issue``: the bulletin and report cards in the terminal.

``houqin bulletin preview 2026-10`` prints a text summary of the month's bulletin (the issued one, or a
draft from the current ranking - a preview never takes a number) and, with ``--out DIR``, writes the
email's HTML (images inlined), the PDF and the workbook there. ``--school S001`` does the same for that
school's report card, built in the school's scope. ``--kind term|year`` with a term or year key
(``2025-2026-1``) previews a term's or year's bulletin. ``houqin bulletin issue 2026-10`` issues the
bulletin now (its number, its kept figures) and prints the number.
"""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask.cli import AppGroup
from flask_babel import force_locale
from sqlalchemy import select

from service.bulletins import operations, render, workbooks
from service.bulletins.report_card import report_card_content
from service.core.errors import DomainError, NotFound
from service.db import db
from service.org.models import School
from service.rankings.cli import table
from service.rankings.models import RankingKind
from tenants import TenantScope, use_scope

bulletin_cli = AppGroup("bulletin", help="Bulletins (督查通报) and school report cards.")
KINDS = [k.value for k in RankingKind]


def _write(out: Path, document: render.Document, pdf: bytes, xlsx: bytes) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{document.filename}-{document.lang}"
    paths = [out / f"{stem}.html", out / f"{stem}.pdf", out / f"{stem}.xlsx"]
    paths[0].write_text(document.inline_html(), encoding="utf-8")
    paths[1].write_bytes(pdf)
    paths[2].write_bytes(xlsx)
    return paths


def bulletin_summary(b: operations.Bulletin, lang: str) -> str:
    c = b.content
    t = render._picker(lang)
    with force_locale(lang):
        head = render.number_label(b)
    lines = [
        f"{t(c['label'])} · {head} · snapshot {c['snapshot']['id']} (payload {c['snapshot']['payload_hash'][:12]})",
        render.summary_sentence(c, lang),
        "",
    ]
    rows = [
        [
            str(r["rank"]) if r["rank"] is not None else "-",
            render.movement_text(r["movement"]),
            r["code"],
            r["name"],
            r["score"] or "-",
            r["band"] or "-",
            "veto" if r["vetoed"] else "",
        ]
        for r in c["ranking"]
    ]
    lines.append(table(["排名", "升降", "代码", "学校", "得分", "等级", ""], rows, right=(0, 4)))
    lines.append("")
    lines.append(
        f"problems: {len(c['problems'])} items; overdue hazards at {len(c['overdue_hazards'])} schools; "
        f"incidents {len(c['incidents'])}; vetoes {len(c['vetoes'])}"
    )
    return "\n".join(lines)


def card_summary(card: dict, lang: str) -> str:
    return render.report_card_text(card, lang)


@bulletin_cli.command("preview")
@click.argument("period", metavar="PERIOD")
@click.option("--kind", type=click.Choice(KINDS), default="month", show_default=True)
@click.option("--school", "school_code", default=None, help="A school's code: its report card instead.")
@click.option("--lang", type=click.Choice(["zh_CN", "zh", "en"]), default="zh_CN", show_default=True)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write the HTML, PDF and xlsx into this directory.",
)
def preview_command(period: str, kind: str, school_code: str | None, lang: str, out: Path | None) -> None:
    """Print the bulletin (or a school's report card) of PERIOD; --out DIR writes HTML/PDF/xlsx."""
    lang = "zh_CN" if lang == "zh" else lang
    started = time.perf_counter()
    with use_scope(TenantScope.bureau()):
        try:
            if school_code:
                school = db.session.scalars(select(School).where(School.code == school_code)).first()
                if school is None:
                    raise click.BadParameter(f"no school with code {school_code}", param_hint="--school")
                card = report_card_content(school.id, period)  # in the school's own scope
                document = render.report_card_document(card, lang)
                click.echo(card_summary(card, lang))
                xlsx = workbooks.report_card_xlsx(card, lang) if out else b""
            else:
                b = operations.bulletin(kind, period)
                document = render.bulletin_document(b, lang)
                click.echo(bulletin_summary(b, lang))
                xlsx = workbooks.bulletin_xlsx(b, lang) if out else b""
        except (NotFound, DomainError) as exc:
            detail = (
                "; ".join(m for ms in exc.errors.values() for m in ms) if isinstance(exc, DomainError) else ""
            )
            raise click.ClickException(
                f"{kind} {period}: no ranking or no such period. {detail}".strip()
            ) from None
        if out:
            paths = _write(out, document, render.pdf(document), xlsx)
            click.echo("")
            for path in paths:
                click.echo(f"wrote {path}")
        click.echo(f"({time.perf_counter() - started:.2f} s)", err=True)
        db.session.rollback()
        db.session.remove()


@bulletin_cli.command("issue")
@click.argument("period", metavar="PERIOD")
@click.option("--kind", type=click.Choice(KINDS), default="month", show_default=True)
def issue_command(period: str, kind: str) -> None:
    """Issue the bulletin of PERIOD now (assign its number, keep its figures); again prints the same."""
    with use_scope(TenantScope.bureau()):
        try:
            row = operations.issue(kind, period)
        except (NotFound, DomainError):
            raise click.ClickException(f"{kind} {period}: no ranking to issue a bulletin from") from None
        db.session.commit()
        click.echo(
            f"{row.kind} {row.key}: {row.year}年第{row.number}期 (snapshot {row.snapshot_id}, "
            f"payload {row.payload_hash[:12]}, content {row.content_hash[:12]})"
        )
        db.session.remove()
