"""Events between services (DESIGN.md §5): envelope, outbox, relay, buses, inbox.

- :mod:`~roadbed_core.events.envelope`: :class:`CloudEvent`, :func:`new_event`.
- :mod:`~roadbed_core.events.outbox`: outbox/inbox tables and writers for SQLAlchemy, relay stores.
- :mod:`~roadbed_core.events.relay`: :class:`OutboxRelay` and the store protocol.
- :mod:`~roadbed_core.events.inprocess` / :mod:`~roadbed_core.events.rabbitmq`: the two buses.
- :mod:`~roadbed_core.events.inbox`: idempotent consumers for SQLAlchemy.
- :mod:`roadbed_core.events.django`: the Django app (outbox/inbox models, writer, store).
"""

from roadbed_core.events.bus import DeadLetter, EventBus, EventPublisher, Handler, RetryPolicy
from roadbed_core.events.envelope import CloudEvent, EventFormatError, new_event
from roadbed_core.events.inbox import idempotent_consumer, idempotent_consumer_blocking
from roadbed_core.events.inprocess import InProcessBus
from roadbed_core.events.outbox import (
    SqlAlchemyOutboxStore,
    SqlAlchemySyncOutboxStore,
    add_event,
    add_event_async,
    define_inbox_table,
    define_outbox_table,
)
from roadbed_core.events.relay import OutboxRelay, OutboxStore
from roadbed_core.events.topics import topic_matches
from roadbed_core.events.wakeup import add_commit_listener

__all__ = [
    "CloudEvent",
    "DeadLetter",
    "EventBus",
    "EventFormatError",
    "EventPublisher",
    "Handler",
    "InProcessBus",
    "OutboxRelay",
    "OutboxStore",
    "RetryPolicy",
    "SqlAlchemyOutboxStore",
    "SqlAlchemySyncOutboxStore",
    "add_commit_listener",
    "add_event",
    "add_event_async",
    "define_inbox_table",
    "define_outbox_table",
    "idempotent_consumer",
    "idempotent_consumer_blocking",
    "new_event",
    "topic_matches",
]
