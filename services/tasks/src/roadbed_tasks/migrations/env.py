"""Alembic environment of the tasks service (see roadbed_core.db.run_migrations)."""

from alembic import context

from roadbed_core.db import run_migrations
from roadbed_tasks.tables import metadata

run_migrations(context, metadata)
