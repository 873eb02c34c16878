"""Auth test fixtures: a fresh auth schema on SQLite (default tier) and PostgreSQL (services tier)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from roadbed_auth.tables import metadata
from roadbed_core.db import make_async_engine, make_async_sessionmaker


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/auth.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def sessionmaker(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_async_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    try:
        yield make_async_sessionmaker(engine)
    finally:
        await engine.dispose()
