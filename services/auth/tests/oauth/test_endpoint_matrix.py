"""The authorization matrix of userinfo, revocation and introspection."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from .conftest import (
    CALLBACK,
    Account,
    api_token,
    authorize_in_browser,
    authorize_url,
    bearer,
    create_account,
    new_verifier,
    query_of,
    register_client,
)

FORGED = "eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJ4In0."


@pytest.fixture
async def account(app: FastAPI) -> Account:
    return await create_account(app)


@pytest.fixture
async def public(http: httpx.AsyncClient, app: FastAPI) -> dict[str, Any]:
    return await register_client(http, app, first_party=True)


@pytest.fixture
async def confidential(http: httpx.AsyncClient, app: FastAPI) -> dict[str, Any]:
    return await register_client(
        http,
        app,
        client_type="confidential",
        first_party=True,
        grant_types=["authorization_code", "refresh_token", "client_credentials"],
        scopes=["openid", "email", "offline_access", "shop:orders"],
        audience="roadbed",
    )


async def user_tokens(
    http: httpx.AsyncClient, client: dict[str, Any], account: Account, scope: str
) -> dict[str, Any]:
    verifier = new_verifier()
    location = await authorize_in_browser(
        http, authorize_url(client["client_id"], verifier, scope=scope), account
    )
    form = {
        "grant_type": "authorization_code",
        "code": query_of(location)["code"],
        "redirect_uri": CALLBACK,
        "code_verifier": verifier,
    }
    auth = None
    if client["client_secret"]:
        auth = (client["client_id"], client["client_secret"])
    else:
        form["client_id"] = client["client_id"]
    tokens: dict[str, Any] = (await http.post("/auth/oauth/token", data=form, auth=auth)).json()
    return tokens


# --- userinfo --------------------------------------------------------------------------------------


@pytest.mark.parametrize("caller", ["anonymous", "forged", "no-openid", "service", "user"])
async def test_userinfo_needs_a_user_token_with_openid(
    http: httpx.AsyncClient,
    app: FastAPI,
    public: dict[str, Any],
    confidential: dict[str, Any],
    account: Account,
    caller: str,
) -> None:
    headers: dict[str, str] = {}
    if caller == "forged":
        headers = bearer(FORGED)
    elif caller == "no-openid":
        headers = bearer(await api_token(http, account))  # first-party login: no scopes
    elif caller == "service":
        token = await http.post(
            "/auth/oauth/token",
            data={"grant_type": "client_credentials", "scope": "shop:orders"},
            auth=(confidential["client_id"], confidential["client_secret"]),
        )
        headers = bearer(token.json()["access_token"])
    elif caller == "user":
        headers = bearer((await user_tokens(http, public, account, "openid"))["access_token"])

    response = await http.get("/auth/oauth/userinfo", headers=headers)

    expected = {"anonymous": 401, "forged": 401, "no-openid": 403, "service": 403, "user": 200}
    assert response.status_code == expected[caller]
    if caller == "user":
        assert response.json() == {"sub": str(account.id)}  # only "openid": no profile or email
    elif caller == "anonymous":
        assert response.headers["www-authenticate"] == "Bearer"
    elif expected[caller] == 403:
        assert response.headers["www-authenticate"].startswith('Bearer error="insufficient_scope"')


# --- introspection -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "status"),
    [
        ("anonymous", 401),
        ("public-client", 401),
        ("wrong-secret", 401),
        ("confidential-basic", 200),
        ("confidential-post", 200),
    ],
)
async def test_introspection_is_for_authenticated_confidential_clients(
    http: httpx.AsyncClient,
    public: dict[str, Any],
    confidential: dict[str, Any],
    account: Account,
    caller: str,
    status: int,
) -> None:
    token = (await user_tokens(http, public, account, "openid"))["access_token"]
    form: dict[str, str] = {"token": token}
    auth = None
    if caller == "public-client":
        form["client_id"] = public["client_id"]
    elif caller == "wrong-secret":
        auth = (confidential["client_id"], "wrong")
    elif caller == "confidential-basic":
        auth = (confidential["client_id"], confidential["client_secret"])
    elif caller == "confidential-post":
        form.update(
            client_id=confidential["client_id"], client_secret=confidential["client_secret"]
        )

    response = await http.post("/auth/oauth/introspect", data=form, auth=auth)

    assert response.status_code == status
    assert response.headers["cache-control"] == "no-store"
    if status == 200:
        assert response.json()["active"] is True
        assert response.json()["client_id"] == public["client_id"]
    else:
        assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    "token", ["garbage", FORGED, "a.b.c", "x" * 9000, "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"]
)
async def test_introspecting_anything_not_live_says_only_inactive(
    http: httpx.AsyncClient, confidential: dict[str, Any], token: str
) -> None:
    response = await http.post(
        "/auth/oauth/introspect",
        data={"token": token[:8192]},
        auth=(confidential["client_id"], confidential["client_secret"]),
    )

    assert response.status_code == 200
    assert response.json() == {"active": False}


async def test_a_refresh_token_is_introspectable_only_by_its_own_client(
    http: httpx.AsyncClient, app: FastAPI, confidential: dict[str, Any], account: Account
) -> None:
    other = await register_client(http, app, client_type="confidential")
    refresh_token = (await user_tokens(http, confidential, account, "openid offline_access"))[
        "refresh_token"
    ]

    own = await http.post(
        "/auth/oauth/introspect",
        data={"token": refresh_token},
        auth=(confidential["client_id"], confidential["client_secret"]),
    )
    foreign = await http.post(
        "/auth/oauth/introspect",
        data={"token": refresh_token},
        auth=(other["client_id"], other["client_secret"]),
    )

    assert own.json()["active"] is True
    assert foreign.json() == {"active": False}


# --- revocation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("caller", "status"), [("anonymous", 401), ("wrong-secret", 401)])
async def test_revocation_needs_client_authentication(
    http: httpx.AsyncClient, confidential: dict[str, Any], caller: str, status: int
) -> None:
    auth = (confidential["client_id"], "wrong") if caller == "wrong-secret" else None

    response = await http.post("/auth/oauth/revoke", data={"token": "anything"}, auth=auth)

    assert response.status_code == status
    assert response.json()["error"] == "invalid_client"


async def test_a_public_client_revokes_its_own_refresh_token(
    http: httpx.AsyncClient, public: dict[str, Any], account: Account
) -> None:
    tokens = await user_tokens(http, public, account, "openid offline_access")

    revoked = await http.post(
        "/auth/oauth/revoke",
        data={"token": tokens["refresh_token"], "client_id": public["client_id"]},
    )
    refresh = await http.post(
        "/auth/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": public["client_id"],
        },
    )

    assert revoked.status_code == 200
    assert revoked.content == b""
    assert refresh.json()["error"] == "invalid_grant"


async def test_another_clients_token_is_left_alone_with_the_same_answer(
    http: httpx.AsyncClient,
    public: dict[str, Any],
    confidential: dict[str, Any],
    account: Account,
) -> None:
    tokens = await user_tokens(http, public, account, "openid offline_access")
    confidential_auth = (confidential["client_id"], confidential["client_secret"])

    for token in (tokens["access_token"], tokens["refresh_token"], "unknown-token"):
        response = await http.post(
            "/auth/oauth/revoke", data={"token": token}, auth=confidential_auth
        )
        assert response.status_code == 200

    userinfo = await http.get("/auth/oauth/userinfo", headers=bearer(tokens["access_token"]))
    refresh = await http.post(
        "/auth/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": public["client_id"],
        },
    )
    assert userinfo.status_code == 200
    assert refresh.status_code == 200


async def test_a_wrong_token_type_hint_still_finds_the_token(
    http: httpx.AsyncClient, public: dict[str, Any], account: Account
) -> None:
    tokens = await user_tokens(http, public, account, "openid offline_access")

    await http.post(
        "/auth/oauth/revoke",
        data={
            "token": tokens["access_token"],
            "token_type_hint": "refresh_token",
            "client_id": public["client_id"],
        },
    )
    userinfo = await http.get("/auth/oauth/userinfo", headers=bearer(tokens["access_token"]))

    assert userinfo.status_code == 401
