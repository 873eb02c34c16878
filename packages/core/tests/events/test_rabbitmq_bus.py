"""What the RabbitMQ bus promises beyond the shared contract: durable topology and messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import DeliveryMode, ExchangeType

from roadbed_core.events import CloudEvent
from roadbed_core.events.rabbitmq import (
    ATTEMPT_HEADER,
    ERROR_HEADER,
    STRUCTURED_CONTENT_TYPE,
    RabbitMQBus,
)

ORDER_PLACED = "roadbed.shop.order.placed.v1"


async def test_start_declares_durable_group_retry_and_dead_letter_queues(
    rabbit_harness: Any, recorder: Callable[..., Any]
) -> None:
    # given a bus with one group and the fast policy (retry delays 50 ms and 100 ms)
    bus = rabbit_harness.new_bus()
    group = rabbit_harness.group("notify")
    bus.subscribe(group, ["roadbed.shop.#"], recorder())

    # when it starts
    await bus.start()

    # then the queues exist with exactly these properties (a mismatch would fail the redeclare)
    assert bus.declared_queue_names == (
        group,
        f"{group}.retry.50ms",
        f"{group}.retry.100ms",
        f"{group}.dlq",
    )
    async with await aio_pika.connect(rabbit_harness.url) as connection:
        channel = await connection.channel()
        await channel.declare_exchange(rabbit_harness.exchange, ExchangeType.TOPIC, durable=True)
        await channel.declare_queue(group, durable=True)
        await channel.declare_queue(f"{group}.dlq", durable=True)
        retry_queue = await channel.declare_queue(
            f"{group}.retry.50ms",
            durable=True,
            arguments={
                "x-message-ttl": 50,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": group,
            },
        )
        assert retry_queue.declaration_result.message_count == 0


async def test_publishes_persistent_structured_messages_routed_by_type(
    rabbit_harness: Any, event_factory: Callable[..., CloudEvent]
) -> None:
    # given a publisher-only bus and a plain queue bound to its exchange
    bus = rabbit_harness.new_bus()
    await bus.start()
    tap = rabbit_harness.group("tap")
    rabbit_harness.extra_queues.append(tap)
    placed = event_factory(ORDER_PLACED, order_id="o-1")

    async with await aio_pika.connect(rabbit_harness.url) as connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(tap, durable=True)
        await queue.bind(rabbit_harness.exchange, routing_key="roadbed.shop.order.#")

        # when the bus publishes
        await bus.publish(placed)
        message = await queue.get(no_ack=True, timeout=10)

    # then the message is persistent, carries the envelope and is routed by the event type
    assert message.routing_key == ORDER_PLACED
    assert message.body == placed.to_json()
    assert message.delivery_mode == DeliveryMode.PERSISTENT
    assert message.content_type == STRUCTURED_CONTENT_TYPE
    assert (message.message_id, message.type) == (placed.id, ORDER_PLACED)
    assert message.headers == {ATTEMPT_HEADER: 1}


async def test_a_malformed_message_goes_straight_to_the_dead_letter_queue(
    rabbit_harness: Any, recorder: Callable[..., Any]
) -> None:
    # given a consuming group
    bus = rabbit_harness.new_bus()
    group = rabbit_harness.group("strict")
    consumer = recorder()
    bus.subscribe(group, ["#"], consumer)
    await bus.start()

    # when something that is not an envelope arrives on the exchange
    async with await aio_pika.connect(rabbit_harness.url) as connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(rabbit_harness.exchange)
        await exchange.publish(aio_pika.Message(b"{not an event"), routing_key=ORDER_PLACED)
    dead = await rabbit_harness.dead_messages(group, count=1)

    # then it is parked on the first attempt and the handler never ran
    assert [(body, headers[ATTEMPT_HEADER]) for body, headers in dead] == [(b"{not an event", 1)]
    assert dead[0][1][ERROR_HEADER].startswith("EventFormatError('event is not valid JSON")
    assert await rabbit_harness.settle(bus) == {"queued": 0, "dead": 1}
    assert consumer.calls == []


async def test_publish_before_start_is_refused(
    amqp_url: str, event_factory: Callable[..., CloudEvent]
) -> None:
    bus = RabbitMQBus(amqp_url, exchange="unused")

    with pytest.raises(RuntimeError, match="start"):
        await bus.publish(event_factory(ORDER_PLACED))


async def test_subscribe_after_start_is_refused(
    rabbit_harness: Any, recorder: Callable[..., Any]
) -> None:
    bus = rabbit_harness.new_bus()
    await bus.start()

    with pytest.raises(RuntimeError, match="before start"):
        bus.subscribe(rabbit_harness.group("late"), ["#"], recorder())
