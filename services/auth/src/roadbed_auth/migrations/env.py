"""Alembic environment of the auth service (see roadbed_core.db.run_migrations)."""

from alembic import context

from roadbed_auth.tables import metadata
from roadbed_core.db import run_migrations

run_migrations(context, metadata)
