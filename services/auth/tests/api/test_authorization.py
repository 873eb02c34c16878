"""The authorization matrix: every endpoint, anonymous / bad token / other user / owner."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI

from .conftest import PASSWORD, bearer, login, register_and_verify

PROTECTED = [
    ("GET", "/v1/me", None),
    (
        "POST",
        "/v1/me/password",
        {"current_password": PASSWORD, "new_password": "some other long phrase"},
    ),
    ("GET", "/v1/sessions", None),
    ("DELETE", "/v1/sessions", None),
    ("DELETE", "/v1/sessions/current", None),
    ("DELETE", f"/v1/sessions/{uuid.uuid4()}", None),
]
PUBLIC = [
    ("GET", "/.well-known/jwks.json", None, 200),
    (
        "POST",
        "/v1/accounts",
        {"email": "matrix@example.com", "password": PASSWORD, "display_name": "M"},
        202,
    ),
    ("POST", "/v1/password-resets", {"email": "matrix@example.com"}, 202),
]


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
async def test_anonymous_gets_401_with_a_bearer_challenge(
    client: httpx.AsyncClient, method: str, path: str, body: object
) -> None:
    response = await client.request(method, path, json=body)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["code"] == "missing_token"


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
async def test_a_forged_token_gets_401(
    client: httpx.AsyncClient, method: str, path: str, body: object
) -> None:
    forged = "eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJ4In0."

    response = await client.request(method, path, json=body, headers=bearer(forged))

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


@pytest.mark.parametrize(("method", "path", "body", "status"), PUBLIC)
async def test_public_endpoints_need_no_token(
    client: httpx.AsyncClient, method: str, path: str, body: object, status: int
) -> None:
    response = await client.request(method, path, json=body)

    assert response.status_code == status


async def test_me_is_always_the_callers_own_account(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    first, second = f"a-{uuid.uuid4().hex[:6]}@example.com", f"b-{uuid.uuid4().hex[:6]}@example.com"
    await register_and_verify(client, app, first)
    await register_and_verify(client, app, second)

    first_me = await client.get(
        "/v1/me", headers=bearer((await login(client, first))["access_token"])
    )
    second_me = await client.get(
        "/v1/me", headers=bearer((await login(client, second))["access_token"])
    )

    assert (first_me.json()["email"], second_me.json()["email"]) == (first, second)
