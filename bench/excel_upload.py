"""Hostile monthly workbooks against the upload's caps (issue 14): time, memory, size of the answer.

Builds the compact embedded demo (SQLite) in a temporary directory, takes a school's open month,
downloads its template through the API and uploads, as a dry run, the template re-written in
openpyxl's write-only mode with N hazard rows holding a title only (5 problems each) - the shape of
the reported uploads (200,000 rows: 20 s, the worker from 124 to 677 MB, 129 MB of JSON; 880,000
rows: 101 s, 571 MB of JSON). Each upload runs in a fresh process so its peak memory is its own.

    .venv/bin/python -m bench.excel_upload [--rows 200000 880000] [--no-error-cap]

``--no-error-cap`` lifts ``EXCEL_MAX_ERRORS`` so that the row cap is what stops the check.
Prints one line per size: rows, upload MB, seconds, peak RSS before/after (MB), answer bytes, status.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _workbook(template: bytes, rows: int) -> bytes:
    from openpyxl import Workbook, load_workbook

    source = load_workbook(BytesIO(template))
    out = Workbook(write_only=True)
    for ws in source.worksheets:
        copy = out.create_sheet(ws.title)
        for row in ws.iter_rows(values_only=True):
            copy.append(row)
        if ws.title == "隐患整改":
            for n in range(rows):
                copy.append((f"隐患{n}",))
    buf = BytesIO()
    out.save(buf)
    return buf.getvalue()


def _app(db: Path, **overrides: Any) -> Any:
    from service import create_app
    from service.demo.runner import embedded_config

    return create_app({**embedded_config(db), "SECRET_KEY": "bench-not-secret-0123456789-abcdefghij",
                       "RATELIMIT_ENABLED": False, "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
                       "EXCEL_MAX_BYTES": 32 * 1024 * 1024, **overrides})  # fmt: skip


def _token(app: Any, username: str) -> str:
    """A bearer token of the school admin (the API as a client script would use it)."""
    from sqlalchemy import select

    from service.accounts.models import User
    from service.accounts.operations import issue_token
    from service.db import db
    from tenants import TenantScope, use_scope

    with app.app_context(), use_scope(TenantScope.bureau()):
        user = db.session.scalars(select(User).where(User.username == username)).one()
        _token_row, raw = issue_token(user, "bench")
        db.session.commit()
    return raw


def prepare(workdir: Path, sizes: list[int]) -> dict[str, Any]:
    """The demo, an open report of its first school, and one workbook file per size."""
    from service.demo.runner import build_demo
    from service.demo.seed import school_username

    db = workdir / "demo.sqlite"
    built = build_demo(db, compact=True, mail=False)
    username = school_username(built.logins.school_codes[0])
    app = _app(db)
    headers = {"Authorization": f"Bearer {_token(app, username)}"}
    client = app.test_client()
    # the newest month (the demo's current one, open): the school opens its report
    period = client.get("/api/v1/periods", headers=headers).get_json()[0]
    opened = client.post("/api/v1/reports", json={"period_id": period["id"]}, headers=headers)
    assert opened.status_code == 201, opened.get_json()
    report = opened.get_json()
    template = client.get(f"/api/v1/reports/{report['id']}/template.xlsx", headers=headers)
    assert template.status_code == 200, template.status_code
    files = {}
    for rows in sizes:
        path = workdir / f"rows-{rows}.xlsx"
        path.write_bytes(_workbook(template.data, rows))
        files[str(rows)] = str(path)
    return {"db": str(db), "headers": headers, "report_id": report["id"], "files": files}


def upload(setup: dict[str, Any], rows: int, no_error_cap: bool) -> dict[str, Any]:
    """One dry-run upload in this process (run in a fresh one): seconds, peak RSS, answer size."""
    overrides = {"EXCEL_MAX_ERRORS": 10**9} if no_error_cap else {}
    client = _app(Path(setup["db"]), **overrides).test_client()
    headers = setup["headers"]
    data = Path(setup["files"][str(rows)]).read_bytes()
    client.get("/api/v1/me", headers=headers)  # warm: the first request loads what every request needs
    before = _rss_mb()
    started = time.perf_counter()
    resp = client.post(
        f"/api/v1/reports/{setup['report_id']}/upload?dry_run=true",
        data={"file": (BytesIO(data), "月报.xlsx")},
        headers=headers,
        content_type="multipart/form-data",
    )
    seconds = time.perf_counter() - started
    body = resp.get_json() or {}
    errors = body.get("errors", {})
    return {"rows": rows, "mb": round(len(data) / 1024 / 1024, 2), "seconds": round(seconds, 2),
            "rss_before": round(before), "rss_peak": round(_rss_mb()), "answer_bytes": len(resp.data),
            "status": resp.status_code, "cells": len(errors.get("cells", [])),
            "file": errors.get("file", [])}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[200_000, 880_000])
    parser.add_argument("--no-error-cap", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        setup = json.loads(args.child)
        print(json.dumps(upload(setup, setup["rows"], setup["no_error_cap"]), ensure_ascii=False))
        return
    with tempfile.TemporaryDirectory(prefix="houqin-excel-bench-") as tmp:
        setup = prepare(Path(tmp), args.rows)
        print(f"load average: {Path('/proc/loadavg').read_text().strip()}")
        for rows in args.rows:
            child = json.dumps({**setup, "rows": rows, "no_error_cap": args.no_error_cap})
            out = (
                subprocess.run(
                    [sys.executable, "-m", "bench.excel_upload", "--child", child],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            r = json.loads(out)
            print(
                f"{r['rows']:>8} rows  {r['mb']:>5} MB  {r['seconds']:>6} s  RSS {r['rss_before']} -> "
                f"{r['rss_peak']} MB  answer {r['answer_bytes']} bytes  {r['status']}  "
                f"{r['cells']} cell errors  {r['file']}"
            )
        print(f"load average: {Path('/proc/loadavg').read_text().strip()}")


if __name__ == "__main__":
    main()
