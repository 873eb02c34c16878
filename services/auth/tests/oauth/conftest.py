"""The OAuth provider over HTTP, mounted at ``/auth`` as in the embedded composition and behind
nginx, on SQLite + in-process cache and on PostgreSQL + Redis.

The HTTP client talks to ``http://127.0.0.1:8000`` — the default public origin — so the issuer,
the discovery URLs and the cookie rules are exactly those of ``make up``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.routing import Mount

from roadbed_auth.account.models import User, UserRole
from roadbed_auth.app import create_app
from roadbed_auth.config import AuthSettings
from roadbed_auth.lifecycle import lifecycle
from roadbed_core.db import upgrade

ORIGIN = "http://127.0.0.1:8000"
ISSUER = f"{ORIGIN}/auth"
PASSWORD = "correct horse battery staple"
CALLBACK = "https://app.example.com/callback"
CLIENT_ADDRESS = ("203.0.113.7", 51000)


def auth_settings(database: str, cache: str, **overrides: Any) -> AuthSettings:
    return AuthSettings(
        database_url=database,
        cache_url=cache,
        # Cheap hashes keep the suite fast; the benchmark uses the OWASP cost.
        argon2_memory_kib=8 * 1024,
        argon2_time_cost=1,
        refresh_reuse_grace_seconds=0,
        **overrides,
    )


@pytest.fixture(params=["embedded", pytest.param("production", marks=pytest.mark.services)])
def backing(request: pytest.FixtureRequest, tmp_path: Any) -> tuple[str, str]:
    """(database URL, cache URL), migrated to head."""
    if request.param == "embedded":
        database, cache = f"sqlite:///{tmp_path}/auth.db", f"memory://{tmp_path.name}"
    else:
        database = request.getfixturevalue("postgres_url")
        cache = request.getfixturevalue("redis_url")
    upgrade(lifecycle.migrations, database)
    return database, cache


@pytest.fixture
def settings(backing: tuple[str, str]) -> AuthSettings:
    return auth_settings(*backing)


@pytest.fixture
async def app(settings: AuthSettings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


def mounted(app: FastAPI) -> Starlette:
    """The auth app under ``/auth``, as ``make up`` and nginx serve it."""
    return Starlette(routes=[Mount("/auth", app=app)])


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client with a cookie jar: it plays the browser, and calls the APIs."""
    transport = httpx.ASGITransport(app=mounted(app), client=CLIENT_ADDRESS)
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as client:
        yield client


def transport_for(app: FastAPI) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=mounted(app), client=CLIENT_ADDRESS)


@pytest.fixture
def server(backing: tuple[str, str]) -> Iterator[str]:
    """The auth app served by uvicorn at ``http://127.0.0.1:<free port>/auth``; yields the origin.

    For clients that make their own HTTP connections (PyJWT's JWKS client, a browser).
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)  # connections wait in the backlog until uvicorn accepts: no polling
    origin = f"http://127.0.0.1:{listener.getsockname()[1]}"
    auth_app = create_app(auth_settings(*backing, public_origin=origin))
    # Starlette does not run a mounted app's lifespan; the composition enters it the same way.
    app = Starlette(
        routes=[Mount("/auth", app=auth_app)],
        lifespan=lambda _: auth_app.router.lifespan_context(auth_app),
    )
    instance = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning"))
    thread = threading.Thread(target=instance.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        yield origin
    finally:
        instance.should_exit = True
        thread.join()
        listener.close()


# --- builders ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    id: uuid.UUID
    email: str
    password: str = PASSWORD


async def create_account(
    app: FastAPI, *, roles: tuple[str, ...] = ("customer",), display_name: str = "Ada"
) -> Account:
    """A verified, active account with a real argon2 hash (cheap parameters)."""
    auth = app.state.auth
    now = datetime.now(UTC)
    email = f"user-{uuid.uuid4().hex[:10]}@example.com"
    user = User(
        id=uuid.uuid4(),
        email=email,
        display_name=display_name,
        password_hash=await auth.hasher.hash(PASSWORD),
        password_changed_at=now,
        email_verified_at=now,
        created_at=now,
        updated_at=now,
    )
    async with auth.sessions() as db, db.begin():
        db.add(user)
        await db.flush()
        for role in roles:
            db.add(UserRole(user_id=user.id, role=role, granted_at=now))
    return Account(id=user.id, email=email)


async def api_token(http: httpx.AsyncClient, account: Account) -> str:
    """A first-party access token for the account (``POST /v1/sessions``)."""
    response = await http.post(
        "/auth/v1/sessions", json={"email": account.email, "password": account.password}
    )
    assert response.status_code == 201, response.text
    token: str = response.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def admin_headers(http: httpx.AsyncClient, app: FastAPI) -> dict[str, str]:
    admin = await create_account(app, roles=("admin",))
    return bearer(await api_token(http, admin))


async def register_client(http: httpx.AsyncClient, app: FastAPI, **fields: Any) -> dict[str, Any]:
    """Register a client through the admin API; defaults: a third-party public PKCE client."""
    body: dict[str, Any] = {
        "name": "Example app",
        "client_type": "public",
        "redirect_uris": [CALLBACK],
        "post_logout_redirect_uris": ["https://app.example.com/signed-out"],
        "grant_types": ["authorization_code", "refresh_token"],
        "scopes": ["openid", "profile", "email", "offline_access", "shop:orders"],
    }
    body.update(fields)
    response = await http.post(
        "/auth/v1/clients", json=body, headers=await admin_headers(http, app)
    )
    assert response.status_code == 201, response.text
    registered: dict[str, Any] = response.json()
    return registered


# --- PKCE and the browser ------------------------------------------------------------------------


def new_verifier() -> str:
    return secrets.token_urlsafe(48)


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_url(client_id: str, verifier: str, /, **overrides: str | None) -> str:
    """``/auth/oauth/authorize?...`` with PKCE S256, state and nonce; ``None`` drops a parameter."""
    parameters: dict[str, str | None] = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": CALLBACK,
        "scope": "openid profile email offline_access",
        "state": "state-123",
        "nonce": "nonce-456",
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
    }
    parameters.update(overrides)
    return "/auth/oauth/authorize?" + urlencode(
        {name: value for name, value in parameters.items() if value is not None}
    )


class _Forms(HTMLParser):
    """The named inputs of a page (hidden and visible), as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.actions: list[str] = []
        self.labels_for: set[str] = set()
        self.input_ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.actions.append(attributes.get("action", ""))
        if tag == "label" and "for" in attributes:
            self.labels_for.add(attributes["for"])
        if tag == "input" and "name" in attributes:
            self.fields[attributes["name"]] = attributes.get("value", "")
            if attributes.get("type") != "hidden":
                self.input_ids.add(attributes.get("id", ""))


def forms(html: str) -> _Forms:
    parser = _Forms()
    parser.feed(html)
    return parser


def query_of(location: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


async def sign_in(http: httpx.AsyncClient, login_location: str, account: Account) -> httpx.Response:
    """Fill in the sign-in page the authorization endpoint sent us to; the response to the post."""
    page = await http.get(login_location)
    assert page.status_code == 200, page.text
    fields = forms(page.text).fields
    fields.update(email=account.email, password=account.password)
    return await http.post("/auth/login", data=fields)


async def authorize_in_browser(
    http: httpx.AsyncClient, url: str, account: Account, *, decision: str = "allow"
) -> str:
    """Drive the pages like a user: sign in when asked, answer the consent screen when shown.

    Returns where the provider finally redirects (the client's redirect URI with the response).
    """
    response = await http.get(url)
    for _step in range(6):
        if response.status_code in (302, 303):
            location = response.headers["location"]
            if not location.startswith("/auth/"):
                return location
            if location.startswith("/auth/login"):
                response = await sign_in(http, location, account)
            else:
                response = await http.get(location)
        elif response.status_code == 200 and "/auth/oauth/consent" in forms(response.text).actions:
            fields = forms(response.text).fields
            fields["decision"] = decision
            response = await http.post("/auth/oauth/consent", data=fields)
        else:
            raise AssertionError(f"unexpected page {response.status_code}: {response.text[:500]}")
    raise AssertionError("too many steps")
