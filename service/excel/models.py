"""A checked workbook waiting for its confirmation (the web pages' two-phase upload).

The upload page checks a workbook and shows what it would replace; only the confirmation writes. The
file has to survive between the two requests, which may reach different gunicorn workers, and must not
travel through the browser (a page could not send it back without the user choosing it again). So it
is kept here, in the database every worker shares, for :data:`service.excel.staging.TTL`: keyed by the
SHA-256 of a random token that only the page holds, bound to the school (tenant wall), the report and
the user, with the digest of the plan the user was shown. Confirming or cancelling deletes the row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.core.types import TZDateTime, utcnow
from service.db import Base
from tenants import TenantOwned


class StagedUpload(TenantOwned, Base):
    __tablename__ = "excel_staged_uploads"
    __table_args__ = (
        UniqueConstraint("school_id", "id"),
        ForeignKeyConstraint(
            ["school_id", "report_id"],
            ["monthly_reports.school_id", "monthly_reports.id"],
            ondelete="CASCADE",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(Integer, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the page's token
    filename: Mapped[str] = mapped_column(String(255))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))  # of the file
    digest: Mapped[str] = mapped_column(String(64))  # of the plan shown (service.excel.plan.Plan.digest)
    created_at: Mapped[datetime] = mapped_column(TZDateTime, default=utcnow)
