"""All SQL of accounts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from roadbed_auth.account.models import OneTimeToken, User, UserRole


async def get_user(db: AsyncSession, user_id: uuid.UUID) -> User | None:
    result = await db.execute(
        select(User).where(User.id == user_id).options(selectinload(User.roles))
    )
    return result.scalar_one_or_none()


async def get_user_by_email(db: AsyncSession, email: str) -> User | None:
    result = await db.execute(
        select(User).where(User.email == email).options(selectinload(User.roles))
    )
    return result.scalar_one_or_none()


def role_names(user: User) -> list[str]:
    return sorted(role.role for role in user.roles)


async def add_one_time_token(db: AsyncSession, token: OneTimeToken) -> None:
    db.add(token)
    await db.flush()


async def consume_one_time_token(
    db: AsyncSession, *, digest: str, purpose: str, now: datetime
) -> uuid.UUID | None:
    """Spend a live token exactly once (guarded UPDATE); returns its user id, or None."""
    result = await db.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.token_hash == digest,
            OneTimeToken.purpose == purpose,
            OneTimeToken.used_at.is_(None),
            OneTimeToken.expires_at > now,
        )
        .values(used_at=now)
        .returning(OneTimeToken.user_id)
        .execution_options(synchronize_session=False)
    )
    return result.scalar_one_or_none()


async def expire_one_time_tokens(
    db: AsyncSession, *, user_id: uuid.UUID, purpose: str, now: datetime
) -> None:
    """Older links stop working once a new one is sent or one has been used."""
    await db.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.user_id == user_id,
            OneTimeToken.purpose == purpose,
            OneTimeToken.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )


async def grant_roles(db: AsyncSession, *, user: User, roles: Sequence[str], now: datetime) -> None:
    for role in roles:
        db.add(UserRole(user_id=user.id, role=role, granted_at=now))
    await db.flush()


async def set_password_hash(
    db: AsyncSession, *, user_id: uuid.UUID, password_hash: str, now: datetime
) -> None:
    """Replace the stored hash (a transparent upgrade at sign-in: the password itself is unchanged)."""
    await db.execute(
        update(User)
        .where(User.id == user_id)
        .values(password_hash=password_hash, updated_at=now)
        .execution_options(synchronize_session=False)
    )
