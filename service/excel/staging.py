"""Checked workbooks kept for their confirmation (:class:`service.excel.models.StagedUpload`).

A page holds only a random token; the row holds the SHA-256 of it, so the database alone does not
confirm anything. A row is bound to its school (the tenant wall), report and user: another user,
another report or another school's token finds nothing. It lives :data:`TTL`; each new check removes
the school's expired rows and the user's earlier check of the same report (one pending upload per
person and report: a second tab's check replaces the first one's).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, delete, or_, select

from service.core.errors import Conflict
from service.core.timeutil import utcnow
from service.db import db
from service.excel.models import StagedUpload
from service.reports.models import MonthlyReport

TTL = timedelta(minutes=30)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def stage(report: MonthlyReport, user: Any, data: bytes, filename: str, *, sha256: str, digest: str) -> str:
    """Keep a checked workbook and the digest of its plan; returns the token for the page."""
    now = utcnow()
    db.session.execute(
        delete(StagedUpload)
        .where(
            StagedUpload.school_id == report.school_id,
            or_(
                StagedUpload.created_at < now - TTL,
                and_(StagedUpload.report_id == report.id, StagedUpload.user_id == user.id),
            ),
        )
        .execution_options(synchronize_session=False)
    )
    token = secrets.token_urlsafe(32)
    db.session.add(
        StagedUpload(
            school_id=report.school_id,
            report_id=report.id,
            user_id=user.id,
            token_hash=_hash(token),
            filename=filename[:255],
            data=data,
            sha256=sha256,
            digest=digest,
            created_at=now,
        )
    )
    db.session.flush()
    return token


def _mine(report: MonthlyReport, user: Any, token: str) -> Any:
    return (
        StagedUpload.token_hash == _hash(token or ""),
        StagedUpload.school_id == report.school_id,
        StagedUpload.report_id == report.id,
        StagedUpload.user_id == user.id,
    )


def claim(report: MonthlyReport, user: Any, token: str) -> StagedUpload:
    """The staged workbook ``token`` names, locked until the transaction ends: a second confirmation
    of the same upload waits, then finds nothing. 409 when it is gone (confirmed, cancelled, replaced
    by a newer check) or older than :data:`TTL`."""
    row = db.session.scalars(
        select(StagedUpload)
        .where(*_mine(report, user, token), StagedUpload.created_at >= utcnow() - TTL)
        .with_for_update()
    ).one_or_none()
    if row is None:
        raise Conflict(
            {
                "token": [
                    _(
                        "This upload was already confirmed or cancelled, or it has expired (after "
                        "%(minutes)s minutes); upload the workbook again.",
                        minutes=int(TTL.total_seconds() // 60),
                    )
                ]
            }
        )
    return row


def discard(report: MonthlyReport, user: Any, token: str) -> None:
    """Forget a staged workbook (cancelled, confirmed, or refused at confirmation); nothing if gone."""
    db.session.execute(
        delete(StagedUpload).where(*_mine(report, user, token)).execution_options(synchronize_session=False)
    )
