"""Opaque keyset cursors: ``(created_at, id)`` of the last row, base64url JSON; tamper = 400."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime

from roadbed_core.errors import BadRequest, FieldError

MAX_CURSOR_LENGTH = 200


class InvalidCursor(BadRequest):
    code = "invalid_cursor"
    title = "Invalid cursor"


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    error = InvalidCursor(
        errors=[FieldError(field="cursor", message="Not a cursor this API issued.")]
    )
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise error
    try:
        created_at, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None:
            raise error
        return moment, uuid.UUID(row_id)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise error from None
