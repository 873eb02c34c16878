"""The auth app as the login benchmark serves it: a fresh database with verified accounts.

Logins spread over several accounts: the login throttle rightly refuses many concurrent
attempts on one account (it counts attempts in flight), which a benchmark must not measure.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime

ACCOUNTS = 32
PASSWORD = "correct horse battery staple"


def email(index: int) -> str:
    return f"bench-{index}@example.com"


async def seed(database_url: str) -> None:
    from roadbed_auth.account.models import User
    from roadbed_auth.lifecycle import lifecycle
    from roadbed_auth.password.hasher import PasswordHasher
    from roadbed_core.db import make_async_engine, make_async_sessionmaker, unit_of_work, upgrade

    upgrade(lifecycle.migrations, database_url)
    hasher = PasswordHasher()
    engine = make_async_engine(database_url)
    now = datetime.now(UTC)
    password_hash = await hasher.hash(PASSWORD)
    async with unit_of_work(make_async_sessionmaker(engine)) as db:
        for index in range(ACCOUNTS):
            db.add(
                User(
                    email=email(index),
                    display_name=f"Bench {index}",
                    password_hash=password_hash,
                    password_changed_at=now,
                    created_at=now,
                    updated_at=now,
                    email_verified_at=now,
                )
            )
    await engine.dispose()
    hasher.close()


if __name__ == "__main__":
    asyncio.run(seed(os.environ["ROADBED_AUTH_DATABASE_URL"]))
    sys.exit(0)
