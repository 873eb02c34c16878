"""Registration, verification, password change and reset over HTTP."""

from __future__ import annotations

import uuid

import httpx
from fastapi import FastAPI

from .conftest import PASSWORD, audit_actions, bearer, login, outbox_events, register_and_verify

NEW_PASSWORD = "an entirely different passphrase"
ACCEPTED = {
    "status": "accepted",
    "detail": "If this address can be registered, a verification link is on its way to it.",
}


def _email() -> str:
    return f"ada-{uuid.uuid4().hex[:8]}@example.com"


async def test_registration_mails_a_verification_link_that_works_once(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    email = _email()

    response = await client.post(
        "/v1/accounts", json={"email": email.upper(), "password": PASSWORD, "display_name": " Ada "}
    )

    assert response.status_code == 202
    assert response.json() == ACCEPTED
    [registered] = await outbox_events(app, "roadbed.auth.user.registered.v1")
    assert registered["email"] == email
    assert registered["display_name"] == "Ada"
    assert registered["roles"] == ["customer", "author"]
    [requested] = await outbox_events(app, "roadbed.auth.email_verification.requested.v1")
    assert (
        requested["verify_url"]
        == f"http://127.0.0.1:8000/auth/verify-email?token={requested['token']}"
    )

    first = await client.post("/v1/accounts/verify-email", json={"token": requested["token"]})
    second = await client.post("/v1/accounts/verify-email", json={"token": requested["token"]})

    assert first.status_code == 204
    assert second.status_code == 400
    assert second.json()["code"] == "invalid_token"
    tokens = await login(client, email)
    me = await client.get("/v1/me", headers=bearer(tokens["access_token"]))
    assert me.json()["email_verified"] is True


async def test_registering_a_taken_address_answers_the_same_and_tells_its_owner(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    email = _email()
    await client.post(
        "/v1/accounts", json={"email": email, "password": PASSWORD, "display_name": "Ada"}
    )

    again = await client.post(
        "/v1/accounts",
        json={"email": email, "password": "another long passphrase", "display_name": "Eve"},
    )

    assert again.status_code == 202
    assert again.json() == ACCEPTED
    assert len(await outbox_events(app, "roadbed.auth.user.registered.v1")) == 1
    [duplicate] = await outbox_events(app, "roadbed.auth.registration.duplicate_attempted.v1")
    assert duplicate["email"] == email
    assert duplicate["display_name"] == "Ada"


async def test_a_weak_password_lists_every_violation(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/accounts", json={"email": _email(), "password": "passw0r", "display_name": "Ada"}
    )

    assert response.status_code == 422
    body = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert body["code"] == "weak_password"
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("password", "too_short")]


async def test_a_common_password_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/accounts", json={"email": _email(), "password": "password123", "display_name": "Ada"}
    )

    assert response.status_code == 422
    assert [e["code"] for e in response.json()["errors"]] == ["common_password"]


async def test_malformed_input_is_a_422_problem(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/accounts", json={"email": "not-an-email", "password": "x" * 5000, "display_name": ""}
    )

    assert response.status_code == 422
    fields = sorted(error["field"] for error in response.json()["errors"])
    assert fields == ["display_name", "email", "password"]


async def test_change_password_needs_the_current_one_and_ends_other_sessions(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    email = _email()
    await register_and_verify(client, app, email)
    here = await login(client, email)
    elsewhere = await login(client, email)

    wrong = await client.post(
        "/v1/me/password",
        headers=bearer(here["access_token"]),
        json={"current_password": "not my password at all", "new_password": NEW_PASSWORD},
    )
    changed = await client.post(
        "/v1/me/password",
        headers=bearer(here["access_token"]),
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )

    assert wrong.status_code == 401
    assert wrong.json()["code"] == "invalid_credentials"
    assert await audit_actions(app, "password.change.refused") == 1  # committed despite the 401
    assert changed.status_code == 204
    refreshed_elsewhere = await client.post(
        "/v1/sessions/refresh", json={"refresh_token": elsewhere["refresh_token"]}
    )
    refreshed_here = await client.post(
        "/v1/sessions/refresh", json={"refresh_token": here["refresh_token"]}
    )
    assert refreshed_elsewhere.status_code == 401
    assert refreshed_here.status_code == 200
    old = await client.post("/v1/sessions", json={"email": email, "password": PASSWORD})
    assert old.status_code == 401
    await login(client, email, NEW_PASSWORD)


async def test_guessing_the_current_password_is_throttled_like_sign_in(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    # Given an access token in the wrong hands, and five wrong guesses at the password
    email = _email()
    await register_and_verify(client, app, email)
    token = (await login(client, email))["access_token"]
    for _ in range(5):
        wrong = await client.post(
            "/v1/me/password",
            headers=bearer(token),
            json={"current_password": "a wrong guess at it", "new_password": NEW_PASSWORD},
        )
        assert wrong.status_code == 401

    # When the next guess comes (even the right password)
    locked = await client.post(
        "/v1/me/password",
        headers=bearer(token),
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )

    # Then it is locked out, on the same count as sign-in
    assert locked.status_code == 429, locked.text
    assert locked.json()["code"] == "too_many_attempts"
    signed_in = await client.post("/v1/sessions", json={"email": email, "password": NEW_PASSWORD})
    assert signed_in.status_code == 429


async def test_password_reset_answers_alike_for_unknown_addresses_and_ends_every_session(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    email = _email()
    await register_and_verify(client, app, email)
    session = await login(client, email)

    unknown = await client.post("/v1/password-resets", json={"email": _email()})
    known = await client.post("/v1/password-resets", json={"email": email})

    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json()
    [reset] = await outbox_events(app, "roadbed.auth.password_reset.requested.v1")
    assert reset["email"] == email
    confirmed = await client.post(
        "/v1/password-resets/confirm", json={"token": reset["token"], "new_password": NEW_PASSWORD}
    )
    reused = await client.post(
        "/v1/password-resets/confirm", json={"token": reset["token"], "new_password": NEW_PASSWORD}
    )
    assert confirmed.status_code == 204
    assert reused.status_code == 400
    # Every session ended, and the access token already handed out is refused everywhere.
    me = await client.get("/v1/me", headers=bearer(session["access_token"]))
    assert me.status_code == 401
    assert me.json()["code"] == "invalid_token"
    refreshed = await client.post(
        "/v1/sessions/refresh", json={"refresh_token": session["refresh_token"]}
    )
    assert refreshed.status_code == 401
    await login(client, email, NEW_PASSWORD)
