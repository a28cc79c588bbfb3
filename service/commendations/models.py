"""Commendation rounds (表彰评选), their candidates and the certificates of published awards.

A *round* is one term (学期) or school year (学年) of commendations. It is bureau-level and holds no
school's numbers: which ranking snapshot and which rule-set version (with the full settings) the last
proposal used, and its state - ``proposed`` while the bureau reviews the candidates, ``published``
once the list is frozen. There is one round per (kind, key): proposing again replaces its candidates.

A *candidate* is school-owned (a school sees only its own lines): one commendation for one school
(``staff_id`` empty) or one staff member (``staff_id`` set), whether it qualifies under the rules
and why (``reasons``), and the bureau admin's decision. Near misses are stored too, as not
qualifying, with the reasons they fell short; only qualifying candidates are decided.

A *certificate* stores the PDF of one published award as bytes, so a certificate printed later is
the same document as the one issued on the day of publication, whatever changes in templates or
school names afterwards.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.audit.models import Audited
from service.core.types import TZDateTime, str_enum, utcnow
from service.db import Base
from service.incidents.vetoes import COMMENDATION_LABELS, Commendation
from service.org.models import School
from service.staff.models import StaffMember
from tenants import TenantOwned

__all__ = [
    "COMMENDATION_LABELS",
    "Commendation",
    "CommendationCandidate",
    "CommendationCertificate",
    "CommendationRound",
    "Decision",
    "RoundKind",
    "RoundState",
]


class RoundKind(enum.StrEnum):
    TERM = "term"  # 学期
    YEAR = "year"  # 学年


ROUND_KIND_LABELS = {
    RoundKind.TERM: ("学期", "Term"),
    RoundKind.YEAR: ("学年", "School year"),
}


class RoundState(enum.StrEnum):
    PROPOSED = "proposed"  # candidates proposed, the bureau reviews them
    PUBLISHED = "published"  # frozen: numbered awards with their certificates


ROUND_STATE_LABELS = {
    RoundState.PROPOSED: ("待审定", "Proposed"),
    RoundState.PUBLISHED: ("已公布", "Published"),
}


class Decision(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


DECISION_LABELS = {
    Decision.PENDING: ("待审定", "Pending"),
    Decision.APPROVED: ("批准", "Approved"),
    Decision.REJECTED: ("不批准", "Rejected"),
}

# Order of the commendations on lists, certificates numbers and the published workbook.
COMMENDATION_ORDER = (
    Commendation.ADVANCED_UNIT,
    Commendation.TRUSTED_CANTEEN,
    Commendation.SAFE_CAMPUS,
    Commendation.OUTSTANDING_STAFF,
)

# A candidate's measure: composite, canteen, safety or person mean (6 places like the area scores).
MEASURE = Numeric(12, 6)


class CommendationRound(Audited, Base):
    __tablename__ = "commendation_rounds"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[RoundKind] = mapped_column(str_enum(RoundKind, "commendation_round_kind"))
    key: Mapped[str] = mapped_column(String(20))  # 2025-2026-1 | 2025-2026
    state: Mapped[RoundState] = mapped_column(
        str_enum(RoundState, "commendation_round_state"), default=RoundState.PROPOSED
    )
    # The day the rules were judged on: the period's last day (or the day of proposing, if earlier).
    as_of: Mapped[date | None] = mapped_column(Date, nullable=True)
    # What the last proposal used; empty until the first proposal has run.
    snapshot_id: Mapped[int | None] = mapped_column(
        ForeignKey("ranking_snapshots.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    rules_version: Mapped[int] = mapped_column(Integer, default=0)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Counts per commendation (candidates, qualifying) - no school's numbers.
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    computed_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    published_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)

    @property
    def is_published(self) -> bool:
        return self.state is RoundState.PUBLISHED


class CommendationCandidate(Audited, TenantOwned, Base):
    __tablename__ = "commendation_candidates"
    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        # One line per commendation and subject in a round; ``subject`` is "school" or "staff:<id>"
        # (a nullable staff_id could not take part in a unique key: NULLs never collide).
        UniqueConstraint("round_id", "commendation", "school_id", "subject"),
        UniqueConstraint("certificate_no"),
        ForeignKeyConstraint(
            ["school_id", "staff_id"],
            ["staff_members.school_id", "staff_members.id"],
            ondelete="RESTRICT",
        ),
        CheckConstraint("decision = 'pending' OR qualifies", name="decided_only_if_qualifies"),
        CheckConstraint(
            "(commendation = 'outstanding_staff') = (staff_id IS NOT NULL)", name="staff_only_for_staff_award"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("commendation_rounds.id", ondelete="CASCADE"), index=True
    )
    commendation: Mapped[Commendation] = mapped_column(str_enum(Commendation, "commendation"))
    staff_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    subject: Mapped[str] = mapped_column(String(30))
    qualifies: Mapped[bool] = mapped_column(Boolean)
    # The measure the rule ranks by, and the order within the commendation (1 = best).
    value: Mapped[Decimal | None] = mapped_column(MEASURE, nullable=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # [{code, ok, zh, en, value, threshold}], failed checks first.
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    decision: Mapped[Decision] = mapped_column(
        str_enum(Decision, "commendation_decision"), default=Decision.PENDING
    )
    comment: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    decided_at: Mapped[datetime | None] = mapped_column(TZDateTime, nullable=True)
    certificate_no: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)

    round: Mapped[CommendationRound] = relationship()
    school: Mapped[School] = relationship(
        primaryjoin="CommendationCandidate.school_id == School.id",
        foreign_keys="[CommendationCandidate.school_id]",
        viewonly=True,
    )
    staff: Mapped[StaffMember | None] = relationship(
        primaryjoin="and_(CommendationCandidate.school_id == StaffMember.school_id, "
        "CommendationCandidate.staff_id == StaffMember.id)",
        foreign_keys="[CommendationCandidate.school_id, CommendationCandidate.staff_id]",
        viewonly=True,
    )


class CommendationCertificate(TenantOwned, Base):
    """The issued PDF of one award; written once at publication, never changed."""

    __tablename__ = "commendation_certificates"
    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        UniqueConstraint("school_id", "candidate_id"),
        UniqueConstraint("certificate_no"),
        ForeignKeyConstraint(
            ["school_id", "candidate_id"],
            ["commendation_candidates.school_id", "commendation_candidates.id"],
            ondelete="CASCADE",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    candidate_id: Mapped[int] = mapped_column(Integer, index=True)
    certificate_no: Mapped[str] = mapped_column(String(40))
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
