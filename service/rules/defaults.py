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
    # A school or person this many points below a threshold is stored as a near miss (with why not).
    "near_miss_points": "3",
    # 先进单位: top share of the composite within the peer group, data complete, no veto.
    "advanced_unit": {
        "peer_group_share_percent": "10",
        "require_complete_data": True,
        # The veto rules (service/incidents/vetoes.py codes) that bar it, among those a veto names.
        "veto_rules": [
            "food_poisoning_at_fault",
            "unlicensed",
            "banned_food",
            "meal_not_sampled",
            "fine_or_heavier",
            "liability_casualty",
            "major_fire",
            "building_collapse",
            "crowd_crush",
            "crime_poor_management",
            "hidden_or_late_food",
            "hidden_or_late",
            "falsified_data",
            "failed_veto_item",
        ],
    },
    # 放心食堂: canteen mean at least this, every spot canteen inspection graded A (and at least this
    # many of them in the period), no food veto.
    "trusted_canteen": {
        "min_canteen_mean": "95",
        "spot_grade": "A",
        "min_spot_inspections": 1,
        "veto_rules": [
            "food_poisoning_at_fault",
            "unlicensed",
            "banned_food",
            "meal_not_sampled",
            "hidden_or_late_food",
            "falsified_data",
            "failed_veto_item",
        ],
    },
    # 平安校园: safety mean at least this, no overdue hazard at the period's end, no safety veto.
    "safe_campus": {
        "min_safety_mean": "95",
        "no_overdue_hazard_at_end": True,
        "veto_rules": [
            "liability_casualty",
            "major_fire",
            "building_collapse",
            "crowd_crush",
            "crime_poor_management",
            "hidden_or_late",
            "falsified_data",
            "failed_veto_item",
        ],
    },
    # 优秀后勤人员: person mean at least this, within the district share, at most one per N staff of a
    # school, at least this many months in post, no staff veto.
    "outstanding_staff": {
        "min_score": "95",
        "district_share_percent": "5",
        "staff_per_award": 10,
        "min_months_in_post": 6,
        "veto_rules": ["falsified_data"],
    },
}
