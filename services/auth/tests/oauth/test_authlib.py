"""An independent client — Authlib's OAuth 2.0 client — completes every flow against the provider:
authorization code + PKCE (through the real sign-in and consent pages), refresh, client
credentials, revocation and introspection. ID and access tokens are checked against the JWKS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from fastapi import FastAPI

from roadbed_auth.keys.issuer import token_hash

from .conftest import (
    CALLBACK,
    ISSUER,
    ORIGIN,
    Account,
    authorize_in_browser,
    bearer,
    create_account,
    new_verifier,
    query_of,
    register_client,
    transport_for,
)

AUTHORIZE = f"{ISSUER}/oauth/authorize"
TOKEN = f"{ISSUER}/oauth/token"
REVOKE = f"{ISSUER}/oauth/revoke"
INTROSPECT = f"{ISSUER}/oauth/introspect"
SCOPE = "openid profile email offline_access"


@pytest.fixture
async def account(app: FastAPI) -> Account:
    return await create_account(app, roles=("author", "customer"), display_name="Grace")


def authlib_client(
    app: FastAPI, client: dict[str, Any], *, scope: str | None = SCOPE
) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=client["client_id"],
        client_secret=client.get("client_secret"),
        token_endpoint_auth_method=client["token_endpoint_auth_method"],
        revocation_endpoint_auth_method=client["token_endpoint_auth_method"],
        redirect_uri=CALLBACK,
        scope=scope,
        code_challenge_method="S256",
        transport=transport_for(app),
        base_url=ORIGIN,
    )


@pytest.fixture
async def public_client(http: httpx.AsyncClient, app: FastAPI) -> AsyncIterator[AsyncOAuth2Client]:
    registered = await register_client(http, app)
    async with authlib_client(app, registered) as oauth:
        yield oauth


async def signed_jwks(http: httpx.AsyncClient) -> jwt.PyJWKSet:
    return jwt.PyJWKSet.from_dict((await http.get("/auth/.well-known/jwks.json")).json())


async def code_flow(
    oauth: AsyncOAuth2Client, http: httpx.AsyncClient, account: Account, *, nonce: str = "n-1"
) -> tuple[dict[str, Any], str, str]:
    """Authorize in the browser, then redeem with Authlib: (token, redirect location, state)."""
    verifier = new_verifier()
    uri, state = oauth.create_authorization_url(AUTHORIZE, code_verifier=verifier, nonce=nonce)
    location = await authorize_in_browser(http, uri, account)
    token = await oauth.fetch_token(TOKEN, authorization_response=location, code_verifier=verifier)
    return dict(token), location, state


async def test_authorization_code_with_pkce_issues_verifiable_access_and_id_tokens(
    public_client: AsyncOAuth2Client, http: httpx.AsyncClient, account: Account
) -> None:
    # Given a third-party public client and a user who signs in and consents in the browser
    # When Authlib runs the authorization code flow with PKCE S256
    token, location, state = await code_flow(public_client, http, account, nonce="nonce-7")

    # Then the redirect carries the code, Authlib's state and our issuer (RFC 9207)
    response = query_of(location)
    assert location.startswith(CALLBACK + "?")
    assert (response["state"], response["iss"]) == (state, ISSUER)
    assert set(response) == {"code", "state", "iss"}
    # And the token response is RFC 6749 §5.1 plus an OpenID Connect ID token
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 600
    assert token["scope"] == SCOPE
    assert set(token) >= {"access_token", "refresh_token", "id_token"}
    keys = await signed_jwks(http)
    client_id = public_client.client_id
    # And the access token is an RFC 9068 JWT for every Roadbed service
    access_header = jwt.get_unverified_header(token["access_token"])
    access = jwt.decode(
        token["access_token"],
        keys[access_header["kid"]].key,
        algorithms=["RS256"],
        audience="roadbed",
        issuer=ISSUER,
    )
    assert access_header["typ"] == "at+jwt"
    assert (access["sub"], access["client_id"], access["scope"]) == (
        str(account.id),
        client_id,
        SCOPE,
    )
    assert access["roles"] == []  # a third-party app never carries the user's roles
    # And the ID token names the client as audience, echoes the nonce and binds the access token
    id_header = jwt.get_unverified_header(token["id_token"])
    claims = jwt.decode(
        token["id_token"],
        keys[id_header["kid"]].key,
        algorithms=["RS256"],
        audience=client_id,
        issuer=ISSUER,
    )
    assert claims["sub"] == str(account.id)
    assert claims["nonce"] == "nonce-7"
    assert claims["at_hash"] == token_hash(token["access_token"], algorithm="RS256")
    assert claims["auth_time"] <= claims["iat"]
    assert claims["amr"] == ["pwd"]
    assert (claims["email"], claims["email_verified"], claims["name"]) == (
        account.email,
        True,
        "Grace",
    )
    assert claims["sid"] == access["sid"]


async def test_userinfo_answers_with_the_claims_the_scopes_release(
    public_client: AsyncOAuth2Client, http: httpx.AsyncClient, account: Account
) -> None:
    token, _location, _state = await code_flow(public_client, http, account)

    by_get = await http.get("/auth/oauth/userinfo", headers=bearer(token["access_token"]))
    by_post = await http.post("/auth/oauth/userinfo", headers=bearer(token["access_token"]))

    assert by_get.status_code == 200
    assert by_get.headers["cache-control"] == "no-store"
    body = by_get.json()
    assert body.pop("updated_at") > 0
    assert body == {
        "sub": str(account.id),
        "name": "Grace",
        "email": account.email,
        "email_verified": True,
    }
    assert by_post.json()["sub"] == str(account.id)


async def test_refresh_rotates_and_a_reused_refresh_token_ends_the_grant(
    public_client: AsyncOAuth2Client, http: httpx.AsyncClient, account: Account
) -> None:
    token, _location, _state = await code_flow(public_client, http, account)

    refreshed = await public_client.refresh_token(TOKEN, refresh_token=token["refresh_token"])
    with pytest.raises(OAuthError) as reused:
        await public_client.refresh_token(TOKEN, refresh_token=token["refresh_token"])
    with pytest.raises(OAuthError) as after_reuse:
        await public_client.refresh_token(TOKEN, refresh_token=refreshed["refresh_token"])

    assert refreshed["refresh_token"] != token["refresh_token"]
    assert refreshed["scope"] == SCOPE
    assert jwt.decode(refreshed["id_token"], options={"verify_signature": False})["sub"] == str(
        account.id
    )
    assert reused.value.error == "invalid_grant"
    assert after_reuse.value.error == "invalid_grant"


async def test_refresh_may_narrow_the_scope_but_never_widen_it(
    public_client: AsyncOAuth2Client, http: httpx.AsyncClient, account: Account
) -> None:
    token, _location, _state = await code_flow(public_client, http, account)

    narrowed = await public_client.refresh_token(
        TOKEN, refresh_token=token["refresh_token"], scope="openid email"
    )
    with pytest.raises(OAuthError) as widened:
        await public_client.refresh_token(
            TOKEN, refresh_token=narrowed["refresh_token"], scope="openid shop:orders"
        )

    assert narrowed["scope"] == "openid email"
    assert widened.value.error == "invalid_scope"


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
async def test_confidential_client_flow_with_introspection_and_revocation(
    http: httpx.AsyncClient, app: FastAPI, account: Account, method: str
) -> None:
    # Given a confidential client authenticating with its secret in the header or the body
    registered = await register_client(
        http, app, client_type="confidential", name="Server-side app"
    )
    registered["token_endpoint_auth_method"] = method
    async with authlib_client(app, registered) as oauth:
        token, _location, _state = await code_flow(oauth, http, account)

        # When it introspects both tokens, revokes them, and introspects again
        access_before = (
            await oauth.introspect_token(INTROSPECT, token=token["access_token"])
        ).json()
        refresh_before = (
            await oauth.introspect_token(
                INTROSPECT, token=token["refresh_token"], token_type_hint="refresh_token"
            )
        ).json()
        revoked_refresh = await oauth.revoke_token(
            REVOKE, token=token["refresh_token"], token_type_hint="refresh_token"
        )
        revoked_access = await oauth.revoke_token(REVOKE, token=token["access_token"])
        access_after = (
            await oauth.introspect_token(INTROSPECT, token=token["access_token"])
        ).json()
        refresh_after = (
            await oauth.introspect_token(INTROSPECT, token=token["refresh_token"])
        ).json()
        with pytest.raises(OAuthError) as refresh_attempt:
            await oauth.refresh_token(TOKEN, refresh_token=token["refresh_token"])

    # Then both were active with their metadata, and are inactive (nothing more) afterwards
    assert access_before["active"] is True
    assert (access_before["client_id"], access_before["sub"], access_before["scope"]) == (
        registered["client_id"],
        str(account.id),
        SCOPE,
    )
    assert (access_before["token_type"], access_before["aud"], access_before["iss"]) == (
        "Bearer",
        ["roadbed"],
        ISSUER,
    )
    assert refresh_before["active"] is True
    assert (refresh_before["token_type"], refresh_before["client_id"], refresh_before["sub"]) == (
        "refresh_token",
        registered["client_id"],
        str(account.id),
    )
    assert (revoked_refresh.status_code, revoked_access.status_code) == (200, 200)
    assert access_after == {"active": False}
    assert refresh_after == {"active": False}
    assert refresh_attempt.value.error == "invalid_grant"
    userinfo = await http.get("/auth/oauth/userinfo", headers=bearer(token["access_token"]))
    assert userinfo.status_code == 401


async def test_client_credentials_token_names_the_client_and_its_audience(
    http: httpx.AsyncClient, app: FastAPI
) -> None:
    registered = await register_client(
        http,
        app,
        client_type="confidential",
        name="Reporting job",
        redirect_uris=[],
        post_logout_redirect_uris=[],
        grant_types=["client_credentials"],
        scopes=["shop:orders", "tasks:write"],
        audience="roadbed-shop",
    )
    async with authlib_client(app, registered, scope=None) as oauth:
        token = await oauth.fetch_token(TOKEN, grant_type="client_credentials", scope="shop:orders")
        introspected = (
            await oauth.introspect_token(INTROSPECT, token=token["access_token"])
        ).json()

    keys = await signed_jwks(http)
    header = jwt.get_unverified_header(token["access_token"])
    claims = jwt.decode(
        token["access_token"],
        keys[header["kid"]].key,
        algorithms=["RS256"],
        audience="roadbed-shop",
        issuer=ISSUER,
    )
    assert set(token) == {"access_token", "token_type", "expires_in", "scope", "expires_at"}
    assert (claims["sub"], claims["client_id"], claims["scope"], claims["roles"]) == (
        registered["client_id"],
        registered["client_id"],
        "shop:orders",
        [],
    )
    assert introspected["active"] is True
    assert introspected["aud"] == ["roadbed-shop"]


async def test_client_credentials_without_a_scope_gets_every_scope_the_client_may_have(
    http: httpx.AsyncClient, app: FastAPI
) -> None:
    registered = await register_client(
        http,
        app,
        client_type="confidential",
        redirect_uris=[],
        post_logout_redirect_uris=[],
        grant_types=["client_credentials"],
        scopes=["shop:orders", "tasks:write"],
        audience="roadbed",
    )
    async with authlib_client(app, registered, scope=None) as oauth:
        token = await oauth.fetch_token(TOKEN, grant_type="client_credentials")

    assert token["scope"] == "shop:orders tasks:write"
    assert (
        jwt.decode(token["access_token"], options={"verify_signature": False})["sub"]
        == (registered["client_id"])
    )
