"""Gunicorn settings for the Houqin web process.

Used as ``gunicorn -c deploy/gunicorn.conf.py "service:create_app()"`` (the image's default command and
the ``web`` service in ``docker-compose.yml``). Every value that differs between deployments is read
from the environment, so the same image runs on a laptop and behind the bureau's reverse proxy:

``PORT``                 port to listen on (default 8000), always on 0.0.0.0 inside the container
``WEB_CONCURRENCY``      number of worker processes (default ``2 * CPUs + 1``, capped at 8)
``GUNICORN_THREADS``     threads per worker (default 2)
``GUNICORN_TIMEOUT``     seconds before a silent worker is killed and replaced (default 60)
``FORWARDED_ALLOW_IPS``  proxies gunicorn trusts for X-Forwarded-Proto (default: loopback only)
``TRUSTED_PROXIES``      read by the app, checked here: how many proxies stand in front (default 0);
                         only through them is X-Forwarded-For the client's address (ProxyFix)
``LOG_LEVEL``            gunicorn's own log level (default ``info``)

Gunicorn only picks up module-level names that are settings; the helpers below start with ``_`` and
are ignored by it.
"""

from __future__ import annotations

import os


def _int_env(name: str, default: int) -> int:
    """An integer from the environment; empty or unset means ``default``."""
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _cpu_count() -> int:
    """CPUs this process may run on (respects a cpuset/taskset, unlike ``os.cpu_count``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


# --- Socket ---------------------------------------------------------------------------------------

# 0.0.0.0 because inside a container the published port arrives on the container's interface, not
# on loopback. Put a reverse proxy (TLS termination) in front of it in production.
bind = f"0.0.0.0:{_int_env('PORT', 8000)}"

# --- Workers --------------------------------------------------------------------------------------

# The classic 2*CPU+1, but capped: each worker holds its own SQLAlchemy pool (pool_size + overflow
# connections to PostgreSQL), so on a big host an uncapped count would exhaust max_connections long
# before the CPUs are busy. Scale out with more containers instead (see docs/operations.md).
workers = _int_env("WEB_CONCURRENCY", min(2 * _cpu_count() + 1, 8))

# gthread: a few threads per process let one worker overlap requests that wait on PostgreSQL/Redis
# without the monkey-patching of gevent/eventlet. The database session is scoped per thread
# (service.db), so threads are safe here. Keep it small: threads share one GIL.
worker_class = "gthread"
threads = _int_env("GUNICORN_THREADS", 2)

# Slow work (mail, recomputations, PDF generation) belongs in Celery; a request still running after
# a minute is treated as stuck and its worker is killed and replaced.
timeout = _int_env("GUNICORN_TIMEOUT", 60)

# On SIGTERM (docker stop, rolling deploy) workers get this long to finish in-flight requests.
# docker-compose.yml gives the container a slightly longer stop_grace_period so Docker does not
# SIGKILL it first.
graceful_timeout = 30

# Slightly longer than the default 2 s so a reverse proxy reusing connections does not race the close.
keepalive = 5

# Recycle each worker after ~1000 requests so a slow leak (in our code or a C extension such as the
# PDF renderer) cannot grow forever. The jitter spreads the restarts so the workers do not all
# recycle at the same moment.
max_requests = 1000
max_requests_jitter = 100

# NOT preloaded, on purpose. With preload_app = True the master would import the app and run
# create_app() once, and every forked worker would inherit the master's SQLAlchemy engine, its pool
# and any connection (and Redis socket) already opened while building the app. Two processes
# sharing one PostgreSQL socket corrupt each other's protocol stream, and a transaction-local RLS
# setting (SELECT set_config('app.scope', ..., true)) could end up on another worker's transaction.
# Without preload, each worker runs create_app() after the fork and builds its own engine and pool:
# nothing database-related crosses a fork. The cost is a little more memory and a slower start.
preload_app = False

# The worker heartbeat file lives in memory rather than on the container's overlay filesystem,
# where a slow disk can make gunicorn think a healthy worker has hung (recommended for Docker).
worker_tmp_dir = "/dev/shm"

# --- Proxy ----------------------------------------------------------------------------------------

# Which front-end addresses may set X-Forwarded-Proto (so url_for builds https:// links). Loopback only
# unless the operator names the proxy, e.g. FORWARDED_ALLOW_IPS=10.0.0.5 or a CIDR. Never "*" on a port
# reachable from outside the proxy. Gunicorn leaves REMOTE_ADDR alone: the client's address (login
# limits, the session's binding to its client) comes from X-Forwarded-For only through the app's
# TRUSTED_PROXIES (werkzeug's ProxyFix takes that many hops from the right; default 0, the socket's
# peer). Set TRUSTED_PROXIES=1 behind one reverse proxy that appends to X-Forwarded-For.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# --- Start-up check -------------------------------------------------------------------------------


def on_starting(server: object) -> None:
    """Refuse to start without a real SECRET_KEY, with one clear line before any worker forks.

    Every worker's create_app() would refuse as well, but each with a traceback, and gunicorn would
    only say "Worker failed to boot". Only the configuration is read here: no engine, no connection
    (see preload_app above).
    """
    from service.config import INSTANCE_DIR, InsecureSecretKey, from_env, resolve_secret_key

    try:
        config = from_env()
    except ValueError as exc:  # e.g. TRUSTED_PROXIES=yes
        raise SystemExit(f"gunicorn: a setting is not a number: {exc}") from None
    if config["TRUSTED_PROXIES"] < 0:
        raise SystemExit("gunicorn: TRUSTED_PROXIES is the number of proxies in front (0 or more)")
    try:
        resolve_secret_key(config, INSTANCE_DIR)
    except InsecureSecretKey as exc:
        raise SystemExit(f"gunicorn: {exc}") from None


# --- Logging --------------------------------------------------------------------------------------

# Both logs to stdout/stderr: the container runtime collects them (`docker compose logs web`).
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# Default format plus the request duration in microseconds (%(D)s), handy for spotting slow pages.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(D)sus'
