"""How the CLI and the embedded composition migrate the notify worker and attach its consumers."""

from __future__ import annotations

from pathlib import Path

from roadbed_core.lifecycle import SqlAlchemyLifecycle
from roadbed_notify.config import get_settings

# notify consumes events and publishes none, so it has no outbox relay.
lifecycle = SqlAlchemyLifecycle(
    settings=get_settings,
    migrations=Path(__file__).parent / "migrations",
    outbox=None,
)
