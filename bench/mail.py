"""Benchmark: N report cards rendered (HTML + chart + A4 PDF + xlsx) by the product's renderer and
delivered to a local SMTP server by a Celery worker with 2 processes, through the real notice machinery.

    .venv/bin/python -m bench.mail                 # 300 schools, 6 months, 2 worker processes
    .venv/bin/python -m bench.mail --cards 50 --concurrency 1

The district is built by :mod:`bench.generate` (``--cards`` schools, ``--months`` reporting months: a
scratch PostgreSQL database, ``--database``, dropped and recreated), then ranked by the product's own
job (:func:`service.rankings.jobs.recompute_period`, every month) and the bulletins of the months
before the reported one are issued, so each card has its real content: its ranks and areas, the items
where it lost points, its open hazards, a trend chart over the months with the district mean, and the
published district ranking. Each school gets one school admin account with an e-mail address.

Timed: "send now" on a report-card schedule (N runs; the first one issues the month's bulletin - the
kind's preparer - and each run renders its card once and delivers it once) until the SMTP server
(aiosmtpd in this process, a sink that reads only the headers) has accepted N messages, worked off by
``celery -A tasks.celery_app worker -c 2`` on Redis. It prints the elapsed time, the CPU time of the
worker's processes and of the whole machine over the run, the load average, and the worker's peak RSS
per process (``VmHWM``). One delivered message is then opened: its PDF's pages and fonts. No
assertions: the figures go to ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.parser import BytesHeaderParser
from io import BytesIO
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench.common import bench_app, psycopg_url

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/houqin_bench_mail"
REDIS = os.environ.get("HOUQIN_BENCH_REDIS", "redis://127.0.0.1:6379/14")
SECRET = "bench-mail-0123456789-abcdefghijklmnopqrstuvwxyz"
TARGET_SECONDS = 60
TARGET_RSS_MB = 400


# --- the district -------------------------------------------------------------------------------------


def build_district(url: str, *, schools: int, months: int, seed: int) -> None:
    """Generate the district, rank every month, issue the earlier months' bulletins, add school admins."""
    from bench.generate import Shape, generate
    from bench.run import job_context
    from service.accounts.models import Role, User
    from service.bulletins import operations as bulletins
    from service.core.timeutil import today_shanghai
    from service.notices.planning import reported_month
    from service.org.models import School
    from service.periods.models import Period
    from service.rankings.jobs import recompute_period

    started = time.perf_counter()
    summary = generate(url, Shape(schools=schools, months=months, seed=seed))
    app = bench_app(url, CELERY_ALWAYS_EAGER=False)
    with job_context(app) as session:
        periods = [
            (p.id, p.code) for p in session.scalars(select(Period).order_by(Period.year, Period.month))
        ]
        reported = reported_month(today_shanghai())
        if reported is None:
            raise SystemExit("no month's deadline has passed: generate with an earlier --end")
        target = reported.code
    for period_id, _code in periods:  # oldest first, as the nightly job would have ranked them
        with job_context(app) as session:
            recompute_period(period_id)
            session.commit()
    for _period_id, code in periods:
        if code < target:  # published in their month; the reported month's is issued by the send
            with job_context(app) as session:
                bulletins.issue("month", code)
                session.commit()
    with job_context(app) as session:
        for school in session.scalars(select(School).order_by(School.id)):
            number = school.code.lower()
            session.add(
                User(
                    username=f"admin-{number}",
                    display_name=f"{school.name}管理员",
                    role=Role.SCHOOL_ADMIN,
                    password_hash="x",  # nobody logs in
                    school_id=school.id,
                    email=f"{number}@schools.example",
                )
            )
        session.commit()
    shape = summary.shape
    print(
        f"district: {shape.schools} schools, {shape.months} months ({periods[0][1]}..{periods[-1][1]}), "
        f"{summary.rows['inspection_item_results']:,} item rows, every month ranked, bulletins issued "
        f"before {target}, one school admin with an e-mail per school ({time.perf_counter() - started:.0f} s)",
        flush=True,
    )


def create_schedule(app: Any) -> int:
    from bench.run import job_context
    from service.notices import operations
    from service.notices.schemas import ScheduleIn

    with job_context(app) as session:
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
        session.commit()
        return schedule.id


# --- the SMTP sink ------------------------------------------------------------------------------------


@dataclass
class Received:
    rcpt: str
    message_id: str
    subject: str
    raw: bytes


@dataclass
class Sink:
    """An aiosmtpd handler that accepts everything and reads only the headers (the full parse of a
    ~300 KB message would be this process's CPU on the same two cores; a real server is elsewhere)."""

    messages: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        headers = BytesHeaderParser(policy=policy.default).parsebytes(envelope.content)
        for rcpt in envelope.rcpt_tos:
            self.messages.append(
                Received(rcpt, str(headers["Message-ID"]), str(headers["Subject"]), envelope.content)
            )
        return "250 2.0.0 Ok"


def describe_message(raw: bytes) -> str:
    """What one delivered message holds: parts, sizes, the PDF's pages and embedded fonts."""
    message = message_from_bytes(raw, policy=policy.default)
    parts = []
    pdf_note = ""
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True) or b""
        name = part.get_filename() or part.get("Content-ID", "") or ""
        parts.append(f"{part.get_content_type()} {name} {len(payload) / 1024:.0f} KB".replace("  ", " "))
        if part.get_content_type() == "application/pdf":
            try:
                from pypdf import PdfReader
            except ImportError:
                continue
            reader = PdfReader(BytesIO(payload))
            fonts = sorted(
                {
                    str(font.get_object()["/BaseFont"]).split("+")[-1]
                    for page in reader.pages
                    for font in page["/Resources"]["/Font"].values()
                }
            )
            pdf_note = f"; PDF: {len(reader.pages)} pages, fonts {', '.join(fonts)}"
    return f"subject {message['Subject']!r}; parts: " + "; ".join(parts) + pdf_note


# --- measuring ----------------------------------------------------------------------------------------


def _vm(pid: int, field_name: str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
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


def _machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy so far, all processes (``/proc/stat``)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class Processes:
    """The worker's processes over the run: CPU time (pool processes replaced on the way included) and
    peak RSS of each."""

    def __init__(self, main_pid: int) -> None:
        self.main = main_pid
        self.cpu_start: dict[int, float] = {}
        self.cpu_last: dict[int, float] = {}
        self.rss: dict[int, float] = {}
        self.hwm: dict[int, float] = {}

    def pids(self) -> list[int]:
        return [self.main, *_children(self.main)]

    def start(self) -> None:
        for pid in self.pids():
            self.cpu_start[pid] = self.cpu_last[pid] = _cpu_seconds(pid)

    def sample(self) -> None:
        for pid in self.pids():
            cpu = _cpu_seconds(pid)
            if cpu:
                self.cpu_last[pid] = cpu
            self.rss[pid] = max(self.rss.get(pid, 0.0), _vm(pid, "VmRSS"))
            self.hwm[pid] = max(self.hwm.get(pid, 0.0), _vm(pid, "VmHWM"))

    def cpu(self) -> float:
        return sum(last - self.cpu_start.get(pid, 0.0) for pid, last in self.cpu_last.items())


# --- the run ------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mail", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cards", type=int, default=300, help="schools (one card each)")
    parser.add_argument("--months", type=int, default=6, help="reporting months generated and ranked")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    args = parser.parse_args(argv)

    from aiosmtpd.controller import Controller

    from service.core.timeutil import utcnow
    from service.db import db
    from service.notices import operations
    from service.notices.models import NoticeSchedule
    from tenants import TenantScope, use_scope
    from tests.notice_support import free_port

    build_district(args.database, schools=args.cards, months=args.months, seed=args.seed)
    queue = f"bench-mail-{uuid.uuid4().hex[:8]}"
    port = free_port()
    app = bench_app(
        args.database,
        REDIS_URL=REDIS,
        CELERY_BROKER_URL=REDIS,
        CELERY_RESULT_BACKEND=None,
        CELERY_ALWAYS_EAGER=False,
        CELERY_QUEUE=queue,
        SECRET_KEY=SECRET,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=port,
    )
    schedule_id = create_schedule(app)
    instance = Path(tempfile.mkdtemp(prefix="bench-mail-"))  # the worker's: its log, the fonts' cut
    sink = Sink()
    smtp = Controller(sink, hostname="127.0.0.1", port=port)
    smtp.start()
    env = {
        **os.environ,
        "DATABASE_URL": psycopg_url(args.database),
        "REDIS_URL": REDIS,
        "CELERY_QUEUE": queue,
        "SECRET_KEY": SECRET,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(port),
        "HOUQIN_INSTANCE_DIR": str(instance),
    }
    env.pop("HOUQIN_NOW", None)
    log = instance / "worker.log"
    ok = False
    command = [
        sys.executable, "-m", "celery", "-A", "tasks.celery_app", "worker", "-c", str(args.concurrency),
        "-l", "warning", "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{queue}@%h",
    ]  # fmt: skip
    worker = subprocess.Popen(
        command,
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
        procs = Processes(worker.pid)
        procs.start()
        own_cpu = time.process_time()
        busy = _machine_busy_seconds()
        load_start = os.getloadavg()
        load_max = load_start[0]
        started = time.monotonic()
        with app.app_context(), use_scope(TenantScope.bureau()):
            schedule = db.session.get(NoticeSchedule, schedule_id)
            created, _ = operations.send_now(schedule, utcnow())
            db.session.commit()  # the outbox sends the N execute_run tasks
            db.session.remove()
        first = None
        while len(sink.messages) < created:
            if worker.poll() is not None or time.monotonic() - started > 900:
                raise SystemExit("worker stopped or took over 15 minutes:\n" + log.read_text()[-4000:])
            if first is None and sink.messages:
                first = time.monotonic() - started
            procs.sample()
            load_max = max(load_max, os.getloadavg()[0])
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        procs.sample()
        machine = _machine_busy_seconds() - busy
        own = time.process_time() - own_cpu
        cpu = procs.cpu()
        cores = os.cpu_count() or 1
        print(f"report cards: {created} runs, {len(sink.messages)} messages accepted by the SMTP server")
        print(
            f"elapsed: {elapsed:.1f} s ({elapsed / max(created, 1) * 1000:.0f} ms per card, "
            f"{created / elapsed:.1f} cards/s) with {args.concurrency} worker processes "
            f"(target < {TARGET_SECONDS} s); first message after {first or elapsed:.1f} s"
        )
        print(
            f"worker CPU: {cpu:.1f} s ({cpu / max(created, 1) * 1000:.0f} ms per card; on {args.concurrency} "
            f"idle cores at least {cpu / args.concurrency:.1f} s); this process (SMTP sink): {own:.1f} s"
        )
        print(
            f"machine: {cores} CPUs busy {machine:.1f} of {elapsed * cores:.1f} CPU-seconds "
            f"({machine / (elapsed * cores) * 100:.0f} %, everybody's work); load average "
            f"{load_start[0]:.1f} at the start (5 min {load_start[1]:.1f}), max {load_max:.1f}, "
            f"{os.getloadavg()[0]:.1f} at the end"
        )
        sizes = sorted(len(m.raw) for m in sink.messages)
        print(f"message size: median {sizes[len(sizes) // 2] / 1024:.0f} KB, max {sizes[-1] / 1024:.0f} KB")
        for pid in sorted(procs.hwm):
            role = "main" if pid == worker.pid else "pool process"
            print(
                f"worker {role} {pid}: VmHWM {procs.hwm[pid]:.0f} MB, VmRSS max {procs.rss[pid]:.0f} MB "
                f"(target < {TARGET_RSS_MB} MB)"
            )
        duplicates = len(sink.messages) - len({m.rcpt for m in sink.messages})
        print(f"duplicates: {duplicates}")
        print(f"a delivered card: {describe_message(sink.messages[len(sink.messages) // 2].raw)}")
        ok = True
    finally:
        # A warm shutdown (SIGTERM to the main process): the pool processes end their loops and clean
        # up (the PDF fonts' copies: tasks/celery_app.py); the whole group is killed only if it hangs.
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        smtp.stop()
        if ok:
            shutil.rmtree(instance, ignore_errors=True)
        else:
            print(f"worker log and instance folder kept: {instance}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
