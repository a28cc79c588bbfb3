"""The rule settings the product ships with (``rubrics.md`` "Scores and rankings", "Default commendations").

Weights and percentages are whole or decimal numbers written as strings where they take part in
exact arithmetic, so a JSON round-trip never turns them into binary floats.
"""

from __future__ import annotations

from typing import Any

SCORING_DEFAULTS: dict[str, Any] = {
    # Formula 5: composite = Σ wₐ × areaₐ ÷ Σ wₐ over the areas that apply.
    "area_weights": {"canteen": "40", "safety": "40", "staff": "20"},
    # Formula 3: with a spot inspection that month, area = spot% × spot + (100 − spot%) × self.
    "spot_weight_percent": "70",
    # Credibility flag when self − spot exceeds this many points.
    "credibility_gap": "15",
    # Formula 5: points off the composite of a month submitted after the deadline.
    "late_deduction": "2",
    # Bands of a composite (and of term and year scores).
    "bands": {"A": "90", "B": "75", "C": "60"},
    # Formula 6: ranked only with at most this many months missing.
    "max_missing_months": {"term": 1, "year": 1},
    # Sensitivity: each area weight shifted by ± this many points.
    "sensitivity_shift": "10",
}

COMMENDATION_DEFAULTS: dict[str, Any] = {
    # 先进单位: top share of the composite within the peer group, data complete, no veto.
    "advanced_unit": {"peer_group_share_percent": "10", "require_complete_data": True},
    # 放心食堂: canteen mean at least this, every spot canteen inspection graded A, no food veto.
    "trusted_canteen": {"min_canteen_mean": "95", "spot_grade": "A"},
    # 平安校园: safety mean at least this, no overdue hazard at the period's end, no safety veto.
    "safe_campus": {"min_safety_mean": "95", "no_overdue_hazard_at_end": True},
    # 优秀后勤人员: person mean at least this, within the district share, at most one per N staff of a
    # school, at least this many months in post, no staff veto.
    "outstanding_staff": {
        "min_score": "95",
        "district_share_percent": "5",
        "staff_per_award": 10,
        "min_months_in_post": 6,
    },
}
