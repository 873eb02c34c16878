"""Every way a token request fails, as RFC 6749 §5.2 error bodies (never problem+json)."""

from __future__ import annotations

import base64
import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from roadbed_auth.audit.models import AuditEntry

from .conftest import (
    CALLBACK,
    Account,
    authorize_in_browser,
    authorize_url,
    bearer,
    create_account,
    new_verifier,
    query_of,
    register_client,
)

TOKEN = "/auth/oauth/token"


@pytest.fixture
async def account(app: FastAPI) -> Account:
    return await create_account(app)


@pytest.fixture
async def public(http: httpx.AsyncClient, app: FastAPI) -> dict[str, Any]:
    return await register_client(http, app, first_party=True)


@pytest.fixture
async def confidential(http: httpx.AsyncClient, app: FastAPI) -> dict[str, Any]:
    return await register_client(http, app, client_type="confidential", first_party=True)


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


async def new_code(
    http: httpx.AsyncClient, client: dict[str, Any], account: Account, verifier: str
) -> str:
    location = await authorize_in_browser(
        http, authorize_url(client["client_id"], verifier), account
    )
    return query_of(location)["code"]


def code_form(client: dict[str, Any], code: str, verifier: str, **overrides: str) -> dict[str, str]:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "code_verifier": verifier,
        "client_id": client["client_id"],
    }
    form.update(overrides)
    return form


def assert_oauth_error(
    response: httpx.Response, error: str, description: str, status: int = 400
) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {"error": error, "error_description": description}


async def test_a_wrong_code_verifier_is_invalid_grant_and_leaves_the_code_usable(
    http: httpx.AsyncClient, public: dict[str, Any], account: Account
) -> None:
    verifier = new_verifier()
    code = await new_code(http, public, account, verifier)

    wrong = await http.post(TOKEN, data=code_form(public, code, new_verifier()))
    right = await http.post(TOKEN, data=code_form(public, code, verifier))

    assert_oauth_error(wrong, "invalid_grant", "code_verifier does not match the code_challenge")
    # Guessing a 256-bit verifier is hopeless; burning the code would only let an attacker
    # who saw it deny the real client its tokens.
    assert right.status_code == 200


async def test_a_missing_code_verifier_is_invalid_request(
    http: httpx.AsyncClient, public: dict[str, Any], account: Account
) -> None:
    code = await new_code(http, public, account, new_verifier())
    form = code_form(public, code, "")

    response = await http.post(TOKEN, data=form)

    assert_oauth_error(response, "invalid_request", "code_verifier is required (PKCE)")


async def test_a_reused_code_is_refused_and_revokes_the_tokens_issued_from_it(
    http: httpx.AsyncClient, app: FastAPI, public: dict[str, Any], account: Account
) -> None:
    # Given a code redeemed once, for an access token and a refresh token
    verifier = new_verifier()
    code = await new_code(http, public, account, verifier)
    first = await http.post(TOKEN, data=code_form(public, code, verifier))
    tokens = first.json()
    assert (
        await http.get("/auth/oauth/userinfo", headers=bearer(tokens["access_token"]))
    ).status_code == 200

    # When the same code comes back
    second = await http.post(TOKEN, data=code_form(public, code, verifier))

    # Then it is refused, and what the first redemption produced stops working
    assert_oauth_error(
        second, "invalid_grant", "authorization code was already used; its tokens are revoked"
    )
    userinfo = await http.get("/auth/oauth/userinfo", headers=bearer(tokens["access_token"]))
    assert userinfo.status_code == 401
    assert userinfo.json()["detail"] == "revoked"
    refresh = await http.post(
        TOKEN,
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": public["client_id"],
        },
    )
    assert_oauth_error(refresh, "invalid_grant", "refresh token is not valid")
    async with app.state.resources.sessions() as db:
        audited = (
            await db.execute(select(AuditEntry).where(AuditEntry.action == "oauth.code_reused"))
        ).scalar_one()
    assert (audited.subject_id, audited.details["client_id"]) == (account.id, public["client_id"])


async def test_an_expired_code_is_invalid_grant(
    http: httpx.AsyncClient, app: FastAPI, public: dict[str, Any], account: Account
) -> None:
    verifier = new_verifier()
    code = await new_code(http, public, account, verifier)
    oauth = app.state.oauth
    app.state.oauth = dataclasses.replace(
        oauth, clock=lambda: datetime.now(UTC) + oauth.code_ttl + timedelta(seconds=1)
    )

    response = await http.post(TOKEN, data=code_form(public, code, verifier))

    assert_oauth_error(response, "invalid_grant", "authorization code has expired")


async def test_the_redirect_uri_must_be_the_one_the_code_was_issued_for(
    http: httpx.AsyncClient, app: FastAPI, account: Account
) -> None:
    client = await register_client(
        http, app, redirect_uris=[CALLBACK, "https://app.example.com/other"], first_party=True
    )
    verifier = new_verifier()
    code = await new_code(http, client, account, verifier)

    response = await http.post(
        TOKEN, data=code_form(client, code, verifier, redirect_uri="https://app.example.com/other")
    )

    assert_oauth_error(
        response, "invalid_grant", "redirect_uri does not match the authorization request"
    )


async def test_a_code_is_bound_to_the_client_it_was_issued_to(
    http: httpx.AsyncClient, app: FastAPI, public: dict[str, Any], account: Account
) -> None:
    other = await register_client(http, app, first_party=True)
    verifier = new_verifier()
    code = await new_code(http, public, account, verifier)

    response = await http.post(TOKEN, data=code_form(other, code, verifier))

    assert_oauth_error(response, "invalid_grant", "authorization code is not valid")


async def test_an_unknown_code_is_invalid_grant(
    http: httpx.AsyncClient, public: dict[str, Any]
) -> None:
    response = await http.post(TOKEN, data=code_form(public, "not-a-code", new_verifier()))

    assert_oauth_error(response, "invalid_grant", "authorization code is not valid")


async def test_a_wrong_client_secret_is_invalid_client_with_a_basic_challenge(
    http: httpx.AsyncClient, confidential: dict[str, Any]
) -> None:
    by_header = await http.post(
        TOKEN,
        data={"grant_type": "authorization_code", "code": "x"},
        headers=basic(confidential["client_id"], "wrong-secret"),
    )
    by_body = await http.post(
        TOKEN,
        data={
            "grant_type": "authorization_code",
            "code": "x",
            "client_id": confidential["client_id"],
            "client_secret": "wrong-secret",
        },
    )

    for response in (by_header, by_body):
        assert_oauth_error(response, "invalid_client", "client authentication failed", 401)
        assert response.headers["www-authenticate"] == 'Basic realm="roadbed"'


async def test_an_unknown_client_fails_exactly_like_a_wrong_secret(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post(
        TOKEN, data={"grant_type": "authorization_code"}, headers=basic("rbc_nobody", "secret")
    )

    assert_oauth_error(response, "invalid_client", "client authentication failed", 401)


async def test_a_confidential_client_must_present_its_secret(
    http: httpx.AsyncClient, confidential: dict[str, Any]
) -> None:
    response = await http.post(
        TOKEN, data={"grant_type": "authorization_code", "client_id": confidential["client_id"]}
    )

    assert_oauth_error(
        response, "invalid_client", "this client must authenticate with its secret", 401
    )


@pytest.mark.parametrize("where", ["header", "body"])
async def test_a_public_client_presenting_a_secret_is_refused(
    http: httpx.AsyncClient, public: dict[str, Any], where: str
) -> None:
    form = {"grant_type": "authorization_code", "code": "x"}
    headers = {}
    if where == "header":
        headers = basic(public["client_id"], "invented")
    else:
        form.update(client_id=public["client_id"], client_secret="invented")

    response = await http.post(TOKEN, data=form, headers=headers)

    assert_oauth_error(
        response, "invalid_client", "public clients do not authenticate with a secret", 401
    )


async def test_two_authentication_methods_at_once_are_refused(
    http: httpx.AsyncClient, confidential: dict[str, Any]
) -> None:
    response = await http.post(
        TOKEN,
        data={"grant_type": "client_credentials", "client_secret": confidential["client_secret"]},
        headers=basic(confidential["client_id"], confidential["client_secret"]),
    )

    assert_oauth_error(response, "invalid_request", "use one client authentication method, not two")


async def test_no_client_at_all_is_invalid_client(http: httpx.AsyncClient) -> None:
    response = await http.post(TOKEN, data={"grant_type": "client_credentials"})

    assert_oauth_error(response, "invalid_client", "client authentication is required", 401)


@pytest.mark.parametrize(
    "grant_type",
    [
        "password",
        "implicit",
        "token",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "urn:ietf:params:oauth:grant-type:token-exchange",
    ],
)
async def test_unsupported_grants_are_refused(
    http: httpx.AsyncClient, confidential: dict[str, Any], grant_type: str
) -> None:
    response = await http.post(
        TOKEN,
        data={"grant_type": grant_type, "username": "ada@example.com", "password": "x"},
        headers=basic(confidential["client_id"], confidential["client_secret"]),
    )

    assert_oauth_error(response, "unsupported_grant_type", "this grant type is not supported")


async def test_a_grant_the_client_is_not_registered_for_is_unauthorized_client(
    http: httpx.AsyncClient, public: dict[str, Any]
) -> None:
    response = await http.post(
        TOKEN, data={"grant_type": "client_credentials", "client_id": public["client_id"]}
    )

    assert_oauth_error(
        response, "unauthorized_client", "this client may not use the client_credentials grant"
    )


async def test_client_credentials_cannot_ask_for_user_scopes(
    http: httpx.AsyncClient, app: FastAPI
) -> None:
    machine = await register_client(
        http,
        app,
        client_type="confidential",
        redirect_uris=[],
        grant_types=["client_credentials"],
        scopes=["openid", "shop:orders"],
        audience="roadbed",
    )

    response = await http.post(
        TOKEN,
        data={"grant_type": "client_credentials", "scope": "openid"},
        headers=basic(machine["client_id"], machine["client_secret"]),
    )

    assert_oauth_error(
        response, "invalid_scope", "a requested scope is not allowed for this client"
    )


async def test_a_refresh_token_only_works_for_its_own_client(
    http: httpx.AsyncClient, app: FastAPI, public: dict[str, Any], account: Account
) -> None:
    other = await register_client(http, app, first_party=True)
    verifier = new_verifier()
    code = await new_code(http, public, account, verifier)
    refresh_token = (await http.post(TOKEN, data=code_form(public, code, verifier))).json()[
        "refresh_token"
    ]

    stolen = await http.post(
        TOKEN,
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": other["client_id"],
        },
    )
    rightful = await http.post(
        TOKEN,
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": public["client_id"],
        },
    )

    assert_oauth_error(stolen, "invalid_grant", "refresh token is not valid")
    # The failed attempt rolled back: the token was not spent by the wrong client.
    assert rightful.status_code == 200


async def test_an_oauth_refresh_token_is_refused_by_the_first_party_refresh(
    http: httpx.AsyncClient, confidential: dict[str, Any], account: Account
) -> None:
    # Given a confidential client's refresh token (which needs the client's secret to use)
    verifier = new_verifier()
    code = await new_code(http, confidential, account, verifier)
    client_auth = basic(confidential["client_id"], confidential["client_secret"])
    form = code_form(confidential, code, verifier)
    del form["client_id"]
    refresh_token = (await http.post(TOKEN, data=form, headers=client_auth)).json()["refresh_token"]

    # When it is presented to the first-party refresh, which authenticates no client
    stolen = await http.post("/auth/v1/sessions/refresh", json={"refresh_token": refresh_token})
    rightful = await http.post(
        TOKEN,
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        headers=client_auth,
    )

    # Then it is refused there, and the failed attempt did not spend it
    assert stolen.status_code == 401, stolen.text
    assert stolen.json()["code"] == "invalid_grant"
    assert "access_token" not in stolen.json()
    assert rightful.status_code == 200, rightful.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/auth/v1/me"),
        ("GET", "/auth/v1/sessions"),
        ("DELETE", "/auth/v1/sessions"),
        ("GET", "/auth/v1/me/consents"),
    ],
)
async def test_a_service_token_is_not_a_user_on_the_account_endpoints(
    http: httpx.AsyncClient, app: FastAPI, method: str, path: str
) -> None:
    # Given a client-credentials token for the audience every Roadbed service accepts
    service = await register_client(
        http,
        app,
        client_type="confidential",
        redirect_uris=[],
        post_logout_redirect_uris=[],
        grant_types=["client_credentials"],
        scopes=["shop:orders"],
        audience="roadbed",
    )
    issued = await http.post(
        TOKEN,
        data={"grant_type": "client_credentials"},
        headers=basic(service["client_id"], service["client_secret"]),
    )
    assert issued.status_code == 200, issued.text

    # When it calls an endpoint about "me" (there is no user behind it)
    response = await http.request(method, path, headers=bearer(issued.json()["access_token"]))

    # Then it is refused as a token, not a server error
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "invalid_token"


async def test_without_offline_access_there_is_no_refresh_token(
    http: httpx.AsyncClient, public: dict[str, Any], account: Account
) -> None:
    verifier = new_verifier()
    location = await authorize_in_browser(
        http, authorize_url(public["client_id"], verifier, scope="openid email"), account
    )

    response = await http.post(TOKEN, data=code_form(public, query_of(location)["code"], verifier))

    assert response.status_code == 200
    assert set(response.json()) == {"access_token", "token_type", "expires_in", "scope", "id_token"}


@pytest.mark.parametrize(
    ("form", "description"),
    [
        ({}, "missing or invalid parameter: grant_type"),
        ({"grant_type": ""}, "missing or invalid parameter: grant_type"),
        ({"grant_type": "x" * 101}, "missing or invalid parameter: grant_type"),
        (
            {"grant_type": "authorization_code", "code_verifier": "v" * 129},
            "missing or invalid parameter: code_verifier",
        ),
    ],
)
async def test_malformed_requests_are_invalid_request(
    http: httpx.AsyncClient, form: dict[str, str], description: str
) -> None:
    response = await http.post(TOKEN, data=form)

    assert_oauth_error(response, "invalid_request", description)


async def test_a_repeated_parameter_is_invalid_request(
    http: httpx.AsyncClient, public: dict[str, Any]
) -> None:
    response = await http.post(
        TOKEN,
        content=f"grant_type=refresh_token&grant_type=password&client_id={public['client_id']}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert_oauth_error(response, "invalid_request", "a parameter is repeated")


async def test_a_json_body_is_invalid_request(http: httpx.AsyncClient) -> None:
    response = await http.post(TOKEN, json={"grant_type": "client_credentials"})

    assert_oauth_error(response, "invalid_request", "missing or invalid parameter: grant_type")
