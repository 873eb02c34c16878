"""How the CLI and the embedded composition migrate, seed and relay the auth service."""

from __future__ import annotations

from pathlib import Path

from roadbed_auth.config import get_settings
from roadbed_auth.seed import seed
from roadbed_auth.tables import outbox
from roadbed_core.lifecycle import SqlAlchemyLifecycle

lifecycle = SqlAlchemyLifecycle(
    settings=get_settings,
    migrations=Path(__file__).parent / "migrations",
    outbox=outbox,
    seeder=seed,
)
