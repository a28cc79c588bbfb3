"""Benchmark: N report cards rendered (HTML + PDF + xlsx) and delivered to a local SMTP server by a
Celery worker with 2 processes, through the real notice machinery (runs, deliveries, claims).

    .venv/bin/python -m bench.mail                 # 300 schools, 2 worker processes
    .venv/bin/python -m bench.mail --cards 50 --concurrency 1

It builds a scratch PostgreSQL database (``--database``, dropped and recreated) with one cluster, N
schools each with one school admin account (an e-mail address), and the newest reported month; starts
aiosmtpd in this process, and ``celery -A bench.mail_worker worker -c 2`` on Redis. Then, timed: "send
now" on a report-card schedule (N runs, each rendered once and delivered once) until the SMTP server has
accepted N messages. It prints the elapsed time, the rate, and the worker's peak RSS per process
(``VmHWM``, main process and each pool child). When the build has no report card renderer the workers
use :func:`bench.mail_worker.stand_in_report_card` (said in the output). No assertions: the figures go to
``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/houqin_bench_mail"
REDIS = os.environ.get("HOUQIN_BENCH_REDIS", "redis://127.0.0.1:6379/14")
SECRET = "bench-mail-0123456789-abcdefghijklmnopqrstuvwxyz"


def _recreate(url: str) -> None:
    base, name = url.rsplit("/", 1)
    admin = create_engine(
        base.replace("postgresql://", "postgresql+psycopg://") + "/postgres", isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()


def _seed(app: Any, cards: int) -> int:
    from service.accounts.models import Role, User
    from service.db import db
    from service.notices import operations
    from service.notices.schemas import ScheduleIn
    from service.org.models import CanteenMode, Cluster, School, SchoolType
    from service.periods.models import Period
    from tenants import TenantScope, use_scope

    today = date.today()
    first = today.replace(day=1)
    month = (first - timedelta(days=40)).replace(day=1)  # a month whose deadline has passed
    with app.app_context(), use_scope(TenantScope.bureau()):
        cluster = Cluster(code="C1", name="城东片区")
        db.session.add(cluster)
        db.session.flush()
        db.session.add(
            Period(year=month.year, month=month.month, deadline=month.replace(day=28) + timedelta(days=8))
        )
        for i in range(1, cards + 1):
            school = School(
                code=f"S{i:04d}",
                name=f"第{i}小学",
                type=SchoolType.PRIMARY,
                canteen_mode=CanteenMode.SELF_RUN,
                cluster_id=cluster.id,
            )
            db.session.add(school)
            db.session.flush()
            db.session.add(
                User(
                    username=f"s{i:04d}",
                    display_name=f"管理员{i}",
                    role=Role.SCHOOL_ADMIN,
                    password_hash="x",
                    school_id=school.id,
                    email=f"s{i:04d}@schools.example",
                )
            )
        schedule = operations.create_schedule(
            ScheduleIn().load(
                {
                    "name": "成绩单",
                    "kind": "report_card",
                    "rule": "monthly",
                    "day_of_month": 1,
                    "audience": ["school_admins"],
                }
            )
        )
        db.session.commit()
        schedule_id = schedule.id
        db.session.remove()
    return schedule_id


def _vm(pid: int, field: str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (``/proc/<pid>/stat`` fields 14 and 15)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cards", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    args = parser.parse_args()

    from aiosmtpd.controller import Controller

    from service import create_app, migrate
    from service.core.timeutil import utcnow
    from service.db import db
    from service.notices import operations
    from service.notices.models import NoticeSchedule
    from tenants import TenantScope, use_scope
    from tests.notice_support import Inbox, free_port

    _recreate(args.database)
    migrate.upgrade(args.database, app_role="postgres")
    queue = f"bench-mail-{uuid.uuid4().hex[:8]}"
    port = free_port()
    config = {
        "DATABASE_URL": args.database,
        "REDIS_URL": REDIS,
        "CELERY_BROKER_URL": REDIS,
        "CELERY_RESULT_BACKEND": None,
        "CELERY_ALWAYS_EAGER": False,
        "CELERY_QUEUE": queue,
        "SECRET_KEY": SECRET,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": port,
    }
    app = create_app(config)
    schedule_id = _seed(app, args.cards)
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    env = {
        **os.environ,
        "DATABASE_URL": args.database,
        "REDIS_URL": REDIS,
        "CELERY_QUEUE": queue,
        "SECRET_KEY": SECRET,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(port),
        "HOUQIN_INSTANCE_DIR": tempfile.mkdtemp(prefix="bench-mail-"),
    }
    env.pop("HOUQIN_NOW", None)
    log = Path(env["HOUQIN_INSTANCE_DIR"]) / "worker.log"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "bench.mail_worker",
            "worker",
            "-c",
            str(args.concurrency),
            "-l",
            "warning",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"{queue}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        time.sleep(1)
        deadline = time.monotonic() + 60
        while len(_children(worker.pid)) < args.concurrency:
            if worker.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("worker did not start:\n" + log.read_text())
            time.sleep(0.2)
        time.sleep(2)  # the pool children finish importing
        cpu_before = {pid: _cpu_seconds(pid) for pid in [worker.pid, *_children(worker.pid)]}
        load_before = os.getloadavg()[0]
        started = time.monotonic()
        with app.app_context(), use_scope(TenantScope.bureau()):
            schedule = db.session.get(NoticeSchedule, schedule_id)
            created, _ = operations.send_now(schedule, utcnow())
            db.session.commit()  # the outbox sends the N execute_run tasks
            db.session.remove()
        peak: dict[int, float] = {}
        while len(inbox.messages) < created:
            if worker.poll() is not None or time.monotonic() - started > 600:
                raise SystemExit("worker stopped or took over 10 minutes:\n" + log.read_text()[-4000:])
            for pid in [worker.pid, *_children(worker.pid)]:
                peak[pid] = max(peak.get(pid, 0.0), _vm(pid, "VmRSS"))
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        hwm = {pid: _vm(pid, "VmHWM") for pid in [worker.pid, *_children(worker.pid)]}
        cpu = sum(_cpu_seconds(pid) - cpu_before.get(pid, 0.0) for pid in hwm)
        per_card = elapsed / max(created, 1)
        renderer = (
            "stand-in (bench/mail_worker.py: HTML + WeasyPrint A4 PDF + xlsx)"
            if _stand_in_used()
            else "the bulletins area's"
        )
        print(
            f"report cards: {created} rendered and delivered, {len(inbox.messages)} accepted by the SMTP server"
        )
        print(f"renderer: {renderer}")
        print(
            f"elapsed: {elapsed:.1f} s ({per_card * 1000:.0f} ms per card, {created / elapsed:.1f} cards/s) with {args.concurrency} worker processes (target < 60 s)"
        )
        print(
            f"worker CPU: {cpu:.1f} s ({cpu / max(created, 1) * 1000:.0f} ms per card): on {args.concurrency} idle "
            f"cores at least {cpu / args.concurrency:.1f} s; load average {load_before:.1f} at the start, "
            f"{os.getloadavg()[0]:.1f} at the end ({os.cpu_count()} CPUs)"
        )
        sizes = sorted(len(m.raw) for m in inbox.messages)
        print(f"message size: median {sizes[len(sizes) // 2] / 1024:.0f} KB")
        for pid, value in hwm.items():
            role = "main" if pid == worker.pid else "pool child"
            print(f"worker {role} {pid}: VmHWM {value:.0f} MB (target < 400 MB)")
        duplicates = len(inbox.messages) - len({m.rcpt for m in inbox.messages})
        print(f"duplicates: {duplicates}")
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
        smtp.stop()


def _stand_in_used() -> bool:
    """The workers use the stand-in exactly when this build registers no report card renderer."""
    from service.mail.kinds import renderer_for

    try:
        renderer_for("report_card")
    except LookupError:
        return True
    return False


if __name__ == "__main__":
    main()
