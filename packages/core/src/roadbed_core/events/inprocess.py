"""The embedded-mode bus: same contract and same consumer code as RabbitMQ, inside one process.

Every message is serialised with :meth:`CloudEvent.to_json` on publish and parsed again on
delivery, so anything that would not survive the broker fails here too. Each group has its own
queue and worker task, so :meth:`InProcessBus.publish` never runs consumer code inline (a slow or
failing consumer cannot break the publisher). Retries are scheduled, not slept in the worker, so
one failing event does not hold up the rest of its group. Nothing is durable: the outbox is what
survives a restart, and :meth:`InProcessBus.drain` lets a graceful shutdown finish the queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from roadbed_core.events.bus import DeadLetter, Handler, RetryPolicy, Subscriptions
from roadbed_core.events.envelope import CloudEvent, EventFormatError

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Delivery:
    body: bytes
    attempt: int


class InProcessBus:
    """An :class:`~roadbed_core.events.bus.EventBus` backed by asyncio queues."""

    def __init__(self, *, retry: RetryPolicy | None = None) -> None:
        self._retry = retry or RetryPolicy()
        self._subscriptions = Subscriptions()
        self._queues: dict[str, asyncio.Queue[_Delivery]] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._retry_timers: set[asyncio.Task[None]] = set()
        self._dead_letters: list[DeadLetter] = []
        self._outstanding = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._started = False
        self._closed = False

    @property
    def dead_letters(self) -> tuple[DeadLetter, ...]:
        """Messages given up on, oldest first (the embedded stand-in for ``<group>.dlq``)."""
        return tuple(self._dead_letters)

    def subscribe(self, group: str, patterns: Sequence[str], handler: Handler) -> None:
        """Add a route for ``group``; must happen before :meth:`start`, as on RabbitMQ."""
        if self._started:
            raise RuntimeError("subscribe() must be called before start()")
        self._subscriptions.add(group, patterns, handler)
        self._queues.setdefault(group, asyncio.Queue())

    async def start(self) -> None:
        """Start one worker task per group. Events published earlier are delivered now."""
        if self._closed:
            raise RuntimeError("the bus is closed")
        if self._started:
            return
        self._started = True
        for group in self._subscriptions.groups:
            self._workers.append(asyncio.create_task(self._work(group), name=f"bus:{group}"))

    async def publish(self, event: CloudEvent) -> None:
        """Queue one JSON copy of ``event`` for every matching group and return at once."""
        if self._closed:
            raise RuntimeError("the bus is closed")
        body = event.to_json()
        for group in self._subscriptions.groups_matching(event.type):
            self._enqueue(group, _Delivery(body, attempt=1))

    async def drain(self) -> None:
        """Wait until every published message has been handled or dead-lettered."""
        if not self._started and self._outstanding:
            raise RuntimeError("start() the bus before draining it, or this would wait forever")
        await self._idle.wait()

    async def close(self) -> None:
        """Stop the workers. Undelivered messages are dropped: :meth:`drain` first to keep them."""
        self._closed = True
        tasks = [*self._workers, *self._retry_timers]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._workers.clear()
        if self._outstanding:
            logger.warning("in-process bus closed with %d undelivered messages", self._outstanding)

    def _enqueue(self, group: str, delivery: _Delivery) -> None:
        self._outstanding += 1
        self._idle.clear()
        self._queues[group].put_nowait(delivery)

    def _settle(self) -> None:
        self._outstanding -= 1
        if self._outstanding == 0:
            self._idle.set()

    async def _work(self, group: str) -> None:
        queue = self._queues[group]
        while True:
            delivery = await queue.get()
            await self._deliver(group, delivery)

    async def _deliver(self, group: str, delivery: _Delivery) -> None:
        try:
            event = CloudEvent.from_json(delivery.body)
        except EventFormatError as exc:
            self._dead_letter(group, delivery, exc)
            return
        handler = self._subscriptions.handler_for(group, event.type)
        if handler is None:  # cannot happen: only matching groups get a copy
            self._settle()
            return
        try:
            await handler(event)
        except Exception as exc:  # a consumer failure of any kind is retried, then dead-lettered
            self._handle_failure(group, delivery, event, exc)
            return
        self._settle()

    def _handle_failure(
        self, group: str, delivery: _Delivery, event: CloudEvent, exc: Exception
    ) -> None:
        if delivery.attempt >= self._retry.max_attempts:
            logger.error(
                "consumer %s gave up on %s %s after %d attempts",
                group,
                event.type,
                event.id,
                delivery.attempt,
                exc_info=exc,
            )
            self._dead_letter(group, delivery, exc)
            return
        delay = self._retry.delay_after(delivery.attempt)
        logger.warning(
            "consumer %s failed on %s %s (attempt %d), retrying in %.3fs",
            group,
            event.type,
            event.id,
            delivery.attempt,
            delay,
            exc_info=exc,
        )
        retry = _Delivery(delivery.body, attempt=delivery.attempt + 1)
        timer = asyncio.create_task(self._redeliver_later(group, retry, delay))
        self._retry_timers.add(timer)
        timer.add_done_callback(self._retry_timers.discard)

    async def _redeliver_later(self, group: str, delivery: _Delivery, delay: float) -> None:
        await asyncio.sleep(delay)
        # Still the same outstanding message: it was not settled when the attempt failed.
        self._queues[group].put_nowait(delivery)

    def _dead_letter(self, group: str, delivery: _Delivery, exc: Exception) -> None:
        self._dead_letters.append(
            DeadLetter(group=group, body=delivery.body, error=repr(exc), attempts=delivery.attempt)
        )
        self._settle()
