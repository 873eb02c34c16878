"""The Django outbox: record_event in the caller's atomic block, relayed like any other store.

Django is configured here only if nobody configured it first (other core test modules do so at
import time, with their own apps and an in-memory database). Whatever the configuration, this
module adds its app with ``modify_settings`` when missing and works in a database alias of its
own: a SQLite file, because the relay and the inbox helper run the ORM in worker threads and an
in-memory database is private to one connection. It uses the blog's SQLite options (WAL,
``BEGIN IMMEDIATE``) so concurrent writers wait for each other instead of failing. ORM calls from
async tests go through ``asyncio.to_thread``, as Django requires.
"""

from __future__ import annotations

import asyncio
import importlib
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from types import ModuleType
from typing import Any

import django
import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connections, transaction
from django.test.utils import modify_settings

from roadbed_core.events import CloudEvent, InProcessBus, OutboxRelay

APP = "roadbed_core.events.django"
ALIAS = "roadbed_events"
ORDER_PLACED = "roadbed.shop.order.placed.v1"


class RelayKilled(BaseException):
    """Stands in for the relay process dying between publish and mark."""


def events_database(path: str) -> dict[str, Any]:
    """A complete DATABASES entry (defaults filled in as Django fills them at start-up)."""
    entry = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"},
    }
    return dict(connections.configure_settings({"default": {}, ALIAS: entry})[ALIAS])


@pytest.fixture(scope="module")
def django_outbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """``roadbed_core.events.django.outbox``; its tables are migrated in the ``ALIAS`` database."""
    if not settings.configured and not os.environ.get("DJANGO_SETTINGS_MODULE"):
        settings.configure(
            INSTALLED_APPS=[APP],
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
            USE_TZ=True,
        )
    if not apps.ready:
        django.setup()
    database = str(tmp_path_factory.mktemp("django") / "events.db")
    with ExitStack() as stack:
        if APP not in settings.INSTALLED_APPS:
            stack.enter_context(modify_settings(INSTALLED_APPS={"append": APP}))
        connections.settings[ALIAS] = events_database(database)
        try:
            call_command("migrate", "roadbed_outbox", database=ALIAS, verbosity=0)
            yield importlib.import_module(f"{APP}.outbox")
        finally:
            connections[ALIAS].close()
            del connections.settings[ALIAS]


@pytest.fixture
def models(django_outbox: ModuleType) -> Iterator[ModuleType]:
    module = importlib.import_module(f"{APP}.models")
    yield module
    module.OutboxEvent.objects.using(ALIAS).all().delete()
    module.InboxEvent.objects.using(ALIAS).all().delete()


def outbox_state(models: ModuleType) -> list[tuple[str, bool, int]]:
    return [
        (str(row.id), row.published_at is not None, row.attempts)
        for row in models.OutboxEvent.objects.using(ALIAS).order_by("created_at", "id")
    ]


async def started_bus(consumer: Any) -> InProcessBus:
    bus = InProcessBus()
    bus.subscribe("probe", ["#"], consumer)
    await bus.start()
    return bus


def test_the_hand_written_migration_matches_the_models(models: ModuleType) -> None:
    # makemigrations --check exits non-zero when the models need a migration the app lacks
    call_command("makemigrations", "roadbed_outbox", check=True, dry_run=True, verbosity=0)


def test_record_event_refuses_to_run_in_autocommit(
    django_outbox: ModuleType, models: ModuleType, event_factory: Callable[..., CloudEvent]
) -> None:
    with pytest.raises(RuntimeError, match=r"inside transaction\.atomic\(\)"):
        django_outbox.record_event(event_factory(ORDER_PLACED), using=ALIAS)

    assert outbox_state(models) == []


async def test_recorded_events_are_relayed_and_rolled_back_ones_are_not(
    django_outbox: ModuleType,
    models: ModuleType,
    recorder: Callable[..., Any],
    event_factory: Callable[..., CloudEvent],
) -> None:
    # given one event recorded in a committed block and one in a rolled-back block
    committed, rolled_back = event_factory(ORDER_PLACED), event_factory(ORDER_PLACED)

    def record_then_fail() -> None:
        with transaction.atomic(using=ALIAS):
            django_outbox.record_event(rolled_back, using=ALIAS)
            raise LookupError("out of stock")

    def write_events() -> None:
        with transaction.atomic(using=ALIAS):
            django_outbox.record_event(committed, using=ALIAS)
        with pytest.raises(LookupError, match="out of stock"):
            record_then_fail()

    await asyncio.to_thread(write_events)
    consumer = recorder()
    bus = await started_bus(consumer)
    relay = OutboxRelay(store=django_outbox.DjangoOutboxStore(using=ALIAS), bus=bus)

    # when the relay runs twice
    counts = [await relay.run_once(), await relay.run_once()]
    await bus.drain()

    # then only the committed event went out, once, and its row is marked
    assert counts == [1, 0]
    assert consumer.handled == [committed]
    assert await asyncio.to_thread(outbox_state, models) == [(committed.id, True, 0)]
    await bus.close()


async def test_a_relay_killed_after_publishing_is_recovered_and_the_inbox_dedups(
    django_outbox: ModuleType,
    models: ModuleType,
    recorder: Callable[..., Any],
    event_factory: Callable[..., CloudEvent],
) -> None:
    # given a recorded event and a consumer guarded by the Django inbox
    placed = event_factory(ORDER_PLACED, order_id="o-7")

    def write_event() -> None:
        with transaction.atomic(using=ALIAS):
            django_outbox.record_event(placed, using=ALIAS)

    await asyncio.to_thread(write_event)
    effects: list[str] = []
    guarded = django_outbox.idempotent_consumer(
        consumer="notify",
        handler=lambda event: effects.append(event.data["order_id"]),
        using=ALIAS,
    )
    deliveries = recorder()

    async def consume(event: CloudEvent) -> None:
        await guarded(event)
        await deliveries(event)

    bus = InProcessBus()
    bus.subscribe("notify", [ORDER_PLACED], consume)
    await bus.start()
    store = django_outbox.DjangoOutboxStore(using=ALIAS)

    async def die(event: CloudEvent) -> None:
        raise RelayKilled

    # when a relay dies after publishing and a fresh one runs
    with pytest.raises(RelayKilled):
        await OutboxRelay(store=store, bus=bus, after_publish=die).run_once()
    published = await OutboxRelay(store=store, bus=bus).run_once()
    await bus.drain()

    # then the event was delivered twice but processed once
    assert published == 1
    assert [e.id for e in deliveries.handled] == [placed.id, placed.id]
    assert effects == ["o-7"]
    assert await asyncio.to_thread(models.InboxEvent.objects.using(ALIAS).count) == 1
    assert await asyncio.to_thread(outbox_state, models) == [(placed.id, True, 0)]
    await bus.close()


async def test_a_failing_django_consumer_rolls_back_its_inbox_row(
    django_outbox: ModuleType, models: ModuleType, event_factory: Callable[..., CloudEvent]
) -> None:
    # given a consumer whose handler fails the first time
    placed = event_factory(ORDER_PLACED, order_id="o-8")
    runs: list[str] = []

    def send_receipt(event: CloudEvent) -> None:
        runs.append(event.id)
        if len(runs) == 1:
            raise ConnectionError("smtp down")

    guarded = django_outbox.idempotent_consumer(
        consumer="notify", handler=send_receipt, using=ALIAS
    )

    # when it fails, then is retried twice
    with pytest.raises(ConnectionError, match="smtp down"):
        await guarded(placed)
    inbox_after_failure = await asyncio.to_thread(models.InboxEvent.objects.using(ALIAS).count)
    await guarded(placed)
    await guarded(placed)

    # then the failure left no inbox row and the retry ran the handler exactly once more
    assert inbox_after_failure == 0
    assert runs == [placed.id, placed.id]
    assert await asyncio.to_thread(models.InboxEvent.objects.using(ALIAS).count) == 1
