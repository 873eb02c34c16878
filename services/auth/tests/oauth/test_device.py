"""The device authorization grant (RFC 8628): a device polls while the user approves in a browser."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI

from roadbed_auth.oauth.device import normalise_user_code

from .conftest import ISSUER, ORIGIN, Account, create_account, forms, register_client, sign_in

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
TOKEN = "/auth/oauth/token"


class Clock:
    """The provider's clock, moved by the test (no sleeping)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(app: FastAPI) -> Clock:
    clock = Clock()
    app.state.oauth = dataclasses.replace(app.state.oauth, clock=clock)
    return clock


@pytest.fixture
async def account(app: FastAPI) -> Account:
    return await create_account(app, display_name="Lin")


@pytest.fixture
async def tv(http: httpx.AsyncClient, app: FastAPI) -> dict[str, Any]:
    return await register_client(
        http,
        app,
        name="Living-room TV",
        redirect_uris=[],
        post_logout_redirect_uris=[],
        grant_types=[DEVICE_GRANT, "refresh_token"],
    )


async def start(http: httpx.AsyncClient, client: dict[str, Any], scope: str) -> dict[str, Any]:
    response = await http.post(
        "/auth/oauth/device_authorization", data={"client_id": client["client_id"], "scope": scope}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def poll(http: httpx.AsyncClient, client: dict[str, Any], device_code: str) -> httpx.Response:
    return await http.post(
        TOKEN,
        data={
            "grant_type": DEVICE_GRANT,
            "device_code": device_code,
            "client_id": client["client_id"],
        },
    )


async def answer_in_browser(
    http: httpx.AsyncClient, account: Account, verification_uri_complete: str, decision: str
) -> httpx.Response:
    """Open the link the device shows, sign in, and allow or deny."""
    opened = await http.get(verification_uri_complete.removeprefix(ORIGIN))
    assert opened.status_code == 303
    signed_in = await sign_in(http, opened.headers["location"], account)
    page = await http.get(signed_in.headers["location"])
    assert page.status_code == 200, page.text
    fields = forms(page.text).fields
    return await http.post("/auth/device", data={**fields, "decision": decision})


async def test_a_device_gets_its_tokens_once_the_user_approves(
    http: httpx.AsyncClient, tv: dict[str, Any], account: Account, clock: Clock
) -> None:
    # Given a device authorization
    grant = await start(http, tv, "openid email offline_access")

    # When the device polls before and while the user answers
    pending = await poll(http, tv, grant["device_code"])
    too_fast = await poll(http, tv, grant["device_code"])
    approved = await answer_in_browser(http, account, grant["verification_uri_complete"], "allow")
    clock.advance(grant["interval"] + 5)  # slow_down added five seconds
    tokens = await poll(http, tv, grant["device_code"])
    again = await poll(http, tv, grant["device_code"])

    # Then the device learns to wait, to slow down, and finally gets its tokens, once
    assert re.fullmatch(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", grant["user_code"])
    assert grant["verification_uri"] == f"{ISSUER}/device"
    assert grant["verification_uri_complete"] == (f"{ISSUER}/device?user_code={grant['user_code']}")
    assert (grant["expires_in"], grant["interval"]) == (600, 5)
    assert pending.status_code == 400
    assert pending.json()["error"] == "authorization_pending"
    assert too_fast.json() == {
        "error": "slow_down",
        "error_description": "poll at most every 10 seconds",
    }
    assert approved.status_code == 200
    assert "Device connected" in approved.text
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert set(body) == {
        "access_token",
        "token_type",
        "expires_in",
        "scope",
        "refresh_token",
        "id_token",
    }
    id_token = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert (id_token["sub"], id_token["aud"], id_token["email"]) == (
        str(account.id),
        tv["client_id"],
        account.email,
    )
    assert "nonce" not in id_token
    assert again.json() == {
        "error": "invalid_grant",
        "error_description": "device code was already used",
    }


async def test_a_denied_device_is_told_so(
    http: httpx.AsyncClient, tv: dict[str, Any], account: Account
) -> None:
    grant = await start(http, tv, "openid")

    denied = await answer_in_browser(http, account, grant["verification_uri_complete"], "deny")
    response = await poll(http, tv, grant["device_code"])

    assert "Request denied" in denied.text
    assert response.json() == {
        "error": "access_denied",
        "error_description": "the user denied the request",
    }


async def test_an_expired_device_code_is_expired_token_and_cannot_be_approved(
    http: httpx.AsyncClient, tv: dict[str, Any], account: Account, clock: Clock
) -> None:
    grant = await start(http, tv, "openid")
    clock.advance(600)

    response = await poll(http, tv, grant["device_code"])
    opened = await http.get(grant["verification_uri_complete"].removeprefix(ORIGIN))
    signed_in = await sign_in(http, opened.headers["location"], account)
    page = await http.get(signed_in.headers["location"])

    assert response.json()["error"] == "expired_token"
    assert page.status_code == 400
    assert "That code is not valid or has expired." in page.text


async def test_typing_the_code_is_forgiving_but_a_wrong_code_is_refused(
    http: httpx.AsyncClient, tv: dict[str, Any], account: Account
) -> None:
    grant = await start(http, tv, "openid")
    opened = await http.get("/auth/device")
    await sign_in(http, opened.headers["location"], account)

    entry = await http.get("/auth/device")
    typed = await http.get(
        "/auth/device", params={"user_code": grant["user_code"].lower().replace("-", " ")}
    )
    wrong = await http.get("/auth/device", params={"user_code": "BBBB-BBBB"})

    assert opened.headers["location"] == "/auth/login?resume=%2Fdevice"
    assert entry.status_code == 200
    assert "Code shown on your device" in entry.text
    assert forms(entry.text).labels_for >= {"user_code"}
    assert typed.status_code == 200
    assert grant["user_code"] in typed.text
    assert "Living-room TV" in typed.text
    assert wrong.status_code == 400
    assert "That code is not valid or has expired." in wrong.text


async def test_guessing_user_codes_is_rate_limited(
    http: httpx.AsyncClient, account: Account
) -> None:
    opened = await http.get("/auth/device")
    await sign_in(http, opened.headers["location"], account)

    statuses = [
        (await http.get("/auth/device", params={"user_code": "BBBB-BBBB"})).status_code
        for _ in range(20)
    ]
    limited = await http.get("/auth/device", params={"user_code": "BBBB-BBBB"})

    assert statuses == [400] * 20
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0


async def test_an_approval_without_the_csrf_token_is_refused(
    http: httpx.AsyncClient, tv: dict[str, Any], account: Account
) -> None:
    grant = await start(http, tv, "openid")
    opened = await http.get(grant["verification_uri_complete"].removeprefix(ORIGIN))
    await sign_in(http, opened.headers["location"], account)

    forged = await http.post(
        "/auth/device", data={"user_code": grant["user_code"], "decision": "allow"}
    )
    response = await poll(http, tv, grant["device_code"])

    assert forged.status_code == 403
    assert response.json()["error"] == "authorization_pending"


async def test_a_client_without_the_device_grant_cannot_start_one(
    http: httpx.AsyncClient, app: FastAPI
) -> None:
    web = await register_client(http, app)

    response = await http.post(
        "/auth/oauth/device_authorization", data={"client_id": web["client_id"], "scope": "openid"}
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": "unauthorized_client",
        "error_description": "this client may not use the device authorization grant",
    }


@pytest.mark.parametrize(
    ("scope", "description"),
    [
        ("openid shop:everything", "a requested scope is not allowed for this client"),
        ("", "the scope parameter is required"),
    ],
)
async def test_a_device_asks_only_for_its_scopes(
    http: httpx.AsyncClient, tv: dict[str, Any], scope: str, description: str
) -> None:
    response = await http.post(
        "/auth/oauth/device_authorization", data={"client_id": tv["client_id"], "scope": scope}
    )

    assert response.json() == {"error": "invalid_scope", "error_description": description}


async def test_a_device_code_belongs_to_its_client(
    http: httpx.AsyncClient, app: FastAPI, tv: dict[str, Any]
) -> None:
    other = await register_client(
        http, app, redirect_uris=[], post_logout_redirect_uris=[], grant_types=[DEVICE_GRANT]
    )
    grant = await start(http, tv, "openid")

    response = await poll(http, other, grant["device_code"])

    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "device code is not valid",
    }


@pytest.mark.parametrize(
    ("typed", "letters"),
    [
        ("WDJB-MJHT", "WDJBMJHT"),
        ("wdjb mjht", "WDJBMJHT"),
        ("WDJBMJHT", "WDJBMJHT"),
        ("WDJB-MJH", None),
        ("WDJA-MJHT", None),  # "A" is not in the alphabet
        ("W" * 40, None),
    ],
)
def test_user_codes_are_normalised(typed: str, letters: str | None) -> None:
    assert normalise_user_code(typed) == letters
