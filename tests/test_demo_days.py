"""The demo on any day: built (compact) on the days of a month where the calendar turns - the 1st,
the deadline on the 5th and the day after, the 10th and 11th, the lock on the 16th and the day before,
the last day - and in August, January and September. Nothing reads the real date: each build runs on
the application clock set to its day, as `houqin demo --today` does. Expected months are hand counts
for each day (service/demo/year.py: the year ends with the newest month locked that day, month m
locking on the 16th of m + 1; the month after it is in progress until it locks); counts that depend
on the random draws come from what the builder reports.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.conftest import NOW
from tests.demo_stories import (
    Expected,
    check_opens_on,
    check_rankings_and_candidates,
    check_year,
    months,
    visible_schools,
)

# The days the compact demo is built on, with the months a person counts on a calendar for each.
DAYS = [
    # 1 December: October locked on 16 November; November ended yesterday, nothing submitted yet.
    Expected(date(2026, 12, 1), months("2025-11", "2026-10"), "2026-11"),
    # the 5th is November's deadline: submissions of the 1st-4th are in
    Expected(date(2026, 12, 5), months("2025-11", "2026-10"), "2026-11"),
    Expected(date(2026, 12, 6), months("2025-11", "2026-10"), "2026-11", all_submitted=True),
    Expected(date(2026, 12, 10), months("2025-11", "2026-10"), "2026-11", True, True),
    Expected(date(2026, 12, 11), months("2025-11", "2026-10"), "2026-11", True, True),
    # November locks on the 16th: the day before it is still in progress, on the day it ends the year
    Expected(date(2026, 12, 15), months("2025-11", "2026-10"), "2026-11", True, True),
    Expected(date(2026, 12, 16), months("2025-12", "2026-11"), None),
    # the last day of a month: October is locked, November has not ended
    Expected(date(2026, 11, 30), months("2025-11", "2026-10"), None),
    # August: July locked on 16 August, the year is the school year; September has not ended
    Expected(date(2026, 8, 20), months("2025-09", "2026-07"), None),
    # January: December is in progress until 16 January
    Expected(date(2027, 1, 12), months("2025-12", "2026-11"), "2026-12", True, True),
    # September: August is no reporting month, so July is still the newest
    Expected(date(2026, 9, 10), months("2025-09", "2026-07"), None),
]


@pytest.mark.parametrize("expected", DAYS, ids=[d.today.isoformat() for d in DAYS])
def test_compact_demo_tells_its_stories_on_any_day(tmp_path: Path, expected: Expected) -> None:
    from service.core.timeutil import set_clock
    from service.demo.runner import build_demo
    from service.demo.seed import COMPACT_SCHOOL_CODES

    set_clock(expected.today)  # the demo's app reads the same clock, as `houqin demo --today` does
    try:
        # the outbox (a bulletin and every report card, PDFs rendered) once: on the day November locks
        mail = expected.today == date(2026, 12, 16)
        built = build_demo(tmp_path / "demo.sqlite", compact=True, mail=mail)
        schools = len(COMPACT_SCHOOL_CODES)
        year = built.year
        assert year.months == expected.year
        assert year.in_progress == (expected.in_progress or "")
        for username in ("admin", "official", "inspector1", "s001", "s003", "s023", "houqin-demo"):
            assert username in built.text
        client = built.app.test_client()
        built.app.config["WTF_CSRF_ENABLED"] = False
        assert visible_schools(client, "admin") == schools
        counts = check_year(client, expected, schools=schools)
        assert counts["accepted"] == schools * 11 - 2 + year.in_progress_accepted
        assert year.reports_accepted == schools * 11 - 2
        if expected.in_progress:
            assert counts["in_progress_submitted"] == year.in_progress_submitted
            if expected.today.day == 1:
                assert year.in_progress_submitted == 0  # submissions start on the 1st: none before today
            if expected.all_submitted:
                assert year.in_progress_submitted == schools
            if expected.all_accepted:
                assert year.in_progress_accepted == schools
        # Pages open on the newest month with accepted reports, never on an empty one.
        newest = expected.in_progress if year.in_progress_accepted else expected.year[-1]
        check_opens_on(client, newest)
        with built.app.app_context():
            check_rankings_and_candidates(expected.year)
        if mail:  # the 发件箱: the newest month's bulletin to the bureau and every school, a card each
            assert f"发件箱 Outbox: {2 + 2 * schools} 封邮件" in built.text
            visible_schools(client, "admin")
            outbox = client.get("/mail").get_data(as_text=True)
            assert "督查通报" in outbox and outbox.count("成绩单") >= schools
            # every month before was issued on the day it locked: 2025-12 is 2026's first bulletin,
            # then January to July, September, October, and November (locked today) the eleventh
            assert "2026年第11期督查通报（2026年11月）" in outbox
    finally:
        set_clock(NOW)


def test_demo_calendar_on_the_days_the_calendar_turns() -> None:
    """demo_calendar by hand: month m locks on the 16th of m + 1; August is never reported."""
    from service.demo.year import demo_calendar

    for expected in DAYS:
        cal = demo_calendar(expected.today)
        assert [f"{y:04d}-{m:02d}" for y, m in cal.year] == expected.year, expected.today
        progress = f"{cal.in_progress[0]:04d}-{cal.in_progress[1]:02d}" if cal.in_progress else None
        assert progress == expected.in_progress, expected.today
    assert len(demo_calendar(date(2027, 3, 1)).year) == 11
