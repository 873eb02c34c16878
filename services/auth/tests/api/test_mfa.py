"""Two-factor sign-in: enrolment, one-time codes, recovery codes, and no bypass through a reset."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pyotp
from fastapi import FastAPI

from .conftest import (
    PASSWORD,
    audit_actions,
    bearer,
    login,
    outbox_events,
    register_and_verify,
)


async def _enrolled(client: httpx.AsyncClient, app: FastAPI) -> dict[str, Any]:
    email = f"mfa-{uuid.uuid4().hex[:8]}@example.com"
    await register_and_verify(client, app, email)
    headers = bearer((await login(client, email))["access_token"])
    started = await client.post("/v1/me/mfa/totp", json={"password": PASSWORD}, headers=headers)
    assert started.status_code == 201
    totp = pyotp.TOTP(started.json()["secret"])
    confirmed = await client.post(
        "/v1/me/mfa/totp/confirm", json={"code": totp.now()}, headers=headers
    )
    assert confirmed.status_code == 200
    return {
        "email": email,
        "totp": totp,
        "recovery": confirmed.json()["recovery_codes"],
        "headers": headers,
        "uri": started.json()["otpauth_uri"],
    }


async def _challenge(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    response = await client.post("/v1/sessions", json={"email": email, "password": password})
    assert response.status_code == 401
    body = response.json()
    assert (body["code"], body["methods"]) == ("mfa_required", ["totp", "recovery_code"])
    token: str = body["mfa_token"]
    return token


def _next_code(totp: pyotp.TOTP) -> str:
    # The code of the next 30-second step: still inside the ±1 window, and newer than any used.
    return totp.at(time.time() + 30)


async def test_enrolment_gives_a_provisioning_uri_and_ten_single_use_recovery_codes(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    enrolled = await _enrolled(client, app)

    assert enrolled["uri"].startswith("otpauth://totp/Roadbed:mfa-")
    assert len(enrolled["recovery"]) == 10
    assert len(set(enrolled["recovery"])) == 10
    me = await client.get("/v1/me", headers=enrolled["headers"])
    assert me.json()["mfa_enabled"] is True


async def test_sign_in_needs_the_second_factor_and_a_code_works_once(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    enrolled = await _enrolled(client, app)
    code = _next_code(enrolled["totp"])

    first = await client.post(
        "/v1/sessions/mfa",
        json={"mfa_token": await _challenge(client, enrolled["email"]), "code": code},
    )
    replay = await client.post(
        "/v1/sessions/mfa",
        json={"mfa_token": await _challenge(client, enrolled["email"]), "code": code},
    )

    assert first.status_code == 201
    tokens = first.json()
    me = await client.get("/v1/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200
    assert replay.status_code == 401
    assert replay.json()["code"] == "invalid_mfa_code"


async def test_a_challenge_is_single_use(client: httpx.AsyncClient, app: FastAPI) -> None:
    enrolled = await _enrolled(client, app)
    challenge = await _challenge(client, enrolled["email"])
    recovery = enrolled["recovery"]

    first = await client.post(
        "/v1/sessions/mfa", json={"mfa_token": challenge, "recovery_code": recovery[0]}
    )
    second = await client.post(
        "/v1/sessions/mfa", json={"mfa_token": challenge, "recovery_code": recovery[1]}
    )

    assert first.status_code == 201
    assert second.status_code == 401
    assert second.json()["code"] == "invalid_mfa_challenge"


async def test_recovery_codes_work_once_each(client: httpx.AsyncClient, app: FastAPI) -> None:
    enrolled = await _enrolled(client, app)
    code = enrolled["recovery"][3]

    first = await client.post(
        "/v1/sessions/mfa",
        json={
            "mfa_token": await _challenge(client, enrolled["email"]),
            "recovery_code": code.lower(),
        },
    )
    again = await client.post(
        "/v1/sessions/mfa",
        json={"mfa_token": await _challenge(client, enrolled["email"]), "recovery_code": code},
    )

    assert first.status_code == 201
    assert again.status_code == 401


async def test_exactly_one_factor_must_be_given(client: httpx.AsyncClient, app: FastAPI) -> None:
    enrolled = await _enrolled(client, app)
    challenge = await _challenge(client, enrolled["email"])

    neither = await client.post("/v1/sessions/mfa", json={"mfa_token": challenge})
    both = await client.post(
        "/v1/sessions/mfa",
        json={"mfa_token": challenge, "code": "123456", "recovery_code": enrolled["recovery"][0]},
    )

    assert (neither.status_code, both.status_code) == (400, 400)
    assert neither.json()["code"] == "missing_second_factor"


async def test_guessing_codes_is_throttled(client: httpx.AsyncClient, app: FastAPI) -> None:
    enrolled = await _enrolled(client, app)
    challenge = await _challenge(client, enrolled["email"])
    right = _next_code(enrolled["totp"])
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(5):
        failed = await client.post("/v1/sessions/mfa", json={"mfa_token": challenge, "code": wrong})
        assert failed.status_code == 401

    locked = await client.post("/v1/sessions/mfa", json={"mfa_token": challenge, "code": right})

    assert locked.status_code == 429
    # The lockout is 60 s from the fifth failure; the wall clock may have ticked since.
    assert int(locked.headers["retry-after"]) in (59, 60)


async def test_a_wrong_second_factor_is_audited(client: httpx.AsyncClient, app: FastAPI) -> None:
    enrolled = await _enrolled(client, app)
    challenge = await _challenge(client, enrolled["email"])
    right = _next_code(enrolled["totp"])
    wrong = "000000" if right != "000000" else "111111"

    failed = await client.post("/v1/sessions/mfa", json={"mfa_token": challenge, "code": wrong})

    assert failed.status_code == 401
    # The failure's entry commits although the verifying transaction rolled back.
    assert await audit_actions(app, "mfa.failed") == 1


async def test_a_password_reset_does_not_bypass_the_second_factor(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    enrolled = await _enrolled(client, app)
    await client.post("/v1/password-resets", json={"email": enrolled["email"]})
    [reset] = [
        e
        for e in await outbox_events(app, "roadbed.auth.password_reset.requested.v1")
        if e["email"] == enrolled["email"]
    ]

    confirmed = await client.post(
        "/v1/password-resets/confirm",
        json={"token": reset["token"], "new_password": "a brand new passphrase"},
    )

    assert confirmed.status_code == 204
    await _challenge(
        client, enrolled["email"], "a brand new passphrase"
    )  # still asks for the second factor


async def test_turning_mfa_off_needs_the_password(client: httpx.AsyncClient, app: FastAPI) -> None:
    enrolled = await _enrolled(client, app)

    wrong = await client.request(
        "DELETE", "/v1/me/mfa", json={"password": "not the password"}, headers=enrolled["headers"]
    )
    off = await client.request(
        "DELETE", "/v1/me/mfa", json={"password": PASSWORD}, headers=enrolled["headers"]
    )

    assert wrong.status_code == 401
    assert off.status_code == 204
    await login(client, enrolled["email"])  # one step again


async def test_mfa_endpoints_need_a_token(client: httpx.AsyncClient) -> None:
    for method, path in [
        ("POST", "/v1/me/mfa/totp"),
        ("POST", "/v1/me/mfa/totp/confirm"),
        ("POST", "/v1/me/mfa/recovery-codes"),
        ("DELETE", "/v1/me/mfa"),
    ]:
        response = await client.request(method, path, json={})
        assert response.status_code == 401, path
