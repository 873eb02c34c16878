"""RP-initiated logout: id_token_hint, exact post_logout_redirect_uri, confirmation with CSRF."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from roadbed_auth.oauth.browser import SESSION_COOKIE

from .conftest import (
    CALLBACK,
    Account,
    authorize_in_browser,
    authorize_url,
    create_account,
    forms,
    new_verifier,
    query_of,
    register_client,
)

SIGNED_OUT = "https://app.example.com/signed-out"
LOGOUT = "/auth/oauth/logout"


@pytest.fixture
async def account(app: FastAPI) -> Account:
    return await create_account(app)


@pytest.fixture
async def client(http: httpx.AsyncClient, app: FastAPI) -> dict[str, Any]:
    return await register_client(http, app, first_party=True)


async def signed_in_tokens(
    http: httpx.AsyncClient, client: dict[str, Any], account: Account, **overrides: str
) -> dict[str, Any]:
    """Sign in through the pages and redeem the code: the client's tokens."""
    verifier = new_verifier()
    location = await authorize_in_browser(
        http, authorize_url(client["client_id"], verifier, **overrides), account
    )
    response = await http.post(
        "/auth/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": query_of(location)["code"],
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
            "client_id": client["client_id"],
        },
    )
    tokens: dict[str, Any] = response.json()
    return tokens


async def still_signed_in(http: httpx.AsyncClient, client: dict[str, Any]) -> bool:
    response = await http.get(authorize_url(client["client_id"], new_verifier(), prompt="none"))
    return "code" in query_of(response.headers["location"])


async def test_logout_with_an_id_token_hint_signs_out_and_returns_with_state(
    http: httpx.AsyncClient, client: dict[str, Any], account: Account
) -> None:
    tokens = await signed_in_tokens(http, client, account)

    response = await http.get(
        LOGOUT,
        params={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": SIGNED_OUT,
            "state": "bye-1",
        },
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"{SIGNED_OUT}?state=bye-1"
    cleared = [h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)]
    assert len(cleared) == 1
    assert "Max-Age=0" in cleared[0]
    assert await still_signed_in(http, client) is False
    refresh = await http.post(
        "/auth/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": client["client_id"],
        },
    )
    assert refresh.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        (
            {"client_id": "{client}", "post_logout_redirect_uri": "https://evil.example/"},
            "The post_logout_redirect_uri is not registered for this application.",
        ),
        (
            {"post_logout_redirect_uri": SIGNED_OUT},
            "A post_logout_redirect_uri needs an id_token_hint or a client_id.",
        ),
        ({"id_token_hint": "not.a.token"}, "The id_token_hint is not a valid ID token."),
        ({"id_token_hint": "{access_token}"}, "The id_token_hint is not a valid ID token."),
        ({"client_id": "rbc_unknown"}, "This application is unknown or has been disabled."),
        (
            {"id_token_hint": "{id_token}", "client_id": "roadbed-shop"},
            "The client_id does not match the id_token_hint.",
        ),
    ],
)
async def test_a_logout_request_that_cannot_be_trusted_gets_an_error_page(
    http: httpx.AsyncClient,
    client: dict[str, Any],
    account: Account,
    parameters: dict[str, str],
    message: str,
) -> None:
    tokens = await signed_in_tokens(http, client, account)
    values = {
        name: value.format(
            client=client["client_id"],
            access_token=tokens["access_token"],
            id_token=tokens["id_token"],
        )
        for name, value in parameters.items()
    }

    response = await http.get(LOGOUT, params=values)

    assert response.status_code == 400
    assert message in response.text
    assert await still_signed_in(http, client) is True


async def test_without_a_hint_the_user_confirms_on_a_csrf_protected_page(
    http: httpx.AsyncClient, client: dict[str, Any], account: Account
) -> None:
    await signed_in_tokens(http, client, account)

    page = await http.get(
        LOGOUT, params={"client_id": client["client_id"], "post_logout_redirect_uri": SIGNED_OUT}
    )
    fields = forms(page.text).fields
    forged = await http.post(LOGOUT, data={**fields, "csrf_token": "0" * 64})
    signed_in_after_forgery = await still_signed_in(http, client)
    confirmed = await http.post(LOGOUT, data=fields)

    assert page.status_code == 200
    assert "Sign out of Roadbed?" in page.text
    assert set(fields) == {"csrf_token", "logout_request"}
    assert forged.status_code == 403
    assert signed_in_after_forgery is True
    assert confirmed.status_code == 303
    assert confirmed.headers["location"] == SIGNED_OUT
    assert await still_signed_in(http, client) is False


async def test_a_hint_for_another_user_still_asks_for_confirmation(
    http: httpx.AsyncClient, app: FastAPI, client: dict[str, Any], account: Account
) -> None:
    someone_else = await create_account(app)
    their_tokens = await signed_in_tokens(http, client, someone_else)
    # The same browser signs in again, now as `account`.
    await signed_in_tokens(http, client, account, prompt="login")

    page = await http.get(LOGOUT, params={"id_token_hint": their_tokens["id_token"]})

    assert page.status_code == 200
    assert account.email in page.text
    assert await still_signed_in(http, client) is True


async def test_logout_when_not_signed_in_shows_the_signed_out_page(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get(LOGOUT)

    assert response.status_code == 200
    assert "You are signed out" in response.text


async def test_logout_parameters_may_be_posted(
    http: httpx.AsyncClient, client: dict[str, Any], account: Account
) -> None:
    tokens = await signed_in_tokens(http, client, account)

    response = await http.post(
        LOGOUT, data={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": SIGNED_OUT}
    )

    assert response.status_code == 303
    assert response.headers["location"] == SIGNED_OUT
