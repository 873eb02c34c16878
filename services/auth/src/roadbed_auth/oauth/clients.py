"""OAuth clients: registration, authentication at the token endpoint, first-party seeding.

Rules:
- redirect URIs are absolute, without fragment, ``https`` or ``http`` on a loopback host
  (RFC 8252 §7.3, RFC 9700 §4.1.1), and are later compared by exact string match only;
- a public client has no secret and may only use the authorization code grant (with PKCE) and
  refresh tokens; client credentials need a confidential client and an audience;
- a secret is shown once, at registration or rotation, and stored as SHA-256 (see
  :mod:`roadbed_auth.oauth.secrets` for why not argon2);
- client authentication compares digests in constant time, and an unknown client costs the
  same comparison as a known one.
Functions only flush; the caller's unit of work commits.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from roadbed_auth.audit import service as audit
from roadbed_auth.context import RequestContext
from roadbed_auth.oauth import repository
from roadbed_auth.oauth.errors import InvalidClient
from roadbed_auth.oauth.models import ClientType, GrantType, OAuthClient
from roadbed_auth.oauth.scopes import DEFAULT_CLIENT_SCOPES, OIDC_SCOPES, is_scope_token
from roadbed_auth.oauth.secrets import MAX_OPAQUE_LENGTH, digest, digests_match, new_opaque_value
from roadbed_core.errors import Conflict, FieldError, NotFound, ValidationFailed

LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "[::1]", "::1", "localhost"})
MAX_REDIRECT_URIS: Final = 20
MAX_URI_LENGTH: Final = 2048
# Compared against when the client id is unknown, so both paths do the same work.
_DUMMY_DIGEST: Final = digest(new_opaque_value())


class AuthMethod(StrEnum):
    """How a client authenticated at the token endpoint (RFC 8414 names)."""

    BASIC = "client_secret_basic"
    POST = "client_secret_post"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class PresentedCredentials:
    """What a request to the token, revocation or introspection endpoint says about its client."""

    client_id: str
    secret: str | None
    method: AuthMethod


@dataclass(frozen=True, slots=True)
class ClientRegistration:
    name: str
    client_type: ClientType
    redirect_uris: Sequence[str] = ()
    post_logout_redirect_uris: Sequence[str] = ()
    grant_types: Sequence[GrantType] = (GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN)
    scopes: Sequence[str] = DEFAULT_CLIENT_SCOPES
    audience: str | None = None
    first_party: bool = False
    #: Chosen by the registrant (first-party clients have readable ids); generated otherwise.
    client_id: str | None = None


@dataclass(frozen=True, slots=True)
class RegisteredClient:
    client: OAuthClient
    #: The secret in the clear, this once (confidential clients only).
    client_secret: str | None


class ClientNotFound(NotFound):
    code = "client_not_found"
    title = "Client not found"


class ClientIdTaken(Conflict):
    code = "client_id_taken"
    title = "Client id already registered"


class ClientIsPublic(Conflict):
    code = "client_is_public"
    title = "Public clients have no secret"


def new_client_id() -> str:
    return f"rbc_{secrets.token_hex(12)}"


def _redirect_uri_errors(field: str, uris: Sequence[str]) -> list[FieldError]:
    errors: list[FieldError] = []
    if len(uris) > MAX_REDIRECT_URIS:
        errors.append(FieldError(field, f"at most {MAX_REDIRECT_URIS} URIs", "too_many"))
    for index, uri in enumerate(uris):
        where = f"{field}.{index}"
        if len(uri) > MAX_URI_LENGTH:
            errors.append(FieldError(where, "URI is too long", "too_long"))
            continue
        parts = urlsplit(uri)
        if not parts.scheme or not parts.netloc or parts.fragment or "#" in uri:
            errors.append(FieldError(where, "must be an absolute URI without fragment"))
        elif parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
            errors.append(
                FieldError(where, "http is allowed for loopback hosts only; use https", "insecure")
            )
        elif parts.scheme not in ("https", "http"):
            errors.append(FieldError(where, "must be an https URI", "scheme"))
    return errors


def _registration_errors(registration: ClientRegistration) -> list[FieldError]:
    errors = _redirect_uri_errors("redirect_uris", registration.redirect_uris)
    errors += _redirect_uri_errors(
        "post_logout_redirect_uris", registration.post_logout_redirect_uris
    )
    grants = set(registration.grant_types)
    if not grants:
        errors.append(FieldError("grant_types", "at least one grant type is required", "missing"))
    if GrantType.AUTHORIZATION_CODE in grants and not registration.redirect_uris:
        errors.append(
            FieldError("redirect_uris", "the authorization code grant needs a redirect URI")
        )
    user_grants = {GrantType.AUTHORIZATION_CODE, GrantType.DEVICE_CODE}
    if GrantType.REFRESH_TOKEN in grants and not grants & user_grants:
        errors.append(
            FieldError(
                "grant_types", "refresh_token comes with authorization_code or the device grant"
            )
        )
    if GrantType.CLIENT_CREDENTIALS in grants:
        if registration.client_type is ClientType.PUBLIC:
            errors.append(
                FieldError("grant_types", "client_credentials needs a confidential client")
            )
        if not registration.audience:
            errors.append(FieldError("audience", "client_credentials needs an audience", "missing"))
    for index, scope in enumerate(registration.scopes):
        if not is_scope_token(scope):
            errors.append(FieldError(f"scopes.{index}", "not a valid scope token"))
    return errors


async def create(
    db: AsyncSession,
    *,
    registration: ClientRegistration,
    actor_id: uuid.UUID | None,
    context: RequestContext,
    now: datetime,
) -> RegisteredClient:
    """Register a client; a confidential one gets its secret back this once."""
    errors = _registration_errors(registration)
    if errors:
        raise ValidationFailed("The client registration is invalid.", errors=errors)
    secret = new_opaque_value() if registration.client_type is ClientType.CONFIDENTIAL else None
    client = OAuthClient(
        id=uuid.uuid4(),
        client_id=registration.client_id or new_client_id(),
        secret_hash=digest(secret) if secret is not None else None,
        name=registration.name,
        client_type=registration.client_type,
        redirect_uris=list(dict.fromkeys(registration.redirect_uris)),
        post_logout_redirect_uris=list(dict.fromkeys(registration.post_logout_redirect_uris)),
        grant_types=sorted({str(grant) for grant in registration.grant_types}),
        scopes=list(dict.fromkeys(registration.scopes)),
        audience=registration.audience,
        first_party=registration.first_party,
        created_at=now,
        updated_at=now,
    )
    try:
        async with db.begin_nested():  # a concurrent registration of the same id wins
            await repository.add_client(db, client)
    except IntegrityError as exc:
        raise ClientIdTaken(f"client id {client.client_id!r} is already registered") from exc
    await audit.record(
        db,
        action="client.registered",
        context=context,
        now=now,
        actor_id=actor_id,
        details={"client_id": client.client_id, "client_type": client.client_type},
    )
    return RegisteredClient(client=client, client_secret=secret)


async def get_or_raise(db: AsyncSession, *, client_id: str) -> OAuthClient:
    client = await repository.get_client(db, client_id)
    if client is None:
        raise ClientNotFound()
    return client


async def get_active(db: AsyncSession, *, client_id: str) -> OAuthClient | None:
    """The client if it exists and is not disabled."""
    if not client_id or len(client_id) > 100:
        return None
    client = await repository.get_client(db, client_id)
    return client if client is not None and client.is_active else None


async def list_page(
    db: AsyncSession, *, after_client_id: str | None, limit: int
) -> Sequence[OAuthClient]:
    return await repository.list_clients(db, after_client_id=after_client_id, limit=limit)


async def disable(
    db: AsyncSession,
    *,
    client_id: str,
    actor_id: uuid.UUID | None,
    context: RequestContext,
    now: datetime,
) -> None:
    """Disable a client: it can no longer authenticate, and its refresh tokens stop working."""
    client = await get_or_raise(db, client_id=client_id)
    if client.disabled_at is None:
        client.disabled_at = now
        client.updated_at = now
    ended = await repository.revoke_client_sessions(
        db, client_id=client.client_id, reason="client_disabled", now=now
    )
    await audit.record(
        db,
        action="client.disabled",
        context=context,
        now=now,
        actor_id=actor_id,
        details={"client_id": client.client_id, "sessions_ended": ended},
    )
    await db.flush()


async def rotate_secret(
    db: AsyncSession,
    *,
    client_id: str,
    actor_id: uuid.UUID | None,
    context: RequestContext,
    now: datetime,
) -> RegisteredClient:
    """Give a confidential client a new secret; the old one stops working at once."""
    client = await get_or_raise(db, client_id=client_id)
    if not client.is_confidential:
        raise ClientIsPublic()
    secret = new_opaque_value()
    client.secret_hash = digest(secret)
    client.updated_at = now
    await audit.record(
        db,
        action="client.secret_rotated",
        context=context,
        now=now,
        actor_id=actor_id,
        details={"client_id": client.client_id},
    )
    await db.flush()
    return RegisteredClient(client=client, client_secret=secret)


async def authenticate(
    db: AsyncSession, *, credentials: PresentedCredentials, confidential_only: bool = False
) -> OAuthClient:
    """The client the credentials prove (RFC 6749 §2.3), or :class:`InvalidClient`.

    A confidential client must present its secret (Basic or in the body); a public client must
    not present any — it has none, so a secret means a misconfigured or impersonating caller.
    """
    client = await get_active(db, client_id=credentials.client_id)
    secret = credentials.secret
    if client is None:
        digests_match(secret or "", _DUMMY_DIGEST)
        raise InvalidClient()
    if client.is_confidential:
        if credentials.method is AuthMethod.NONE or secret is None:
            raise InvalidClient("this client must authenticate with its secret")
        if len(secret) > MAX_OPAQUE_LENGTH or not digests_match(
            secret, client.secret_hash or _DUMMY_DIGEST
        ):
            raise InvalidClient()
        return client
    if credentials.method is not AuthMethod.NONE or secret is not None:
        raise InvalidClient("public clients do not authenticate with a secret")
    if confidential_only:
        raise InvalidClient("this endpoint is for confidential clients")
    return client


def first_party_registrations(public_origin: str) -> list[ClientRegistration]:
    """Roadbed's own applications: public clients (PKCE) with consent skipped."""
    origin = public_origin.rstrip("/")
    return [
        ClientRegistration(
            client_id="roadbed-blog-admin",
            name="Roadbed blog admin",
            client_type=ClientType.PUBLIC,
            redirect_uris=[f"{origin}/blog/admin/oidc/callback"],
            post_logout_redirect_uris=[f"{origin}/blog/admin/"],
            scopes=list(OIDC_SCOPES),
            first_party=True,
        ),
        ClientRegistration(
            client_id="roadbed-shop",
            name="Roadbed shop",
            client_type=ClientType.PUBLIC,
            redirect_uris=[f"{origin}/shop/oidc/callback"],
            post_logout_redirect_uris=[f"{origin}/shop/"],
            scopes=[*OIDC_SCOPES, "shop:orders"],
            first_party=True,
        ),
        ClientRegistration(
            client_id="roadbed-tasks",
            name="Roadbed tasks",
            client_type=ClientType.PUBLIC,
            redirect_uris=[f"{origin}/tasks/oidc/callback"],
            post_logout_redirect_uris=[f"{origin}/tasks/"],
            scopes=[*OIDC_SCOPES, "tasks:write"],
            first_party=True,
        ),
    ]


async def seed_first_party(
    db: AsyncSession, *, public_origin: str, context: RequestContext, now: datetime
) -> list[str]:
    """Register the first-party clients that are missing (idempotent, race-safe); one line each.

    A client an admin has since changed or disabled is left as it is.
    """
    created: list[str] = []
    for registration in first_party_registrations(public_origin):
        assert registration.client_id is not None  # noqa: S101 - first-party ids are fixed
        if await repository.get_client(db, registration.client_id) is not None:
            continue
        try:
            await create(db, registration=registration, actor_id=None, context=context, now=now)
        except ClientIdTaken:
            continue  # another replica seeded it first
        created.append(f"oauth client {registration.client_id}")
    return created
