"""Session errors (RFC 6749 calls a bad refresh token ``invalid_grant``)."""

from __future__ import annotations

from roadbed_core.errors import NotFound, Unauthorized


class InvalidRefreshToken(Unauthorized):
    code = "invalid_grant"
    title = "Invalid refresh token"


class SessionNotFound(NotFound):
    code = "session_not_found"
    title = "Session not found"
