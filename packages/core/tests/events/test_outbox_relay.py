"""Outbox tables, writers and the relay on SQLite (the default tier)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import MetaData, insert, inspect, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from roadbed_core.events import (
    CloudEvent,
    InProcessBus,
    OutboxRelay,
    SqlAlchemyOutboxStore,
    SqlAlchemySyncOutboxStore,
    add_commit_listener,
    add_event,
    add_event_async,
    define_inbox_table,
    define_outbox_table,
)

ORDER_PLACED = "roadbed.shop.order.placed.v1"


class RelayKilled(BaseException):
    """Stands in for the process dying: not an Exception, so nothing may catch and commit."""


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


def test_outbox_table_has_the_documented_columns_and_pending_index() -> None:
    metadata = MetaData()

    table = define_outbox_table(metadata, name="shop_outbox")

    assert [column.name for column in table.columns] == [
        "id",
        "type",
        "payload",
        "created_at",
        "published_at",
        "attempts",
    ]
    assert [column.name for column in table.primary_key] == ["id"]
    assert [c.name for c in table.columns if c.nullable] == ["published_at"]
    assert table.c.created_at.type.timezone is True  # type: ignore[attr-defined]
    (index,) = table.indexes
    assert (index.name, [c.name for c in index.columns]) == (
        "ix_shop_outbox_pending",
        ["created_at", "id"],
    )
    assert str(index.dialect_options["postgresql"]["where"]) == "shop_outbox.published_at IS NULL"


def test_inbox_table_is_keyed_by_consumer_and_event() -> None:
    table = define_inbox_table(MetaData())

    assert [column.name for column in table.columns] == ["consumer", "event_id", "processed_at"]
    assert [column.name for column in table.primary_key] == ["consumer", "event_id"]


def test_tables_are_created_with_the_pending_index(sqlite_service_db: Any) -> None:
    inspector = inspect(sqlite_service_db.engine)

    assert {"orders", "event_outbox"} <= set(inspector.get_table_names())
    assert [i["name"] for i in inspector.get_indexes("event_outbox")] == ["ix_event_outbox_pending"]


def test_add_event_rides_the_callers_transaction(
    sqlite_service_db: Any, event_factory: Callable[..., CloudEvent]
) -> None:
    # given two units of work, one rolled back and one committed
    rolled_back, committed = event_factory(ORDER_PLACED), event_factory(ORDER_PLACED)
    with Session(sqlite_service_db.engine) as session:
        add_event(session, rolled_back, table=sqlite_service_db.outbox)
        session.rollback()
        add_event(session, committed, table=sqlite_service_db.outbox)
        session.commit()

    # then only the committed event is in the outbox, pending, with its envelope as payload
    [row] = sqlite_service_db.outbox_rows()
    assert (row.id, row.type, row.payload, row.published_at, row.attempts) == (
        committed.id,
        ORDER_PLACED,
        committed.to_json().decode(),
        None,
        0,
    )


def test_a_commit_with_events_notifies_listeners_once_per_session(
    sqlite_service_db: Any, event_factory: Callable[..., CloudEvent]
) -> None:
    # given a listener and a scoped session, as Flask-SQLAlchemy hands out
    wakes: list[str] = []
    remove_listener = add_commit_listener(lambda: wakes.append("wake"))
    scoped = scoped_session(sessionmaker(sqlite_service_db.engine))
    try:
        # when one request commits two events and the next request commits none
        add_event(scoped, event_factory(ORDER_PLACED), table=sqlite_service_db.outbox)
        add_event(scoped, event_factory(ORDER_PLACED), table=sqlite_service_db.outbox)
        scoped.commit()
        scoped.remove()
        scoped.execute(insert(sqlite_service_db.orders).values(total_minor=5))
        scoped.commit()
        scoped.remove()
    finally:
        remove_listener()

    # then only the commit that wrote events woke the relay, once
    assert wakes == ["wake"]
    assert len(sqlite_service_db.outbox_rows()) == 2


async def test_add_event_async_rides_the_callers_transaction(
    sqlite_service_db: Any, event_factory: Callable[..., CloudEvent]
) -> None:
    rolled_back, committed = event_factory(ORDER_PLACED), event_factory(ORDER_PLACED)

    async with AsyncSession(sqlite_service_db.async_engine) as session:
        await add_event_async(session, rolled_back, table=sqlite_service_db.outbox)
        await session.rollback()
        await add_event_async(session, committed, table=sqlite_service_db.outbox)
        await session.commit()

    assert [row.id for row in sqlite_service_db.outbox_rows()] == [committed.id]


async def test_a_failed_business_change_takes_its_event_with_it(
    sqlite_service_db: Any, event_factory: Callable[..., CloudEvent]
) -> None:
    # given a unit of work that writes an order and its event, then fails
    async def place_order_out_of_stock() -> None:
        async with AsyncSession(sqlite_service_db.async_engine) as session, session.begin():
            await session.execute(insert(sqlite_service_db.orders).values(total_minor=1))
            await add_event_async(
                session, event_factory(ORDER_PLACED), table=sqlite_service_db.outbox
            )
            raise LookupError("out of stock")

    with pytest.raises(LookupError, match="out of stock"):
        await place_order_out_of_stock()

    # then neither the order nor the event exists
    assert (sqlite_service_db.order_count(), sqlite_service_db.outbox_rows()) == (0, [])


async def test_relay_publishes_oldest_first_in_bounded_batches_and_marks_them(
    sqlite_service_db: Any, store_kind: str, recorder: Callable[..., Any]
) -> None:
    # given five committed orders and a relay taking two at a time
    placed = [await sqlite_service_db.place_order(total_minor=n) for n in range(5)]
    consumer = recorder()
    bus = await started_bus(consumer)
    relay = OutboxRelay(store=make_store(store_kind, sqlite_service_db), bus=bus, batch_size=2)

    # when the relay runs until it finds nothing
    counts = [await relay.run_once() for _ in range(4)]
    await bus.drain()

    # then it published 2, 2, 1, 0, in creation order, and every row is marked
    assert counts == [2, 2, 1, 0]
    assert consumer.handled == placed
    rows = sqlite_service_db.outbox_rows()
    assert [row.published_at is not None for row in rows] == [True] * 5
    assert [row.attempts for row in rows] == [0] * 5
    await bus.close()


async def test_a_bus_error_marks_what_was_published_and_keeps_the_rest_pending(
    sqlite_service_db: Any,
    store_kind: str,
    recorder: Callable[..., Any],
    flaky_publisher: Callable[..., Any],
) -> None:
    # given three pending events and a broker that fails on the second publish
    first, second, third = [await sqlite_service_db.place_order() for _ in range(3)]
    consumer = recorder()
    bus = await started_bus(consumer)
    publisher = flaky_publisher(bus, fail_on={2})
    relay = OutboxRelay(store=make_store(store_kind, sqlite_service_db), bus=publisher)

    # when the relay runs into the error, then runs again
    with pytest.raises(ConnectionError, match="publish #2"):
        await relay.run_once()
    state_after_error = [
        (r.id, r.published_at is not None, r.attempts) for r in sqlite_service_db.outbox_rows()
    ]
    assert await relay.run_once() == 2
    await bus.drain()

    # then the first stayed published, the failing one counted an attempt, all went out once
    assert state_after_error == [(first.id, True, 0), (second.id, False, 1), (third.id, False, 0)]
    assert consumer.handled == [first, second, third]
    await bus.close()


async def test_a_relay_killed_after_publishing_leaves_the_row_pending(
    sqlite_service_db: Any, store_kind: str, recorder: Callable[..., Any]
) -> None:
    # given a pending event and a relay that dies right after publishing it
    placed = await sqlite_service_db.place_order()
    consumer = recorder()
    bus = await started_bus(consumer)

    async def die(event: CloudEvent) -> None:
        raise RelayKilled

    relay = OutboxRelay(store=make_store(store_kind, sqlite_service_db), bus=bus, after_publish=die)

    # when it runs
    with pytest.raises(RelayKilled):
        await relay.run_once()
    await bus.drain()

    # then the event went out but the row is untouched, so the next relay publishes it again
    assert consumer.handled == [placed]
    [row] = sqlite_service_db.outbox_rows()
    assert (row.published_at, row.attempts) == (None, 0)
    await bus.close()


async def test_a_corrupt_row_is_skipped_and_counted(
    sqlite_service_db: Any, store_kind: str, recorder: Callable[..., Any]
) -> None:
    # given a row someone corrupted by hand, followed by a good one
    corrupt, good = await sqlite_service_db.place_order(), await sqlite_service_db.place_order()
    with sqlite_service_db.engine.begin() as connection:
        connection.execute(
            update(sqlite_service_db.outbox)
            .where(sqlite_service_db.outbox.c.id == corrupt.id)
            .values(payload="{truncated")
        )
    consumer = recorder()
    bus = await started_bus(consumer)
    relay = OutboxRelay(store=make_store(store_kind, sqlite_service_db), bus=bus)

    # when the relay runs
    published = await relay.run_once()
    await bus.drain()

    # then the good event went out and the corrupt one stays pending with an attempt counted
    assert published == 1
    assert consumer.handled == [good]
    rows = {
        row.id: (row.published_at is not None, row.attempts)
        for row in sqlite_service_db.outbox_rows()
    }
    assert rows == {corrupt.id: (False, 1), good.id: (True, 0)}
    await bus.close()


async def test_run_forever_backs_off_through_bus_errors_then_stops(
    sqlite_service_db: Any, recorder: Callable[..., Any], flaky_publisher: Callable[..., Any]
) -> None:
    # given a pending event and a broker that is down for the first two publishes
    placed = await sqlite_service_db.place_order()
    consumer = recorder()
    bus = await started_bus(consumer)
    publisher = flaky_publisher(bus, fail_on={1, 2})
    relay = OutboxRelay(
        store=SqlAlchemyOutboxStore(sqlite_service_db.async_engine, sqlite_service_db.outbox),
        bus=publisher,
        initial_backoff=0.01,
        max_backoff=0.02,
    )
    stop = asyncio.Event()

    # when the relay loops until the event is delivered, then is told to stop
    running = asyncio.create_task(relay.run_forever(poll_interval=0.01, stop_event=stop))
    await consumer.wait_for_handled(1)
    stop.set()
    await running

    # then it survived both failures, published once and marked the row
    assert publisher.attempts == 3
    assert consumer.handled == [placed]
    [row] = sqlite_service_db.outbox_rows()
    assert (row.published_at is not None, row.attempts) == (True, 2)
    await bus.close()


async def test_a_commit_wakes_the_relay_without_waiting_for_the_poll(
    sqlite_service_db: Any, store_kind: str, recorder: Callable[..., Any]
) -> None:
    # given a relay that would otherwise poll only once an hour, woken by outbox commits
    consumer = recorder()
    bus = await started_bus(consumer)
    relay = OutboxRelay(store=make_store(store_kind, sqlite_service_db), bus=bus)
    remove_listener = add_commit_listener(relay.wake)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run_forever(poll_interval=3600, stop_event=stop))

    try:
        # when orders commit one after the other (the second after the relay went idle)
        first = await sqlite_service_db.place_order()
        await consumer.wait_for_handled(1)
        second = sqlite_service_db.place_order_blocking()
        await consumer.wait_for_handled(2)
    finally:
        stop.set()
        await running
        remove_listener()

    # then each was published promptly after its commit
    assert consumer.handled == [first, second]
    await bus.close()


def test_relay_refuses_an_empty_batch() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        OutboxRelay(store=None, bus=InProcessBus(), batch_size=0)  # type: ignore[arg-type]
