"""Pagination of list endpoints: ``?page=&per_page=``, totals in ``X-Total-Count`` and ``Link``."""

from __future__ import annotations

from typing import Any

from flask import request
from sqlalchemy import func, select

from service.db import db


def paginate(stmt: Any, *, page: int = 1, per_page: int = 50) -> list[Any]:
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    items = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    _set_headers(total, page, per_page)
    return items


def _set_headers(total: int, page: int, per_page: int) -> None:
    from flask import g

    g.pagination = {"total": total, "page": page, "per_page": per_page}


def add_pagination_headers(response: Any) -> Any:
    from flask import g

    info = getattr(g, "pagination", None)
    if info is None:
        return response
    response.headers["X-Total-Count"] = str(info["total"])
    last = max(1, -(-info["total"] // info["per_page"]))
    links = []
    base = request.base_url
    if info["page"] < last:
        links.append(f'<{base}?page={info["page"] + 1}&per_page={info["per_page"]}>; rel="next"')
    links.append(f'<{base}?page={last}&per_page={info["per_page"]}>; rel="last"')
    response.headers["Link"] = ", ".join(links)
    return response
