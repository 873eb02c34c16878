"""The two test tiers.

The default tier runs anywhere (SQLite, in-process bus and cache). Tests that ask for one of the
fixtures below form the ``services`` tier and are marked ``services`` automatically: they run
against real PostgreSQL, Redis and RabbitMQ. A service that is not reachable skips its tests with
a one-line reason — unless ``ROADBED_REQUIRE_SERVICES=1`` (set by ``.ci/run``), where it fails.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

# Shared checks assert like tests; have pytest rewrite them so failures show the values.
pytest.register_assert_rewrite(
    "roadbed_core.testing.operational", "roadbed_core.testing.migrations"
)

POSTGRES_URL = os.environ.get(
    "ROADBED_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("ROADBED_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
AMQP_URL = os.environ.get("ROADBED_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")

SERVICE_FIXTURES = frozenset({"postgres_url", "redis_url", "amqp_url"})


def services_required() -> bool:
    return os.environ.get("ROADBED_REQUIRE_SERVICES") == "1"


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), timeout=1
        ):
            return True
    except OSError:
        return False


def require_service(name: str, url: str, default_port: int) -> None:
    """Skip (or fail, when services are required) unless ``url`` accepts TCP connections."""
    if _reachable(url, default_port):
        return
    reason = (
        f"{name} is not reachable at {urlsplit(url).hostname}:{urlsplit(url).port or default_port}"
    )
    if services_required():
        pytest.fail(f"{reason} and ROADBED_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(reason)


def with_driver(url: str, driver: str) -> str:
    """``postgresql://...`` → ``postgresql+<driver>://...`` for SQLAlchemy."""
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}+{driver}://{rest}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test (dropped afterwards); a plain libpq URL."""
    require_service("PostgreSQL", POSTGRES_URL, 5432)
    import psycopg  # imported here: only the services tier needs a PostgreSQL driver

    name = f"roadbed_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(POSTGRES_URL)
    try:
        yield parts._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis database emptied before and after the test."""
    require_service("Redis", REDIS_URL, 6379)
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    try:
        yield REDIS_URL
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def amqp_url() -> str:
    """RabbitMQ; tests isolate themselves with unique exchange and queue names."""
    require_service("RabbitMQ", AMQP_URL, 5672)
    return AMQP_URL


@pytest.fixture
def unique_name() -> str:
    """A short unique token for names that must not collide between tests (queues, keys)."""
    return uuid.uuid4().hex[:12]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "services: needs PostgreSQL, Redis or RabbitMQ")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.services)
