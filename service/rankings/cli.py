"""``houqin rank``, ``houqin explain`` and ``houqin jobs show``: rankings from the command line.

``houqin rank 2026-03`` scores the month and ranks it, its term and its year synchronously, inside a
job run (so the run is visible at ``/api/v1/jobs/<id>`` like a background one), with a progress bar
drawn from the job's progress callback, then prints the chosen ranking as a table aligned for CJK
text (a Chinese character takes two columns in a terminal). Everything runs in the bureau scope.
"""

from __future__ import annotations

import re
import sys
import unicodedata
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from service.core.errors import DomainError
from service.core.labels import label
from service.db import db
from service.jobs import operations as jobs
from service.jobs.models import RUN_STATE_LABELS, JobRun
from service.org.models import School
from service.rankings import jobs as ranking_jobs
from service.rankings import listing
from service.rankings.calendar import RankingTarget, parse_target, targets_containing
from service.rankings.models import RankingKind
from service.rankings.operations import current_snapshot
from service.scoring.explain import explain, period_by_code
from tenants import TenantScope, use_scope

_MONTH = re.compile(r"^\d{4}-\d{2}$")
BAR_WIDTH = 30


# --- terminal helpers ----------------------------------------------------------------------------------


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: wide and full-width characters (CJK) take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def pad(text: str, width: int, *, right: bool = False) -> str:
    fill = " " * max(width - display_width(text), 0)
    return fill + text if right else text + fill


def table(headers: list[str], rows: Iterable[list[str]], right: Iterable[int] = ()) -> str:
    """A plain-text table whose columns line up with Chinese and Latin text mixed."""
    rows = [list(r) for r in rows]
    right_cols = set(right)
    widths = [max([display_width(h)] + [display_width(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(pad(c, widths[i], right=i in right_cols) for i, c in enumerate(cells)).rstrip()

    out = [line(headers), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(out)


def progress_bar(report: Callable[[int, int, str], None]) -> Callable[[int, int, str], None]:
    """Wrap a job's progress callback so it also draws a bar on stderr."""

    def draw(done: int, total: int, step: str = "") -> None:
        report(done, total, step)
        filled = BAR_WIDTH * done // total if total else 0
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        end = "\n" if total and done >= total else ""
        click.echo(f"\r[{bar}] {done}/{total} {step:<30}{end}", nl=False, err=True)

    return draw


def arrow(movement: int | None, ranked: bool, previous: int | None) -> str:
    if movement is None:
        return "new" if ranked and previous is None else "-"
    if movement > 0:
        return f"↑{movement}"
    if movement < 0:
        return f"↓{-movement}"
    return "="


def flags(entry: dict[str, Any]) -> str:
    out = []
    if entry["vetoed"]:
        out.append("否决 veto")
    if entry["status"] == "insufficient":
        out.append("数据不足 insufficient")
    if entry["status"] == "missing":
        out.append("缺报 missing")
    if entry["credibility_flags"]:
        out.append("可信度 credibility")
    return ", ".join(out)


# --- houqin rank ---------------------------------------------------------------------------------------


def _target(period_arg: str, kind: str, compute: bool) -> tuple[Any, RankingTarget]:
    """The period to recompute (or None) and the ranking to print."""
    if _MONTH.match(period_arg):
        try:
            period = period_by_code(period_arg)
        except DomainError:
            period = None
        year, month = (int(p) for p in period_arg.split("-"))
        targets = {t.kind.value: t for t in targets_containing(year, month)}
        if kind not in targets:
            raise click.BadParameter(f"{period_arg} (August) has no {kind} ranking", param_hint="PERIOD")
        if period is None and compute:
            raise click.BadParameter(f"no reporting period {period_arg}", param_hint="PERIOD")
        return period, targets[kind]
    if compute:
        raise click.BadParameter(
            "give a month (YYYY-MM) to compute; a term or year key works with --no-compute",
            param_hint="PERIOD",
        )
    try:
        return None, parse_target(kind, period_arg)
    except DomainError as exc:
        raise click.BadParameter(
            "; ".join(m for ms in exc.errors.values() for m in ms), param_hint="PERIOD"
        ) from None


def ranking_table(target: RankingTarget, top: int | None) -> str:
    snapshot = current_snapshot(target.kind, target.key)
    if snapshot is None:
        return f"{target.label[0]}: no ranking computed yet"
    stmt = listing.entries_select(snapshot)
    if top:
        stmt = stmt.limit(top)
    entries = listing.entry_dicts(list(db.session.scalars(stmt)))
    rows = [
        [
            str(e["rank_overall"]) if e["rank_overall"] is not None else "-",
            arrow(e["movement"], e["rank_overall"] is not None, e["previous_rank"]),
            e["school_code"] or "",
            e["school_name"] or "",
            e["score"] or "-",
            e["band"] or "-",
            str(e["rank_peer"]) if e["rank_peer"] is not None else "-",
            str(e["rank_cluster"]) if e["rank_cluster"] is not None else "-",
            flags(e),
        ]
        for e in entries
    ]
    zh, en = target.label
    head = f"{zh} / {en}  (snapshot {snapshot.id}, payload {snapshot.payload_hash[:12]})"
    headers = ["排名", "升降", "代码", "学校", "得分", "等级", "组内", "片区", "标记"]
    return head + "\n" + table(headers, rows, right=(0, 4, 6, 7))


@click.command("rank")
@click.argument("period_arg", metavar="PERIOD")
@click.option("--kind", type=click.Choice([k.value for k in RankingKind]), default="month", show_default=True)
@click.option("--top", type=click.IntRange(min=1), default=None, help="Print only the first N rows.")
@click.option(
    "--compute/--no-compute", default=True, help="Recompute first (default) or print the current one."
)
@with_appcontext
def rank_command(period_arg: str, kind: str, top: int | None, compute: bool) -> None:
    """Score month PERIOD (e.g. 2026-03), rank it, its term and its year, and print a ranking."""
    with use_scope(TenantScope.bureau()):
        period, target = _target(period_arg, kind, compute)
        if compute:
            run_key = f"cli-rank-{period.code}-{uuid.uuid4().hex[:12]}"
            try:
                with jobs.track(run_key, "recompute_period", {"period_id": period.id}) as progress:
                    click.echo(f"job run {progress.run_id}", err=True)
                    progress.result = ranking_jobs.recompute_period(
                        period.id, progress=progress_bar(progress), job_run_id=progress.run_id
                    )
                    db.session.commit()
            except Exception as exc:
                db.session.rollback()
                click.echo(f"\nranking failed: {exc!r}", err=True)
                sys.exit(1)
        click.echo(ranking_table(target, top))
        db.session.remove()


# --- houqin explain ------------------------------------------------------------------------------------


def explanation_lines(x: dict[str, Any]) -> list[str]:
    """The explanation as an indented tree."""
    c = x["composite"]
    lines = [f"{x['school']['name']} ({x['school']['code']}) {x['period']['code']}: {x['status_label']}"]
    if c["missing"]:
        lines.append(f"  composite: {c['note']}")
    else:
        late = f" - late {c['late_deduction']}" if c["late"] else ""
        lines.append(
            f"  composite {c['value']} (band {c['band']}) = weighted {c['weighted']}{late}"
            f" = {c['before_rounding']} rounded half up to 1 decimal"
        )
    for a in c["areas"]:
        if a["applies"]:
            lines.append(
                f"    {a['label']}: weight {a['weight']} -> {a['share_percent']}% x {a['value']}"
                f" = {a['contribution']}"
            )
        else:
            lines.append(f"    {a['label']}: weight {a['weight']}, does not apply")
    for key in ("canteen", "safety"):
        a = x["areas"][key]
        if not a["applies"]:
            continue
        lines.append(
            f"  {a['label']} {a['value'] or '-'}: self {a['self_mean'] or '-'}, spot {a['spot_mean'] or '-'}"
        )
        lines.append(f"    rule: {a['mix']['text']}")
        if a["credibility"]["flag"]:
            lines.append(
                f"    credibility flag: self - spot = {a['credibility']['gap']} > {a['credibility']['threshold']}"
            )
        if key == "safety":
            lines.append(
                f"    before hazards {a['before_hazards'] or '-'}, overdue {a['overdue_count']} -> -{a['hazard_deduction']}"
            )
            for h in a["overdue_hazards"]:
                lines.append(f"      hazard #{h['id']} {h['title']} (deadline {h['deadline']})")
    s = x["areas"]["staff"]
    lines.append(f"  {s['label']} {s['mean'] or '-'}: {s['evaluations']} evaluations")
    for i in x["inspections"]:
        excluded = " EXCLUDED" if i["excluded"] else ""
        lines.append(
            f"  inspection #{i['id']} {i['inspected_on']} {i['kind_label']} {i['mode_label']}"
            f" {i['inspector']}: {i['score']} (rubric v{i['rubric_version']}){excluded}"
        )
        for sec in i["sections"]:
            if not sec["items_deducted"] and not sec["items_not_applicable"]:
                continue
            lines.append(
                f"    {sec['code']} {sec['name']}: {sec['points']}/{sec['possible']} (max {sec['max']})"
            )
            for it in sec["items_deducted"]:
                cap = f", cap {it['cap']}" if it["cap"] else ""
                lines.append(
                    f"      -{it['points_off']} {it['code']} {it['text']}"
                    f" (x{it['occurrences'] or 1} at {it['deduction']}{cap})"
                )
            for it in sec["items_not_applicable"]:
                lines.append(f"      n/a {it['code']} {it['text']} (-{it['own_max_removed']} possible)")
    for v in x["vetoes"]:
        lines.append(
            f"  veto {v['rule_label']} {v['starts_on']}..{v['ends_on']}: bars {', '.join(v['blocks'])}"
        )
    lines.append(f"  rules version {x['basis']['rules_version']}")
    return lines


@click.command("explain")
@click.argument("school_code")
@click.argument("period_code", metavar="PERIOD")
@with_appcontext
def explain_command(school_code: str, period_code: str) -> None:
    """Print why school SCHOOL_CODE scored what it did in month PERIOD (e.g. 2026-03)."""
    with use_scope(TenantScope.bureau()):
        school = db.session.scalars(select(School).where(School.code == school_code)).first()
        if school is None:
            raise click.BadParameter(f"no school with code {school_code}", param_hint="SCHOOL_CODE")
        try:
            data = explain(school.id, period_by_code(period_code).id)
        except DomainError as exc:
            messages = "; ".join(m for ms in exc.errors.values() for m in ms)
            raise click.ClickException(f"{period_code}: {messages}") from None
        click.echo("\n".join(explanation_lines(data)))
        db.session.remove()


# --- houqin jobs show ----------------------------------------------------------------------------------

jobs_cli = AppGroup("jobs", help="Background job runs.")


@jobs_cli.command("show")
@click.argument("run_id", type=int)
def jobs_show(run_id: int) -> None:
    """Print a job run's state, progress, result or error, and its log."""
    with use_scope(TenantScope.bureau()):
        run = db.session.get(JobRun, run_id)
        if run is None:
            raise click.ClickException(f"no job run {run_id}")
        click.echo(f"job run {run.id} ({run.kind}, key {run.run_key})")
        click.echo(
            f"  state: {run.state.value} {label(RUN_STATE_LABELS, run.state)}, attempts {run.attempts}"
        )
        click.echo(f"  progress: {run.done}/{run.total} {run.step}")
        if run.result:
            click.echo(f"  result: {run.result}")
        if run.error:
            click.echo("  error:\n" + "\n".join("    " + ln for ln in run.error.splitlines()))
        for entry in jobs.log_of(run.id):
            click.echo(
                f"  {entry.at:%Y-%m-%d %H:%M:%S} {entry.from_state or '-'} -> {entry.to_state} {entry.message}"
            )
        db.session.remove()


COMMANDS = (rank_command, explain_command, jobs_cli)
