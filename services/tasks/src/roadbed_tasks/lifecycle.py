"""How the CLI and the embedded composition migrate, seed and relay the tasks service."""

from __future__ import annotations

from pathlib import Path

from roadbed_core.lifecycle import SqlAlchemyLifecycle
from roadbed_tasks.config import get_settings
from roadbed_tasks.tables import outbox

lifecycle = SqlAlchemyLifecycle(
    settings=get_settings,
    migrations=Path(__file__).parent / "migrations",
    outbox=outbox,
)
