"""Rubrics, their versions, sections and items - bureau-level reference data, not school-owned.

Why versions: a score always records the rubric version it was computed with, so editing a rubric
must never rewrite past scores. The bureau edits a *draft*; publishing it retires the previous
published version, and a published (or retired) version's rows never change again. Operations refuse
such edits with 409, and :mod:`service.rubrics.guard` refuses them again at flush time.

No ``school_id`` and no row-level security: every role reads the rubrics, only the bureau admin
changes them (checked in the API).
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.audit.models import Audited
from service.core.types import TZDateTime, str_enum, utcnow
from service.db import Base

POINTS = Numeric(6, 2)


class RubricKind(enum.StrEnum):
    CANTEEN = "canteen"  # 食堂检查
    SAFETY = "safety"  # 校园安全检查
    STAFF = "staff"  # 后勤人员考核


RUBRIC_KIND_LABELS = {
    RubricKind.CANTEEN: ("食堂检查", "Canteen inspection"),
    RubricKind.SAFETY: ("校园安全检查", "Campus safety check"),
    RubricKind.STAFF: ("后勤人员考核", "Logistics staff evaluation"),
}


class VersionStatus(enum.StrEnum):
    DRAFT = "draft"  # being edited by the bureau; never used for scoring
    PUBLISHED = "published"  # the one version scores are computed with now
    RETIRED = "retired"  # superseded; kept because past scores name it


VERSION_STATUS_LABELS = {
    VersionStatus.DRAFT: ("草稿", "Draft"),
    VersionStatus.PUBLISHED: ("已发布", "Published"),
    VersionStatus.RETIRED: ("已停用", "Retired"),
}

FROZEN_STATUSES = frozenset({VersionStatus.PUBLISHED, VersionStatus.RETIRED})


class ItemKind(enum.StrEnum):
    VETO = "veto"  # 否决项: bars commendations for the look-back window; never changes the score
    KEY = "key"  # ※ 关键项: failing it caps the inspection's grade
    GENERAL = "general"  # 一般项: ordinary deduction


ITEM_KIND_LABELS = {
    ItemKind.VETO: ("否决项", "Veto item"),
    ItemKind.KEY: ("关键项", "Key item"),
    ItemKind.GENERAL: ("一般项", "General item"),
}


class Rubric(Audited, Base):
    """One rubric per kind; what it says lives in its versions."""

    __tablename__ = "rubrics"

    id: Mapped[int] = mapped_column(primary_key=True)
    # One rubric per kind, so "the published canteen rubric" is unambiguous for the scoring jobs.
    kind: Mapped[RubricKind] = mapped_column(str_enum(RubricKind, "rubric_kind"), unique=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(160), default="")

    versions: Mapped[list[RubricVersion]] = relationship(
        back_populates="rubric", order_by="RubricVersion.version", cascade="all, delete-orphan"
    )


class RubricVersion(Audited, Base):
    """One numbered version of a rubric, with the settings that belong to it (grade bands, weights)."""

    __tablename__ = "rubric_versions"
    __table_args__ = (
        UniqueConstraint("rubric_id", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
        # At most one published version per rubric, whatever the application does.
        Index(
            "uq_rubric_versions_one_published",
            "rubric_id",
            unique=True,
            postgresql_where=text("status = 'published'"),
            sqlite_where=text("status = 'published'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rubric_id: Mapped[int] = mapped_column(ForeignKey("rubrics.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[VersionStatus] = mapped_column(
        str_enum(VersionStatus, "rubric_version_status"), default=VersionStatus.DRAFT
    )
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    published_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    note: Mapped[str] = mapped_column(Text, default="")
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    rubric: Mapped[Rubric] = relationship(back_populates="versions")
    sections: Mapped[list[RubricSection]] = relationship(
        back_populates="version",
        order_by="[RubricSection.position, RubricSection.id]",
        cascade="all, delete-orphan",
    )

    @property
    def is_draft(self) -> bool:
        return self.status is VersionStatus.DRAFT

    @property
    def total_points(self) -> Decimal:
        return sum((s.max_points for s in self.sections), Decimal(0))

    def all_items(self) -> list[RubricItem]:
        return [item for section in self.sections for item in section.items]


class RubricSection(Audited, Base):
    """A section (canteen/safety: A..G) or a dimension (staff: de, neng, qin, ji, lian)."""

    __tablename__ = "rubric_sections"
    __table_args__ = (
        UniqueConstraint("version_id", "code"),
        CheckConstraint("max_points > 0", name="max_points_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("rubric_versions.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    max_points: Mapped[Decimal] = mapped_column(POINTS)
    position: Mapped[int] = mapped_column(Integer, default=0)

    version: Mapped[RubricVersion] = relationship(back_populates="sections")
    items: Mapped[list[RubricItem]] = relationship(
        back_populates="section",
        order_by="[RubricItem.position, RubricItem.id]",
        cascade="all, delete-orphan",
    )


class RubricItem(Audited, Base):
    """One checked item: how much each occurrence deducts, up to ``cap``, and what fails a ※ item.

    Staff-evaluation items are rated rather than deducted: ``max_score`` is set (0..max_score per
    rater) and ``deduction`` is 0. ``computed`` items are filled in by a job (overdue hazards, time in
    post), so data entry skips them.
    """

    __tablename__ = "rubric_items"
    __table_args__ = (
        UniqueConstraint("section_id", "code"),
        CheckConstraint("deduction >= 0", name="deduction_nonnegative"),
        CheckConstraint("cap IS NULL OR cap >= deduction", name="cap_covers_deduction"),
        CheckConstraint("max_score IS NULL OR max_score > 0", name="max_score_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("rubric_sections.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[ItemKind] = mapped_column(str_enum(ItemKind, "rubric_item_kind"), default=ItemKind.GENERAL)
    deduction: Mapped[Decimal] = mapped_column(POINTS, default=Decimal(0))
    cap: Mapped[Decimal | None] = mapped_column(POINTS, nullable=True)
    max_score: Mapped[Decimal | None] = mapped_column(POINTS, nullable=True)
    unit: Mapped[str] = mapped_column(String(16), default="")
    na_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    key_fails_on: Mapped[str | None] = mapped_column(Text, nullable=True)
    computed: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)

    section: Mapped[RubricSection] = relationship(back_populates="items")
