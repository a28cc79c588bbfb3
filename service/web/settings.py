"""The bureau's settings in the browser (设置): what the pages of every settings area share.

Who: the bureau admin changes settings; a bureau official reads every settings page and changes
nothing (403 on any POST); inspectors and school admins are refused (403) - after the lookup, so an id
of another school's row stays a plain 404 for them. Each area's pages live in the area's own
``views.py`` (rubrics, rules, periods, accounts, org) on the API's schemas and operations; this module
holds the guards, the landing page and the sub-navigation.
"""

from __future__ import annotations

from typing import Any

from flask import abort, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from service.accounts.models import BUREAU_ROLES, Role
from service.core.errors import NotFound
from service.core.lookup import get_or_404
from service.web.views import bp

# The settings areas, in the order of the sub-navigation: (endpoint, label, what it holds).
AREAS = (
    ("web.settings_rubrics", _l("Rubrics"), _l("Versions, the draft editor, publishing with a diff")),
    (
        "web.settings_rules",
        _l("Scoring and commendation rules"),
        _l("Weights, bands, thresholds and quotas; every saved version with its changes"),
    ),
    ("web.settings_periods", _l("Periods"), _l("Open a month, deadlines and lock days, unlock requests")),
    ("web.settings_users", _l("Users"), _l("Accounts, roles, schools or clusters, passwords")),
    ("web.settings_schools", _l("Schools and clusters"), _l("Schools, clusters and their supervisors")),
)


def require_reader() -> None:
    """Bureau roles read the settings; everybody else is refused (403)."""
    if current_user.role not in BUREAU_ROLES:
        abort(403)


def require_admin() -> None:
    """Only the bureau admin changes settings (403 for an official, as the API answers)."""
    if current_user.role is not Role.BUREAU_ADMIN:
        abort(403)


def may_change() -> bool:
    return current_user.role is Role.BUREAU_ADMIN


def found(model: Any, row_id: int) -> Any:
    """The row in the caller's scope, or 404 (another school's id reads as not found)."""
    try:
        return get_or_404(model, row_id)
    except NotFound:
        abort(404)


def settings_context(active: str) -> dict[str, Any]:
    """What the settings layout needs: the sub-navigation, the active area, whether forms are live."""
    return {"settings_areas": AREAS, "settings_active": active, "may_change": may_change()}


@bp.route("/settings")
@login_required
def settings() -> Any:
    """The settings areas, each with what it holds."""
    require_reader()
    return render_template("settings/index.html", **settings_context("web.settings"))
