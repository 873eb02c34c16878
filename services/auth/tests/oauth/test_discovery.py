"""Discovery (OIDC Discovery 1.0, RFC 8414) and the seeded first-party clients."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from roadbed_auth.oauth.components import start_oauth

from .conftest import ISSUER, admin_headers


@pytest.mark.parametrize(
    "path",
    ["/auth/.well-known/openid-configuration", "/auth/.well-known/oauth-authorization-server"],
)
async def test_metadata_names_the_issuer_and_absolute_endpoints(
    http: httpx.AsyncClient, path: str
) -> None:
    response = await http.get(path)

    assert response.status_code == 200
    document = response.json()
    assert document["issuer"] == ISSUER
    assert {
        name: document[name]
        for name in (
            "authorization_endpoint",
            "token_endpoint",
            "userinfo_endpoint",
            "jwks_uri",
            "revocation_endpoint",
            "introspection_endpoint",
            "end_session_endpoint",
            "device_authorization_endpoint",
        )
    } == {
        "authorization_endpoint": f"{ISSUER}/oauth/authorize",
        "token_endpoint": f"{ISSUER}/oauth/token",
        "userinfo_endpoint": f"{ISSUER}/oauth/userinfo",
        "jwks_uri": f"{ISSUER}/.well-known/jwks.json",
        "revocation_endpoint": f"{ISSUER}/oauth/revoke",
        "introspection_endpoint": f"{ISSUER}/oauth/introspect",
        "end_session_endpoint": f"{ISSUER}/oauth/logout",
        "device_authorization_endpoint": f"{ISSUER}/oauth/device_authorization",
    }
    assert document["response_types_supported"] == ["code"]
    assert document["grant_types_supported"] == [
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:device_code",
    ]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    assert document["authorization_response_iss_parameter_supported"] is True
    assert document["request_uri_parameter_supported"] is False
    assert {"openid", "profile", "email", "offline_access"} <= set(document["scopes_supported"])


async def test_every_advertised_endpoint_is_served(http: httpx.AsyncClient) -> None:
    document = (await http.get("/auth/.well-known/openid-configuration")).json()

    jwks = await http.get(document["jwks_uri"])
    authorize = await http.get(document["authorization_endpoint"])
    token = await http.post(document["token_endpoint"], data={})

    assert jwks.status_code == 200
    assert authorize.status_code == 400  # the error page: no client named
    assert token.json()["error"] == "invalid_request"


async def test_first_party_clients_are_seeded_once_as_public_pkce_clients(
    http: httpx.AsyncClient, app: FastAPI
) -> None:
    # Given the app started (and seeded); starting again must not duplicate or fail
    await start_oauth(app.state.auth, app.state.keyring)

    response = await http.get("/auth/v1/clients", headers=await admin_headers(http, app))

    seeded = {client["client_id"]: client for client in response.json()["items"]}
    assert sorted(seeded) == ["roadbed-blog-admin", "roadbed-shop", "roadbed-tasks"]
    blog = seeded["roadbed-blog-admin"]
    assert (blog["client_type"], blog["token_endpoint_auth_method"], blog["first_party"]) == (
        "public",
        "none",
        True,
    )
    assert blog["redirect_uris"] == ["http://127.0.0.1:8000/blog/admin/oidc/callback"]
    assert blog["grant_types"] == ["authorization_code", "refresh_token"]
