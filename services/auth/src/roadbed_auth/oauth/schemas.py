"""Request and response models of the OAuth endpoints and the client admin API. All bounded."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from roadbed_auth.oauth.models import ClientType, GrantType
from roadbed_auth.oauth.scopes import DEFAULT_CLIENT_SCOPES, MAX_SCOPE_LENGTH, MAX_SCOPES


def _not_a_uuid(value: str) -> str:
    # A client-credentials token's ``sub`` is the client id; a UUID-shaped one could be taken for
    # a user's subject by a resource server.
    try:
        uuid.UUID(value)
    except ValueError:
        return value
    raise ValueError("a client id must not look like a user id (a UUID)")


ClientId = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{2,99}$"), AfterValidator(_not_a_uuid)
]
Uri = Annotated[str, StringConstraints(min_length=1, max_length=2048)]
Scope = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SCOPE_LENGTH)]
ClientName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Audience = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$")]


def _blank_is_absent(value: Any) -> Any:
    # RFC 6749 §3.1: "Parameters sent without a value MUST be treated as if they were omitted".
    return None if value == "" else value


class ClientAuthForm(BaseModel):
    """The client credentials a form may carry (``client_secret_post``, or a public client's id)."""

    # RFC 6749 §3.1: unknown parameters are ignored, not refused.
    model_config = ConfigDict(extra="ignore")

    client_id: Annotated[str | None, Field(max_length=100)] = None
    client_secret: Annotated[str | None, Field(max_length=512)] = None

    @field_validator("*", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return _blank_is_absent(value)


class TokenRequest(ClientAuthForm):
    """RFC 6749 §4.1.3, §4.4.2 and §6 token requests (``application/x-www-form-urlencoded``)."""

    grant_type: Annotated[str, Field(max_length=100)]
    code: Annotated[str | None, Field(max_length=512)] = None
    redirect_uri: Annotated[str | None, Field(max_length=2048)] = None
    code_verifier: Annotated[str | None, Field(max_length=128)] = None
    refresh_token: Annotated[str | None, Field(max_length=512)] = None
    scope: Annotated[str | None, Field(max_length=2048)] = None
    device_code: Annotated[str | None, Field(max_length=512)] = None


class DeviceAuthorizationRequest(ClientAuthForm):
    """RFC 8628 §3.1 device authorization request."""

    scope: Annotated[str | None, Field(max_length=2048)] = None


class DeviceAuthorizationBody(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "device_code": "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS",
                    "user_code": "WDJB-MJHT",
                    "verification_uri": "http://127.0.0.1:8000/auth/device",
                    "verification_uri_complete": (
                        "http://127.0.0.1:8000/auth/device?user_code=WDJB-MJHT"
                    ),
                    "expires_in": 600,
                    "interval": 5,
                }
            ]
        }
    )

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int


class TokenForm(ClientAuthForm):
    """RFC 7009 §2.1 revocation and RFC 7662 §2.1 introspection requests."""

    token: Annotated[str, Field(max_length=8192)]
    token_type_hint: Annotated[str | None, Field(max_length=100)] = None


class TokenBody(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6Ii4uLiJ9...",
                    "token_type": "Bearer",
                    "expires_in": 600,
                    "scope": "openid email offline_access",
                    "refresh_token": "b3JhbmdlLXBlYWNoLWxpbWUtbWFuZ28tY2hlcnJ5LWtpd2k",
                    "id_token": "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6Ii4uLiJ9...",
                }
            ]
        }
    )

    access_token: str
    token_type: str
    expires_in: int
    scope: str | None = None
    refresh_token: str | None = None
    id_token: str | None = None


class OAuthErrorBody(BaseModel):
    """RFC 6749 §5.2 error response."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"error": "invalid_grant", "error_description": "authorization code is not valid"}
            ]
        }
    )

    error: str
    error_description: str


class IntrospectionBody(BaseModel):
    """RFC 7662 §2.2; only ``active`` when the token is not live."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "active": True,
                    "token_type": "Bearer",
                    "client_id": "rbc_3f9a0c1d2e4b5a6978b0c1d2",
                    "sub": "0b8f3c2e-0d4c-4a8e-9a55-3f0e8b0f6a11",
                    "aud": ["roadbed"],
                    "iss": "http://127.0.0.1:8000/auth",
                    "scope": "openid email",
                    "exp": 1764072600,
                    "iat": 1764072000,
                    "jti": "r2cG9yHk3tJ0dX1wqj8r5Q",
                },
                {"active": False},
            ]
        },
    )

    active: bool


class UserInfoBody(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "sub": "0b8f3c2e-0d4c-4a8e-9a55-3f0e8b0f6a11",
                    "name": "Ada",
                    "updated_at": 1764072000,
                    "email": "ada@example.com",
                    "email_verified": True,
                }
            ]
        },
    )

    sub: str


# --- the client admin API ------------------------------------------------------------------------


class ClientCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Reporting job",
                    "client_type": "confidential",
                    "grant_types": ["client_credentials"],
                    "scopes": ["shop:orders"],
                    "audience": "roadbed",
                },
                {
                    "name": "Mobile app",
                    "client_type": "public",
                    "redirect_uris": ["https://app.example.com/callback"],
                    "grant_types": ["authorization_code", "refresh_token"],
                    "scopes": ["openid", "profile", "email", "offline_access"],
                },
            ]
        },
    )

    name: ClientName
    client_type: ClientType
    client_id: ClientId | None = None
    redirect_uris: Annotated[list[Uri], Field(max_length=20)] = []
    post_logout_redirect_uris: Annotated[list[Uri], Field(max_length=20)] = []
    grant_types: Annotated[list[GrantType], Field(min_length=1, max_length=4)] = [
        GrantType.AUTHORIZATION_CODE,
        GrantType.REFRESH_TOKEN,
    ]
    scopes: Annotated[list[Scope], Field(max_length=MAX_SCOPES)] = list(DEFAULT_CLIENT_SCOPES)
    audience: Audience | None = None
    first_party: bool = False


class ClientRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "client_id": "roadbed-blog-admin",
                    "name": "Roadbed blog admin",
                    "client_type": "public",
                    "token_endpoint_auth_method": "none",
                    "redirect_uris": ["http://127.0.0.1:8000/blog/admin/oidc/callback"],
                    "post_logout_redirect_uris": ["http://127.0.0.1:8000/blog/admin/"],
                    "grant_types": ["authorization_code", "refresh_token"],
                    "scopes": ["openid", "profile", "email", "offline_access"],
                    "audience": None,
                    "first_party": True,
                    "created_at": "2026-11-25T12:00:00Z",
                    "disabled_at": None,
                }
            ]
        }
    )

    client_id: str
    name: str
    client_type: ClientType
    token_endpoint_auth_method: str
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    grant_types: list[str]
    scopes: list[str]
    audience: str | None
    first_party: bool
    created_at: datetime
    disabled_at: datetime | None


class ClientCreated(ClientRead):
    """The registered client; ``client_secret`` is shown this once (confidential clients)."""

    client_secret: str | None


class ClientPage(BaseModel):
    items: list[ClientRead]
    #: Pass as ``cursor`` for the next page; ``null`` on the last one.
    next_cursor: str | None


class ConsentRead(BaseModel):
    client_id: str
    scopes: list[str]
    created_at: datetime
    updated_at: datetime
