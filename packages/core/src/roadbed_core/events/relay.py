"""The outbox relay: moves committed outbox rows to the bus (DESIGN.md §5).

A service writes events into its outbox table in the same transaction as the change they
describe. The relay, in its own transaction and never in the caller's, takes a bounded batch of
pending rows oldest first, publishes each and marks the published ones. Delivery is at least once:
if the process dies after a publish but before the mark commits, the rows are still pending and
are published again by the next run; consumers deduplicate through their inbox.

Stores hide the database: SQLAlchemy async, SQLAlchemy sync and Django stores all satisfy
:class:`OutboxStore`, the blocking ones by running their batch in a worker thread
(:class:`BlockingOutboxStore`), so one relay loop serves every service.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from roadbed_core.events.bus import EventPublisher
from roadbed_core.events.envelope import CloudEvent, EventFormatError

logger = logging.getLogger(__name__)

#: Publishes one event; a store calls it for every row in its batch, in order.
Deliver = Callable[[CloudEvent], Awaitable[None]]
#: The blocking twin of :data:`Deliver`, handed to stores that run in a worker thread.
BlockingDeliver = Callable[[CloudEvent], None]
#: Called around each publish. Tests use ``after_publish`` to kill the relay before the mark.
RelayHook = Callable[[CloudEvent], Awaitable[None]]


class OutboxStore(Protocol):
    """Where a relay finds pending events."""

    async def publish_pending(self, *, limit: int, deliver: Deliver) -> int:
        """Publish up to ``limit`` pending events oldest first; return how many were marked.

        In one transaction of the store's own: lock the oldest pending rows (``FOR UPDATE SKIP
        LOCKED`` where the database has it, so concurrent relays split the work), ``await
        deliver(event)`` for each in order, mark the delivered ones published, commit. When
        ``deliver`` raises an ``Exception`` the rows delivered before it are still marked, the
        failing row's ``attempts`` goes up, the transaction commits and the exception is re-raised.
        Any other ``BaseException`` (a crash, a cancellation) rolls everything back.
        """
        ...


class BlockingOutboxStore(ABC):
    """Base for stores on blocking drivers: the whole batch runs in one worker thread.

    One thread for the whole batch matters: the transaction (and, for Django, the thread-local
    connection) must be the same from the select to the mark. Each publish is handed back to the
    event loop and the thread waits for it.
    """

    async def publish_pending(self, *, limit: int, deliver: Deliver) -> int:
        loop = asyncio.get_running_loop()

        async def deliver_on_loop(event: CloudEvent) -> None:
            await deliver(event)

        def deliver_blocking(event: CloudEvent) -> None:
            asyncio.run_coroutine_threadsafe(deliver_on_loop(event), loop).result()

        return await asyncio.to_thread(
            self.publish_pending_blocking, limit=limit, deliver=deliver_blocking
        )

    @abstractmethod
    def publish_pending_blocking(self, *, limit: int, deliver: BlockingDeliver) -> int:
        """The contract of :meth:`OutboxStore.publish_pending`, with a blocking ``deliver``."""


def parse_outbox_payload(event_id: object, payload: str) -> CloudEvent | None:
    """Parse a stored envelope; log and return ``None`` if it is corrupt.

    The writer only stores validated envelopes, so this means someone edited the table by hand.
    The row is skipped (its ``attempts`` still goes up) instead of wedging the relay forever.
    """
    try:
        return CloudEvent.from_json(payload)
    except EventFormatError:
        logger.exception("outbox row %s holds a corrupt envelope; skipping it", event_id)
        return None


@dataclass(slots=True)
class BatchOutcome:
    """What one batch delivered, which rows failed, and the error that stopped it (if any).

    Every store marks ``delivered`` published and bumps ``attempts`` of ``failed`` in the batch's
    transaction, then calls :meth:`result`.
    """

    delivered: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    error: Exception | None = None

    def result(self) -> int:
        """How many rows were published; re-raises the delivery error once the marks are in."""
        if self.error is not None:
            raise self.error
        return len(self.delivered)


async def deliver_rows(rows: Iterable[tuple[Any, str]], deliver: Deliver) -> BatchOutcome:
    """Deliver ``(event id, payload)`` rows in order, stopping at the first delivery failure."""
    outcome = BatchOutcome()
    for event_id, payload in rows:
        cloud_event = parse_outbox_payload(event_id, payload)
        if cloud_event is None:
            outcome.failed.append(str(event_id))
            continue
        try:
            await deliver(cloud_event)
        except Exception as exc:  # stop here; what was published is still marked
            outcome.failed.append(str(event_id))
            outcome.error = exc
            break
        outcome.delivered.append(str(event_id))
    return outcome


def deliver_rows_blocking(
    rows: Iterable[tuple[Any, str]], deliver: BlockingDeliver
) -> BatchOutcome:
    """:func:`deliver_rows` for the blocking stores (same rules, blocking ``deliver``)."""
    outcome = BatchOutcome()
    for event_id, payload in rows:
        cloud_event = parse_outbox_payload(event_id, payload)
        if cloud_event is None:
            outcome.failed.append(str(event_id))
            continue
        try:
            deliver(cloud_event)
        except Exception as exc:  # stop here; what was published is still marked
            outcome.failed.append(str(event_id))
            outcome.error = exc
            break
        outcome.delivered.append(str(event_id))
    return outcome


class OutboxRelay:
    """Publishes pending outbox rows of one store to one bus.

    ``run_once`` is one batch; ``run_forever`` loops until ``stop_event`` is set, sleeping
    ``poll_interval`` between empty batches unless :meth:`wake` is called, and backing off
    exponentially (``initial_backoff`` doubling up to ``max_backoff``) while the bus or database
    fails.
    """

    def __init__(
        self,
        *,
        store: OutboxStore,
        bus: EventPublisher,
        batch_size: int = 100,
        before_publish: RelayHook | None = None,
        after_publish: RelayHook | None = None,
        initial_backoff: float = 0.5,
        max_backoff: float = 30.0,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._store = store
        self._bus = bus
        self._batch_size = batch_size
        self._before_publish = before_publish
        self._after_publish = after_publish
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff
        self._wakeup = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def run_once(self) -> int:
        """Publish one batch of pending events; return how many were published and marked."""
        return await self._store.publish_pending(limit=self._batch_size, deliver=self._deliver)

    async def run_forever(self, *, poll_interval: float = 1.0, stop_event: asyncio.Event) -> None:
        """Relay until ``stop_event`` is set. Errors are logged and retried with backoff."""
        self._loop = asyncio.get_running_loop()
        failures = 0
        try:
            while not stop_event.is_set():
                self._wakeup.clear()
                try:
                    published = await self.run_once()
                except Exception:  # bus or database down: keep the relay alive, back off
                    failures += 1
                    delay = self._backoff(failures)
                    logger.exception(
                        "outbox relay failed (%d in a row); retry in %.2fs", failures, delay
                    )
                    await _wait_any(stop_event, timeout=delay)
                    continue
                failures = 0
                if published < self._batch_size:  # a full batch means more may be waiting
                    await _wait_any(stop_event, self._wakeup, timeout=poll_interval)
        finally:
            self._loop = None

    def wake(self) -> None:
        """Ask a running :meth:`run_forever` to look for rows now. Safe from any thread."""
        loop = self._loop
        if loop is None:
            self._wakeup.set()
            return
        try:
            loop.call_soon_threadsafe(self._wakeup.set)
        except RuntimeError:  # the loop closed between the check and the call
            return

    async def _deliver(self, event: CloudEvent) -> None:
        if self._before_publish is not None:
            await self._before_publish(event)
        await self._bus.publish(event)
        if self._after_publish is not None:
            await self._after_publish(event)

    def _backoff(self, failures: int) -> float:
        return float(min(self._initial_backoff * 2 ** (failures - 1), self._max_backoff))


async def _wait_any(*events: asyncio.Event, timeout: float) -> None:
    """Return when any of ``events`` is set or ``timeout`` seconds have passed."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
