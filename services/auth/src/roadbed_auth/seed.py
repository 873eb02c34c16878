"""Demo accounts for a first ``make up``: an administrator and a regular user (never in prod).

Passwords are generated per installation and printed once by ``roadbed seed``; seeding again
creates nothing (the accounts exist), so it never prints a password twice.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from datetime import UTC, datetime

from roadbed_auth.account import repository
from roadbed_auth.account.models import User, UserStatus
from roadbed_auth.account.roles import DEFAULT_ROLES, Role
from roadbed_auth.config import get_settings
from roadbed_auth.password.hasher import Argon2Parameters, PasswordHasher
from roadbed_core.db import make_async_engine, make_async_sessionmaker, unit_of_work
from roadbed_core.lifecycle import SeedRefused

DEMO_ACCOUNTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("admin@example.com", "Demo Admin", (Role.ADMIN, Role.STAFF, Role.EDITOR, *DEFAULT_ROLES)),
    ("ada@example.com", "Ada Lovelace", tuple(DEFAULT_ROLES)),
)


async def _seed() -> list[str]:
    settings = get_settings()
    if settings.is_prod:
        raise SeedRefused(
            "roadbed seed creates demo accounts; it refuses to run with ROADBED_ENV=prod"
        )
    hasher = PasswordHasher(
        parameters=Argon2Parameters(
            memory_cost_kib=settings.argon2_memory_kib,
            time_cost=settings.argon2_time_cost,
            parallelism=settings.argon2_parallelism,
        )
    )
    engine = make_async_engine(settings.database)
    created: list[str] = []
    now = datetime.now(UTC)
    try:
        async with unit_of_work(make_async_sessionmaker(engine)) as db:
            for email, name, roles in DEMO_ACCOUNTS:
                if await repository.get_user_by_email(db, email) is not None:
                    continue
                password = secrets.token_urlsafe(12)
                user = User(
                    id=uuid.uuid4(),
                    email=email,
                    display_name=name,
                    password_hash=await hasher.hash(password),
                    status=UserStatus.ACTIVE,
                    email_verified_at=now,
                    password_changed_at=now,
                    created_at=now,
                    updated_at=now,
                )
                db.add(user)
                await db.flush()
                await repository.grant_roles(
                    db, user=user, roles=list(dict.fromkeys(roles)), now=now
                )
                created.append(f"{email} (password: {password})")
    finally:
        await engine.dispose()
        hasher.close()
    return created


def seed() -> list[str]:
    """Create the demo accounts that do not exist yet; one line per account created."""
    return asyncio.run(_seed())
