"""Account errors. Messages never say whether an account exists."""

from __future__ import annotations

from roadbed_core.errors import BadRequest, Unauthorized


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    title = "Invalid email or password"


class InvalidOneTimeToken(BadRequest):
    code = "invalid_token"
    title = "This link is invalid or has expired"
