"""The auth service's ASGI application."""

from __future__ import annotations

from fastapi import FastAPI

from roadbed_auth.config import AuthSettings, get_settings
from roadbed_core.runtime import create_fastapi_service


def create_app(settings: AuthSettings | None = None) -> FastAPI:
    """Build the auth app (identity, tokens, OAuth2 / OpenID Connect provider)."""
    return create_fastapi_service(
        settings or get_settings(),
        title="Roadbed auth",
        description="Identity: accounts, argon2id passwords, JWT access tokens, rotating refresh "
        "tokens, roles, and an OAuth2 / OpenID Connect provider with JWKS.",
    )
