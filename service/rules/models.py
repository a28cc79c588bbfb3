"""Rule sets: the bureau's settings for scoring/ranking and for commendations, append-only.

Why append-only versions: a ranking snapshot and a commendation proposal record the rule set they
were computed with, so an edit must never rewrite what an old ranking was based on. Editing the rules
adds a new version; the newest version of a kind is the one in force. Bureau-level reference data:
no ``school_id``.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.audit.models import Audited
from service.core.types import TZDateTime, str_enum, utcnow
from service.db import Base


class RuleKind(enum.StrEnum):
    SCORING = "scoring"  # area weights, spot weighting, late deduction, bands, minimum data
    COMMENDATIONS = "commendations"  # thresholds, shares, quotas and vetoes of each commendation


RULE_KIND_LABELS = {
    RuleKind.SCORING: ("评分与排名规则", "Scoring and ranking rules"),
    RuleKind.COMMENDATIONS: ("表彰规则", "Commendation rules"),
}


class RuleSet(Audited, Base):
    __tablename__ = "rule_sets"
    __table_args__ = (
        UniqueConstraint("kind", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[RuleKind] = mapped_column(str_enum(RuleKind, "rule_kind"))
    version: Mapped[int] = mapped_column(Integer)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
