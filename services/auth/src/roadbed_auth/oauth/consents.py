"""Remembered consents: which scopes a user granted which client, and taking them back.

Withdrawing a consent also ends the client's refresh-token families for that user: the consent
was what they rested on. Functions only flush; the caller's unit of work commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from roadbed_auth.oauth import repository
from roadbed_auth.oauth.models import Consent
from roadbed_core.errors import NotFound


class ConsentNotFound(NotFound):
    code = "consent_not_found"
    title = "Consent not found"


async def grant(
    db: AsyncSession, *, user_id: uuid.UUID, client_id: str, scopes: Sequence[str], now: datetime
) -> Consent:
    """Remember that the user granted ``scopes`` to the client (added to earlier grants)."""
    for _attempt in range(2):
        consent = await repository.lock_consent(db, user_id=user_id, client_id=client_id)
        if consent is not None:
            consent.scopes = list(dict.fromkeys([*consent.scopes, *scopes]))
            consent.updated_at = now
            await db.flush()
            return consent
        consent = Consent(
            id=uuid.uuid4(),
            user_id=user_id,
            client_id=client_id,
            scopes=list(dict.fromkeys(scopes)),
            created_at=now,
            updated_at=now,
        )
        try:
            async with db.begin_nested():  # a concurrent first consent wins; we add to it
                await repository.add_consent(db, consent)
        except IntegrityError:
            continue
        return consent
    raise RuntimeError("consent could not be recorded")  # pragma: no cover - two lost races


async def list_for_user(db: AsyncSession, *, user_id: uuid.UUID) -> Sequence[Consent]:
    return await repository.list_consents(db, user_id=user_id)


async def revoke(db: AsyncSession, *, user_id: uuid.UUID, client_id: str, now: datetime) -> None:
    """Withdraw the user's consent to a client (404 if there is none)."""
    if not await repository.delete_consent(db, user_id=user_id, client_id=client_id):
        raise ConsentNotFound()
    await repository.revoke_client_sessions(
        db, client_id=client_id, user_id=user_id, reason="consent_withdrawn", now=now
    )
