"""The demo seeder: two accounts once, nothing the second time, never in production."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from roadbed_auth.account.models import User, UserRole
from roadbed_auth.config import get_settings
from roadbed_auth.lifecycle import lifecycle
from roadbed_core.db import make_engine
from roadbed_core.lifecycle import SeedRefused


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path}/auth.db"
    monkeypatch.setenv("ROADBED_AUTH_DATABASE_URL", url)
    monkeypatch.setenv("ROADBED_AUTH_ARGON2_MEMORY_KIB", "8192")
    monkeypatch.setenv("ROADBED_AUTH_ARGON2_TIME_COST", "1")
    get_settings.cache_clear()
    lifecycle.migrate()
    yield url
    get_settings.cache_clear()


def test_seed_creates_the_demo_accounts_once(database: str) -> None:
    first = lifecycle.seed()
    second = lifecycle.seed()

    assert [line.split(" ")[0] for line in first] == ["admin@example.com", "ada@example.com"]
    assert all("(password: " in line for line in first)
    assert second == []
    engine = make_engine(database)
    with engine.connect() as connection:
        roles = connection.execute(
            select(User.email, UserRole.role)
            .join(UserRole, UserRole.user_id == User.id)
            .order_by(User.email, UserRole.role)
        ).all()
    engine.dispose()
    assert [tuple(row) for row in roles] == [
        ("ada@example.com", "author"),
        ("ada@example.com", "customer"),
        ("admin@example.com", "admin"),
        ("admin@example.com", "author"),
        ("admin@example.com", "customer"),
        ("admin@example.com", "editor"),
        ("admin@example.com", "staff"),
    ]


def test_seed_refuses_production(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROADBED_ENV", "prod")
    for secret in (
        "SECRET_KEY",
        "KEY_ENCRYPTION_SECRET",
        "REFRESH_TOKEN_SECRET",
        "MFA_ENCRYPTION_KEY",
        "THROTTLE_SECRET",
    ):
        monkeypatch.setenv(f"ROADBED_AUTH_{secret}", "a-real-production-secret-of-enough-length")
    get_settings.cache_clear()

    with pytest.raises(SeedRefused, match="refuses to run with ROADBED_ENV=prod"):
        lifecycle.seed()
