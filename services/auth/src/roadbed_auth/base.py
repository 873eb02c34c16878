"""The auth service's declarative base and the event tables on its ``MetaData``."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from roadbed_auth.keys.tables import define_signing_keys_table
from roadbed_core.db import new_metadata
from roadbed_core.events.outbox import define_inbox_table, define_outbox_table

metadata = new_metadata()


class Base(DeclarativeBase):
    metadata = metadata


#: Events written in the same transaction as the change they announce (DESIGN.md §5).
outbox = define_outbox_table(metadata)
#: Events this service has consumed, so redeliveries are no-ops.
inbox = define_inbox_table(metadata)
#: Token signing keys, private halves encrypted at rest (roadbed_auth.keys).
signing_keys = define_signing_keys_table(metadata)
