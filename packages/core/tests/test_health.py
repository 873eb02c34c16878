"""HealthRegistry and the ready-made readiness checks, against real engines and servers."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import create_async_engine

from roadbed_core.cache import (
    AsyncMemoryCache,
    AsyncRedisCache,
    MemoryCache,
    MemoryStore,
    RedisCache,
)
from roadbed_core.health import (
    CheckResult,
    HealthRegistry,
    ReadinessReport,
    amqp_check,
    async_cache_check,
    cache_check,
    sqlalchemy_async_check,
    sqlalchemy_check,
    tcp_check,
)
from roadbed_core.testing.plugin import with_driver


def without_durations(report: ReadinessReport) -> dict[str, object]:
    body = report.as_dict()
    for check in body["checks"].values():
        assert isinstance(check.pop("duration_ms"), float)
    return body


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at teardown so a deliberately hung sync check finishes instead of lingering."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def _ok() -> None:
    await asyncio.sleep(0)


def _refused() -> None:
    raise ConnectionRefusedError(111, "Connection refused")


# --- the registry -----------------------------------------------------------------------------


def test_liveness_does_no_checks() -> None:
    registry = HealthRegistry("shop")
    registry.add("db", _refused)
    assert registry.liveness() == {"status": "ok", "service": "shop"}


async def test_no_checks_means_ready() -> None:
    report = await HealthRegistry("shop").check_ready()
    assert (report.ok, report.status_code, report.as_dict()) == (
        True,
        200,
        {"status": "ok", "service": "shop", "checks": {}},
    )


def test_no_checks_means_ready_from_blocking_code() -> None:
    assert HealthRegistry("shop").check_ready_sync().as_dict() == {
        "status": "ok",
        "service": "shop",
        "checks": {},
    }


async def test_async_runner_runs_sync_and_async_checks() -> None:
    registry = HealthRegistry("shop")
    registry.add("db", _ok)
    registry.add("cache", lambda: None)
    registry.add("broker", _refused)
    report = await registry.check_ready()
    assert (report.ok, report.status_code) == (False, 503)
    assert without_durations(report) == {
        "status": "unavailable",
        "service": "shop",
        "checks": {
            "db": {"status": "ok"},
            "cache": {"status": "ok"},
            "broker": {
                "status": "error",
                "error": "ConnectionRefusedError: [Errno 111] Connection refused",
            },
        },
    }


def test_sync_runner_runs_sync_and_async_checks() -> None:
    registry = HealthRegistry("tasks")
    registry.add("db", lambda: None)
    registry.add("broker", _ok)
    registry.add("cache", _refused)
    assert without_durations(registry.check_ready_sync()) == {
        "status": "unavailable",
        "service": "tasks",
        "checks": {
            "db": {"status": "ok"},
            "broker": {"status": "ok"},
            "cache": {
                "status": "error",
                "error": "ConnectionRefusedError: [Errno 111] Connection refused",
            },
        },
    }


async def test_async_runner_times_out_hung_checks(release: threading.Event) -> None:
    async def hangs() -> None:
        await asyncio.sleep(60)

    registry = HealthRegistry("shop")
    registry.add("async", hangs, timeout=0.05)
    registry.add("sync", lambda: release.wait(60), timeout=0.05)
    report = await registry.check_ready()
    assert [(r.name, r.ok, r.error) for r in report.checks] == [
        ("async", False, "timed out after 0.05s"),
        ("sync", False, "timed out after 0.05s"),
    ]


def test_sync_runner_times_out_hung_checks(release: threading.Event) -> None:
    async def hangs() -> None:
        await asyncio.sleep(60)

    registry = HealthRegistry("tasks")
    registry.add("async", hangs, timeout=0.05)
    registry.add("sync", lambda: release.wait(60), timeout=0.05)
    report = registry.check_ready_sync()
    assert [(r.name, r.ok, r.error) for r in report.checks] == [
        ("async", False, "timed out after 0.05s"),
        ("sync", False, "timed out after 0.05s"),
    ]


async def test_objects_with_async_call_are_awaited() -> None:
    class Probe:
        async def __call__(self) -> None:
            raise RuntimeError("probe failed")

    registry = HealthRegistry("shop")
    registry.add("probe", Probe())
    [result] = (await registry.check_ready()).checks
    assert (result.ok, result.error) == (False, "RuntimeError: probe failed")


async def test_errors_are_one_short_line() -> None:
    def verbose() -> None:
        raise RuntimeError("first line\n" + "x" * 500)

    def silent() -> None:
        raise KeyError

    registry = HealthRegistry("shop")
    registry.add("verbose", verbose)
    registry.add("silent", silent)
    checks = {r.name: r.error for r in (await registry.check_ready()).checks}
    assert checks == {"verbose": "RuntimeError: first line", "silent": "KeyError"}


def test_duplicate_names_are_refused() -> None:
    registry = HealthRegistry("shop")
    registry.add("db", _ok)
    with pytest.raises(ValueError, match="'db' is already registered"):
        registry.add("db", _ok)


@pytest.mark.parametrize("timeout", [0, -1])
def test_non_positive_timeouts_are_refused(timeout: float) -> None:
    with pytest.raises(ValueError, match="timeout must be positive"):
        HealthRegistry("shop").add("db", _ok, timeout=timeout)


def test_default_timeout_applies_when_none_given() -> None:
    registry = HealthRegistry("shop", default_timeout=0.5)
    registry.add("db", _ok)
    assert registry.names == ("db",)


def test_check_result_body_has_error_only_on_failure() -> None:
    assert CheckResult("db", True, 1.5).as_dict() == {"status": "ok", "duration_ms": 1.5}
    assert CheckResult("db", False, 2.0, "boom").as_dict() == {
        "status": "error",
        "duration_ms": 2.0,
        "error": "boom",
    }


# --- SQLAlchemy -------------------------------------------------------------------------------


async def test_sqlalchemy_async_check_on_sqlite() -> None:
    engine = create_async_engine("sqlite+aiosqlite:///:memory:")
    try:
        await sqlalchemy_async_check(engine)()
    finally:
        await engine.dispose()


async def test_sqlalchemy_async_check_fails_when_the_database_is_unreachable(
    closed_port: int,
) -> None:
    engine = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port}/roadbed")
    registry = HealthRegistry("shop")
    registry.add("db", sqlalchemy_async_check(engine), timeout=5)
    try:
        [result] = (await registry.check_ready()).checks
    finally:
        await engine.dispose()
    assert result.ok is False


def test_sqlalchemy_check_fails_when_the_database_cannot_open(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'tasks.db'}")
    registry = HealthRegistry("tasks")
    registry.add("db", sqlalchemy_check(engine))
    try:
        [result] = registry.check_ready_sync().checks
    finally:
        engine.dispose()
    assert (result.ok, (result.error or "").split(":")[0]) == (False, "OperationalError")


def test_sqlalchemy_check_on_sqlite(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'tasks.db'}")
    registry = HealthRegistry("tasks")
    registry.add("db", sqlalchemy_check(engine))
    try:
        assert registry.check_ready_sync().ok is True
    finally:
        engine.dispose()


async def test_sqlalchemy_async_check_on_postgres(postgres_url: str) -> None:
    engine = create_async_engine(with_driver(postgres_url, "asyncpg"))
    registry = HealthRegistry("shop")
    registry.add("db", sqlalchemy_async_check(engine))
    try:
        assert (await registry.check_ready()).ok is True
    finally:
        await engine.dispose()


def test_sqlalchemy_check_on_postgres(postgres_url: str) -> None:
    engine = create_engine(with_driver(postgres_url, "psycopg"))
    registry = HealthRegistry("tasks")
    registry.add("db", sqlalchemy_check(engine))
    try:
        assert registry.check_ready_sync().ok is True
    finally:
        engine.dispose()


# --- caches -----------------------------------------------------------------------------------


def test_cache_check_round_trips_and_leaves_nothing_behind() -> None:
    store = MemoryStore()
    cache_check(store)()
    assert store._data == {}


async def test_async_cache_check_round_trips_and_leaves_nothing_behind() -> None:
    store = MemoryStore()
    await async_cache_check(AsyncMemoryCache(store))()
    assert store._data == {}


def test_cache_check_on_redis(redis_url: str) -> None:
    cache = RedisCache.from_url(redis_url)
    try:
        cache_check(cache)()
        assert cache.client.dbsize() == 0
    finally:
        cache.client.close()


async def test_async_cache_check_on_redis(redis_url: str) -> None:
    cache = AsyncRedisCache.from_url(redis_url)
    try:
        await async_cache_check(cache)()
        assert await cache.client.dbsize() == 0
    finally:
        await cache.aclose()


def test_cache_check_fails_when_redis_is_unreachable(closed_port: int) -> None:
    cache = RedisCache.from_url(f"redis://127.0.0.1:{closed_port}/0")
    registry = HealthRegistry("tasks")
    registry.add("cache", cache_check(cache), timeout=5)
    try:
        [result] = registry.check_ready_sync().checks
    finally:
        cache.client.close()
    assert (result.ok, (result.error or "").split(":")[0]) == (False, "ConnectionError")


def test_memory_cache_satisfies_the_cache_check() -> None:
    registry = HealthRegistry("tasks")
    registry.add("cache", cache_check(MemoryCache()))
    assert registry.check_ready_sync().ok is True


# --- broker -----------------------------------------------------------------------------------


async def test_tcp_check_against_a_listening_socket() -> None:
    server = await asyncio.start_server(lambda reader, writer: writer.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        await tcp_check("127.0.0.1", port)()
    finally:
        server.close()
        await server.wait_closed()


async def test_tcp_check_fails_on_a_closed_port(closed_port: int) -> None:
    with pytest.raises(ConnectionRefusedError):
        await tcp_check("127.0.0.1", closed_port)()


async def test_amqp_check_without_handshake_is_a_tcp_check(closed_port: int) -> None:
    with pytest.raises(ConnectionRefusedError):
        await amqp_check(f"amqp://guest:guest@127.0.0.1:{closed_port}/", handshake=False)()


async def test_amqp_check_with_handshake_on_rabbitmq(amqp_url: str) -> None:
    registry = HealthRegistry("notify")
    registry.add("broker", amqp_check(amqp_url))
    assert (await registry.check_ready()).ok is True


async def test_amqp_check_fails_on_wrong_credentials(amqp_url: str) -> None:
    registry = HealthRegistry("notify")
    wrong = amqp_url.replace("guest:guest@", "guest:wrong@")
    registry.add("broker", amqp_check(wrong), timeout=5)
    [result] = (await registry.check_ready()).checks
    assert result.ok is False
