"""A crash anywhere between commit and mark loses nothing and duplicates no business effect.

The service commits an order and its outbox row in one transaction. A relay then dies either
before publishing (the event never left) or after publishing but before marking (the event left
and will leave again). A fresh relay runs; the consumer, guarded by its inbox, must have produced
exactly one receipt. On the in-process bus the "death" is an exception nothing may catch; on
RabbitMQ it is a real SIGKILL of a relay subprocess.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from roadbed_core.db import make_async_sessionmaker
from roadbed_core.events import (
    CloudEvent,
    InProcessBus,
    OutboxRelay,
    RetryPolicy,
    SqlAlchemyOutboxStore,
    idempotent_consumer,
)

ORDER_PLACED = "roadbed.shop.order.placed.v1"
FAST_RETRY = RetryPolicy(max_attempts=3, initial_delay=0.05, multiplier=2.0, max_delay=0.2)
#: Deliveries the consumer sees: once if the relay died before publishing, twice if after.
DELIVERIES = {"before-publish": 1, "after-publish": 2}


class RelayKilled(BaseException):
    """The in-process stand-in for a dead relay: not an Exception, so nothing commits."""


def receipt_consumer(consumer_db: Any, recorder: Any) -> Any:
    """notify's handler: one receipt per order, behind the inbox; ``recorder`` sees deliveries."""

    async def write_receipt(session: AsyncSession, event: CloudEvent) -> None:
        await session.execute(
            insert(consumer_db.receipts).values(order_id=str(event.data["order_id"]))
        )

    guarded = idempotent_consumer(
        consumer="notify",
        sessionmaker=make_async_sessionmaker(consumer_db.async_engine),
        inbox=consumer_db.inbox,
        handler=write_receipt,
    )

    async def handle(event: CloudEvent) -> None:
        await guarded(event)
        await recorder(event)

    return handle


def assert_processed_exactly_once(service_db: Any, consumer_db: Any, placed: CloudEvent) -> None:
    assert service_db.order_count() == 1
    [row] = service_db.outbox_rows()
    assert (row.id, row.published_at is not None) == (placed.id, True)
    assert consumer_db.receipt_order_ids() == [str(placed.data["order_id"])]
    assert consumer_db.count(consumer_db.inbox) == 1


@pytest.mark.parametrize("stage", ["before-publish", "after-publish"])
async def test_in_process_relay_crash_loses_and_duplicates_nothing(
    stage: str,
    sqlite_service_db: Any,
    consumer_db: Any,
    recorder: Callable[..., Any],
) -> None:
    # given a committed order with its event, and notify consuming through its inbox
    placed = await sqlite_service_db.place_order()
    deliveries = recorder()
    bus = InProcessBus(retry=FAST_RETRY)
    bus.subscribe("notify", [ORDER_PLACED], receipt_consumer(consumer_db, deliveries))
    await bus.start()
    store = SqlAlchemyOutboxStore(sqlite_service_db.async_engine, sqlite_service_db.outbox)

    async def die(event: CloudEvent) -> None:
        raise RelayKilled

    hook = {"before_publish": die} if stage == "before-publish" else {"after_publish": die}

    # when a relay dies at that stage and a fresh one runs afterwards
    with pytest.raises(RelayKilled):
        await OutboxRelay(store=store, bus=bus, **hook).run_once()
    await bus.drain()
    published = await OutboxRelay(store=store, bus=bus).run_once()
    await bus.drain()

    # then the event reached notify once or twice, and was processed exactly once
    assert published == 1
    assert [e.id for e in deliveries.handled] == [placed.id] * DELIVERIES[stage]
    assert_processed_exactly_once(sqlite_service_db, consumer_db, placed)
    await bus.close()


@pytest.fixture(params=["sqlite", "postgres"])
def crash_service_db(request: pytest.FixtureRequest) -> Any:
    """The producing service's database: a SQLite file, or PostgreSQL."""
    name = "sqlite_service_db" if request.param == "sqlite" else "postgres_service_db"
    return request.getfixturevalue(name)


async def run_relay_process(script: Path, *arguments: str) -> int:
    """Run the crashing relay to its end; return its exit code."""
    process = await asyncio.create_subprocess_exec(sys.executable, str(script), *arguments)
    try:
        async with asyncio.timeout(60):
            return await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@pytest.mark.parametrize("stage", ["before-publish", "after-publish"])
async def test_rabbitmq_relay_killed_with_sigkill_loses_and_duplicates_nothing(
    stage: str,
    crash_service_db: Any,
    consumer_db: Any,
    rabbit_harness: Any,
    recorder: Callable[..., Any],
    crash_relay_script: Path,
) -> None:
    # given a committed order with its event, and notify consuming from RabbitMQ via its inbox
    placed = await crash_service_db.place_order()
    deliveries = recorder()
    consumer_bus = rabbit_harness.new_bus()
    consumer_bus.subscribe(
        rabbit_harness.group("notify"), [ORDER_PLACED], receipt_consumer(consumer_db, deliveries)
    )
    await consumer_bus.start()

    # when a relay process is SIGKILLed at that stage
    exit_code = await run_relay_process(
        crash_relay_script, crash_service_db.url, rabbit_harness.url, rabbit_harness.exchange, stage
    )
    # and a fresh relay runs afterwards
    publisher = rabbit_harness.new_bus()
    await publisher.start()
    store = SqlAlchemyOutboxStore(crash_service_db.async_engine, crash_service_db.outbox)
    published = await OutboxRelay(store=store, bus=publisher).run_once()
    await deliveries.wait_for_handled(DELIVERIES[stage])

    # then the event reached notify once or twice, and was processed exactly once
    assert exit_code == -signal.SIGKILL
    assert published == 1
    assert await rabbit_harness.settle(consumer_bus) == {"queued": 0, "dead": 0}
    assert [e.id for e in deliveries.handled] == [placed.id] * DELIVERIES[stage]
    assert_processed_exactly_once(crash_service_db, consumer_db, placed)
