"""Every route of the OAuth 2.0 / OpenID Connect provider, and its discovery documents."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from roadbed_auth.oauth import client_endpoints, page_endpoints, token_endpoints
from roadbed_auth.oauth.components import OAuthComponents, oauth_components
from roadbed_auth.oauth.discovery import metadata

discovery_router = APIRouter(tags=["discovery"])

OAuth = Annotated[OAuthComponents, Depends(oauth_components)]

_EXAMPLE: dict[str, Any] = metadata("http://127.0.0.1:8000/auth", signing_algorithms=["RS256"])
_DOCUMENTED: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {"example": _EXAMPLE}}}
}


def _metadata_response(oauth: OAuthComponents) -> JSONResponse:
    document = metadata(oauth.issuer, signing_algorithms=[oauth.minting.id_tokens.algorithm])
    return JSONResponse(document, headers={"Cache-Control": "public, max-age=3600"})


@discovery_router.get("/.well-known/openid-configuration", responses=_DOCUMENTED)
async def openid_configuration(oauth: OAuth) -> JSONResponse:
    """OpenID Connect Discovery 1.0 provider metadata."""
    return _metadata_response(oauth)


@discovery_router.get("/.well-known/oauth-authorization-server", responses=_DOCUMENTED)
async def authorization_server_metadata(oauth: OAuth) -> JSONResponse:
    """RFC 8414 authorization server metadata (the same document)."""
    return _metadata_response(oauth)


router = APIRouter()
router.include_router(discovery_router)
router.include_router(token_endpoints.router)
router.include_router(token_endpoints.userinfo_router)
router.include_router(page_endpoints.router)
router.include_router(client_endpoints.router)
router.include_router(client_endpoints.consent_router)
