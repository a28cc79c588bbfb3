"""ECharts options built on the server from figures already computed (``service/static/school-charts.js``
only hands them to ECharts): the browser draws, it never computes. Every chart is shown beside a table
of the same numbers, so these options carry nothing a table does not.

Values are floats rounded to 1 decimal (a chart needs no more, and JSON has no decimals); a month
without a value is ``None`` (a gap in the line, never a 0). Score axes start at the ten below the
lowest value and end at 100: an axis fitted to the data would make a tenth of a point look like a fall.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import gettext as _

ONE_DECIMAL = Decimal("0.1")
# One colour per school, in the order of the comparison, the same in every chart of the page (and
# distinct enough for the common colour-vision deficiencies: the "tab10" hues).
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd")
Series = Sequence[tuple[str, Sequence[float | int | None]]]


def point(value: Decimal | int | None) -> float | None:
    if value is None:
        return None
    return float(Decimal(value).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP))


def floor_ten(values: Sequence[float | int | None]) -> int:
    """The ten at or below the lowest value (95.5 → 90), at most 90 so that the axis has a range."""
    present = [v for v in values if v is not None]
    if not present:
        return 0
    return max(0, min(90, math.floor(min(present) / 10) * 10))


def _base() -> dict[str, Any]:
    return {
        "animation": False,
        "color": list(PALETTE),
        "tooltip": {"trigger": "axis"},
        "legend": {"type": "scroll", "top": 0},
        # room on the right for the last month's label (the axis has no boundary gap)
        "grid": {"left": 8, "right": 28, "top": 40, "bottom": 8, "containLabel": True},
    }


def _months(months: Sequence[str]) -> dict[str, Any]:
    return {"type": "category", "data": list(months), "boundaryGap": False}


def _rank_axis(name: str = "") -> dict[str, Any]:
    """Ranks go down the axis: 1 at the top (the axis name sits at the top too, at its start)."""
    return {
        "type": "value",
        "name": name,
        "nameLocation": "start",
        "inverse": True,
        "minInterval": 1,
        "min": 1,
    }


def _lines(series: Series, **extra: Any) -> list[dict[str, Any]]:
    return [
        {"name": name, "type": "line", "data": list(values), "connectNulls": False, "symbolSize": 7, **extra}
        for name, values in series
    ]


def score_lines(months: Sequence[str], series: Series) -> dict[str, Any]:
    """Composite scores over the months, one line per school."""
    every = [v for _name, values in series for v in values]
    return {
        **_base(),
        "xAxis": _months(months),
        "yAxis": {"type": "value", "min": floor_ten(every), "max": 100},
        "series": _lines(series),
    }


def rank_lines(months: Sequence[str], series: Series) -> dict[str, Any]:
    """Ranks over the months, one line per school (1 at the top)."""
    return {**_base(), "xAxis": _months(months), "yAxis": _rank_axis(), "series": _lines(series)}


def radar(
    indicators: Sequence[str], series: Sequence[tuple[str, Sequence[float | None], int]]
) -> dict[str, Any]:
    """One polygon per school over the areas, on the fixed 0-100 scale. A school with an area missing
    (no canteen, no staff, no accepted month) is left out by the caller: a radar cannot leave a corner
    empty, and ECharts would draw it at the centre, as if the area had scored 0. Each polygon keeps
    its school's colour (the third element: the school's position in the comparison)."""
    return {
        "animation": False,
        "tooltip": {"trigger": "item"},
        "legend": {"type": "scroll", "bottom": 0},
        "radar": {
            "indicator": [{"name": name, "max": 100, "min": 0} for name in indicators],
            "radius": "66%",
            "center": ["50%", "50%"],
        },
        "series": [
            {"type": "radar", "data": [_polygon(name, values, index) for name, values, index in series]}
        ],
    }


def _polygon(name: str, values: Sequence[float | None], index: int) -> dict[str, Any]:
    colour = PALETTE[index % len(PALETTE)]
    return {
        "name": name,
        "value": list(values),
        "itemStyle": {"color": colour},
        "lineStyle": {"color": colour, "width": 2},
        "areaStyle": {"color": colour, "opacity": 0.08},
    }


def score_and_rank(
    months: Sequence[str],
    composite: Sequence[float | None],
    rank_overall: Sequence[int | None],
    rank_peer: Sequence[int | None],
) -> dict[str, Any]:
    """The school page's history: the composite on the left axis, its ranks (inverted) on the right."""
    return {
        **_base(),
        "grid": {"left": 8, "right": 28, "top": 56, "bottom": 8, "containLabel": True},
        "xAxis": _months(months),
        "yAxis": [
            {"type": "value", "name": _("Composite"), "min": floor_ten(composite), "max": 100},
            {**_rank_axis(_("Rank")), "splitLine": {"show": False}},
        ],
        "series": [
            *_lines([(_("Composite"), composite)]),
            *_lines([(_("Rank (district)"), rank_overall)], yAxisIndex=1, lineStyle={"type": "dashed"}),
            *_lines([(_("Rank (peer group)"), rank_peer)], yAxisIndex=1, lineStyle={"type": "dotted"}),
        ],
    }
