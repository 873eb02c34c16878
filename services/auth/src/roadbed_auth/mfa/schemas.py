"""Request and response models of the second-factor API."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from roadbed_auth.account.schemas import Password

Code = Annotated[str, Field(min_length=6, max_length=12, examples=["123456"])]
RecoveryCode = Annotated[str, Field(min_length=16, max_length=32, examples=["K7QM-2WXP-9D4T-HN3C"])]


class PasswordConfirmation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: Password


class TotpEnrollmentRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "secret": "JBSWY3DPEHPK3PXP",
                    "otpauth_uri": "otpauth://totp/Roadbed:ada%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Roadbed",
                }
            ]
        }
    )

    secret: str
    otpauth_uri: str


class TotpConfirmation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code


class RecoveryCodesRead(BaseModel):
    #: Shown once; each works once. Only their hashes are stored.
    recovery_codes: list[str]


class MfaCompletion(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"mfa_token": "…", "code": "123456"}]}
    )

    mfa_token: Annotated[str, Field(min_length=16, max_length=128)]
    code: Code | None = None
    recovery_code: RecoveryCode | None = None
