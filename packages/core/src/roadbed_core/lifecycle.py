"""How the CLI and the embedded composition drive a service: migrate, seed, relay, consume.

Every service exposes one object satisfying :class:`ServiceLifecycle` (``roadbed_<svc>.lifecycle:
lifecycle``). SQLAlchemy services use :class:`SqlAlchemyLifecycle`; the Django blog has its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from roadbed_core import db
from roadbed_core.events.bus import EventBus, EventPublisher
from roadbed_core.events.inprocess import InProcessBus
from roadbed_core.events.outbox import SqlAlchemyOutboxStore
from roadbed_core.events.relay import OutboxRelay
from roadbed_core.events.wakeup import add_commit_listener
from roadbed_core.jobs import PeriodicJob, no_jobs
from roadbed_core.settings import ServiceSettings

logger = logging.getLogger(__name__)

#: Loads demo data idempotently; returns one line per thing it created.
Seeder = Callable[[], list[str]]
#: Registers a service's event consumers on a bus (before the bus starts).
Subscriber = Callable[[EventBus], None]
#: Builds a SQLAlchemy service's periodic jobs around an engine the lifecycle opens for them.
JobFactory = Callable[[AsyncEngine], Sequence[PeriodicJob]]


class ServiceLifecycle(Protocol):
    @property
    def settings(self) -> Callable[[], ServiceSettings]:
        """The service's settings factory (creates them once, then cached)."""
        ...

    def migrate(self) -> None:
        """Apply pending migrations to the configured database."""
        ...

    def seed(self) -> list[str]:
        """Load demo data (idempotent); one line per thing created."""
        ...

    def outbox_relay(self, bus: EventPublisher) -> AbstractAsyncContextManager[OutboxRelay] | None:
        """A relay from this service's outbox to ``bus``, or ``None`` if it publishes nothing."""
        ...

    def subscribe(self, bus: EventBus) -> None:
        """Register this service's consumers on ``bus``."""
        ...

    def periodic_jobs(self) -> AbstractAsyncContextManager[Sequence[PeriodicJob]]:
        """This service's housekeeping jobs, with what they need opened (see ``roadbed_core.jobs``)."""
        ...


class SeedRefused(RuntimeError):
    """A seeder declined to run (demo data has no place in production)."""


def no_seed() -> list[str]:
    return []


@dataclass(frozen=True)
class SqlAlchemyLifecycle:
    """The lifecycle of a service whose tables are SQLAlchemy ``MetaData`` migrated by Alembic."""

    settings: Callable[[], ServiceSettings]
    migrations: Path
    outbox: Table | None
    seeder: Seeder = no_seed
    subscribers: tuple[Subscriber, ...] = field(default=())
    jobs: JobFactory | None = None

    def migrate(self) -> None:
        db.upgrade(self.migrations, self.settings().database)

    def seed(self) -> list[str]:
        return self.seeder()

    def outbox_relay(self, bus: EventPublisher) -> AbstractAsyncContextManager[OutboxRelay] | None:
        if self.outbox is None:
            return None
        return _sqlalchemy_relay(self.settings().database, self.outbox, bus)

    def subscribe(self, bus: EventBus) -> None:
        for subscriber in self.subscribers:
            subscriber(bus)

    def periodic_jobs(self) -> AbstractAsyncContextManager[Sequence[PeriodicJob]]:
        if self.jobs is None:
            return no_jobs()
        return _sqlalchemy_jobs(self.settings().database, self.jobs)


@asynccontextmanager
async def event_plane(
    lifecycles: Iterable[ServiceLifecycle],
    bus: EventBus,
    *,
    relays: bool = True,
    consumers: bool = True,
    poll_interval: float = 1.0,
    drain_timeout: float = 10.0,
) -> AsyncIterator[None]:
    """Run the event side of some services for the duration of the block.

    Consumers are subscribed before the bus starts; each publishing service gets a relay that
    polls every ``poll_interval`` seconds and is woken at once by commits in this process. On exit
    the relays stop first, then the bus closes (letting in-flight deliveries finish).
    """
    chosen = list(lifecycles)
    if consumers:
        for lifecycle in chosen:
            lifecycle.subscribe(bus)
    await bus.start()
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    async with AsyncExitStack() as stack:
        stack.push_async_callback(bus.close)
        # Setup sits inside the try: if a later relay fails to start, the ones already running
        # are stopped before the stack disposes of their engines.
        try:
            for lifecycle in chosen if relays else ():
                relay_context = lifecycle.outbox_relay(bus)
                if relay_context is None:
                    continue
                relay = await stack.enter_async_context(relay_context)
                stack.callback(add_commit_listener(relay.wake))
                tasks.append(
                    asyncio.create_task(
                        relay.run_forever(poll_interval=poll_interval, stop_event=stop)
                    )
                )
            yield
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            if isinstance(bus, InProcessBus):
                try:
                    await asyncio.wait_for(bus.drain(), timeout=drain_timeout)
                except TimeoutError:
                    logger.warning(
                        "in-process bus not drained after %.0fs; closing anyway", drain_timeout
                    )


@asynccontextmanager
async def _sqlalchemy_relay(
    url: str, table: Table, bus: EventPublisher
) -> AsyncIterator[OutboxRelay]:
    engine = db.make_async_engine(url)
    try:
        yield OutboxRelay(store=SqlAlchemyOutboxStore(engine, table), bus=bus)
    finally:
        await engine.dispose()


@asynccontextmanager
async def _sqlalchemy_jobs(url: str, factory: JobFactory) -> AsyncIterator[Sequence[PeriodicJob]]:
    engine = db.make_async_engine(url)
    try:
        yield factory(engine)
    finally:
        await engine.dispose()
