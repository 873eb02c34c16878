"""How the CLI migrates and seeds the notify service."""

from __future__ import annotations

from pathlib import Path

from roadbed_core import db
from roadbed_notify.config import get_settings

MIGRATIONS = Path(__file__).parent / "migrations"


def migrate() -> None:
    """Apply pending migrations to the configured database."""
    db.upgrade(MIGRATIONS, get_settings().database)


def seed() -> list[str]:
    """Load demo data; idempotent. Returns what it created (nothing yet: no domain tables exist)."""
    return []
