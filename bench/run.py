"""Time the ranking engine on a generated district: engine vs floor vs naive loop, in one run.

``python -m bench.run --database postgresql://postgres@127.0.0.1:5432/houqin_bench`` on a database
made by :mod:`bench.generate` times, on the same data and in this order:

(i)   the project's full period recompute, ``service.rankings.jobs.recompute_period`` - what the worker
      runs - in an app context, the bureau scope and its own unit of work, committed;
(ii)  the floor: ``service.scoring.engine.area_scores_select`` (the same per-school-month area scores
      from the item-level rows, one SELECT, no writes) executed and fully fetched, under the same
      planner settings as (i) (``tune_transaction``: no JIT);
(iii) the naive loop (:mod:`bench.naive`) on a random sample of schools, scaled up linearly to all.

Each is run once *cold* (the first run in this process: Python-side caches empty, and for (i) the
first write of the period's rows when the database is fresh) and then ``--repeat`` times *warm*; the
ratios use the warm medians. The naive loop's scores for the sample are compared with the engine's
stored ``school_month_scores`` and the number of mismatches is printed.

``--incremental`` accepts one submitted report through ``service.reports.operations.accept`` and times
``recompute_school_month`` for that school, once per acceptance (median over ``--acceptances``);
``--memory`` runs the period recompute on a real Celery worker (``--pool=solo``) and reads the worker's
peak RSS (VmHWM).
No assertions on timings here or in the tests: the figures go to ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.common import DEFAULT_DATABASE, bench_app, psycopg_url
from bench.naive import NaiveScore, naive_scores, same_area

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379/15"
RECOMPUTE_TASK = "tasks.rankings.recompute_period"
TARGET_FLOOR_RATIO = 1.5
TARGET_NAIVE_RATIO = 20.0
TARGET_INCREMENTAL_S = 0.5
TARGET_MEMORY_MB = 400.0


@dataclass
class Timing:
    cold: float
    warm: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.warm) if self.warm else self.cold

    def describe(self) -> str:
        warm = ", ".join(f"{t:.3f}" for t in self.warm)
        return f"cold {self.cold:.3f} s; warm median {self.median:.3f} s (runs: {warm or '-'})"


def _time(fn: Callable[[], Any], repeat: int) -> tuple[Timing, Any]:
    started = time.perf_counter()
    result = fn()
    cold = time.perf_counter() - started
    warm = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        warm.append(time.perf_counter() - started)
    return Timing(cold, warm), result


@contextmanager
def job_context(app: Any) -> Iterator[Any]:
    """What ``tasks.base.TenantTask`` gives a job: own unit of work, app context, bureau scope."""
    from service.db import unit_of_work
    from tenants import TenantScope, use_scope

    with unit_of_work() as session, app.app_context(), use_scope(TenantScope.bureau()):
        yield session


def _brief(result: Any) -> Any:
    """A job's result without the snapshot hashes (which ranking snapshots it wrote is enough)."""
    if isinstance(result, dict) and isinstance(result.get("snapshots"), dict):
        return {**result, "snapshots": sorted(result["snapshots"])}
    return result


# --- the three measurements ------------------------------------------------------------------------------


class Steps:
    """A ``progress`` callback that timestamps the job's steps (where the time of (i) goes)."""

    def __init__(self) -> None:
        self.marks: list[tuple[float, str]] = [(time.perf_counter(), "start")]

    def __call__(self, done: int, total: int, step: str = "") -> None:
        self.marks.append((time.perf_counter(), step))

    def finish(self) -> None:
        self.marks.append((time.perf_counter(), "end"))

    def describe(self) -> str:
        parts = []
        for (t0, step), (t1, _) in zip(self.marks, self.marks[1:], strict=False):
            if step != "start":
                parts.append(f"{'commit' if step == 'done' else step} {t1 - t0:.3f}")
        return "; ".join(parts)


def recompute(app: Any, period_id: int, steps: Steps | None = None) -> dict:
    from service.rankings.jobs import recompute_period

    with job_context(app) as session:
        result = recompute_period(period_id, progress=steps)
        session.commit()
    if steps is not None:
        steps.finish()
    return result


def floor(app: Any, period_id: int) -> int:
    from service.scoring.engine import area_scores_select, tune_transaction

    with job_context(app) as session:
        tune_transaction()  # the engine's planner settings (no JIT), so (i) and (ii) plan alike
        rows = session.execute(area_scores_select(period_id)).all()
        session.rollback()
    return len(rows)


def naive(app: Any, school_ids: list[int], period_id: int) -> dict[int, NaiveScore]:
    with job_context(app) as session:
        scores = naive_scores(session, school_ids, period_id)
        session.rollback()
    return scores


def mismatches(app: Any, scores: dict[int, NaiveScore], period_id: int) -> list[str]:
    """Where the naive loop and the engine's stored rows disagree (areas at 6 places, composite at 1)."""
    from service.scoring.models import MonthStatus, SchoolMonthScore

    with job_context(app) as session:
        stored = {
            row.school_id: row
            for row in session.scalars(
                select(SchoolMonthScore).where(
                    SchoolMonthScore.period_id == period_id, SchoolMonthScore.school_id.in_(list(scores))
                )
            )
        }
    problems = []
    for school_id, mine in sorted(scores.items()):
        row = stored.get(school_id)
        if row is None:
            problems.append(f"school {school_id}: no stored row")
            continue
        if mine.scored != (row.status is MonthStatus.SCORED):
            problems.append(
                f"school {school_id}: naive scored={mine.scored}, stored status {row.status.value}"
            )
            continue
        if not mine.scored:  # a missing month has no composite; the engine's areas there are informational
            if row.composite is not None:
                problems.append(f"school {school_id}: missing month with a stored composite {row.composite}")
            continue
        for name in ("canteen_area", "safety_area", "staff_area"):
            if not same_area(getattr(mine, name), getattr(row, name)):
                problems.append(
                    f"school {school_id}: {name} naive {getattr(mine, name)} stored {getattr(row, name)}"
                )
        if mine.composite != row.composite:
            problems.append(f"school {school_id}: composite naive {mine.composite} stored {row.composite}")
    return problems


# --- context ---------------------------------------------------------------------------------------------


def latest_period(app: Any) -> tuple[int, str]:
    from service.periods.models import Period

    with job_context(app) as session:
        period = session.scalars(select(Period).order_by(Period.year.desc(), Period.month.desc())).first()
        if period is None:
            raise SystemExit("no period: generate a district first (python -m bench.generate)")
        return period.id, period.code


def active_schools(app: Any) -> list[int]:
    from service.org.models import School

    with job_context(app) as session:
        return list(session.scalars(select(School.id).where(School.active.is_(True)).order_by(School.id)))


def item_rows(app: Any, period_id: int) -> int:
    from service.inspections.models import Inspection, InspectionItemResult

    with job_context(app) as session:
        return session.scalar(
            select(func.count())
            .select_from(InspectionItemResult)
            .join(
                Inspection,
                (Inspection.school_id == InspectionItemResult.school_id)
                & (Inspection.id == InspectionItemResult.inspection_id),
            )
            .where(Inspection.period_id == period_id)
        )


def compare(app: Any, period_id: int, *, sample: int, repeat: int, seed: int) -> None:
    schools = active_schools(app)
    k = min(sample, len(schools))
    sampled = sorted(random.Random(seed).sample(schools, k))
    print(f"{len(schools):,} schools; {item_rows(app, period_id):,} item rows in the period", flush=True)

    runs: list[Steps] = []

    def full() -> dict:
        runs.append(Steps())
        return recompute(app, period_id, runs[-1])

    t_i, result = _time(full, repeat)
    print(f"(i)   full period recompute (recompute_period, committed): {t_i.describe()}", flush=True)
    print(f"      result: {_brief(result)}", flush=True)
    print(f"      steps of the last run (s): {runs[-1].describe()}", flush=True)
    t_ii, n_rows = _time(lambda: floor(app, period_id), repeat)
    print(
        f"(ii)  floor: area_scores_select, fetched, no writes ({n_rows:,} rows): {t_ii.describe()}",
        flush=True,
    )
    t_iii, scores = _time(lambda: naive(app, sampled, period_id), repeat)
    scale = len(schools) / k
    print(
        f"(iii) naive per-school ORM loop on a random sample of {k} schools (seed {seed}): {t_iii.describe()}",
        flush=True,
    )
    scaled_cold, scaled = t_iii.cold * scale, t_iii.median * scale
    print(
        f"      scaled linearly x{scale:.2f} to {len(schools):,} schools: "
        f"cold {scaled_cold:.1f} s; warm {scaled:.1f} s",
        flush=True,
    )
    r1 = t_i.median / t_ii.median
    r2 = scaled / t_i.median
    print(f"ratio (i)/(ii)   = {r1:.2f}  (target <= {TARGET_FLOOR_RATIO}; warm medians)")
    print(f"ratio (iii)/(i)  = {r2:.1f}  (target >= {TARGET_NAIVE_RATIO:g}; naive scaled, warm medians)")
    problems = mismatches(app, scores, period_id)
    scored = sum(1 for s in scores.values() if s.scored)
    print(f"naive vs engine: {k} sampled schools ({scored} scored), {len(problems)} mismatches")
    for line in problems[:10]:
        print(f"  {line}")


# --- incremental -----------------------------------------------------------------------------------------


def incremental(app: Any, period_id: int, *, runs: int) -> None:
    """Accept a submitted report, time ``recompute_school_month`` for it; once per report, ``runs`` times.

    Each timed run follows its own acceptance, so it really changes a school's month and the ranks
    (a rerun with nothing changed would be cheaper). Two warm-up runs first pay the process's one-off
    costs, as a running worker has already paid them: one on an unchanged school (imports, first
    connection) and one after a first acceptance (the statements that write new snapshots, compiled
    and cached once per process). Both times are printed; only the later acceptances count.
    """
    from service.audit.trail import Actor, acting_as
    from service.core.timeutil import now_shanghai
    from service.rankings.jobs import recompute_period, recompute_school_month
    from service.reports import operations as reports
    from service.reports.models import MonthlyReport, ReportState
    from service.scoring.models import SchoolMonthScore

    with job_context(app) as session:
        stored = session.scalar(
            select(func.count()).select_from(SchoolMonthScore).where(SchoolMonthScore.period_id == period_id)
        )
        if not stored:
            print("no stored scores for the period yet: running the full recompute first", flush=True)
            recompute_period(period_id)
            session.commit()
        submitted = list(
            session.scalars(
                select(MonthlyReport.id)
                .where(MonthlyReport.period_id == period_id, MonthlyReport.state == ReportState.SUBMITTED)
                .order_by(MonthlyReport.id)
                .limit(runs + 1)
            )
        )
        unchanged = session.scalar(
            select(SchoolMonthScore.school_id).where(SchoolMonthScore.period_id == period_id)
        )
    if len(submitted) < 2:
        raise SystemExit("fewer than 2 submitted reports left in the period: generate the district again")
    n_schools = len(active_schools(app))

    def recompute_one(school_id: int) -> float:
        started = time.perf_counter()
        with job_context(app) as session:
            recompute_school_month(school_id, period_id)
            session.commit()
        return time.perf_counter() - started

    warm_up = recompute_one(unchanged)
    print(
        f"incremental, {n_schools} schools: process warm-up run (school {unchanged}, unchanged) {warm_up:.3f} s"
    )
    times = []
    for index, report_id in enumerate(submitted):
        with job_context(app) as session, acting_as(Actor(None, "bench")):
            report = session.scalars(select(MonthlyReport).where(MonthlyReport.id == report_id)).one()
            school_id = report.school_id
            reports.accept(report, now=now_shanghai())
            session.commit()
        took = recompute_one(school_id)
        if index == 0:
            print(
                f"  warm-up: accepted report {report_id} (school {school_id}) -> {took:.3f} s (first write)"
            )
            continue
        times.append(took)
        with job_context(app) as session:
            row = session.scalars(
                select(SchoolMonthScore).where(
                    SchoolMonthScore.school_id == school_id, SchoolMonthScore.period_id == period_id
                )
            ).one()
            print(
                f"  accepted report {report_id} (school {school_id}) -> recompute_school_month {times[-1]:.3f} s; "
                f"stored: {row.status.value}, composite {row.composite}",
                flush=True,
            )
    print(
        f"incremental recompute after one acceptance: median {statistics.median(times):.3f} s, "
        f"max {max(times):.3f} s over {len(times)} acceptances (target < {TARGET_INCREMENTAL_S} s)"
    )


# --- worker memory ---------------------------------------------------------------------------------------


def _vm(pid: int, key: str) -> float:
    """A ``/proc/<pid>/status`` memory line in MB (VmHWM = peak resident set, VmRSS = now)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{key} not in /proc/{pid}/status")


def memory(url: str, period_id: int, *, timeout: float = 3600) -> None:
    from tenants import TenantScope

    queue = f"houqin-bench-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": psycopg_url(url),
        "MIGRATION_DATABASE_URL": psycopg_url(url),
        "REDIS_URL": REDIS_URL,
        "CELERY_ALWAYS_EAGER": "false",
        "CELERY_QUEUE": queue,
        "SECRET_KEY": "bench-not-secret-0123456789-abcdefghij",
    }
    with tempfile.TemporaryDirectory(prefix="houqin-bench-worker-") as tmp:
        log = Path(tmp) / "worker.log"
        env["HOUQIN_INSTANCE_DIR"] = tmp
        cmd = [
            sys.executable, "-m", "celery", "-A", "tasks.celery_app", "worker", "--pool=solo", "-Q", queue,
            "-l", "info", "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{queue}@%h",
        ]  # fmt: skip
        with log.open("w") as out:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while "ready" not in log.read_text():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the worker did not start:\n" + log.read_text())
                time.sleep(0.2)
            baseline, baseline_rss = _vm(proc.pid, "VmHWM"), _vm(proc.pid, "VmRSS")
            app = bench_app(
                url,
                REDIS_URL=REDIS_URL,
                CELERY_ALWAYS_EAGER=False,
                CELERY_BROKER_URL=REDIS_URL,
                CELERY_RESULT_BACKEND=REDIS_URL,
                CELERY_QUEUE=queue,
            )
            celery = app.extensions["celery"]
            started = time.perf_counter()
            result = celery.send_task(
                RECOMPUTE_TASK,
                kwargs={"scope": TenantScope.bureau().to_json(), "period_id": period_id},
                queue=queue,
            )
            # VmHWM also covers start-up; sampling VmRSS while the task runs shows the task's own peak.
            sampled = baseline_rss
            while not result.ready():
                if time.perf_counter() - started > timeout:
                    raise SystemExit(f"the task did not finish in {timeout:.0f} s")
                sampled = max(sampled, _vm(proc.pid, "VmRSS"))
                time.sleep(0.05)
            value = result.get(timeout=timeout, propagate=True)
            elapsed = time.perf_counter() - started
            peak, rss = _vm(proc.pid, "VmHWM"), _vm(proc.pid, "VmRSS")
            print(
                f"worker (pid {proc.pid}, --pool=solo) ran {RECOMPUTE_TASK} in {elapsed:.1f} s: {_brief(value)}"
            )
            print(
                f"worker peak memory: VmHWM {peak:.0f} MB (target < {TARGET_MEMORY_MB:.0f} MB); when ready: "
                f"VmHWM {baseline:.0f} MB, VmRSS {baseline_rss:.0f} MB; VmRSS during the task (sampled every "
                f"50 ms) peaked at {sampled:.0f} MB, {rss:.0f} MB after"
            )
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# --- CLI -------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--period", type=int, default=None, help="period id (default: the latest)")
    parser.add_argument("--sample", type=int, default=200, help="schools in the naive loop's sample")
    parser.add_argument("--repeat", type=int, default=3, help="warm runs after the cold one")
    parser.add_argument("--seed", type=int, default=1, help="sample seed")
    parser.add_argument("--incremental", action="store_true", help="also: one acceptance, then incremental")
    parser.add_argument("--acceptances", type=int, default=5, help="--incremental: reports to accept")
    parser.add_argument("--memory", action="store_true", help="also: worker peak memory (Redis + Celery)")
    parser.add_argument("--no-compare", action="store_true", help="skip (i)/(ii)/(iii)")
    args = parser.parse_args(argv)

    # Not eager: a task the engine queues through the outbox (after an acceptance, say) goes to an
    # in-memory broker nobody reads, so only what is being timed runs.
    app = bench_app(args.database, CELERY_ALWAYS_EAGER=False)
    period_id, code = (args.period, str(args.period)) if args.period else latest_period(app)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"database {args.database}, period {code} (id {period_id})", flush=True)
    print(f"machine: nproc {os.cpu_count()}, load average {load} (other work on the machine skews timings)")
    if not args.no_compare:
        compare(app, period_id, sample=args.sample, repeat=args.repeat, seed=args.seed)
    if args.incremental:
        incremental(app, period_id, runs=args.acceptances)
    if args.memory:
        memory(args.database, period_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
