"""Which real services the tests use, and how to reach them.

PostgreSQL and Redis are used when reachable. With ``CI=true`` a missing service stops the run with
an error instead of skipping (CI must prove the PostgreSQL and Redis paths).
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

PG_ADMIN_URL = os.environ.get("HOUQIN_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("HOUQIN_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() == "true"
FORCE_SQLITE = os.environ.get("HOUQIN_TEST_SQLITE", "") == "1"


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout=2):
            return True
    except OSError:
        return False


def postgres_available() -> bool:
    return not FORCE_SQLITE and _reachable(PG_ADMIN_URL)


def redis_available() -> bool:
    if not _reachable(REDIS_URL):
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False
