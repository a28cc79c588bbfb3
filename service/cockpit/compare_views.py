"""The compare page (对比): ``GET /compare?school=<id>&school=<id>…[&period=YYYY-MM]``.

A plain GET form, so the URL of a comparison is the comparison: it can be bookmarked, sent to a
colleague and opened again with the same result (within the reader's own scope). The picker filters
by code or name (``q``) on the server; Alpine.js filters the same list while typing, as a convenience.

Who may compare: bureau admins and officials (every school) and inspectors (the schools of their
clusters - the tenant wall decides; another school's id is a plain 404). School admins are refused
with 403: they see only their own school, and a comparison needs two.
"""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request, url_for
from flask_login import current_user, login_required

from service.accounts.models import Role
from service.cockpit import charts
from service.cockpit import compare as ops
from service.core.errors import DomainError, NotFound
from service.core.labels import label
from service.org.models import SCHOOL_TYPE_LABELS
from service.rankings.listing import peer_group_label
from service.reports.models import REPORT_STATE_LABELS
from service.scoring.explain import AREA_LABELS
from service.web.views import bp

AREAS = ("canteen", "safety", "staff")


@bp.route("/compare")
@login_required
def compare() -> Any:
    if current_user.role is Role.SCHOOL_ADMIN:
        abort(403)
    q = (request.args.get("q") or "").strip()
    try:
        ids = ops.parse_ids(request.args.getlist("school"))
        schools = ops.load_schools(ids)
    except NotFound:
        abort(404)
    context: dict[str, Any] = {"q": q, "ids": ids, "schools": schools, "result": None, "errors": {}}
    context["picker"] = ops.picker(q, ids)
    context["limits"] = (ops.MIN_SCHOOLS, ops.MAX_SCHOOLS)
    status = 200
    if ids and not request.args.get("filter"):
        try:
            ops.check_count(ids)
            context.update(_comparison(schools, request.args.get("period")))
        except NotFound:
            abort(404)
        except DomainError as exc:
            context["errors"], status = exc.errors, exc.status
    return render_template("cockpit/compare.html", **context), status


def _comparison(schools: list[Any], code: str | None) -> dict[str, Any]:
    ids = [s.id for s in schools]
    period, offered = ops.choose_period(ids, code)
    result = ops.compare(schools, period)
    share = url_for("web.compare", school=ids, period=period.code if period else None, _external=True)
    return {
        "result": result,
        "offered": offered,
        "share_url": share,
        "charts": _charts(result),
        "peer_group_of": {s.id: _peer_group(result, s) for s in schools},
        "type_of": {s.id: label(SCHOOL_TYPE_LABELS, s.type) for s in schools},
        "report_label": {sid: label(REPORT_STATE_LABELS, state) for sid, state in result.reports.items()},
        "area_labels": {a: label(AREA_LABELS, a) for a in AREAS},
        "colour_of": {s.id: charts.PALETTE[i % len(charts.PALETTE)] for i, s in enumerate(schools)},
    }


def _peer_group(result: ops.Comparison, school: Any) -> str:
    rank = result.rank(school.id)
    if rank is not None:
        return peer_group_label(rank.peer_group)
    return peer_group_label(f"{school.type.value}:{'canteen' if school.has_canteen else 'no_canteen'}")


def _charts(result: ops.Comparison) -> dict[str, Any]:
    """The options of the page's four charts; the radar leaves out a school with an area missing
    (charts.radar says why) and the page names it."""
    months = [p.code for p in result.periods]

    def composite(sid: int) -> list[float | None]:
        scores = [result.score(sid, p) for p in result.periods]
        return [charts.point(s.composite) if s is not None and s.scored else None for s in scores]

    def rank(sid: int, attr: str) -> list[int | None]:
        ranks = [result.rank(sid, p) for p in result.periods]
        return [getattr(r, attr) if r is not None else None for r in ranks]

    polygons, left_out = [], []
    for index, s in enumerate(result.schools):
        score = result.score(s.id)
        values = [getattr(score, a) for a in AREAS] if score is not None and score.scored else [None]
        if any(v is None for v in values):
            left_out.append(s.name)
        else:
            polygons.append((s.name, [charts.point(v) for v in values], index))
    names = [(s.id, s.name) for s in result.schools]
    return {
        "radar": charts.radar([label(AREA_LABELS, a) for a in AREAS], polygons),
        "radar_left_out": left_out,
        "trend": charts.score_lines(months, [(name, composite(sid)) for sid, name in names]),
        "rank_overall": charts.rank_lines(months, [(name, rank(sid, "rank_overall")) for sid, name in names]),
        "rank_peer": charts.rank_lines(months, [(name, rank(sid, "rank_peer")) for sid, name in names]),
    }
