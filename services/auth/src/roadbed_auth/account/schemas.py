"""Request and response models of the account API. Every input is bounded."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

# Generous enough for any policy-valid password (the policy caps at 1024 code points by default,
# and says so in a field error); anything longer is refused before it reaches a hash.
Password = Annotated[str, Field(min_length=1, max_length=4096)]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
LinkToken = Annotated[str, Field(min_length=16, max_length=128)]


class RegistrationCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "email": "ada@example.com",
                    "password": "correct horse battery staple",
                    "display_name": "Ada",
                }
            ]
        },
    )

    email: EmailStr = Field(max_length=320)
    password: Password
    display_name: DisplayName


class Accepted(BaseModel):
    """The same answer whatever the account state, so the response reveals nothing."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "accepted", "detail": "Check your inbox."}]}
    )

    status: str = "accepted"
    detail: str


class EmailVerification(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: LinkToken


class PasswordResetRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"email": "ada@example.com"}]}
    )

    email: EmailStr = Field(max_length=320)


class PasswordResetConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: LinkToken
    new_password: Password


class PasswordChange(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "current_password": "old secret words",
                    "new_password": "new secret words",
                    "end_other_sessions": True,
                }
            ]
        },
    )

    current_password: Password
    new_password: Password
    #: Offered on every change (ASVS V7.4.3): end the sessions on other devices too.
    end_other_sessions: bool = True


class UserRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0b8f3c2e-0d4c-4a8e-9a55-3f0e8b0f6a11",
                    "email": "ada@example.com",
                    "display_name": "Ada",
                    "email_verified": True,
                    "roles": ["author", "customer"],
                    "mfa_enabled": False,
                    "created_at": "2026-11-25T12:00:00Z",
                }
            ]
        }
    )

    id: uuid.UUID
    email: str
    display_name: str
    email_verified: bool
    roles: list[str]
    mfa_enabled: bool
    created_at: datetime


class AccountDeletion(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"password": "correct horse battery staple"}]},
    )

    #: Deleting is irreversible: the password proves it is the owner at the keyboard.
    password: Password
