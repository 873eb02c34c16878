"""Every way an authorization request fails: shown to the user while the client or its redirect
URI is unverified (no open redirect), sent back to the client with ``state`` and ``iss`` after."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from .conftest import (
    CALLBACK,
    ISSUER,
    admin_headers,
    authorize_in_browser,
    authorize_url,
    create_account,
    new_verifier,
    query_of,
    register_client,
)


@pytest.fixture
async def client(http: httpx.AsyncClient, app: FastAPI) -> dict[str, Any]:
    return await register_client(http, app)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"client_id": None}, "The request does not name a client (client_id)."),
        ({"client_id": "rbc_unknown"}, "This application is unknown or has been disabled."),
        ({"redirect_uri": None}, "The request has no redirect_uri."),
        (
            {"redirect_uri": "https://evil.example.com/callback"},
            "The redirect_uri is not registered for this application.",
        ),
        (
            {"redirect_uri": CALLBACK + "/"},
            "The redirect_uri is not registered for this application.",
        ),
        (
            {"redirect_uri": CALLBACK + "?next=x"},
            "The redirect_uri is not registered for this application.",
        ),
    ],
)
async def test_an_unverified_client_or_redirect_uri_gets_an_error_page_not_a_redirect(
    http: httpx.AsyncClient, client: dict[str, Any], overrides: dict[str, str | None], message: str
) -> None:
    response = await http.get(authorize_url(client["client_id"], new_verifier(), **overrides))

    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert message in response.text
    assert response.headers["x-frame-options"] == "DENY"


async def test_a_disabled_client_gets_the_error_page(
    http: httpx.AsyncClient, app: FastAPI, client: dict[str, Any]
) -> None:
    disabled = await http.delete(
        f"/auth/v1/clients/{client['client_id']}", headers=await admin_headers(http, app)
    )
    response = await http.get(authorize_url(client["client_id"], new_verifier()))

    assert disabled.status_code == 204
    assert response.status_code == 400
    assert "This application is unknown or has been disabled." in response.text


async def test_a_repeated_redirect_uri_is_refused_on_the_page(
    http: httpx.AsyncClient, client: dict[str, Any]
) -> None:
    url = authorize_url(client["client_id"], new_verifier()) + "&redirect_uri=" + CALLBACK

    response = await http.get(url)

    assert response.status_code == 400
    assert "The request repeats client_id or redirect_uri." in response.text


VERIFIER = new_verifier()


@pytest.mark.parametrize(
    ("overrides", "error", "description"),
    [
        (
            {"code_challenge": None, "code_challenge_method": None},
            "invalid_request",
            "PKCE is required: send code_challenge with method S256",
        ),
        (
            {"code_challenge": VERIFIER, "code_challenge_method": "plain"},
            "invalid_request",
            "code_challenge_method must be S256 (plain is not allowed)",
        ),
        (
            {"code_challenge_method": None},
            "invalid_request",
            "code_challenge_method must be S256 (plain is not allowed)",
        ),
        (
            {"code_challenge": "too-short"},
            "invalid_request",
            "code_challenge is not an S256 challenge",
        ),
        (
            {"response_type": "token"},
            "unsupported_response_type",
            "only response_type=code is supported",
        ),
        (
            {"response_type": "code id_token"},
            "unsupported_response_type",
            "only response_type=code is supported",
        ),
        (
            {"response_type": None},
            "unsupported_response_type",
            "only response_type=code is supported",
        ),
        (
            {"scope": "openid admin:everything"},
            "invalid_scope",
            "a requested scope is not allowed for this client",
        ),
        ({"scope": None}, "invalid_scope", "the scope parameter is required"),
        ({"scope": 'openid "quoted"'}, "invalid_scope", "the scope parameter is malformed"),
        ({"prompt": "none login"}, "invalid_request", "prompt is not valid"),
        ({"max_age": "-1"}, "invalid_request", "max_age must be a non-negative integer"),
        ({"nonce": "n" * 256}, "invalid_request", "nonce is too long"),
        ({"response_mode": "fragment"}, "invalid_request", "only response_mode=query is supported"),
        (
            {"request": "eyJhbGciOiJub25lIn0.e30."},
            "request_not_supported",
            "request objects are not supported",
        ),
        (
            {"request_uri": "https://app.example.com/r/1"},
            "request_uri_not_supported",
            "request_uri is not supported",
        ),
        ({"prompt": "none"}, "login_required", "the user is not signed in"),
    ],
)
async def test_a_bad_request_from_a_known_client_is_sent_back_with_state_and_iss(
    http: httpx.AsyncClient,
    client: dict[str, Any],
    overrides: dict[str, str | None],
    error: str,
    description: str,
) -> None:
    response = await http.get(authorize_url(client["client_id"], VERIFIER, **overrides))

    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(CALLBACK + "?")
    assert query_of(location) == {
        "error": error,
        "error_description": description,
        "state": "state-123",
        "iss": ISSUER,
    }


async def test_a_repeated_parameter_is_invalid_request(
    http: httpx.AsyncClient, client: dict[str, Any]
) -> None:
    response = await http.get(authorize_url(client["client_id"], VERIFIER) + "&scope=openid")

    assert response.status_code == 302
    assert query_of(response.headers["location"])["error"] == "invalid_request"


async def test_a_client_without_the_code_grant_is_unauthorized_client(
    http: httpx.AsyncClient, app: FastAPI
) -> None:
    machine = await register_client(
        http,
        app,
        client_type="confidential",
        grant_types=["client_credentials"],
        scopes=["shop:orders"],
        audience="roadbed",
    )

    response = await http.get(authorize_url(machine["client_id"], VERIFIER, scope="shop:orders"))

    assert query_of(response.headers["location"])["error"] == "unauthorized_client"


async def test_the_user_denying_consent_is_access_denied(
    http: httpx.AsyncClient, app: FastAPI, client: dict[str, Any]
) -> None:
    account = await create_account(app)

    location = await authorize_in_browser(
        http, authorize_url(client["client_id"], VERIFIER), account, decision="deny"
    )

    assert query_of(location) == {
        "error": "access_denied",
        "error_description": "the user denied the request",
        "state": "state-123",
        "iss": ISSUER,
    }


async def test_prompt_none_without_consent_is_consent_required(
    http: httpx.AsyncClient, app: FastAPI, client: dict[str, Any]
) -> None:
    # Given a user signed in at the provider (through another client that needs no consent)
    account = await create_account(app)
    first_party = await register_client(http, app, first_party=True)
    await authorize_in_browser(http, authorize_url(first_party["client_id"], VERIFIER), account)

    # When a third-party client asks silently
    response = await http.get(authorize_url(client["client_id"], VERIFIER, prompt="none"))

    # Then it learns consent is needed, without a page
    assert query_of(response.headers["location"])["error"] == "consent_required"


async def test_an_existing_query_in_the_redirect_uri_is_kept(
    http: httpx.AsyncClient, app: FastAPI
) -> None:
    with_query = "https://app.example.com/callback?tenant=7"
    client = await register_client(http, app, redirect_uris=[with_query])

    response = await http.get(
        authorize_url(client["client_id"], VERIFIER, redirect_uri=with_query, response_type="token")
    )

    location = response.headers["location"]
    assert location.startswith(with_query + "&error=unsupported_response_type")
    assert query_of(location)["tenant"] == "7"
