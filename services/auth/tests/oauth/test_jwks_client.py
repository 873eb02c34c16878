"""PyJWT's ``PyJWKClient`` — an independent verifier fetching our JWKS over real HTTP — accepts
the access tokens the provider issues. The app runs under uvicorn on a free local port."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import jwt

from roadbed_auth.context import RequestContext
from roadbed_auth.oauth import clients
from roadbed_auth.oauth.clients import ClientRegistration
from roadbed_auth.oauth.models import ClientType, GrantType
from roadbed_core.db import make_async_engine, make_async_sessionmaker, unit_of_work


async def register_service_client(database: str) -> tuple[str, str]:
    engine = make_async_engine(database)
    try:
        async with unit_of_work(make_async_sessionmaker(engine)) as db:
            registered = await clients.create(
                db,
                registration=ClientRegistration(
                    name="Nightly report",
                    client_type=ClientType.CONFIDENTIAL,
                    grant_types=[GrantType.CLIENT_CREDENTIALS],
                    scopes=["shop:orders"],
                    audience="roadbed",
                ),
                actor_id=None,
                context=RequestContext(ip_address="", user_agent="test", request_id=""),
                now=datetime.now(UTC),
            )
    finally:
        await engine.dispose()
    assert registered.client_secret is not None
    return registered.client.client_id, registered.client_secret


async def test_pyjwkclient_verifies_our_access_tokens_from_the_published_jwks(
    server: str, backing: tuple[str, str]
) -> None:
    # Given a service client and the provider's metadata, both over real HTTP
    client_id, secret = await register_service_client(backing[0])
    async with httpx.AsyncClient(base_url=server) as http:
        metadata = (await http.get("/auth/.well-known/openid-configuration")).json()
        token = (
            await http.post(
                metadata["token_endpoint"],
                data={"grant_type": "client_credentials"},
                auth=(client_id, secret),
            )
        ).json()["access_token"]

    # When PyJWT's JWKS client fetches the key named by the token's kid, and decodes with it
    jwks_client = jwt.PyJWKClient(metadata["jwks_uri"], cache_keys=False)
    signing_key = jwks_client.get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token,
        signing_key.key,
        algorithms=["RS256", "ES256"],
        audience="roadbed",
        issuer=f"{server}/auth",
    )

    # Then the signature, issuer and audience check out, and the claims are RFC 9068's
    assert metadata["issuer"] == f"{server}/auth"
    assert metadata["jwks_uri"] == f"{server}/auth/.well-known/jwks.json"
    assert signing_key.key_id == jwt.get_unverified_header(token)["kid"]
    assert (claims["sub"], claims["client_id"], claims["scope"]) == (
        client_id,
        client_id,
        "shop:orders",
    )
    assert claims["exp"] - claims["iat"] == 600
