"""Where one report card's CPU goes: N cards rendered in this process, CPU time per stage.

    .venv/bin/python -m bench.card                 # on the district bench.mail built
    .venv/bin/python -m bench.card --build --cards 30

Renders the reported month's report card of the first N+1 schools as a delivery run does
(``service.notices.render.render`` in the school's scope, then ``channels.build_mime``) and prints the
CPU time per card of each stage - content, trend chart, e-mail HTML, PDF, xlsx, MIME - over the last N
(the first card of a process also pays imports, fonts and templates: printed apart). The month's
bulletin is issued first if it is not yet. No assertions: the figures go to ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from bench.common import bench_app
from bench.mail import DEFAULT_DATABASE, build_district

STAGES = ("content", "chart", "e-mail HTML", "PDF", "xlsx", "MIME")


def _timed(owner: Any, name: str, stage: str, spent: Counter) -> None:
    """Replace ``owner.name`` by a wrapper that adds its CPU time to ``spent[stage]``."""
    original: Callable[..., Any] = getattr(owner, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent[stage] += time.process_time() - started

    setattr(owner, name, timed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.card", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cards", type=int, default=30)
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--build", action="store_true", help="build the district first (as bench.mail)")
    args = parser.parse_args(argv)
    if args.build:
        build_district(args.database, schools=max(args.cards + 1, 2), months=6, seed=1)

    from bench.run import job_context
    from service.bulletins import mailing, render
    from service.bulletins import operations as bulletins
    from service.core.timeutil import today_shanghai
    from service.notices import channels
    from service.notices.planning import reported_month
    from service.notices.render import render as render_notice
    from service.org.models import School
    from tenants import TenantScope

    app = bench_app(args.database, CELERY_ALWAYS_EAGER=False)
    with job_context(app) as session:
        period = reported_month(today_shanghai())
        if period is None:
            raise SystemExit("no reported month: build the district first (--build, or python -m bench.mail)")
        bulletins.issue("month", period.code)
        session.commit()
        schools = list(session.scalars(select(School.id).order_by(School.id).limit(args.cards + 1)))
    spent: Counter = Counter()
    _timed(mailing, "report_card_content", "content", spent)
    _timed(render, "report_card_document", "e-mail HTML", spent)  # the chart is taken out below
    _timed(render.charts, "trend_chart", "chart", spent)
    _timed(render, "pdf", "PDF", spent)
    _timed(mailing.workbooks, "report_card_xlsx", "xlsx", spent)
    _timed(channels, "build_mime", "MIME", spent)

    def card(school_id: int) -> int:
        with app.app_context():
            params = {"school_id": school_id, "period": period.code}
            message = render_notice("report_card", params, "zh_CN", TenantScope.school(school_id))
            return len(channels.build_mime(message, sender="bench <bench@example.com>"))

    started = time.process_time()
    card(schools[0])
    first = time.process_time() - started
    spent.clear()
    started = time.process_time()
    sizes = [card(school_id) for school_id in schools[1:]]
    cpu = time.process_time() - started
    n = len(sizes)
    spent["e-mail HTML"] -= spent["chart"]
    print(
        f"{n} report cards of {period.code}, one process: {cpu / n * 1000:.0f} ms CPU per card "
        f"(the first card of the process: {first * 1000:.0f} ms); MIME {sum(sizes) / n / 1024:.0f} KB; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    for stage in STAGES:
        print(f"  {stage:<12} {spent[stage] / n * 1000:6.0f} ms")
    rest = cpu - sum(spent[s] for s in STAGES)
    print(f"  {'the rest':<12} {rest / n * 1000:6.0f} ms (sessions, scopes, the notice render context)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
