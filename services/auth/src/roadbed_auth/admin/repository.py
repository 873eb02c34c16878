"""SQL of the admin views over accounts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from roadbed_auth.account.models import User, UserRole


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search_users(
    db: AsyncSession, *, query: str | None, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> Sequence[User]:
    """Newest first; ``limit + 1`` rows so the caller knows whether a next page exists."""
    statement = select(User).options(selectinload(User.roles))
    if query:
        pattern = f"%{_escape_like(query.lower())}%"
        statement = statement.where(
            or_(
                User.email.like(pattern, escape="\\"),
                func.lower(User.display_name).like(pattern, escape="\\"),
            )
        )
    if after is not None:
        statement = statement.where(tuple_(User.created_at, User.id) < tuple_(*after))
    statement = statement.order_by(User.created_at.desc(), User.id.desc()).limit(limit + 1)
    return (await db.execute(statement)).scalars().all()


async def remove_role(db: AsyncSession, *, user_id: uuid.UUID, role: str) -> bool:
    result = await db.execute(
        delete(UserRole).where(UserRole.user_id == user_id, UserRole.role == role)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def has_role(db: AsyncSession, *, user_id: uuid.UUID, role: str) -> bool:
    found = await db.scalar(
        select(UserRole.role).where(UserRole.user_id == user_id, UserRole.role == role)
    )
    return found is not None
