"""What notify's consumers hold while they run: a database engine, a mailer and the sender.

Where these live, and why:

- The lifecycle object is module-level and imported by the CLI, the embedded composition and the
  worker app alike, so it must not open anything at import. Its subscriber
  (:class:`NotifySubscriber`) builds a :class:`NotifyRuntime` from the settings only when a bus
  asks for consumers — once per bus, inside the process (and before the loop) that consumes.
- A subscriber has no teardown hook: ``event_plane`` closes the bus and nothing else. So the
  runtime is built to need none. Its engine uses ``NullPool``: each delivery's transactions open
  a connection and close it when they end, so no connection outlives a delivery, none is tied to
  an event loop that has gone away (tests and ``TestClient`` run one loop each), and no aiosqlite
  thread or asyncpg socket is left for process exit to trip over. The price is a connect per
  transaction, which is small next to sending an email. The mailers hold nothing open either
  (files are written whole; SMTP connects per message).

A pooled engine closed by an ``aclose()`` from the worker app's lifespan was the alternative; it
would leak in embedded mode, where the notify app is never created and only the subscriber runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from email.headerregistry import Address

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import NullPool

from roadbed_core.db import make_async_engine, make_async_sessionmaker
from roadbed_core.events.bus import EventBus
from roadbed_notify.config import NotifySettings
from roadbed_notify.mail.consumer import subscribe_email
from roadbed_notify.mail.mailer import Mailer, mailer_from_settings


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifyRuntime:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    mailer: Mailer
    sender: Address

    @classmethod
    def from_settings(cls, settings: NotifySettings) -> NotifyRuntime:
        """Create the handles (nothing connects yet: the first delivery does)."""
        engine = make_async_engine(settings.database, poolclass=NullPool)
        return cls(
            engine=engine,
            sessions=make_async_sessionmaker(engine),
            mailer=mailer_from_settings(settings),
            sender=settings.sender,
        )


@dataclass(frozen=True, slots=True)
class NotifySubscriber:
    """The lifecycle's subscriber: every notify consumer, on one runtime per bus."""

    settings: Callable[[], NotifySettings]

    def __call__(self, bus: EventBus) -> None:
        runtime = NotifyRuntime.from_settings(self.settings())
        subscribe_email(
            bus, sessions=runtime.sessions, mailer=runtime.mailer, sender=runtime.sender
        )
