"""Settings pages of the rule sets: scoring and ranking (weights, bands, late deduction, ...) and
commendations (thresholds, quotas, the vetoes that bar each).

Rule sets are append-only: saving adds a version, and rankings and rounds keep the version they were
computed with. A form is parsed with the API's schema (``PUT /api/v1/rules/scoring``:
:class:`~service.rankings.schemas.ScoringRulesIn`; ``PUT /api/v1/commendations/rules``:
:class:`~service.commendations.schemas.RulesIn`), then a confirmation shows the diff against the
version in force before the same operation stores it. The confirmation names the version it was
computed against; if another version was saved meanwhile it is shown again (409), never saved unseen.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from service.accounts.models import User
from service.commendations import operations as commendations
from service.commendations.models import COMMENDATION_LABELS, COMMENDATION_ORDER
from service.commendations.schemas import VETO_RULE_CODES, RulesIn, json_ready
from service.core.labels import label
from service.db import db
from service.incidents.vetoes import rule_label
from service.rankings.schemas import ScoringRulesIn, rules_to_settings
from service.rules import operations as rules
from service.rules.diff import SettingChange, diff, flat, setting_label, versions_with_changes
from service.rules.models import RULE_KIND_LABELS, RuleKind
from service.scoring.explain import num
from service.web.forms import Invalid, load
from service.web.settings import require_admin, require_reader, settings_context
from service.web.views import bp

ACTIVE = "web.settings_rules"
SCORING_FIELDS = (
    "area_weights.canteen",
    "area_weights.safety",
    "area_weights.staff",
    "spot_weight_percent",
    "late_deduction",
    "credibility_gap",
    "bands.A",
    "bands.B",
    "bands.C",
    "max_missing_months.term",
    "max_missing_months.year",
    "sensitivity_shift",
)
COMMENDATION_FIELDS = (
    "near_miss_points",
    "advanced_unit.peer_group_share_percent",
    "trusted_canteen.min_canteen_mean",
    "trusted_canteen.spot_grade",
    "trusted_canteen.min_spot_inspections",
    "safe_campus.min_safety_mean",
    "outstanding_staff.min_score",
    "outstanding_staff.district_share_percent",
    "outstanding_staff.staff_per_award",
    "outstanding_staff.min_months_in_post",
)
COMMENDATION_CHECKS = ("advanced_unit.require_complete_data", "safe_campus.no_overdue_hazard_at_end")
VETO_LISTS = tuple(f"{c.value}.veto_rules" for c in COMMENDATION_ORDER)
_INTEGER = re.compile(r"^-?\d+$")
VETO_LABELS = {code: rule_label(code) for code in VETO_RULE_CODES}


def shown_setting(key: str, value: Any) -> str:
    """A setting's value as the bureau reads it: numbers without trailing zeros, yes/no, veto names."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list | tuple):
        names = [label(VETO_LABELS, v) if v in VETO_LABELS else str(v) for v in value]
        return "、".join(names) if names else _("none")
    if isinstance(value, int | Decimal) or (isinstance(value, str) and _is_number(value)):
        return num(value) or "0"
    return str(value)


def setting_title(key: str) -> str:
    """A setting's label, under its commendation's name where it belongs to one."""
    group = key.split(".", 1)[0]
    if "." in key and group in COMMENDATION_LABELS:
        return f"{label(COMMENDATION_LABELS, group)} · {setting_label(key)}"
    return setting_label(key)


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def _page(template: str, **context: Any) -> str:
    return render_template(
        template,
        shown_setting=shown_setting,
        setting_label=setting_title,
        RULE_KIND_LABELS=RULE_KIND_LABELS,
        COMMENDATION_LABELS=COMMENDATION_LABELS,
        **settings_context(ACTIVE),
        **context,
    )


# --- the versions ------------------------------------------------------------------------------------


@bp.route("/settings/rules")
@login_required
def settings_rules() -> Any:
    """Both rule sets: the settings in force and every saved version with what it changed."""
    require_reader()
    kinds = {kind: versions_with_changes(kind) for kind in RuleKind}
    creator_ids = {line.row.created_by_id for lines in kinds.values() for line in lines}
    creators = {
        u.id: u.display_name
        for u in db.session.scalars(select(User).where(User.id.in_(creator_ids - {None})))
    }
    return _page(
        "settings/rules.html",
        kinds=kinds,
        current={kind: rules.current(kind) for kind in RuleKind},
        creators=creators,
        flat=flat,
    )


# --- scoring and ranking -----------------------------------------------------------------------------


@bp.route("/settings/rules/scoring", methods=["GET", "POST"])
@login_required
def settings_scoring_rules() -> Any:
    """The scoring rules form; a valid form is confirmed with its diff, then saved as a new version."""
    require_reader()
    version, settings = rules.current(RuleKind.SCORING)
    if request.method == "GET":
        return _scoring_form({**flat(settings), "note": ""}, {})
    require_admin()
    form = {k: request.form.get(k, "").strip() for k in (*SCORING_FIELDS, "note")}
    try:
        data = load(ScoringRulesIn(), _nested(_scoring_payload(form)))
    except Invalid as exc:
        return _scoring_form(form, exc.errors), exc.status
    if request.form.get("back"):
        return _scoring_form(form, {})
    proposed = rules_to_settings(data)
    changes = diff(settings, proposed)
    if not _confirmed(version):
        return _confirm(RuleKind.SCORING, version, changes, _hidden(form), data["note"])
    if not changes:
        flash(_("Nothing changed; no version was added."), "info")
        return redirect(url_for("web.settings_rules"))
    row = rules.add_version(RuleKind.SCORING, proposed, note=data["note"], user=current_user)
    db.session.commit()
    flash(
        _("Scoring rules version %(v)s saved; rankings computed from now on use it.", v=row.version),
        "success",
    )
    return redirect(url_for("web.settings_rules") + "#scoring")


def _scoring_payload(form: dict[str, str]) -> dict[str, Any]:
    """The form as the API's JSON body: month counts as integers (the schema takes no strings for
    them), an empty field not sent (reported missing)."""
    out: dict[str, Any] = {}
    for key, value in form.items():
        if value == "":
            continue
        out[key] = int(value) if key.startswith("max_missing_months.") and _INTEGER.match(value) else value
    return out


def _scoring_form(form: dict[str, Any], errors: dict[str, list[str]]) -> str:
    return _page("settings/scoring_rules.html", form=form, errors=errors, fields=SCORING_FIELDS)


# --- commendations -----------------------------------------------------------------------------------


@bp.route("/settings/rules/commendations", methods=["GET", "POST"])
@login_required
def settings_commendation_rules() -> Any:
    """The commendation rules form: thresholds, quotas, the vetoes that bar each commendation."""
    require_reader()
    version, settings = commendations.current_rules()
    if request.method == "GET":
        return _commendation_form({**flat(settings), "note": ""}, {})
    require_admin()
    form = _posted_commendation()
    try:
        data = load(RulesIn(), {"settings": _nested(_commendation_payload(form)), "note": form["note"]})
    except Invalid as exc:
        errors = {k.removeprefix("settings."): v for k, v in exc.errors.items()}
        return _commendation_form(form, errors), exc.status
    if request.form.get("back"):
        return _commendation_form(form, {})
    changes_in = json_ready(data["settings"])
    changes = diff(settings, rules.merged(settings, changes_in))
    if not _confirmed(version):
        return _confirm(RuleKind.COMMENDATIONS, version, changes, _hidden(form), data["note"])
    if not changes:
        flash(_("Nothing changed; no version was added."), "info")
        return redirect(url_for("web.settings_rules"))
    saved, _settings = commendations.update_rules(changes_in, note=data["note"], user=current_user)
    db.session.commit()
    flash(
        _("Commendation rules version %(v)s saved; rounds proposed from now on use it.", v=saved), "success"
    )
    return redirect(url_for("web.settings_rules") + "#commendations")


def _posted_commendation() -> dict[str, Any]:
    form: dict[str, Any] = {k: request.form.get(k, "").strip() for k in (*COMMENDATION_FIELDS, "note")}
    for key in COMMENDATION_CHECKS:
        form[key] = request.form.get(key) == "on"
    for key in VETO_LISTS:
        form[key] = request.form.getlist(key)
    return form


def _commendation_payload(form: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in form.items() if k != "note" and v != ""}


def _commendation_form(form: dict[str, Any], errors: dict[str, list[str]]) -> str:
    groups = [
        (c, [f for f in COMMENDATION_FIELDS if f.startswith(f"{c.value}.")]) for c in COMMENDATION_ORDER
    ]
    return _page(
        "settings/commendation_rules.html",
        form=form,
        errors=errors,
        groups=groups,
        veto_choices=[(code, label(VETO_LABELS, code)) for code in VETO_RULE_CODES],
    )


# --- shared ------------------------------------------------------------------------------------------


def _nested(flat_values: dict[str, Any]) -> dict[str, Any]:
    """``{"bands.A": "90"}`` → ``{"bands": {"A": "90"}}`` (the API body's shape)."""
    out: dict[str, Any] = {}
    for key, value in flat_values.items():
        *parents, last = key.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return out


def _confirmed(version: int) -> bool:
    """The confirmation was given, against the version still in force."""
    return request.form.get("confirm") == "1" and request.form.get("base_version") == str(version)


def _hidden(form: dict[str, Any]) -> list[tuple[str, str]]:
    """The form's values as hidden inputs of the confirmation (a list posts one input per value)."""
    out: list[tuple[str, str]] = []
    for key, value in form.items():
        if isinstance(value, list):
            out.extend((key, v) for v in value)
        elif isinstance(value, bool):
            if value:
                out.append((key, "on"))
        else:
            out.append((key, value))
    return out


def _confirm(
    kind: RuleKind, version: int, changes: list[SettingChange], hidden: list[tuple[str, str]], note: str
) -> tuple[str, int]:
    stale = request.form.get("confirm") == "1"  # confirmed against a version no longer in force
    errors = (
        {"_schema": [_("Another version was saved meanwhile; check the changes against it again.")]}
        if stale
        else {}
    )
    page = _page(
        "settings/rules_confirm.html",
        kind=kind,
        version=version,
        changes=changes,
        hidden=hidden,
        note=note,
        errors=errors,
        action=url_for(
            "web.settings_scoring_rules" if kind is RuleKind.SCORING else "web.settings_commendation_rules"
        ),
    )
    return page, 409 if stale else 200
