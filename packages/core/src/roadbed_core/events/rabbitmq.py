"""The production bus: RabbitMQ through aio-pika (DESIGN.md §5).

Topology, per bus and per consumer group::

    exchange  <exchange>              durable topic exchange; routing key = event type
    queue     <group>                 durable; bound to the group's patterns; manual ack
    queue     <group>.retry.<ms>ms    durable; x-message-ttl=<ms>, dead-letters back to <group>
    queue     <group>.dlq             durable; where messages go after the last attempt

Messages are persistent, carry the structured-mode envelope as the body and are published with
publisher confirms, so :meth:`RabbitMQBus.publish` returning means the broker has the event (the
relay marks the outbox row only then). A failed delivery is re-published (confirmed) to the
group's delay queue with the attempt count in a header and only then acked, so a crash in between
duplicates a message rather than losing it; consumers are idempotent for exactly this reason.
Retry delays live in queue TTLs, not in a sleeping consumer, so a failing event never blocks its
group.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
    DeliveryMode,
    ExchangeType,
)
from pamqp.common import Arguments

from roadbed_core.events.bus import Handler, RetryPolicy, Subscriptions
from roadbed_core.events.envelope import CloudEvent, EventFormatError

logger = logging.getLogger(__name__)

DEFAULT_EXCHANGE = "roadbed.events"
#: Content type of a CloudEvents structured-mode message (the AMQP protocol binding's name for it).
STRUCTURED_CONTENT_TYPE = "application/cloudevents+json"
ATTEMPT_HEADER = "x-roadbed-attempt"
ERROR_HEADER = "x-roadbed-error"
_MAX_ERROR_HEADER = 1000


def retry_queue_name(group: str, delay_ms: int) -> str:
    return f"{group}.retry.{delay_ms}ms"


def dead_letter_queue_name(group: str) -> str:
    return f"{group}.dlq"


def _attempt_of(message: AbstractIncomingMessage) -> int:
    value = (message.headers or {}).get(ATTEMPT_HEADER)
    return value if isinstance(value, int) and value >= 1 else 1


@dataclass(slots=True)
class _GroupConsumer:
    group: str
    channel: AbstractChannel
    queue: AbstractQueue
    consumer_tag: str | None = None


class RabbitMQBus:
    """An :class:`~roadbed_core.events.bus.EventBus` on a RabbitMQ topic exchange.

    One instance per process. ``prefetch`` bounds unacked messages (hence concurrent handler
    calls) per group. Publisher-only processes (the relay) simply subscribe nothing.
    """

    def __init__(
        self,
        url: str,
        *,
        exchange: str = DEFAULT_EXCHANGE,
        retry: RetryPolicy | None = None,
        prefetch: int = 16,
    ) -> None:
        if prefetch < 1:
            raise ValueError("prefetch must be at least 1")
        self._url = url
        self._exchange_name = exchange
        self._retry = retry or RetryPolicy()
        self._prefetch = prefetch
        self._subscriptions = Subscriptions()
        self._connection: AbstractRobustConnection | None = None
        self._exchange: AbstractExchange | None = None
        self._consumers: list[_GroupConsumer] = []
        self._declared_queues: list[str] = []
        self._in_flight = 0
        self._quiet = asyncio.Event()
        self._quiet.set()

    @property
    def exchange_name(self) -> str:
        return self._exchange_name

    @property
    def declared_queue_names(self) -> tuple[str, ...]:
        """Every queue :meth:`start` declared (for operators and for test clean-up)."""
        return tuple(dict.fromkeys(self._declared_queues))

    def subscribe(self, group: str, patterns: Sequence[str], handler: Handler) -> None:
        """Add a route for ``group``; the queue and its bindings are declared by :meth:`start`."""
        if self._connection is not None:
            raise RuntimeError("subscribe() must be called before start()")
        self._subscriptions.add(group, patterns, handler)

    async def start(self) -> None:
        """Connect (reconnecting automatically later), declare the topology, start consuming."""
        if self._connection is not None:
            return
        self._connection = await aio_pika.connect_robust(self._url)
        channel = await self._connection.channel(publisher_confirms=True)
        self._exchange = await channel.declare_exchange(
            self._exchange_name, ExchangeType.TOPIC, durable=True
        )
        for group in self._subscriptions.groups:
            self._consumers.append(await self._start_group(self._connection, group))

    async def publish(self, event: CloudEvent) -> None:
        """Publish persistently and wait for the broker's confirm (raises if it refuses)."""
        if self._exchange is None:
            raise RuntimeError("start() the bus before publishing")
        message = aio_pika.Message(
            event.to_json(),
            content_type=STRUCTURED_CONTENT_TYPE,
            delivery_mode=DeliveryMode.PERSISTENT,
            message_id=event.id,
            type=event.type,
            timestamp=event.time,
            headers={ATTEMPT_HEADER: 1},
        )
        # Not mandatory: an event nobody subscribes to yet is not an error.
        await self._exchange.publish(message, routing_key=event.type, mandatory=False)

    async def close(self, *, timeout: float = 30.0) -> None:
        """Stop consuming, let running handlers finish (up to ``timeout``), disconnect.

        Messages still unacked after that go back to their queue and are redelivered.
        """
        if self._connection is None:
            return
        for consumer in self._consumers:
            if consumer.consumer_tag is not None:
                await consumer.queue.cancel(consumer.consumer_tag)
        try:
            await asyncio.wait_for(self._quiet.wait(), timeout)
        except TimeoutError:
            logger.warning("closing the bus with %d handlers still running", self._in_flight)
        await self._connection.close()
        self._connection = None
        self._exchange = None
        self._consumers.clear()

    async def _start_group(
        self, connection: AbstractRobustConnection, group: str
    ) -> _GroupConsumer:
        # A channel per group: its own prefetch window, and a slow group cannot stall another.
        channel = await connection.channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=self._prefetch)
        queue = await self._declare(channel, group)
        for pattern in self._subscriptions.patterns_of(group):
            await queue.bind(self._exchange_name, routing_key=pattern)
        for delay_ms in sorted({round(d * 1000) for d in self._retry.retry_delays()}):
            await self._declare(
                channel,
                retry_queue_name(group, delay_ms),
                arguments={
                    "x-message-ttl": delay_ms,
                    # An expired message goes through the default exchange straight back to the
                    # group's own queue, not back through the topic exchange to every group.
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": group,
                },
            )
        await self._declare(channel, dead_letter_queue_name(group))
        consumer = _GroupConsumer(group=group, channel=channel, queue=queue)

        async def on_message(message: AbstractIncomingMessage) -> None:
            await self._on_message(consumer, message)

        consumer.consumer_tag = await queue.consume(on_message, no_ack=False)
        return consumer

    async def _declare(
        self,
        channel: AbstractChannel,
        name: str,
        *,
        arguments: Arguments = None,
    ) -> AbstractQueue:
        queue = await channel.declare_queue(name, durable=True, arguments=arguments)
        self._declared_queues.append(name)
        return queue

    async def _on_message(self, consumer: _GroupConsumer, message: AbstractIncomingMessage) -> None:
        self._in_flight += 1
        self._quiet.clear()
        try:
            await self._handle(consumer, message)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._quiet.set()

    async def _handle(self, consumer: _GroupConsumer, message: AbstractIncomingMessage) -> None:
        attempt = _attempt_of(message)
        try:
            event = CloudEvent.from_json(message.body)
        except EventFormatError as exc:
            # Retrying cannot fix a malformed body: straight to the dead-letter queue.
            await self._forward(
                consumer, message, dead_letter_queue_name(consumer.group), attempt, exc
            )
            return
        handler = self._subscriptions.handler_for(consumer.group, event.type)
        if handler is None:
            # A binding left over from an older deployment; nobody here wants this event.
            logger.info("group %s has no route for %s; dropping it", consumer.group, event.type)
            await message.ack()
            return
        try:
            await handler(event)
        except Exception as exc:  # a consumer failure of any kind is retried, then dead-lettered
            await self._handle_failure(consumer, message, event, attempt, exc)
            return
        await message.ack()

    async def _handle_failure(
        self,
        consumer: _GroupConsumer,
        message: AbstractIncomingMessage,
        event: CloudEvent,
        attempt: int,
        exc: Exception,
    ) -> None:
        if attempt >= self._retry.max_attempts:
            logger.error(
                "consumer %s gave up on %s %s after %d attempts",
                consumer.group,
                event.type,
                event.id,
                attempt,
                exc_info=exc,
            )
            await self._forward(
                consumer, message, dead_letter_queue_name(consumer.group), attempt, exc
            )
            return
        delay_ms = round(self._retry.delay_after(attempt) * 1000)
        logger.warning(
            "consumer %s failed on %s %s (attempt %d), retrying in %dms",
            consumer.group,
            event.type,
            event.id,
            attempt,
            delay_ms,
            exc_info=exc,
        )
        await self._forward(
            consumer, message, retry_queue_name(consumer.group, delay_ms), attempt + 1, exc
        )

    async def _forward(
        self,
        consumer: _GroupConsumer,
        message: AbstractIncomingMessage,
        queue_name: str,
        attempt: int,
        exc: Exception,
    ) -> None:
        """Re-publish (confirmed) to ``queue_name``, then ack; on failure leave it to redelivery."""
        copy = aio_pika.Message(
            message.body,
            content_type=message.content_type,
            delivery_mode=DeliveryMode.PERSISTENT,
            message_id=message.message_id,
            type=message.type,
            timestamp=message.timestamp,
            headers={ATTEMPT_HEADER: attempt, ERROR_HEADER: repr(exc)[:_MAX_ERROR_HEADER]},
        )
        try:
            await consumer.channel.default_exchange.publish(copy, routing_key=queue_name)
        except Exception:  # broker trouble: requeue, so the message is retried rather than lost
            logger.exception("could not move a message of %s to %s", consumer.group, queue_name)
            await message.nack(requeue=True)
            return
        await message.ack()
