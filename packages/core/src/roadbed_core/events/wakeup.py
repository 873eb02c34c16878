"""Commit notifications, so an embedded relay publishes right after a commit instead of polling.

The outbox writers call :func:`notify_outbox_committed` after a transaction that wrote an event
commits. Whoever runs a relay in the same process registers ``relay.wake`` here; in production
(the relay in its own process) nothing is registered and the relay simply polls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

CommitListener = Callable[[], None]

_listeners: list[CommitListener] = []


def add_commit_listener(listener: CommitListener) -> Callable[[], None]:
    """Call ``listener`` after every commit that wrote an outbox event; returns an unsubscriber.

    Listeners run in the committing thread, so they must be quick and thread-safe
    (:meth:`OutboxRelay.wake <roadbed_core.events.relay.OutboxRelay.wake>` is both).
    """
    _listeners.append(listener)

    def remove() -> None:
        if listener in _listeners:
            _listeners.remove(listener)

    return remove


def notify_outbox_committed() -> None:
    """Tell every listener; a failing listener is logged and never breaks the committer."""
    for listener in tuple(_listeners):
        try:
            listener()
        except Exception:  # the commit already happened; a wake-up failure only costs latency
            logger.exception("outbox commit listener %r failed", listener)
