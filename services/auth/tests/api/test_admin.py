"""The admin API: who may do what, and what each action does to tokens, sessions and events."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from .conftest import (
    PASSWORD,
    bearer,
    grant_role_directly,
    login,
    outbox_events,
    register_and_verify,
)


async def _account(
    client: httpx.AsyncClient, app: FastAPI, role: str | None = None
) -> dict[str, Any]:
    email = f"{role or 'user'}-{uuid.uuid4().hex[:8]}@example.com"
    await register_and_verify(client, app, email)
    if role:
        await grant_role_directly(app, email, role)
    tokens = await login(client, email)
    me = (await client.get("/v1/me", headers=bearer(tokens["access_token"]))).json()
    return {"email": email, "id": me["id"], **tokens}


@pytest.fixture
async def people(client: httpx.AsyncClient, app: FastAPI) -> dict[str, dict[str, Any]]:
    return {
        "admin": await _account(client, app, "admin"),
        "staff": await _account(client, app, "staff"),
        "customer": await _account(client, app),
        "target": await _account(client, app),
    }


READS = [("GET", "/v1/admin/users"), ("GET", "/v1/admin/users/{target}")]
WRITES = [
    ("PUT", "/v1/admin/users/{target}/roles/editor"),
    ("DELETE", "/v1/admin/users/{target}/roles/author"),
    ("POST", "/v1/admin/users/{target}/disable"),
    ("POST", "/v1/admin/users/{target}/enable"),
    ("POST", "/v1/admin/users/{target}/logout"),
]


@pytest.mark.parametrize(("method", "path"), READS + WRITES)
async def test_anonymous_and_customers_are_refused(
    client: httpx.AsyncClient, people: dict[str, Any], method: str, path: str
) -> None:
    url = path.format(target=people["target"]["id"])

    anonymous = await client.request(method, url)
    customer = await client.request(method, url, headers=bearer(people["customer"]["access_token"]))

    assert anonymous.status_code == 401
    assert customer.status_code == 403
    assert customer.json()["code"] == "insufficient_scope"


@pytest.mark.parametrize(("method", "path"), READS)
async def test_staff_may_read(
    client: httpx.AsyncClient, people: dict[str, Any], method: str, path: str
) -> None:
    response = await client.request(
        method,
        path.format(target=people["target"]["id"]),
        headers=bearer(people["staff"]["access_token"]),
    )

    assert response.status_code == 200


@pytest.mark.parametrize(("method", "path"), WRITES)
async def test_staff_may_not_change_accounts(
    client: httpx.AsyncClient, people: dict[str, Any], method: str, path: str
) -> None:
    response = await client.request(
        method,
        path.format(target=people["target"]["id"]),
        headers=bearer(people["staff"]["access_token"]),
    )

    assert response.status_code == 403


@pytest.mark.parametrize(
    ("method", "path", "status"), [(m, p, 204 if p.endswith("logout") else 200) for m, p in WRITES]
)
async def test_admins_may_change_accounts(
    client: httpx.AsyncClient, people: dict[str, Any], method: str, path: str, status: int
) -> None:
    response = await client.request(
        method,
        path.format(target=people["target"]["id"]),
        headers=bearer(people["admin"]["access_token"]),
    )

    assert response.status_code == status


async def test_search_pages_with_an_opaque_cursor(
    client: httpx.AsyncClient, app: FastAPI, people: dict[str, Any]
) -> None:
    admin = bearer(people["admin"]["access_token"])

    first = await client.get("/v1/admin/users", params={"limit": 2}, headers=admin)
    second = await client.get(
        "/v1/admin/users", params={"limit": 2, "cursor": first.json()["next_cursor"]}, headers=admin
    )
    found = await client.get(
        "/v1/admin/users", params={"q": people["target"]["email"][:13]}, headers=admin
    )
    tampered = await client.get(
        "/v1/admin/users", params={"cursor": "bm90LWEtY3Vyc29y"}, headers=admin
    )

    listed = [u["id"] for u in first.json()["items"]] + [u["id"] for u in second.json()["items"]]
    everyone = [p["id"] for p in reversed(list(people.values()))]  # newest first
    assert listed == everyone
    assert second.json()["next_cursor"] is None
    assert [u["id"] for u in found.json()["items"]] == [people["target"]["id"]]
    assert tampered.status_code == 400
    assert tampered.json()["code"] == "invalid_cursor"


async def test_granting_a_role_reaches_the_next_token_and_the_event(
    client: httpx.AsyncClient, app: FastAPI, people: dict[str, Any]
) -> None:
    target = people["target"]

    granted = await client.put(
        f"/v1/admin/users/{target['id']}/roles/editor",
        headers=bearer(people["admin"]["access_token"]),
    )
    unknown = await client.put(
        f"/v1/admin/users/{target['id']}/roles/overlord",
        headers=bearer(people["admin"]["access_token"]),
    )
    refreshed = await client.post(
        "/v1/sessions/refresh", json={"refresh_token": target["refresh_token"]}
    )

    assert granted.json()["roles"] == ["author", "customer", "editor"]
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "unknown_role"
    me = await client.get("/v1/me", headers=bearer(refreshed.json()["access_token"]))
    assert me.json()["roles"] == ["author", "customer", "editor"]
    updates = [
        e
        for e in await outbox_events(app, "roadbed.auth.user.updated.v1")
        if e["user_id"] == target["id"]
    ]
    assert updates[-1]["roles"] == ["author", "customer", "editor"]


async def test_removing_a_role_revokes_tokens_that_carry_it(
    client: httpx.AsyncClient, people: dict[str, Any]
) -> None:
    staff = people["staff"]

    removed = await client.delete(
        f"/v1/admin/users/{staff['id']}/roles/staff",
        headers=bearer(people["admin"]["access_token"]),
    )
    old_token = await client.get("/v1/admin/users", headers=bearer(staff["access_token"]))
    refreshed = await client.post(
        "/v1/sessions/refresh", json={"refresh_token": staff["refresh_token"]}
    )
    new_token = await client.get(
        "/v1/admin/users", headers=bearer(refreshed.json()["access_token"])
    )

    assert removed.json()["roles"] == ["author", "customer"]
    assert old_token.status_code == 401
    assert refreshed.status_code == 200
    assert new_token.status_code == 403


async def test_disabling_an_account_ends_everything_and_blocks_login(
    client: httpx.AsyncClient, people: dict[str, Any]
) -> None:
    target = people["target"]

    disabled = await client.post(
        f"/v1/admin/users/{target['id']}/disable", headers=bearer(people["admin"]["access_token"])
    )

    assert disabled.json()["status"] == "disabled"
    assert (await client.get("/v1/me", headers=bearer(target["access_token"]))).status_code == 401
    assert (
        await client.post("/v1/sessions/refresh", json={"refresh_token": target["refresh_token"]})
    ).status_code == 401
    login_attempt = await client.post(
        "/v1/sessions", json={"email": target["email"], "password": PASSWORD}
    )
    assert login_attempt.status_code == 401
    assert login_attempt.json()["code"] == "invalid_credentials"
    enabled = await client.post(
        f"/v1/admin/users/{target['id']}/enable", headers=bearer(people["admin"]["access_token"])
    )
    assert enabled.json()["status"] == "active"
    await login(client, target["email"])


async def test_admins_cannot_lock_themselves_out(
    client: httpx.AsyncClient, people: dict[str, Any]
) -> None:
    admin = people["admin"]

    demote = await client.delete(
        f"/v1/admin/users/{admin['id']}/roles/admin", headers=bearer(admin["access_token"])
    )
    disable = await client.post(
        f"/v1/admin/users/{admin['id']}/disable", headers=bearer(admin["access_token"])
    )

    assert (demote.status_code, disable.status_code) == (409, 409)
    assert demote.json()["code"] == disable.json()["code"] == "self_lockout"


async def test_users_can_delete_their_own_account(
    client: httpx.AsyncClient, app: FastAPI, people: dict[str, Any]
) -> None:
    target = people["target"]
    headers = bearer(target["access_token"])

    wrong = await client.request(
        "DELETE", "/v1/me", json={"password": "not the right password"}, headers=headers
    )
    deleted = await client.request("DELETE", "/v1/me", json={"password": PASSWORD}, headers=headers)

    assert wrong.status_code == 401
    assert deleted.status_code == 204
    assert (await client.get("/v1/me", headers=headers)).status_code == 401
    assert (
        await client.post("/v1/sessions", json={"email": target["email"], "password": PASSWORD})
    ).status_code == 401
    assert await outbox_events(app, "roadbed.auth.user.deleted.v1") == [{"user_id": target["id"]}]
