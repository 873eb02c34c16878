"""Idempotent consumers: one inbox row and one business effect per event, whatever the bus does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from roadbed_core.db import make_async_sessionmaker, make_sessionmaker
from roadbed_core.events import CloudEvent, idempotent_consumer, idempotent_consumer_blocking

ORDER_PLACED = "roadbed.shop.order.placed.v1"


class ReceiptWriter:
    """Business logic of the consumer: writes a receipt row; can be told to fail afterwards."""

    def __init__(self, database: Any, *, fail_times: int = 0) -> None:
        self.database = database
        self.fail_times = fail_times
        self.runs = 0

    def _step(self) -> None:
        self.runs += 1
        if self.runs <= self.fail_times:
            raise RuntimeError("mail server down")

    async def __call__(self, session: AsyncSession, event: CloudEvent) -> None:
        await session.execute(
            insert(self.database.receipts).values(order_id=event.data["order_id"])
        )
        self._step()

    def blocking(self, session: Session, event: CloudEvent) -> None:
        session.execute(insert(self.database.receipts).values(order_id=event.data["order_id"]))
        self._step()


def async_consumer(database: Any, writer: ReceiptWriter, name: str = "notify") -> Any:
    return idempotent_consumer(
        consumer=name,
        sessionmaker=make_async_sessionmaker(database.async_engine),
        inbox=database.inbox,
        handler=writer,
    )


def blocking_consumer(database: Any, writer: ReceiptWriter) -> Any:
    return idempotent_consumer_blocking(
        consumer="notify",
        sessionmaker=make_sessionmaker(database.engine),
        inbox=database.inbox,
        handler=writer.blocking,
    )


@pytest.fixture(params=["async", "blocking"])
def consumer_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def build(kind: str, database: Any, writer: ReceiptWriter) -> Any:
    return (
        async_consumer(database, writer) if kind == "async" else blocking_consumer(database, writer)
    )


async def test_a_redelivered_event_is_processed_once(
    any_consumer_db: Any, consumer_kind: str, event_factory: Callable[..., CloudEvent]
) -> None:
    # given an idempotent consumer
    writer = ReceiptWriter(any_consumer_db)
    handle = build(consumer_kind, any_consumer_db, writer)
    placed = event_factory(ORDER_PLACED, order_id="o-1")

    # when the same event is delivered twice
    await handle(placed)
    await handle(placed)

    # then the business logic ran once and the inbox holds one row
    assert writer.runs == 1
    assert any_consumer_db.receipt_order_ids() == ["o-1"]
    assert any_consumer_db.count(any_consumer_db.inbox) == 1


async def test_a_failing_handler_rolls_back_its_inbox_row_so_the_retry_succeeds(
    any_consumer_db: Any, consumer_kind: str, event_factory: Callable[..., CloudEvent]
) -> None:
    # given a consumer whose business logic fails once after writing
    writer = ReceiptWriter(any_consumer_db, fail_times=1)
    handle = build(consumer_kind, any_consumer_db, writer)
    placed = event_factory(ORDER_PLACED, order_id="o-2")

    # when the first delivery fails
    with pytest.raises(RuntimeError, match="mail server down"):
        await handle(placed)

    # then nothing of it was kept
    assert any_consumer_db.receipt_order_ids() == []
    assert any_consumer_db.count(any_consumer_db.inbox) == 0

    # and when the bus retries, it is processed exactly once
    await handle(placed)
    await handle(placed)
    assert writer.runs == 2
    assert any_consumer_db.receipt_order_ids() == ["o-2"]
    assert any_consumer_db.count(any_consumer_db.inbox) == 1


async def test_each_consumer_group_processes_the_event_for_itself(
    any_consumer_db: Any, event_factory: Callable[..., CloudEvent]
) -> None:
    # given two consumers sharing an inbox table under different names
    writer = ReceiptWriter(any_consumer_db)
    emails = async_consumer(any_consumer_db, writer, name="notify.email")
    webhooks = async_consumer(any_consumer_db, writer, name="notify.webhook")
    placed = event_factory(ORDER_PLACED, order_id="o-3")

    # when both get the event, twice
    for handle in (emails, webhooks, emails, webhooks):
        await handle(placed)

    # then each processed it once
    assert writer.runs == 2
    assert any_consumer_db.count(any_consumer_db.inbox) == 2
