"""The auth API over HTTP, migrated for real, on SQLite + in-process cache and PostgreSQL + Redis."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from roadbed_auth.app import create_app
from roadbed_auth.base import outbox
from roadbed_auth.config import AuthSettings
from roadbed_auth.lifecycle import lifecycle
from roadbed_core.db import upgrade

PASSWORD = "correct horse battery staple"


@pytest.fixture(params=["embedded", pytest.param("production", marks=pytest.mark.services)])
def settings(request: pytest.FixtureRequest, tmp_path: Any) -> AuthSettings:
    if request.param == "embedded":
        database, cache = f"sqlite:///{tmp_path}/auth.db", f"memory://{tmp_path.name}"
    else:
        database, cache = (
            request.getfixturevalue("postgres_url"),
            request.getfixturevalue("redis_url"),
        )
    upgrade(lifecycle.migrations, database)
    return AuthSettings(
        database_url=database,
        cache_url=cache,
        # Cheap hashes keep the suite fast; the benchmark and one test use the OWASP cost.
        argon2_memory_kib=8 * 1024,
        argon2_time_cost=1,
        refresh_reuse_grace_seconds=0,
    )


@pytest.fixture
async def app(settings: AuthSettings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 51000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def outbox_events(app: FastAPI, event_type: str) -> list[dict[str, Any]]:
    """Events the service committed (what notify will receive), oldest first."""
    async with app.state.resources.sessions() as db:
        rows = await db.execute(
            select(outbox.c.payload)
            .where(outbox.c.type == event_type)
            .order_by(outbox.c.created_at)
        )
        return [json.loads(payload)["data"] for payload in rows.scalars()]


async def register_and_verify(client: httpx.AsyncClient, app: FastAPI, email: str) -> None:
    response = await client.post(
        "/v1/accounts", json={"email": email, "password": PASSWORD, "display_name": "Ada"}
    )
    assert response.status_code == 202, response.text
    tokens = [
        e["token"]
        for e in await outbox_events(app, "roadbed.auth.email_verification.requested.v1")
        if e["email"] == email
    ]
    verified = await client.post("/v1/accounts/verify-email", json={"token": tokens[-1]})
    assert verified.status_code == 204, verified.text


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = await client.post("/v1/sessions", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def grant_role_directly(app: FastAPI, email: str, role: str) -> None:
    """Test set-up: make an account staff or admin without going through the admin API."""
    from datetime import UTC, datetime

    from roadbed_auth.account.models import User, UserRole

    async with app.state.resources.sessions() as db, db.begin():
        user_id = (await db.execute(select(User.id).where(User.email == email))).scalar_one()
        db.add(UserRole(user_id=user_id, role=role, granted_at=datetime.now(UTC)))


async def audit_actions(app: FastAPI, action: str) -> int:
    """How many audit entries of ``action`` are committed."""
    from sqlalchemy import func

    from roadbed_auth.audit.models import AuditEntry

    async with app.state.resources.sessions() as db:
        count = await db.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
        )
    return int(count or 0)
