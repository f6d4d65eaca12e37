"""Fixtures for the scale-out tests: a PostgreSQL database and a Redis key prefix of their
own for each test, removed afterwards. Without the servers the tests are skipped, saying
how to run them."""

import uuid

import psycopg
import pytest
import redis

from services import HOW, POSTGRES, REDIS



@pytest.fixture
def pg_url():
    """The SQLAlchemy URL of a new, empty PostgreSQL database, dropped after the test."""
    try:
        admin = psycopg.connect(POSTGRES, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL at {POSTGRES} ({exc.__class__.__name__}): {HOW}")
    name = f"jobdeck_test_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def redis_prefix():
    """A Redis key prefix of this test's own; its keys are deleted after the test."""
    client = redis.Redis.from_url(REDIS, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS} ({exc.__class__.__name__}): {HOW}")
    prefix = f"jobdeck_test_{uuid.uuid4().hex[:10]}"
    try:
        yield prefix
    finally:
        for key in client.scan_iter(match=f"*{prefix}*"):
            client.delete(key)
        client.close()


@pytest.fixture
def scale_env(pg_url, redis_prefix) -> dict[str, str]:
    """The environment that puts a Jobdeck process on this test's PostgreSQL and Redis."""
    return {"DATABASE_URL": pg_url, "REDIS_URL": REDIS, "JOBDECK_REDIS_PREFIX": redis_prefix}
