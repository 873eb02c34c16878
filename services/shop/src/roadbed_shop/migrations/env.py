"""Alembic environment of the shop service (see roadbed_core.db.run_migrations)."""

from alembic import context

from roadbed_core.db import run_migrations
from roadbed_shop.tables import metadata

run_migrations(context, metadata)
