"""How the CLI and the embedded composition migrate the notify worker and attach its consumers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from roadbed_core.lifecycle import SqlAlchemyLifecycle
from roadbed_notify.config import NotifySettings, get_settings
from roadbed_notify.runtime import NotifySubscriber

MIGRATIONS = Path(__file__).parent / "migrations"


def build_lifecycle(settings: Callable[[], NotifySettings]) -> SqlAlchemyLifecycle:
    """The lifecycle for ``settings`` (the worker app passes its own; the CLI uses the environment)."""
    # notify consumes events and publishes none, so it has no outbox relay.
    return SqlAlchemyLifecycle(
        settings=settings,
        migrations=MIGRATIONS,
        outbox=None,
        subscribers=(NotifySubscriber(settings),),
    )


lifecycle = build_lifecycle(get_settings)
