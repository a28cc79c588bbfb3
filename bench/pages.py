"""Time every page of the web UI on a district of 300 schools with a year of data (issue 11).

``python -m bench.pages`` builds the district (:mod:`bench.generate`, then :func:`bench.pages_data.prepare`:
every month ranked by the product's own jobs, the ended terms' and years' commendations proposed, a
few incidents, appeals and unlock requests, the logins); ``--reuse`` times an existing one. Then it
creates the Flask app on that database - by default as the application role made by the generator's
``--app-role`` (not superuser, no BYPASSRLS: the tenant policies are enforced, as in production) -
logs in through the real login form (GET /login, its CSRF token, POST) as each role, and times every
``GET`` page of the ``web`` blueprint with the test client: each page once to warm up, then
``--repeat`` times. The timings are in-process (no network, no WSGI server) but cover the whole
Flask request: login check, tenant scope, queries, template rendering.

URL parameters are filled with real ids and keys (:func:`bench.pages_data.page_ids`: one school's
report, inspection, hazard...; the newest month; the newest term and year). File downloads (``.pdf``,
``.xlsx``) are skipped unless ``--exports``. Pages a role may not open (403, 404, redirects) are listed
with their status and not timed.

Per page and role it prints the median and max in ms, the SQL statements per request (counted on the
app's engine) with the time spent in them, and the size of the page; pages whose median is over
``--limit`` ms are flagged. ``--statements PATH`` prints the statements of one request, grouped by
text, to find the N+1s. No assertions on timings: the figures go to docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url

from bench import pages_data
from bench.common import bench_app, psycopg_url

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/houqin_bench_pages"
DEFAULT_APP_ROLE = "houqin_bench_app"
LIMIT_MS = 300.0
ROLES = ("official", "admin", "school")
DOWNLOAD = re.compile(r"\.(pdf|xlsx)$")
NOT_PAGES = {
    "web.login",  # timed anonymously on its own row
    "web.logout",
    "web.switch_language",  # a redirect
    "web.mail_message",  # the demo's file outbox (MAIL_OUTBOX); none at the bench
    "web.mail_part",
}


# --- which URLs ------------------------------------------------------------------------------------------


@dataclass
class Page:
    name: str  # endpoint, plus the variant
    path: str
    download: bool = False


def pages(app: Any, ids: dict[str, Any]) -> tuple[list[Page], list[str]]:
    """Every GET endpoint of the web blueprint with its parameters filled, plus the query-string variants
    that change what a page computes; and the endpoints skipped for want of a row to open."""
    out: list[Page] = []
    skipped: list[str] = []
    values = {**ids, "kind": "month", "key": ids.get("month_key"), "code": "zh_CN"}
    with app.test_request_context():
        from flask import url_for

        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if (
                not rule.endpoint.startswith("web.")
                or "GET" not in rule.methods
                or rule.endpoint in NOT_PAGES
            ):
                continue
            missing = [a for a in rule.arguments if values.get(a) is None]
            if missing:
                skipped.append(f"{rule.endpoint} (no {', '.join(missing)} in the data)")
                continue
            path = url_for(rule.endpoint, **{a: values[a] for a in rule.arguments})
            out.append(Page(rule.endpoint, path, bool(DOWNLOAD.search(rule.rule))))
        variants = [
            ("web.dashboard ?month=", url_for("web.dashboard", month=ids["month_key"])),
            ("web.rankings term", url_for("web.rankings", kind="term", key=ids.get("term_key"))),
            ("web.rankings year", url_for("web.rankings", kind="year", key=ids.get("year_key"))),
            ("web.rankings cluster", url_for("web.rankings", cluster_id=ids["cluster_id"])),
            (
                "web.rankings_export term",
                url_for("web.rankings_export", kind="term", key=ids.get("term_key")),
            ),
            (
                "web.bulletin_preview term",
                url_for("web.bulletin_preview", kind="term", key=ids.get("term_key")),
            ),
            (
                "web.bulletin_preview year",
                url_for("web.bulletin_preview", kind="year", key=ids.get("year_key")),
            ),
            ("web.hazard_list overdue", url_for("web.hazard_list", show="overdue")),
            ("web.board_hazards all", url_for("web.board_hazards", state="all")),
            ("web.compare 3 schools", _compare_url(url_for, ids)),
            ("web.appeal_queue decided", url_for("web.appeal_queue", show="decided")),
        ]
    for name, path in variants:
        out.append(Page(name, path, bool(DOWNLOAD.search(path.split("?")[0]))))
    return out, skipped


def _compare_url(url_for: Any, ids: dict[str, Any]) -> str:
    school = ids["school_id"]
    return url_for("web.compare", school=[school, school + 1, school + 2])


# --- statements per request ------------------------------------------------------------------------------


@dataclass
class Statements:
    """Counts the statements the app's engine executes, and the time spent in them."""

    count: int = 0
    seconds: float = 0.0
    texts: Counter = field(default_factory=Counter)
    text_seconds: Counter = field(default_factory=Counter)
    keep_texts: bool = False
    _started: float = 0.0
    _text: str = ""

    def install(self, engine: Any) -> None:
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def reset(self, *, keep_texts: bool = False) -> None:
        self.count, self.seconds, self.keep_texts = 0, 0.0, keep_texts
        self.texts.clear()
        self.text_seconds.clear()

    def _before(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.count += 1
        if self.keep_texts:
            self._text = " ".join(statement.split())[:300]
            self.texts[self._text] += 1
        self._started = time.perf_counter()

    def _after(self, *args: Any) -> None:
        took = time.perf_counter() - self._started
        self.seconds += took
        if self.keep_texts:
            self.text_seconds[self._text] += took


# --- timing ----------------------------------------------------------------------------------------------


@dataclass
class Row:
    page: Page
    role: str
    status: int
    first: float = 0.0  # the warm-up request: caches of this process empty for this page
    times: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # this process's CPU time per request
    statements: int = 0
    sql_seconds: float = 0.0
    size: int = 0

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times) * 1000 if self.times else 0.0

    @property
    def cpu_ms(self) -> float:
        return statistics.median(self.cpu) * 1000 if self.cpu else 0.0

    @property
    def max_ms(self) -> float:
        return max(self.times) * 1000 if self.times else 0.0


def login(app: Any, username: str) -> Any:
    """A test client logged in through the real form: GET /login for the CSRF token, then POST."""
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    data = {"username": username, "password": pages_data.PASSWORD}
    if match:
        data["csrf_token"] = match.group(1)
    response = client.post("/login", data=data)
    if response.status_code != 302:
        raise SystemExit(f"could not log in as {username}: HTTP {response.status_code}")
    return client


def time_page(client: Any, page: Page, role: str, repeat: int, counter: Statements) -> Row:
    started = time.perf_counter()
    response = client.get(page.path)  # the warm-up (and the status)
    size = len(response.get_data())
    row = Row(page, role, response.status_code, first=time.perf_counter() - started, size=size)
    if response.status_code != 200:
        return row
    for _ in range(repeat):
        counter.reset()
        cpu, started = time.process_time(), time.perf_counter()
        response = client.get(page.path)
        response.get_data()
        row.times.append(time.perf_counter() - started)
        row.cpu.append(time.process_time() - cpu)
    row.statements, row.sql_seconds = counter.count, counter.seconds
    return row


def print_statements(app: Any, counter: Statements, role: str, path: str) -> None:
    client = login(app, pages_data.LOGINS[role])
    client.get(path)
    counter.reset(keep_texts=True)
    started = time.perf_counter()
    response = client.get(path)
    took = time.perf_counter() - started
    print(f"{path} as {role}: HTTP {response.status_code}, {took * 1000:.0f} ms, {counter.count} statements, "
          f"{counter.seconds * 1000:.0f} ms in SQL")  # fmt: skip
    for text, took in counter.text_seconds.most_common():
        print(f"{counter.texts[text]:5d} {took * 1000:7.1f} ms  {text}")


def _line(row: Row, limit: float) -> str:
    if row.status != 200:
        return f"{row.page.name:<42} {row.role:<9} HTTP {row.status}  (not timed) {row.page.path}"
    flag = "  OVER" if row.median_ms > limit else ("  (max over)" if row.max_ms > limit else "")
    return (
        f"{row.page.name:<42} {row.role:<9} {row.first * 1000:8.1f} {row.median_ms:8.1f} {row.max_ms:8.1f} {row.cpu_ms:8.1f} {row.statements:6d} "
        f"{row.sql_seconds * 1000:8.1f} {row.size / 1024:8.1f}{flag}  {row.page.path}"
    )


def markdown(rows: list[Row], limit: float) -> str:
    out = [
        "| Page | Role | First ms | Median ms | Max ms | CPU ms | Statements | SQL ms | KB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        if row.status != 200:
            continue
        name = f"**{row.page.name}**" if row.median_ms > limit else row.page.name
        out.append(
            f"| {name} | {row.role} | {row.first * 1000:.0f} | {row.median_ms:.0f} | {row.max_ms:.0f} | {row.cpu_ms:.0f} | {row.statements} | "
            f"{row.sql_seconds * 1000:.0f} | {row.size / 1024:.0f} |"
        )
    return "\n".join(out)


# --- CLI -------------------------------------------------------------------------------------------------


def app_url(url: str, role: str | None) -> str:
    """The URL the timed app connects with: ``url`` with the user replaced by ``role`` (if given)."""
    if not role:
        return url
    return make_url(url).set(username=role, password=None).render_as_string(hide_password=False)


def build(url: str, args: argparse.Namespace) -> None:
    from bench.generate import Shape, generate

    shape = Shape(schools=args.schools, months=args.months, seed=args.seed)
    summary = generate(url, shape, echo=True, app_role=args.app_role or None)
    for line in summary.lines():
        print(line)
    pages_data.prepare(setup_app(url))


def setup_app(url: str) -> Any:
    """The superuser's app for preparing the data; not eager: a task the operations queue (a recompute
    after an incident, say) goes to an in-memory broker nobody reads, as in bench.run."""
    return bench_app(url, CELERY_ALWAYS_EAGER=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pages", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=DEFAULT_DATABASE, help="superuser URL of the scratch database")
    parser.add_argument(
        "--app-role", default=DEFAULT_APP_ROLE, help="time as this role (RLS on); '' = superuser"
    )
    parser.add_argument("--reuse", action="store_true", help="time the district already in the database")
    parser.add_argument("--schools", type=int, default=300)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5, help="timed requests per page after the warm-up")
    parser.add_argument("--roles", default=",".join(ROLES), help=f"of {', '.join(pages_data.LOGINS)}")
    parser.add_argument("--only", default="", help="regex: only pages whose name or path matches")
    parser.add_argument("--exports", action="store_true", help="also time the .pdf/.xlsx downloads")
    parser.add_argument(
        "--limit", type=float, default=LIMIT_MS, help="flag pages with a median over this (ms)"
    )
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    parser.add_argument(
        "--statements", metavar="PATH", help="print one request's statements, grouped, and exit"
    )
    parser.add_argument("--as", dest="as_role", default="official", help="--statements: the role")
    args = parser.parse_args(argv)
    # This machine may lack the Noto CJK font the charts ask for (fonts-noto-cjk, as deployed): matplotlib
    # then warns once per missing glyph. Drawing is timed all the same; the warnings are not figures.
    warnings.filterwarnings("ignore", message="Glyph .* missing from font")

    url = psycopg_url(args.database)
    if not args.reuse:
        build(url, args)
    elif not pages_data.is_prepared(setup_app(url)):
        print("the district is generated but not prepared: preparing it", flush=True)
        pages_data.prepare(setup_app(url))

    app = bench_app(app_url(url, args.app_role), CELERY_ALWAYS_EAGER=False, WTF_CSRF_ENABLED=True)
    counter = Statements()
    counter.install(app.extensions["houqin_engine"])
    if args.statements:
        print_statements(app, counter, args.as_role, args.statements)
        return 0

    ids = pages_data.page_ids(setup_app(url))
    todo, skipped = pages(app, ids)
    if args.only:
        todo = [p for p in todo if re.search(args.only, p.name) or re.search(args.only, p.path)]
    if not args.exports:
        todo = [p for p in todo if not p.download]
    who = args.app_role or make_url(url).username
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"database {make_url(url).database} as {who} ({'RLS enforced' if args.app_role else 'superuser: RLS bypassed'})"
    )
    print(f"district: {ids['counts']['schools']} schools, {ids['counts']['periods']} months; school id {ids['school_id']}, "
          f"newest month {ids['month_key']}, term {ids.get('term_key')}, year {ids.get('year_key')}")  # fmt: skip
    print(f"machine: {platform.node()}, nproc {os.cpu_count()}, Python {platform.python_version()}; "
          f"load average {load}; {len(todo)} pages x {args.repeat} timed requests per role")  # fmt: skip
    print(f"command: python -m bench.pages {' '.join(argv if argv is not None else sys.argv[1:])}")
    print(
        f"{'page':<42} {'role':<9} {'first':>8} {'median':>8} {'max':>8} {'cpu':>8} {'stmts':>6} {'sql ms':>8} {'KB':>8}"
    )

    rows: list[Row] = []
    anonymous = app.test_client()
    rows.append(
        time_page(anonymous, Page("web.login (anonymous)", "/login"), "anonymous", args.repeat, counter)
    )
    print(_line(rows[-1], args.limit), flush=True)
    for role in args.roles.split(","):
        client = login(app, pages_data.LOGINS[role])
        for page in todo:
            rows.append(time_page(client, page, role, args.repeat, counter))
            print(_line(rows[-1], args.limit), flush=True)

    timed = [r for r in rows if r.status == 200]
    over = [r for r in timed if r.median_ms > args.limit]
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{len(timed)} page-role pairs timed; {len(over)} with a median over {args.limit:.0f} ms"
          + "".join(f"\n  OVER {r.page.name} ({r.role}): median {r.median_ms:.0f} ms" for r in over))  # fmt: skip
    worst = max(timed, key=lambda r: r.median_ms) if timed else None
    if worst:
        print(f"slowest: {worst.page.name} ({worst.role}) median {worst.median_ms:.0f} ms")
    for line in skipped:
        print(f"skipped: {line}")
    if args.markdown:
        print(markdown(sorted(timed, key=lambda r: (r.page.name, r.role)), args.limit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
