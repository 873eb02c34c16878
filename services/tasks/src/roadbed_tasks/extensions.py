"""Flask extensions, created unbound and attached in :func:`roadbed_tasks.app.create_app`."""

from __future__ import annotations

from flask_sqlalchemy import SQLAlchemy

from roadbed_tasks.tables import metadata

db = SQLAlchemy(metadata=metadata)
