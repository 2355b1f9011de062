"""Before the suite: PostgreSQL and Redis answer at DATABASE_URL / REDIS_URL, and the
database exists (created if missing). Stops with a clear message otherwise."""

import os
import sys
from urllib.parse import urlparse

import psycopg
import redis

db = os.environ.get("DATABASE_URL", "")
if not db.startswith("postgres"):
    sys.exit(
        "DATABASE_URL must point at PostgreSQL for the test suite (e.g. postgres://postgres@127.0.0.1:5432/pitboss)"
    )
u = urlparse(db)
name = u.path.lstrip("/") or "pitboss"
admin_url = u._replace(path="/postgres").geturl()
try:
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
except psycopg.OperationalError as exc:
    sys.exit(f"PostgreSQL is not reachable at {u.hostname}:{u.port or 5432}: {exc}")
r = os.environ.get("REDIS_URL", "")
if r:
    try:
        redis.Redis.from_url(r, socket_connect_timeout=5).ping()
    except redis.RedisError as exc:
        sys.exit(f"Redis is not reachable at {r}: {exc}")
