"""Liveness and readiness.

``/healthz`` answers "is the process alive?" and never does I/O: a database outage must not make
the orchestrator restart every replica. ``/readyz`` answers "can this replica serve traffic now?"
by running the checks a service registered — database, cache, broker — concurrently, each bounded
by its own timeout, so one hung dependency costs at most its timeout and never hangs the probe.

The body of a failed readiness probe names the failed check and the exception type and message,
never a traceback.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, cast
from urllib.parse import urlsplit

import aio_pika
from sqlalchemy import Engine, text
from sqlalchemy.ext.asyncio import AsyncEngine

from roadbed_core.cache import AsyncCache, Cache
from roadbed_core.logs import get_logger

SyncCheck = Callable[[], object]
AsyncCheck = Callable[[], Awaitable[object]]
#: A readiness check: returns (anything) when the dependency is usable, raises when it is not.
Check = SyncCheck | AsyncCheck

DEFAULT_CHECK_TIMEOUT: Final = 2.0
_MAX_ERROR_LENGTH: Final = 200

_logger = get_logger("roadbed.health")


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one readiness check."""

    name: str
    ok: bool
    duration_ms: float
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": "ok" if self.ok else "error",
            "duration_ms": self.duration_ms,
        }
        if self.error is not None:
            body["error"] = self.error
        return body


@dataclass(frozen=True, slots=True)
class ReadinessReport:
    """Every check's outcome; ready only when all of them passed."""

    service: str
    checks: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def status_code(self) -> int:
        return 200 if self.ok else 503

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.ok else "unavailable",
            "service": self.service,
            "checks": {check.name: check.as_dict() for check in self.checks},
        }


@dataclass(frozen=True, slots=True)
class _RegisteredCheck:
    name: str
    check: Check
    timeout: float
    is_async: bool


def _is_async_callable(check: Check) -> bool:
    """``async def`` functions, partials of them, and objects with an ``async def __call__``."""
    return inspect.iscoroutinefunction(check) or inspect.iscoroutinefunction(
        getattr(check, "__call__", None)  # noqa: B004 - we need the method, not callable()
    )


def _describe(exc: BaseException) -> str:
    """One short line for the probe body: exception type and the first line of its message."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text_ = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text_[:_MAX_ERROR_LENGTH]


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


class HealthRegistry:
    """The readiness checks of one service.

    Register checks at start-up with :meth:`add`; the framework integrations serve
    :meth:`liveness` at ``/healthz`` and :meth:`check_ready` / :meth:`check_ready_sync` at
    ``/readyz``.
    """

    def __init__(self, service: str, *, default_timeout: float = DEFAULT_CHECK_TIMEOUT) -> None:
        self.service = service
        self.default_timeout = default_timeout
        self._checks: dict[str, _RegisteredCheck] = {}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._checks)

    def add(self, name: str, check: Check, *, timeout: float | None = None) -> None:
        """Register ``check`` (sync or ``async``) under ``name``; it fails if it exceeds ``timeout``."""
        if name in self._checks:
            raise ValueError(f"a readiness check named {name!r} is already registered")
        effective_timeout = self.default_timeout if timeout is None else timeout
        if effective_timeout <= 0:
            raise ValueError("timeout must be positive seconds")
        self._checks[name] = _RegisteredCheck(
            name, check, effective_timeout, _is_async_callable(check)
        )

    def liveness(self) -> dict[str, str]:
        """The ``/healthz`` body. Deliberately does no I/O."""
        return {"status": "ok", "service": self.service}

    async def check_ready(self) -> ReadinessReport:
        """Run every check concurrently on the running loop (sync ones in worker threads)."""
        results = await asyncio.gather(*(self._run_async(c) for c in self._checks.values()))
        return ReadinessReport(self.service, tuple(results))

    def check_ready_sync(self) -> ReadinessReport:
        """Run every check concurrently from blocking code (WSGI views), each in its own thread.

        A check that overruns its timeout is reported as failed but a thread cannot be killed;
        it finishes in the background. Give blocking clients their own socket timeouts.
        """
        started = time.perf_counter()
        futures = [(check, _in_daemon_thread(check)) for check in self._checks.values()]
        results = [self._collect(check, future, started) for check, future in futures]
        return ReadinessReport(self.service, tuple(results))

    async def _run_async(self, check: _RegisteredCheck) -> CheckResult:
        started = time.perf_counter()
        try:
            if check.is_async:
                await asyncio.wait_for(cast(AsyncCheck, check.check)(), check.timeout)
            else:
                await asyncio.wait_for(asyncio.wrap_future(_in_daemon_thread(check)), check.timeout)
        except TimeoutError:
            return self._failed(check, started, f"timed out after {check.timeout:g}s")
        except Exception as exc:  # a readiness check may fail in any way; that is its answer
            return self._failed(check, started, _describe(exc))
        return CheckResult(check.name, True, _elapsed_ms(started))

    def _collect(
        self,
        check: _RegisteredCheck,
        future: concurrent.futures.Future[None],
        started: float,
    ) -> CheckResult:
        remaining = max(0.0, started + check.timeout - time.perf_counter())
        try:
            future.result(timeout=remaining)
        except TimeoutError:
            return self._failed(check, started, f"timed out after {check.timeout:g}s")
        except Exception as exc:  # see _run_async
            return self._failed(check, started, _describe(exc))
        return CheckResult(check.name, True, _elapsed_ms(started))

    def _failed(self, check: _RegisteredCheck, started: float, error: str) -> CheckResult:
        # A warning without traceback: probes repeat every few seconds during an outage.
        _logger.warning(
            "readiness_check_failed", check=check.name, error=error, service=self.service
        )
        return CheckResult(check.name, False, _elapsed_ms(started), error)


def _run_check(check: _RegisteredCheck) -> None:
    if check.is_async:
        # A fresh loop per probe: blocking services have no loop of their own to lend.
        asyncio.run(_bounded(cast(AsyncCheck, check.check), check.timeout))
    else:
        check.check()


async def _bounded(check: AsyncCheck, timeout: float) -> None:
    await asyncio.wait_for(check(), timeout)


def _in_daemon_thread(check: _RegisteredCheck) -> concurrent.futures.Future[None]:
    """Run ``check`` in a new daemon thread.

    Not a pool, and not the event loop's default executor: a hung check must not hold up the
    next probe, loop shutdown (which waits for the default executor) or interpreter exit.
    """
    future: concurrent.futures.Future[None] = concurrent.futures.Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            _run_check(check)
        except BaseException as exc:  # handed to the waiting probe, which reports it
            future.set_exception(exc)
        else:
            future.set_result(None)

    threading.Thread(target=run, name=f"roadbed-readyz-{check.name}", daemon=True).start()
    return future


# --- ready-made checks -------------------------------------------------------------------------


def sqlalchemy_async_check(engine: AsyncEngine) -> AsyncCheck:
    """``SELECT 1`` through an async engine's pool."""

    async def check() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    return check


def sqlalchemy_check(engine: Engine) -> SyncCheck:
    """``SELECT 1`` through a blocking engine's pool."""

    def check() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    return check


def _probe_key_and_value() -> tuple[str, bytes]:
    token = secrets.token_hex(8)
    return f"roadbed:readyz:{token}", token.encode()


class CacheRoundTripError(RuntimeError):
    """The cache accepted a value but did not give the same one back."""


def cache_check(cache: Cache) -> SyncCheck:
    """Write, read back and delete a unique short-lived key (a read-only ping proves too little)."""

    def check() -> None:
        key, value = _probe_key_and_value()
        cache.set(key, value, ttl=30)
        try:
            if cache.get(key) != value:
                raise CacheRoundTripError("the cache did not return the value just written")
        finally:
            cache.delete(key)

    return check


def async_cache_check(cache: AsyncCache) -> AsyncCheck:
    """The awaitable twin of :func:`cache_check`."""

    async def check() -> None:
        key, value = _probe_key_and_value()
        await cache.set(key, value, ttl=30)
        try:
            if await cache.get(key) != value:
                raise CacheRoundTripError("the cache did not return the value just written")
        finally:
            await cache.delete(key)

    return check


def tcp_check(host: str, port: int) -> AsyncCheck:
    """The peer accepts TCP connections (the cheapest broker check; proves no credentials)."""

    async def check() -> None:
        _, writer = await asyncio.open_connection(host, port)
        writer.close()
        await writer.wait_closed()

    return check


def amqp_check(url: str, *, handshake: bool = True) -> AsyncCheck:
    """The AMQP broker at ``url`` is usable.

    With ``handshake`` (the default) a full AMQP connection is opened and closed, which also
    proves the credentials and virtual host; without it only a TCP connection is made.
    """
    if not handshake:
        parts = urlsplit(url)
        return tcp_check(parts.hostname or "localhost", parts.port or 5672)

    async def check() -> None:
        connection = await aio_pika.connect(url)
        await connection.close()

    return check
