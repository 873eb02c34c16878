"""How the CLI and the embedded composition migrate, seed and relay the blog (Django)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

from roadbed_blog.config import BlogSettings, get_settings
from roadbed_core.db import ensure_sqlite_directory
from roadbed_core.events.bus import EventBus, EventPublisher
from roadbed_core.events.relay import OutboxRelay
from roadbed_core.jobs import PeriodicJob, no_jobs
from roadbed_core.logs import configure_logging


def setup_django() -> None:
    """Configure Django for this process once (the composition and CLI call it before use)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "roadbed_blog.settings")
    settings = get_settings()
    ensure_sqlite_directory(settings.database)
    configure_logging(json=settings.json_logs, level=settings.log_level)
    import django

    django.setup()


@asynccontextmanager
async def _django_relay(bus: EventPublisher) -> AsyncIterator[OutboxRelay]:
    from roadbed_core.events.django.outbox import DjangoOutboxStore

    yield OutboxRelay(store=DjangoOutboxStore(), bus=bus)


@dataclass(frozen=True)
class DjangoLifecycle:
    settings: Callable[[], BlogSettings]

    def migrate(self) -> None:
        setup_django()
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)

    def seed(self) -> list[str]:
        """Demo data arrives with the blog's domain apps; nothing to create yet."""
        return []

    def outbox_relay(self, bus: EventPublisher) -> AbstractAsyncContextManager[OutboxRelay]:
        setup_django()
        return _django_relay(bus)

    def periodic_jobs(self) -> AbstractAsyncContextManager[Sequence[PeriodicJob]]:
        """The blog's housekeeping jobs (Django's ORM is sync: each pass runs in a thread)."""
        return no_jobs()

    def subscribe(self, bus: EventBus) -> None:
        """The blog consumes no events yet (auth's user.updated / user.deleted come with the blog issue)."""


lifecycle = DjangoLifecycle(settings=get_settings)
