"""Notify test fixtures: a migrated notify database on SQLite and PostgreSQL, buses, mail sinks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aio_pika
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from roadbed_core.db import make_async_engine, make_async_sessionmaker, upgrade
from roadbed_core.events import InProcessBus, RetryPolicy
from roadbed_core.events.rabbitmq import RabbitMQBus
from roadbed_notify.lifecycle import MIGRATIONS

from .support import FixedClock, RecordingHandler, SmtpServer, running_smtp_server

#: Immediate retries: the in-process bus then settles as soon as the last attempt is over.
IMMEDIATE_RETRY = RetryPolicy(max_attempts=3, initial_delay=0.0)
#: RabbitMQ retries go through TTL queues: short delays keep the tests fast.
BROKER_RETRY = RetryPolicy(max_attempts=3, initial_delay=0.05, multiplier=2.0, max_delay=0.2)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A notify database migrated to head, on SQLite and (services tier) PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/notify.db"
    else:
        url = request.getfixturevalue("postgres_url")
    upgrade(MIGRATIONS, url)
    return url


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_async_engine(database_url)
    try:
        yield make_async_sessionmaker(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def postgres_sessions(postgres_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A migrated notify database on PostgreSQL only (for the RabbitMQ tests)."""
    upgrade(MIGRATIONS, postgres_url)
    engine = make_async_engine(postgres_url)
    try:
        yield make_async_sessionmaker(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    """Where a FileMailer under test writes (created by the mailer itself)."""
    return tmp_path / "mail"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
async def inprocess_bus() -> AsyncIterator[Callable[..., InProcessBus]]:
    """``inprocess_bus(retry=...)`` builds a bus that is closed after the test."""
    buses: list[InProcessBus] = []

    def build(*, retry: RetryPolicy = IMMEDIATE_RETRY) -> InProcessBus:
        bus = InProcessBus(retry=retry)
        buses.append(bus)
        return bus

    try:
        yield build
    finally:
        for bus in buses:
            await bus.close()


@pytest.fixture
async def rabbit_bus(
    amqp_url: str, unique_name: str
) -> AsyncIterator[Callable[..., tuple[RabbitMQBus, str]]]:
    """``rabbit_bus()`` → ``(bus, group)`` on a unique exchange; every queue is deleted after."""
    exchange = f"test.{unique_name}.events"
    buses: list[RabbitMQBus] = []

    def build(*, retry: RetryPolicy = BROKER_RETRY) -> tuple[RabbitMQBus, str]:
        bus = RabbitMQBus(amqp_url, exchange=exchange, retry=retry, prefetch=4)
        buses.append(bus)
        return bus, f"test.{unique_name}.notify.email"

    try:
        yield build
    finally:
        for bus in buses:
            await bus.close()
        async with await aio_pika.connect(amqp_url) as connection:
            channel = await connection.channel()
            for name in sorted({name for bus in buses for name in bus.declared_queue_names}):
                await channel.queue_delete(name)
            await channel.exchange_delete(exchange)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on loopback, no TLS, accepting everything."""
    with running_smtp_server(RecordingHandler()) as server:
        yield server
