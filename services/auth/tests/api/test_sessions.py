"""Login, token contents, throttling, refresh rotation, logout and the sessions API."""

from __future__ import annotations

import uuid

import httpx
import jwt
from fastapi import FastAPI

from roadbed_core.tokens.jwks import JwksClient
from roadbed_core.tokens.revocation import RevocationList
from roadbed_core.tokens.verifier import TokenVerifier

from .conftest import PASSWORD, audit_actions, bearer, login, register_and_verify


def _email() -> str:
    return f"grace-{uuid.uuid4().hex[:8]}@example.com"


async def test_login_returns_rfc9068_tokens_other_services_can_verify(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    email = _email()
    await register_and_verify(client, app, email)

    tokens = await login(client, email)
    jwks = (await client.get("/.well-known/jwks.json")).json()

    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 600
    header = jwt.get_unverified_header(tokens["access_token"])
    assert (header["typ"], header["alg"]) == ("at+jwt", "RS256")
    assert header["kid"] in {key["kid"] for key in jwks["keys"]}
    # Verified the way shop, blog and tasks will: from the published JWKS only.
    verifier = TokenVerifier(
        JwksClient.from_jwks(jwks),
        issuer="http://127.0.0.1:8000/auth",
        audience="roadbed",
        revocation=RevocationList(async_cache=app.state.resources.cache),
    )
    claims = await verifier.averify(tokens["access_token"])
    me = (await client.get("/v1/me", headers=bearer(tokens["access_token"]))).json()
    assert claims.sub == me["id"]
    assert claims.roles == frozenset({"author", "customer"})
    assert claims.client_id == "roadbed"
    assert claims.aud == ("roadbed",)
    assert claims.raw["sid"] == tokens["session_id"]


async def test_jwks_is_public_keys_only_and_cacheable(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/jwks.json")
    again = await client.get(
        "/.well-known/jwks.json", headers={"If-None-Match": response.headers["etag"]}
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/jwk-set+json"
    assert response.headers["cache-control"] == "public, max-age=30"
    assert sorted((key["kty"], key["alg"]) for key in response.json()["keys"]) == [
        ("EC", "ES256"),
        ("RSA", "RS256"),
    ]
    for key in response.json()["keys"]:
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)
    assert again.status_code == 304


async def test_unknown_address_and_wrong_password_fail_identically(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    email = _email()
    await register_and_verify(client, app, email)

    wrong = await client.post(
        "/v1/sessions", json={"email": email, "password": "not the password at all"}
    )
    unknown = await client.post(
        "/v1/sessions", json={"email": _email(), "password": "not the password at all"}
    )

    assert wrong.status_code == unknown.status_code == 401
    assert (
        wrong.json()
        == unknown.json()
        == {
            "type": "urn:roadbed:problem:invalid_credentials",
            "title": "Invalid email or password",
            "status": 401,
            "code": "invalid_credentials",
        }
    )


async def test_repeated_failures_lock_the_account_with_retry_after(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    email = _email()
    await register_and_verify(client, app, email)
    for _ in range(5):
        failed = await client.post(
            "/v1/sessions", json={"email": email, "password": "wrong wrong wrong"}
        )
        assert failed.status_code == 401

    locked = await client.post("/v1/sessions", json={"email": email, "password": PASSWORD})

    assert locked.status_code == 429
    # The lockout is 60 s from the fifth failure; the wall clock may have ticked since.
    assert int(locked.headers["retry-after"]) in (59, 60)
    assert locked.json()["code"] == "too_many_attempts"
    assert await audit_actions(app, "account.locked") == 1  # the fifth failure started it


async def test_refresh_rotates_and_reuse_revokes_the_session(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    email = _email()
    await register_and_verify(client, app, email)
    first = await login(client, email)

    rotated = await client.post(
        "/v1/sessions/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["session_id"] == first["session_id"]

    reused = await client.post(
        "/v1/sessions/refresh", json={"refresh_token": first["refresh_token"]}
    )
    after = await client.post(
        "/v1/sessions/refresh", json={"refresh_token": second["refresh_token"]}
    )

    assert reused.status_code == 401
    assert reused.json()["code"] == "invalid_grant"
    assert after.status_code == 401  # the whole family died with the reuse


async def test_logout_ends_the_session_and_its_access_token(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    email = _email()
    await register_and_verify(client, app, email)
    tokens = await login(client, email)

    out = await client.delete("/v1/sessions/current", headers=bearer(tokens["access_token"]))
    me = await client.get("/v1/me", headers=bearer(tokens["access_token"]))
    refreshed = await client.post(
        "/v1/sessions/refresh", json={"refresh_token": tokens["refresh_token"]}
    )

    assert out.status_code == 204
    assert me.status_code == 401
    assert me.json()["code"] == "invalid_token"
    assert refreshed.status_code == 401


async def test_sessions_are_listed_and_ended_by_their_owner_only(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    owner, other = _email(), _email()
    await register_and_verify(client, app, owner)
    await register_and_verify(client, app, other)
    here = await login(client, owner)
    there = await login(client, owner)
    stranger = await login(client, other)

    listed = await client.get("/v1/sessions", headers=bearer(here["access_token"]))
    by_stranger = await client.delete(
        f"/v1/sessions/{there['session_id']}", headers=bearer(stranger["access_token"])
    )
    by_owner = await client.delete(
        f"/v1/sessions/{there['session_id']}", headers=bearer(here["access_token"])
    )

    assert listed.status_code == 200
    assert {(s["id"], s["current"]) for s in listed.json()} == {
        (here["session_id"], True),
        (there["session_id"], False),
    }
    assert by_stranger.status_code == 404
    assert by_owner.status_code == 204
    remaining = await client.get("/v1/sessions", headers=bearer(here["access_token"]))
    assert [s["id"] for s in remaining.json()] == [here["session_id"]]


async def test_logout_everywhere_revokes_every_token_of_the_user(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    email = _email()
    await register_and_verify(client, app, email)
    one, two = await login(client, email), await login(client, email)

    out = await client.delete("/v1/sessions", headers=bearer(one["access_token"]))

    assert out.status_code == 204
    for tokens in (one, two):
        assert (
            await client.get("/v1/me", headers=bearer(tokens["access_token"]))
        ).status_code == 401
        assert (
            await client.post(
                "/v1/sessions/refresh", json={"refresh_token": tokens["refresh_token"]}
            )
        ).status_code == 401
    fresh = await login(client, email)  # a new login right away is not caught by the revocation
    assert (await client.get("/v1/me", headers=bearer(fresh["access_token"]))).status_code == 200
