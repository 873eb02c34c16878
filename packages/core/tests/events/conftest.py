"""Shared builders for the events tests: buses under test, databases, recording consumers.

Test modules cannot import each other (``--import-mode=importlib``), so everything shared is a
fixture here. Nothing in this file replaces our own code: the buses, stores and databases are the
real ones; the only stand-in is :class:`FlakyPublisher`, a broker outage we cannot stage here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractIncomingMessage
from sqlalchemy import Column, Engine, Integer, String, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from roadbed_core.db import (
    make_async_engine,
    make_async_sessionmaker,
    make_engine,
    make_sessionmaker,
    new_metadata,
    sync_unit_of_work,
    unit_of_work,
)
from roadbed_core.events import (
    CloudEvent,
    InProcessBus,
    RetryPolicy,
    add_event,
    add_event_async,
    define_inbox_table,
    define_outbox_table,
    new_event,
)
from roadbed_core.events.rabbitmq import ATTEMPT_HEADER, RabbitMQBus, dead_letter_queue_name

#: Small delays keep the retry and dead-letter tests fast on both buses.
FAST_RETRY = RetryPolicy(max_attempts=3, initial_delay=0.05, multiplier=2.0, max_delay=0.2)
#: An upper bound for waiting on deliveries; reaching it means the test failed, not "slow".
WAIT_SECONDS = 10.0


def make_event(
    event_type: str = "roadbed.shop.order.placed.v1", *, subject: str | None = None, **data: Any
) -> CloudEvent:
    return new_event(
        type=event_type, source="/" + event_type.split(".")[1], data=data, subject=subject
    )


@pytest.fixture
def event_factory() -> Callable[..., CloudEvent]:
    """``event_factory("roadbed.auth.user.registered.v1", user_id=...)``."""
    return make_event


# --- consumers ---------------------------------------------------------------------------------


class Recorder:
    """A consumer handler that records what it saw and fails its first ``fail_times`` calls."""

    def __init__(self, fail_times: int = 0) -> None:
        self.fail_times = fail_times
        self.calls: list[CloudEvent] = []
        self.handled: list[CloudEvent] = []
        self._changed = asyncio.Condition()

    async def __call__(self, event: CloudEvent) -> None:
        async with self._changed:
            self.calls.append(event)
            self._changed.notify_all()
        if len(self.calls) <= self.fail_times:
            raise RuntimeError(f"consumer failure #{len(self.calls)}")
        async with self._changed:
            self.handled.append(event)
            self._changed.notify_all()

    async def wait_for_calls(self, count: int) -> None:
        async with asyncio.timeout(WAIT_SECONDS), self._changed:
            await self._changed.wait_for(lambda: len(self.calls) >= count)

    async def wait_for_handled(self, count: int) -> None:
        async with asyncio.timeout(WAIT_SECONDS), self._changed:
            await self._changed.wait_for(lambda: len(self.handled) >= count)


@pytest.fixture
def recorder() -> Callable[..., Recorder]:
    """``recorder(fail_times=2)`` builds a fresh :class:`Recorder`."""
    return Recorder


class FlakyPublisher:
    """A broker outage: the publishes numbered in ``fail_on`` (1-based) raise, the others pass."""

    def __init__(self, inner: InProcessBus, *, fail_on: set[int]) -> None:
        self.inner = inner
        self.fail_on = fail_on
        self.attempts = 0

    async def publish(self, event: CloudEvent) -> None:
        self.attempts += 1
        if self.attempts in self.fail_on:
            raise ConnectionError(f"broker unreachable (publish #{self.attempts})")
        await self.inner.publish(event)


@pytest.fixture
def flaky_publisher() -> Callable[..., FlakyPublisher]:
    return FlakyPublisher


# --- buses under test --------------------------------------------------------------------------


#: What ``settle`` reports: messages still queued (or awaiting a retry) and dead-lettered.
Leftovers = dict[str, int]


@dataclass
class InProcessHarness:
    kind: str = "inprocess"
    buses: list[InProcessBus] = field(default_factory=list)

    def group(self, name: str) -> str:
        return name

    def new_bus(self, *, retry: RetryPolicy = FAST_RETRY) -> InProcessBus:
        bus = InProcessBus(retry=retry)
        self.buses.append(bus)
        return bus

    async def settle(self, bus: InProcessBus) -> Leftovers:
        """Wait until idle, then stop: after drain() nothing can still be queued."""
        await bus.drain()
        await bus.close()
        return {"queued": 0, "dead": len(bus.dead_letters)}

    async def dead_letters(
        self, bus: InProcessBus, group: str, count: int
    ) -> list[tuple[CloudEvent, int]]:
        await bus.drain()
        letters = [letter for letter in bus.dead_letters if letter.group == group]
        assert len(letters) == count
        return [(letter.event, letter.attempts) for letter in letters if letter.event is not None]

    async def cleanup(self) -> None:
        for bus in self.buses:
            await bus.close()


@dataclass
class RabbitHarness:
    """Unique exchange and queue names per test; everything is deleted afterwards."""

    url: str
    token: str
    kind: str = "rabbitmq"
    buses: list[RabbitMQBus] = field(default_factory=list)
    extra_queues: list[str] = field(default_factory=list)

    @property
    def exchange(self) -> str:
        return f"test.{self.token}.events"

    def group(self, name: str) -> str:
        return f"test.{self.token}.{name}"

    def new_bus(self, *, retry: RetryPolicy = FAST_RETRY) -> RabbitMQBus:
        bus = RabbitMQBus(self.url, exchange=self.exchange, retry=retry, prefetch=4)
        self.buses.append(bus)
        return bus

    async def settle(self, bus: RabbitMQBus) -> Leftovers:
        """Stop consuming (unacked messages go back to their queues), then count what is left."""
        await bus.close()
        queued = dead = 0
        async with await aio_pika.connect(self.url) as connection:
            channel = await connection.channel()
            for name in bus.declared_queue_names:
                queue = await channel.declare_queue(name, passive=True)
                count = queue.declaration_result.message_count or 0
                if name.endswith(".dlq"):
                    dead += count
                else:
                    queued += count
        return {"queued": queued, "dead": dead}

    async def dead_messages(self, group: str, count: int) -> list[tuple[bytes, dict[str, Any]]]:
        """Wait for ``count`` messages in ``<group>.dlq``; read them and leave them there."""
        messages: list[AbstractIncomingMessage] = []
        async with await aio_pika.connect(self.url) as connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(dead_letter_queue_name(group), passive=True)
            async with asyncio.timeout(WAIT_SECONDS):
                while len(messages) < count:
                    message = await queue.get(fail=False)
                    if message is None:
                        await asyncio.sleep(0.02)  # polling an empty queue, not timing the test
                        continue
                    messages.append(message)
            found = [(message.body, dict(message.headers or {})) for message in messages]
            for message in messages:
                await message.nack(requeue=True)
        return found

    async def dead_letters(
        self, bus: RabbitMQBus, group: str, count: int
    ) -> list[tuple[CloudEvent, int]]:
        return [
            (CloudEvent.from_json(body), headers[ATTEMPT_HEADER])
            for body, headers in await self.dead_messages(group, count)
        ]

    async def cleanup(self) -> None:
        for bus in self.buses:
            await bus.close()
        async with await aio_pika.connect(self.url) as connection:
            channel = await connection.channel()
            names = {name for bus in self.buses for name in bus.declared_queue_names}
            for name in sorted(names | set(self.extra_queues)):
                await channel.queue_delete(name)
            await channel.exchange_delete(self.exchange)


@pytest.fixture(params=["inprocess", pytest.param("rabbitmq", marks=pytest.mark.services)])
async def bus_harness(request: pytest.FixtureRequest, unique_name: str) -> AsyncIterator[Any]:
    """The same contract test against each bus. RabbitMQ asks for ``amqp_url`` (skip if absent)."""
    harness: InProcessHarness | RabbitHarness
    if request.param == "inprocess":
        harness = InProcessHarness()
    else:
        harness = RabbitHarness(url=request.getfixturevalue("amqp_url"), token=unique_name)
    try:
        yield harness
    finally:
        await harness.cleanup()


@pytest.fixture
async def rabbit_harness(amqp_url: str, unique_name: str) -> AsyncIterator[RabbitHarness]:
    harness = RabbitHarness(url=amqp_url, token=unique_name)
    try:
        yield harness
    finally:
        await harness.cleanup()


# --- databases ---------------------------------------------------------------------------------


@dataclass
class ServiceDatabase:
    """A producing service's database: a business table and the outbox, sync and async engines."""

    url: str
    engine: Engine
    async_engine: AsyncEngine
    outbox: Table
    orders: Table

    async def place_order(self, total_minor: int = 1250) -> CloudEvent:
        """One unit of work: the order row and its event commit together."""
        async with unit_of_work(make_async_sessionmaker(self.async_engine)) as session:
            result = await session.execute(insert(self.orders).values(total_minor=total_minor))
            order_id = result.inserted_primary_key[0]
            event = make_event(order_id=order_id, total_minor=total_minor)
            await add_event_async(session, event, table=self.outbox)
        return event

    def place_order_blocking(self, total_minor: int = 1250) -> CloudEvent:
        with sync_unit_of_work(make_sessionmaker(self.engine)) as session:
            result = session.execute(insert(self.orders).values(total_minor=total_minor))
            event = make_event(order_id=result.inserted_primary_key[0], total_minor=total_minor)
            add_event(session, event, table=self.outbox)
        return event

    def outbox_rows(self) -> list[Any]:
        with self.engine.connect() as connection:
            return list(
                connection.execute(
                    select(self.outbox).order_by(self.outbox.c.created_at, self.outbox.c.id)
                ).all()
            )

    def order_count(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(self.orders)).scalar_one()

    async def dispose(self) -> None:
        await self.async_engine.dispose()
        self.engine.dispose()


def build_service_database(url: str) -> ServiceDatabase:
    metadata = new_metadata()
    orders = Table(
        "orders",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("total_minor", Integer, nullable=False),
    )
    outbox = define_outbox_table(metadata)
    engine = make_engine(url)
    metadata.create_all(engine)
    return ServiceDatabase(url, engine, make_async_engine(url), outbox, orders)


@pytest.fixture
async def sqlite_service_db(tmp_path: Path) -> AsyncIterator[ServiceDatabase]:
    database = build_service_database(f"sqlite:///{tmp_path / 'service.db'}")
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def postgres_service_db(postgres_url: str) -> AsyncIterator[ServiceDatabase]:
    database = build_service_database(postgres_url)
    try:
        yield database
    finally:
        await database.dispose()


@dataclass
class ConsumerDatabase:
    """A consuming service's database: its inbox and a table recording the business effect."""

    engine: Engine
    async_engine: AsyncEngine
    inbox: Table
    receipts: Table

    def count(self, table: Table) -> int:
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(table)).scalar_one()

    def receipt_order_ids(self) -> list[Any]:
        with self.engine.connect() as connection:
            return list(connection.execute(select(self.receipts.c.order_id)).scalars())

    async def dispose(self) -> None:
        await self.async_engine.dispose()
        self.engine.dispose()


def build_consumer_database(url: str) -> ConsumerDatabase:
    metadata = new_metadata()
    inbox = define_inbox_table(metadata)
    # No unique constraint on purpose: a duplicate side effect must be visible as a second row.
    receipts = Table(
        "receipts",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("order_id", String(64), nullable=False),
    )
    engine = make_engine(url)
    metadata.create_all(engine)
    return ConsumerDatabase(engine, make_async_engine(url), inbox, receipts)


@pytest.fixture
async def consumer_db(tmp_path: Path) -> AsyncIterator[ConsumerDatabase]:
    database = build_consumer_database(f"sqlite:///{tmp_path / 'consumer.db'}")
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def crash_relay_script() -> Path:
    return Path(__file__).with_name("crash_relay.py")


@pytest.fixture
async def postgres_consumer_db(postgres_url: str) -> AsyncIterator[ConsumerDatabase]:
    database = build_consumer_database(postgres_url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.services)])
def any_consumer_db(request: pytest.FixtureRequest) -> ConsumerDatabase:
    """The consumer database on SQLite, and on PostgreSQL in the services tier."""
    name = "consumer_db" if request.param == "sqlite" else "postgres_consumer_db"
    database: ConsumerDatabase = request.getfixturevalue(name)
    return database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.services)])
def any_service_db(request: pytest.FixtureRequest) -> ServiceDatabase:
    """The producing service's database on SQLite, and on PostgreSQL in the services tier."""
    name = "sqlite_service_db" if request.param == "sqlite" else "postgres_service_db"
    database: ServiceDatabase = request.getfixturevalue(name)
    return database
