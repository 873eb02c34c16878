"""Builders for auth test data."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from roadbed_auth.account.models import User


async def create_user(
    db: AsyncSession,
    *,
    email: str | None = None,
    display_name: str = "Ada Lovelace",
    password_hash: str = "argon2-placeholder",
    now: datetime | None = None,
) -> User:
    moment = now or datetime.now(UTC)
    user = User(
        id=uuid.uuid4(),
        email=email or f"user-{uuid.uuid4().hex[:8]}@example.test",
        display_name=display_name,
        password_hash=password_hash,
        password_changed_at=moment,
        created_at=moment,
        updated_at=moment,
    )
    db.add(user)
    await db.flush()
    return user
