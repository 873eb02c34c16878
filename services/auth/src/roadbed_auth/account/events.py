"""The account events other services consume (the blog keeps its profiles in sync from them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from roadbed_auth.account.models import User
from roadbed_auth.account.repository import role_names
from roadbed_auth.base import outbox
from roadbed_core.events.envelope import new_event
from roadbed_core.events.outbox import add_event_async

SOURCE = "/auth"


async def emit(db: AsyncSession, event_type: str, data: dict[str, Any], *, subject: str) -> None:
    """Write an event into the outbox, in the caller's transaction."""
    await add_event_async(
        db, new_event(type=event_type, source=SOURCE, data=data, subject=subject), table=outbox
    )


def user_data(user: User) -> dict[str, Any]:
    return {
        "user_id": str(user.id),
        "email": user.email,
        "display_name": user.display_name,
        "email_verified": user.email_verified_at is not None,
        "status": user.status,
        "roles": role_names(user),
    }


async def emit_user_updated(db: AsyncSession, user: User) -> None:
    await emit(db, "roadbed.auth.user.updated.v1", user_data(user), subject=str(user.id))


async def emit_user_deleted(db: AsyncSession, user_id: str) -> None:
    await emit(db, "roadbed.auth.user.deleted.v1", {"user_id": user_id}, subject=user_id)
