"""Request and response models of the session (login) API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from roadbed_auth.account.schemas import Password


class LoginCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"email": "ada@example.com", "password": "correct horse battery staple"}]
        },
    )

    email: EmailStr = Field(max_length=320)
    password: Password


class RefreshCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: Annotated[str, Field(min_length=1, max_length=128)]


class TokenRead(BaseModel):
    """An RFC 6749 §5.1-shaped token response."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6Ii4uLiJ9...",
                    "token_type": "Bearer",
                    "expires_in": 600,
                    "refresh_token": "b3JhbmdlLXBlYWNoLWxpbWUtbWFuZ28tY2hlcnJ5LWtpd2k",
                    "session_id": "5c1e0a0e-7f3a-4d55-8d1c-0a3c7e9b2f10",
                }
            ]
        }
    )

    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the RFC 6750 scheme name
    expires_in: int
    refresh_token: str
    session_id: uuid.UUID


class SessionRead(BaseModel):
    id: uuid.UUID
    client_id: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str
    ip_address: str
    current: bool
