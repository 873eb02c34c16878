"""A real browser — headless Debian Chromium driven by Playwright — signs in through the pages
and completes the authorization code flow with PKCE; screenshots of each page are kept.

Skipped when ``/usr/bin/chromium`` is missing, unless ``ROADBED_REQUIRE_SERVICES=1`` (CI, whose
``.ci/run`` installs the Debian package: no browser download, only package registries).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import argon2
import httpx
import jwt
import pytest
from playwright.async_api import Browser, Page, Route, async_playwright

from roadbed_auth.account.models import User, UserRole
from roadbed_auth.context import RequestContext
from roadbed_auth.oauth import clients
from roadbed_auth.oauth.clients import ClientRegistration
from roadbed_auth.oauth.models import ClientType
from roadbed_core.db import make_async_engine, make_async_sessionmaker, unit_of_work
from roadbed_core.testing.plugin import services_required

from .conftest import CALLBACK, PASSWORD, new_verifier, query_of, s256

CHROMIUM = Path("/usr/bin/chromium")


def chromium_path() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    reason = f"Debian chromium is not installed at {CHROMIUM}"
    if services_required():
        pytest.fail(f"{reason} and ROADBED_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def artifacts(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """Where screenshots go: ``$ROADBED_TEST_ARTIFACTS/<test>`` when set, else the tmp dir."""
    root = os.environ.get("ROADBED_TEST_ARTIFACTS")
    folder = Path(root) / request.node.name if root else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_path()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(executable), headless=True)
        try:
            yield launched
        finally:
            await launched.close()


async def seed(database: str, *, email: str, third_party: bool) -> dict[str, Any]:
    """An account and a public client, written with the service code the API uses."""
    engine = make_async_engine(database)
    now = datetime.now(UTC)
    try:
        async with unit_of_work(make_async_sessionmaker(engine)) as db:
            user = User(
                id=uuid.uuid4(),
                email=email,
                display_name="Ada",
                password_hash=argon2.PasswordHasher(memory_cost=8192, time_cost=1).hash(PASSWORD),
                password_changed_at=now,
                email_verified_at=now,
                created_at=now,
                updated_at=now,
            )
            db.add(user)
            await db.flush()
            db.add(UserRole(user_id=user.id, role="customer", granted_at=now))
            registered = await clients.create(
                db,
                registration=ClientRegistration(
                    name="Browser test app",
                    client_type=ClientType.PUBLIC,
                    redirect_uris=[CALLBACK],
                    first_party=not third_party,
                ),
                actor_id=None,
                context=RequestContext(ip_address="", user_agent="test", request_id=""),
                now=now,
            )
    finally:
        await engine.dispose()
    return {"client_id": registered.client.client_id, "user_id": str(user.id)}


async def capture_callback(page: Page) -> list[str]:
    """The client's redirect URI is not served here: record where the browser was sent."""
    arrived: list[str] = []

    async def fulfil(route: Route) -> None:
        arrived.append(route.request.url)
        await route.fulfill(status=200, content_type="text/plain", body="callback reached")

    await page.route(f"{CALLBACK}**", fulfil)
    return arrived


@pytest.mark.parametrize("third_party", [False, True], ids=["first-party", "with-consent"])
async def test_a_user_signs_in_with_chromium_and_the_client_gets_tokens(
    browser: Browser,  # first: a missing browser skips before any server starts
    server: str,
    backing: tuple[str, str],
    artifacts: Path,
    third_party: bool,
) -> None:
    # Given an account, a client, and a browser with no session
    email = f"chromium-{uuid.uuid4().hex[:8]}@example.com"
    seeded = await seed(backing[0], email=email, third_party=third_party)
    verifier = new_verifier()
    authorize = f"{server}/auth/oauth/authorize?" + urlencode(
        {
            "response_type": "code",
            "client_id": seeded["client_id"],
            "redirect_uri": CALLBACK,
            "scope": "openid email",
            "state": "browser-state",
            "nonce": "browser-nonce",
            "code_challenge": s256(verifier),
            "code_challenge_method": "S256",
        }
    )
    context = await browser.new_context()
    page = await context.new_page()
    arrived = await capture_callback(page)

    # When the user signs in on the page, by its labels, and (for a third party) allows access
    await page.goto(authorize)
    await page.screenshot(path=str(artifacts / "1-sign-in.png"), full_page=True)
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    if third_party:
        await page.get_by_role("button", name="Allow").wait_for()
        await page.screenshot(path=str(artifacts / "2-consent.png"), full_page=True)
        await page.get_by_role("button", name="Allow").click()
    await page.wait_for_url(f"{CALLBACK}**")
    await page.screenshot(path=str(artifacts / "3-callback.png"), full_page=True)
    cookies = {cookie["name"]: cookie for cookie in await context.cookies()}
    await context.close()

    # Then the client's redirect URI got the code, state and issuer, and the code redeems
    response = query_of(arrived[-1])
    assert (response["state"], response["iss"]) == ("browser-state", f"{server}/auth")
    session_cookie = cookies["roadbed_auth_session"]
    assert (session_cookie["httpOnly"], session_cookie["sameSite"], session_cookie["path"]) == (
        True,
        "Lax",
        "/auth",
    )
    async with httpx.AsyncClient(base_url=server) as http:
        tokens = (
            await http.post(
                "/auth/oauth/token",
                data={
                    "grant_type": "authorization_code",
                    "code": response["code"],
                    "redirect_uri": CALLBACK,
                    "code_verifier": verifier,
                    "client_id": seeded["client_id"],
                },
            )
        ).json()
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert (claims["sub"], claims["nonce"], claims["email"]) == (
        seeded["user_id"],
        "browser-nonce",
        email,
    )
    assert sorted(path.name for path in artifacts.iterdir()) == (
        ["1-sign-in.png", "2-consent.png", "3-callback.png"]
        if third_party
        else ["1-sign-in.png", "3-callback.png"]
    )
