"""HTTP endpoints of the client registry (admins) and of a user's remembered consents."""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, status

from roadbed_auth.context import RequestContext
from roadbed_auth.oauth import clients, consents
from roadbed_auth.oauth.clients import AuthMethod, ClientRegistration
from roadbed_auth.oauth.components import OAuthComponents, oauth_components
from roadbed_auth.oauth.models import ClientType, OAuthClient
from roadbed_auth.oauth.schemas import (
    ClientCreate,
    ClientCreated,
    ClientPage,
    ClientRead,
    ConsentRead,
)
from roadbed_auth.principal import require_user_token
from roadbed_core.db import unit_of_work
from roadbed_core.errors import BadRequest
from roadbed_core.tokens.claims import Claims
from roadbed_core.tokens.fastapi import require_token

router = APIRouter(prefix="/v1/clients", tags=["oauth clients"])
consent_router = APIRouter(prefix="/v1/me/consents", tags=["oauth clients"])

OAuth = Annotated[OAuthComponents, Depends(oauth_components)]
Admin = Annotated[Claims, Depends(require_token(roles=("admin",)))]
Authenticated = Annotated[Claims, Depends(require_user_token())]
ClientIdPath = Annotated[str, Path(max_length=100)]


class InvalidCursor(BadRequest):
    code = "invalid_cursor"
    title = "Invalid cursor"


def client_read(client: OAuthClient) -> ClientRead:
    return ClientRead(
        client_id=client.client_id,
        name=client.name,
        client_type=ClientType(client.client_type),
        token_endpoint_auth_method=AuthMethod.BASIC if client.is_confidential else AuthMethod.NONE,
        redirect_uris=client.redirect_uris,
        post_logout_redirect_uris=client.post_logout_redirect_uris,
        grant_types=client.grant_types,
        scopes=client.scopes,
        audience=client.audience,
        first_party=client.first_party,
        created_at=client.created_at,
        disabled_at=client.disabled_at,
    )


def _encode_cursor(client_id: str) -> str:
    return base64.urlsafe_b64encode(client_id.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidCursor() from None
    if not decoded:
        raise InvalidCursor()
    return decoded


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ClientCreated)
async def create_client(
    body: ClientCreate, request: Request, claims: Admin, oauth: OAuth
) -> ClientCreated:
    """Register an OAuth client (admins); a confidential client's secret is shown this once."""
    async with unit_of_work(oauth.auth.sessions) as db:
        registered = await clients.create(
            db,
            registration=ClientRegistration(
                name=body.name,
                client_type=body.client_type,
                client_id=body.client_id,
                redirect_uris=body.redirect_uris,
                post_logout_redirect_uris=body.post_logout_redirect_uris,
                grant_types=body.grant_types,
                scopes=body.scopes,
                audience=body.audience,
                first_party=body.first_party,
            ),
            actor_id=uuid.UUID(claims.sub),
            context=RequestContext.from_request(request),
            now=oauth.clock(),
        )
    return ClientCreated(
        **client_read(registered.client).model_dump(), client_secret=registered.client_secret
    )


@router.get("", response_model=ClientPage)
async def list_clients(
    claims: Admin,
    oauth: OAuth,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> ClientPage:
    """Registered clients in client-id order (admins), a page at a time."""
    after = _decode_cursor(cursor) if cursor else None
    async with oauth.auth.sessions() as db:
        found = await clients.list_page(db, after_client_id=after, limit=limit + 1)
    items = [client_read(client) for client in found[:limit]]
    next_cursor = _encode_cursor(items[-1].client_id) if len(found) > limit else None
    return ClientPage(items=items, next_cursor=next_cursor)


@router.get("/{client_id}", response_model=ClientRead)
async def read_client(client_id: ClientIdPath, claims: Admin, oauth: OAuth) -> ClientRead:
    """One registered client (admins)."""
    async with oauth.auth.sessions() as db:
        client = await clients.get_or_raise(db, client_id=client_id)
    return client_read(client)


@router.post("/{client_id}/secret", response_model=ClientCreated)
async def rotate_client_secret(
    client_id: ClientIdPath, request: Request, claims: Admin, oauth: OAuth
) -> ClientCreated:
    """Give a confidential client a new secret (admins); the old one stops working now."""
    async with unit_of_work(oauth.auth.sessions) as db:
        rotated = await clients.rotate_secret(
            db,
            client_id=client_id,
            actor_id=uuid.UUID(claims.sub),
            context=RequestContext.from_request(request),
            now=oauth.clock(),
        )
    return ClientCreated(
        **client_read(rotated.client).model_dump(), client_secret=rotated.client_secret
    )


@router.delete("/{client_id}", status_code=status.HTTP_204_NO_CONTENT)
async def disable_client(
    client_id: ClientIdPath, request: Request, claims: Admin, oauth: OAuth
) -> None:
    """Disable a client (admins): it can no longer sign users in, and its refresh tokens die."""
    async with unit_of_work(oauth.auth.sessions) as db:
        await clients.disable(
            db,
            client_id=client_id,
            actor_id=uuid.UUID(claims.sub),
            context=RequestContext.from_request(request),
            now=oauth.clock(),
        )


@consent_router.get("", response_model=list[ConsentRead])
async def list_consents(claims: Authenticated, oauth: OAuth) -> list[ConsentRead]:
    """The applications the signed-in user has consented to, and to which scopes."""
    async with oauth.auth.sessions() as db:
        found = await consents.list_for_user(db, user_id=uuid.UUID(claims.sub))
    return [
        ConsentRead(
            client_id=c.client_id, scopes=c.scopes, created_at=c.created_at, updated_at=c.updated_at
        )
        for c in found
    ]


@consent_router.delete("/{client_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_consent(client_id: ClientIdPath, claims: Authenticated, oauth: OAuth) -> None:
    """Withdraw a consent: the application must ask again, and its refresh tokens stop working."""
    async with unit_of_work(oauth.auth.sessions) as db:
        await consents.revoke(
            db, user_id=uuid.UUID(claims.sub), client_id=client_id, now=oauth.clock()
        )
