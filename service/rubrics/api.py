"""REST endpoints for the versioned rubrics (``/api/v1``).

Rubrics are bureau-level: every role reads them (a school needs to know what it is scored on); only
the bureau admin changes them. Writes look the row up first, then check the role (403), then the
workflow (409 for anything but a draft).
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from service.accounts.auth import ensure_role
from service.accounts.models import Role
from service.core.lookup import get_or_404
from service.core.pagination import paginate
from service.core.schemas import PageArgs
from service.db import db
from service.rubrics import operations
from service.rubrics.models import Rubric, RubricItem
from service.rubrics.schemas import (
    ItemIn,
    ItemOut,
    ItemPatch,
    NewVersionIn,
    RubricOut,
    VersionOut,
    VersionPatch,
    VersionSummaryOut,
)

blp = Blueprint("rubrics", __name__, url_prefix="/api/v1", description="评分细则 Rubrics")


@blp.route("/rubrics")
class Rubrics(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, RubricOut(many=True))
    def get(self, page: dict[str, Any]) -> Any:
        """The rubrics (canteen, safety, staff) with their current and draft version ids."""
        return paginate(operations.list_rubrics(), **page)


@blp.route("/rubrics/<int:rubric_id>/versions")
class RubricVersions(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, VersionSummaryOut(many=True))
    def get(self, page: dict[str, Any], rubric_id: int) -> Any:
        """Every version of one rubric, oldest first."""
        rubric = get_or_404(Rubric, rubric_id)
        return paginate(operations.list_versions(rubric), **page)

    @blp.arguments(NewVersionIn)
    @blp.response(201, VersionOut)
    def post(self, data: dict[str, Any], rubric_id: int) -> Any:
        """Start a new draft: a copy of the latest version, numbered one higher (bureau admin)."""
        rubric = get_or_404(Rubric, rubric_id)
        ensure_role(Role.BUREAU_ADMIN)
        draft = operations.new_version(rubric, note=data["note"])
        db.session.commit()
        return operations.get_version(draft.id)


@blp.route("/rubric-versions/<int:version_id>")
class RubricVersionItem(MethodView):
    @blp.response(200, VersionOut)
    def get(self, version_id: int) -> Any:
        """One version with its settings, sections and items."""
        return operations.get_version(version_id)

    @blp.arguments(VersionPatch)
    @blp.response(200, VersionOut)
    def patch(self, data: dict[str, Any], version_id: int) -> Any:
        """Change a draft's note, settings or sections (409 once published)."""
        version = operations.get_version(version_id)
        ensure_role(Role.BUREAU_ADMIN)
        operations.update_draft(version, data)
        db.session.commit()
        return version


@blp.route("/rubric-versions/<int:version_id>/items")
class RubricVersionItems(MethodView):
    @blp.arguments(ItemIn)
    @blp.response(201, ItemOut)
    def post(self, data: dict[str, Any], version_id: int) -> Any:
        """Add an item to a section of a draft (bureau admin)."""
        version = operations.get_version(version_id)
        ensure_role(Role.BUREAU_ADMIN)
        item = operations.add_item(version, data)
        db.session.commit()
        return item


@blp.route("/rubric-items/<int:item_id>")
class RubricItemResource(MethodView):
    @blp.response(200, ItemOut)
    def get(self, item_id: int) -> Any:
        return get_or_404(RubricItem, item_id)

    @blp.arguments(ItemPatch(partial=True))
    @blp.response(200, ItemOut)
    def patch(self, data: dict[str, Any], item_id: int) -> Any:
        """Change an item of a draft (409 once published)."""
        item = get_or_404(RubricItem, item_id)
        ensure_role(Role.BUREAU_ADMIN)
        operations.update_item(item, data)
        db.session.commit()
        return item

    @blp.response(204)
    def delete(self, item_id: int) -> None:
        """Remove an item from a draft (409 once published)."""
        item = get_or_404(RubricItem, item_id)
        ensure_role(Role.BUREAU_ADMIN)
        operations.delete_item(item)
        db.session.commit()


@blp.route("/rubric-versions/<int:version_id>/publish")
class PublishRubricVersion(MethodView):
    @blp.response(200, VersionOut)
    def post(self, version_id: int) -> Any:
        """Publish a draft: it becomes the version new scores use; the previous one is retired."""
        version = operations.get_version(version_id)
        ensure_role(Role.BUREAU_ADMIN)
        operations.publish(version, current_user)
        db.session.commit()
        return version
