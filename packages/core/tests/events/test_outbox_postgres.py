"""The relay on PostgreSQL: the same guarantees, plus relays side by side (SKIP LOCKED)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from roadbed_core.events import (
    CloudEvent,
    InProcessBus,
    OutboxRelay,
    SqlAlchemyOutboxStore,
    SqlAlchemySyncOutboxStore,
)


def make_store(kind: str, database: Any) -> Any:
    if kind == "async":
        return SqlAlchemyOutboxStore(database.async_engine, database.outbox)
    return SqlAlchemySyncOutboxStore(database.engine, database.outbox)


@pytest.fixture(params=["async", "sync"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def started_bus(consumer: Any) -> InProcessBus:
    bus = InProcessBus()
    bus.subscribe("probe", ["#"], consumer)
    await bus.start()
    return bus


async def test_relay_publishes_in_order_and_marks_on_postgres(
    postgres_service_db: Any, store_kind: str, recorder: Callable[..., Any]
) -> None:
    # given three committed orders
    placed = [await postgres_service_db.place_order(total_minor=n) for n in range(3)]
    consumer = recorder()
    bus = await started_bus(consumer)
    relay = OutboxRelay(store=make_store(store_kind, postgres_service_db), bus=bus, batch_size=2)

    # when the relay runs until it finds nothing
    counts = [await relay.run_once() for _ in range(3)]
    await bus.drain()

    # then everything went out in order, once, and is marked with an aware timestamp
    assert counts == [2, 1, 0]
    assert consumer.handled == placed
    rows = postgres_service_db.outbox_rows()
    assert [row.published_at.tzinfo is not None for row in rows] == [True] * 3
    await bus.close()


async def test_a_second_relay_skips_the_rows_the_first_one_holds(
    postgres_service_db: Any, store_kind: str, recorder: Callable[..., Any]
) -> None:
    # given six pending events; relay A takes three and, holding their locks after its first
    # publish, lets relay B run a whole batch
    placed = [await postgres_service_db.place_order(total_minor=n) for n in range(6)]
    consumer = recorder()
    bus = await started_bus(consumer)
    relay_b = OutboxRelay(store=make_store(store_kind, postgres_service_db), bus=bus)
    published_by_b: list[int] = []

    async def run_b_while_a_holds_its_batch(event: CloudEvent) -> None:
        if not published_by_b:
            published_by_b.append(await relay_b.run_once())

    relay_a = OutboxRelay(
        store=make_store(store_kind, postgres_service_db),
        bus=bus,
        batch_size=3,
        after_publish=run_b_while_a_holds_its_batch,
    )

    # when A runs
    published_by_a = await relay_a.run_once()
    await bus.drain()

    # then B took only the rows A had not locked, and every event went out exactly once
    assert (published_by_a, published_by_b) == (3, [3])
    assert [e.id for e in consumer.handled] == [e.id for e in placed[:1] + placed[3:] + placed[1:3]]
    assert [row.published_at is not None for row in postgres_service_db.outbox_rows()] == [True] * 6
    await bus.close()


async def test_concurrent_relays_publish_each_event_once(
    postgres_service_db: Any, recorder: Callable[..., Any]
) -> None:
    # given thirty pending events and two relays with small batches
    placed = [await postgres_service_db.place_order(total_minor=n) for n in range(30)]
    consumer = recorder()
    bus = await started_bus(consumer)

    async def yield_to_the_other_relay(event: CloudEvent) -> None:
        await asyncio.sleep(0)

    relays = [
        OutboxRelay(
            store=SqlAlchemyOutboxStore(
                postgres_service_db.async_engine, postgres_service_db.outbox
            ),
            bus=bus,
            batch_size=4,
            after_publish=yield_to_the_other_relay,
        )
        for _ in range(2)
    ]

    async def relay_until_empty(relay: OutboxRelay) -> int:
        total = 0
        while published := await relay.run_once():
            total += published
        return total

    # when both run at the same time until there is nothing left
    totals = await asyncio.gather(*(relay_until_empty(relay) for relay in relays))
    await bus.drain()

    # then together they published each event exactly once
    assert sum(totals) == 30
    assert Counter(e.id for e in consumer.handled) == Counter(e.id for e in placed)
    assert set(Counter(e.id for e in consumer.handled).values()) == {1}
    await bus.close()
