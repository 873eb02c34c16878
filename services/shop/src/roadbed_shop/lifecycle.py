"""How the CLI and the embedded composition migrate, seed and relay the shop service."""

from __future__ import annotations

from pathlib import Path

from roadbed_core.lifecycle import SqlAlchemyLifecycle
from roadbed_shop.config import get_settings
from roadbed_shop.tables import outbox

lifecycle = SqlAlchemyLifecycle(
    settings=get_settings,
    migrations=Path(__file__).parent / "migrations",
    outbox=outbox,
)
