"""Writing, relaying and consuming events from a Django service (DESIGN.md §5).

:func:`record_event` inserts into the outbox inside the caller's ``transaction.atomic()`` block
and refuses to run outside one, because in autocommit mode the event would commit on its own,
independently of the change it describes. :class:`DjangoOutboxStore` feeds the relay;
:func:`idempotent_consumer` is the inbox-guarded handler wrapper.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from django.db import (
    DEFAULT_DB_ALIAS,
    IntegrityError,
    close_old_connections,
    connections,
    transaction,
)
from django.db.models import F
from django.utils import timezone

from roadbed_core.events.bus import Handler
from roadbed_core.events.django.models import InboxEvent, OutboxEvent
from roadbed_core.events.envelope import CloudEvent
from roadbed_core.events.relay import BlockingDeliver, BlockingOutboxStore, deliver_rows_blocking
from roadbed_core.events.wakeup import notify_outbox_committed

#: A Django consumer's business logic; it runs inside the transaction that records the event.
EventHandler = Callable[[CloudEvent], None]


def record_event(event: CloudEvent, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Add ``event`` to the outbox in the current transaction; the atomic block commits it."""
    if not transaction.get_connection(using).in_atomic_block:
        raise RuntimeError(
            "record_event() must run inside transaction.atomic(): in autocommit mode the event "
            "would be committed apart from the change it describes"
        )
    OutboxEvent.objects.using(using).create(
        id=event.id,
        type=event.type,
        payload=event.to_json().decode("utf-8"),
        created_at=timezone.now(),
    )
    transaction.on_commit(notify_outbox_committed, using=using)


class DjangoOutboxStore(BlockingOutboxStore):
    """:class:`~roadbed_core.events.relay.OutboxStore` over the Django ORM (run in a worker thread)."""

    def __init__(self, *, using: str = DEFAULT_DB_ALIAS) -> None:
        self._using = using

    def publish_pending_blocking(self, *, limit: int, deliver: BlockingDeliver) -> int:
        # This thread is not a request thread: drop connections past CONN_MAX_AGE or broken,
        # as Django does around each request.
        close_old_connections()
        try:
            return self._publish_batch(limit, deliver)
        finally:
            close_old_connections()

    def _publish_batch(self, limit: int, deliver: BlockingDeliver) -> int:
        with transaction.atomic(using=self._using):
            pending = (
                OutboxEvent.objects.using(self._using)
                .filter(published_at__isnull=True)
                .order_by("created_at", "id")
            )
            if connections[self._using].features.has_select_for_update_skip_locked:
                pending = pending.select_for_update(skip_locked=True)
            outcome = deliver_rows_blocking(pending.values_list("id", "payload")[:limit], deliver)
            rows = OutboxEvent.objects.using(self._using)
            if outcome.delivered:
                rows.filter(id__in=outcome.delivered).update(published_at=timezone.now())
            if outcome.failed:
                rows.filter(id__in=outcome.failed).update(attempts=F("attempts") + 1)
        return outcome.result()


def idempotent_consumer(
    *, consumer: str, handler: EventHandler, using: str = DEFAULT_DB_ALIAS
) -> Handler:
    """A bus handler running ``handler(event)`` at most once per event id, in a worker thread.

    One ``atomic`` block records ``(consumer, event id)`` and runs the handler: a duplicate skips
    the handler, a handler failure rolls back both so the bus's retry starts clean.
    """

    def handle_blocking(event: CloudEvent) -> None:
        close_old_connections()
        try:
            with transaction.atomic(using=using):
                try:
                    # A savepoint of its own: a duplicate key must not poison the outer block.
                    with transaction.atomic(using=using):
                        InboxEvent.objects.using(using).create(
                            consumer=consumer, event_id=event.id, processed_at=timezone.now()
                        )
                except IntegrityError:
                    return
                handler(event)
        finally:
            close_old_connections()

    async def handle(event: CloudEvent) -> None:
        await asyncio.to_thread(handle_blocking, event)

    return handle
