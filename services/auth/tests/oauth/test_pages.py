"""The browser pages: sign-in (with the second factor), consent, cookies, CSRF and headers."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
import pyotp
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from roadbed_auth.account.models import User
from roadbed_auth.config import AuthSettings
from roadbed_auth.oauth.browser import CSRF_COOKIE, SESSION_COOKIE
from roadbed_auth.oauth.components import secure_cookies

from .conftest import (
    CALLBACK,
    Account,
    api_token,
    authorize_in_browser,
    authorize_url,
    bearer,
    create_account,
    forms,
    new_verifier,
    query_of,
    register_client,
    sign_in,
)

VERIFIER = new_verifier()


@pytest.fixture
async def account(app: FastAPI) -> Account:
    return await create_account(app)


@pytest.fixture
async def third_party(http: httpx.AsyncClient, app: FastAPI) -> dict[str, Any]:
    return await register_client(http, app, name="Example & Co <app>")


@pytest.fixture
async def first_party(http: httpx.AsyncClient, app: FastAPI) -> dict[str, Any]:
    return await register_client(http, app, first_party=True)


def set_cookies(response: httpx.Response) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in response.headers.get_list("set-cookie")}


async def test_an_anonymous_authorization_goes_to_the_sign_in_page(
    http: httpx.AsyncClient, third_party: dict[str, Any]
) -> None:
    response = await http.get(authorize_url(third_party["client_id"], VERIFIER))
    page = await http.get(response.headers["location"])

    assert response.status_code == 303
    assert response.headers["location"] == "/auth/login?" + urlencode(
        {"resume": authorize_url(third_party["client_id"], VERIFIER).removeprefix("/auth")}
    )
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    parsed = forms(page.text)
    assert parsed.actions == ["/auth/login"]
    assert set(parsed.fields) == {"csrf_token", "resume", "email", "password"}
    # Every visible field has a label (WCAG 1.3.1 / 4.1.2).
    assert parsed.input_ids == {"email", "password"} <= parsed.labels_for
    assert '<html lang="en">' in page.text


async def test_the_csrf_cookie_is_httponly_lax_and_scoped_to_the_service(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get("/auth/login")

    cookie = set_cookies(page)[CSRF_COOKIE]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/auth" in cookie
    # http://127.0.0.1 in development: the one place Secure is relaxed.
    assert "Secure" not in cookie


@pytest.mark.parametrize(
    ("origin", "env", "secure"),
    [
        ("http://127.0.0.1:8000", "dev", False),
        ("http://localhost:8000", "dev", False),
        ("http://127.0.0.1:8000", "prod", True),
        ("http://roadbed.example", "dev", True),
        ("https://roadbed.example", "dev", True),
        ("https://roadbed.example", "prod", True),
    ],
)
def test_cookies_are_secure_except_on_a_development_loopback_origin(
    origin: str, env: str, secure: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "KEY_ENCRYPTION_SECRET",
        "MFA_ENCRYPTION_KEY",
        "THROTTLE_SECRET",
        "REFRESH_TOKEN_SECRET",
        "SECRET_KEY",
    ):
        monkeypatch.setenv(f"ROADBED_AUTH_{name}", "a-real-secret-for-this-test")
    settings = AuthSettings(public_origin=origin, env=env)

    assert secure_cookies(settings) is secure


async def test_signing_in_sets_the_session_cookie_and_resumes_the_authorization(
    http: httpx.AsyncClient, third_party: dict[str, Any], account: Account
) -> None:
    redirect = await http.get(authorize_url(third_party["client_id"], VERIFIER))

    response = await sign_in(http, redirect.headers["location"], account)

    assert response.status_code == 303
    assert response.headers["location"] == authorize_url(third_party["client_id"], VERIFIER)
    cookie = set_cookies(response)[SESSION_COOKIE]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/auth" in cookie
    assert "Max-Age=43200" in cookie


async def test_the_consent_page_escapes_the_client_name_and_lists_the_scopes(
    http: httpx.AsyncClient, third_party: dict[str, Any], account: Account
) -> None:
    redirect = await http.get(authorize_url(third_party["client_id"], VERIFIER))
    await sign_in(http, redirect.headers["location"], account)

    page = await http.get(authorize_url(third_party["client_id"], VERIFIER))

    assert page.status_code == 200
    assert "Example &amp; Co &lt;app&gt;" in page.text
    assert "<app>" not in page.text
    assert "See your email address" in page.text
    assert "(offline_access)" in page.text
    assert forms(page.text).actions == ["/auth/oauth/consent"]
    assert page.headers["x-frame-options"] == "DENY"


async def test_consent_is_remembered_per_client_and_scope(
    http: httpx.AsyncClient, third_party: dict[str, Any], account: Account
) -> None:
    # Given the user consented to "openid email"
    await authorize_in_browser(
        http, authorize_url(third_party["client_id"], VERIFIER, scope="openid email"), account
    )

    # When the client asks again for the same or fewer scopes, then for a new one
    same = await http.get(authorize_url(third_party["client_id"], VERIFIER, scope="openid email"))
    fewer = await http.get(authorize_url(third_party["client_id"], VERIFIER, scope="openid"))
    more = await http.get(
        authorize_url(third_party["client_id"], VERIFIER, scope="openid shop:orders")
    )

    # Then the first two go straight back with a code; the new scope needs consent
    assert same.status_code == 302
    assert "code" in query_of(same.headers["location"])
    assert fewer.status_code == 302
    assert more.status_code == 200
    assert "Use the Roadbed API with scope shop:orders" in more.text


async def test_first_party_clients_skip_consent(
    http: httpx.AsyncClient, first_party: dict[str, Any], account: Account
) -> None:
    redirect = await http.get(authorize_url(first_party["client_id"], VERIFIER))

    response = await sign_in(http, redirect.headers["location"], account)
    back = await http.get(response.headers["location"])

    assert back.status_code == 302
    assert back.headers["location"].startswith(CALLBACK + "?code=")


async def test_a_user_can_list_and_withdraw_consents(
    http: httpx.AsyncClient, app: FastAPI, third_party: dict[str, Any], account: Account
) -> None:
    location = await authorize_in_browser(
        http, authorize_url(third_party["client_id"], VERIFIER), account
    )
    tokens = (
        await http.post(
            "/auth/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": query_of(location)["code"],
                "redirect_uri": CALLBACK,
                "code_verifier": VERIFIER,
                "client_id": third_party["client_id"],
            },
        )
    ).json()
    headers = bearer(await api_token(http, account))
    other = bearer(await api_token(http, await create_account(app)))

    listed = await http.get("/auth/v1/me/consents", headers=headers)
    not_theirs = await http.delete(
        f"/auth/v1/me/consents/{third_party['client_id']}", headers=other
    )
    withdrawn = await http.delete(
        f"/auth/v1/me/consents/{third_party['client_id']}", headers=headers
    )
    again = await http.get(authorize_url(third_party["client_id"], VERIFIER))
    refresh = await http.post(
        "/auth/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": third_party["client_id"],
        },
    )

    assert [(c["client_id"], c["scopes"]) for c in listed.json()] == [
        (third_party["client_id"], ["openid", "profile", "email", "offline_access"])
    ]
    assert not_theirs.status_code == 404
    assert withdrawn.status_code == 204
    assert again.status_code == 200  # the consent page again
    assert refresh.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_consents_need_a_token(http: httpx.AsyncClient, method: str) -> None:
    path = "/auth/v1/me/consents" + ("/roadbed-shop" if method == "DELETE" else "")

    response = await http.request(method, path)

    assert response.status_code == 401


async def test_prompt_login_asks_a_signed_in_user_again_without_looping(
    http: httpx.AsyncClient, first_party: dict[str, Any], account: Account
) -> None:
    await authorize_in_browser(http, authorize_url(first_party["client_id"], VERIFIER), account)

    forced = await http.get(authorize_url(first_party["client_id"], VERIFIER, prompt="login"))
    location = await authorize_in_browser(
        http,
        authorize_url(first_party["client_id"], VERIFIER, prompt="login", max_age="0"),
        account,
    )

    assert forced.status_code == 303
    assert forced.headers["location"].startswith("/auth/login?")
    assert "code" in query_of(location)


@pytest.mark.parametrize("csrf", ["missing", "wrong", "other-cookie"])
async def test_a_sign_in_without_the_right_csrf_token_is_refused(
    http: httpx.AsyncClient, app: FastAPI, account: Account, csrf: str
) -> None:
    page = await http.get("/auth/login")
    fields = forms(page.text).fields
    fields.update(email=account.email, password=account.password)
    if csrf == "missing":
        del fields["csrf_token"]
    elif csrf == "wrong":
        fields["csrf_token"] = "0" * 64
    else:
        http.cookies.set(CSRF_COOKIE, "another-browsers-cookie", domain="127.0.0.1", path="/auth")

    response = await http.post("/auth/login", data=fields)

    assert response.status_code == 403
    assert "This form has expired" in response.text
    assert SESSION_COOKIE not in set_cookies(response)


async def test_a_consent_without_the_session_bound_csrf_token_is_refused(
    http: httpx.AsyncClient, third_party: dict[str, Any], account: Account
) -> None:
    redirect = await http.get(authorize_url(third_party["client_id"], VERIFIER))
    await sign_in(http, redirect.headers["location"], account)
    login_page = await http.get("/auth/login")  # a token for the cookie, not for the session
    fields = forms((await http.get(authorize_url(third_party["client_id"], VERIFIER))).text).fields
    fields.update(decision="allow", csrf_token=forms(login_page.text).fields["csrf_token"])

    response = await http.post("/auth/oauth/consent", data=fields)

    assert response.status_code == 403
    assert "location" not in response.headers


@pytest.mark.parametrize("who", ["wrong-password", "unknown-email"])
async def test_failed_sign_in_looks_the_same_for_unknown_and_known_accounts(
    http: httpx.AsyncClient, account: Account, who: str
) -> None:
    page = await http.get("/auth/login")
    fields = forms(page.text).fields
    fields.update(
        email=account.email if who == "wrong-password" else "nobody@example.com",
        password="not the password",
    )

    response = await http.post("/auth/login", data=fields)

    assert response.status_code == 400
    assert "Invalid email or password." in response.text
    assert 'aria-invalid="true"' in response.text
    assert SESSION_COOKIE not in set_cookies(response)


async def test_repeated_failures_are_throttled_with_retry_after(
    http: httpx.AsyncClient, account: Account
) -> None:
    fields = forms((await http.get("/auth/login")).text).fields
    fields.update(email=account.email, password="not the password")
    statuses = [(await http.post("/auth/login", data=fields)).status_code for _ in range(5)]
    fields.update(password=account.password)

    throttled = await http.post("/auth/login", data=fields)

    assert statuses == [400] * 5
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) in (59, 60)  # the wall clock may have ticked
    assert "Too many failed attempts" in throttled.text


async def test_an_account_with_two_factor_authentication_must_pass_it(
    http: httpx.AsyncClient, first_party: dict[str, Any], account: Account
) -> None:
    # Given an account with TOTP enrolled
    headers = bearer(await api_token(http, account))
    started = await http.post(
        "/auth/v1/me/mfa/totp", json={"password": account.password}, headers=headers
    )
    totp = pyotp.TOTP(started.json()["secret"])
    await http.post("/auth/v1/me/mfa/totp/confirm", json={"code": totp.now()}, headers=headers)
    redirect = await http.get(authorize_url(first_party["client_id"], VERIFIER))

    # When the password is right, a second page asks for the code
    challenge = await sign_in(http, redirect.headers["location"], account)
    fields = forms(challenge.text).fields
    wrong = await http.post("/auth/login/mfa", data={**fields, "code": "000000"})
    fields = forms(wrong.text).fields
    # The next step's code: inside the accepted window and newer than the one used to enrol.
    right = await http.post("/auth/login/mfa", data={**fields, "code": totp.at(time.time() + 30)})
    back = await http.get(right.headers["location"])

    # Then only the right code signs in, and the tokens say how
    assert challenge.status_code == 200
    assert SESSION_COOKIE not in set_cookies(challenge)
    assert set(fields) == {
        "csrf_token",
        "mfa_token",
        "resume",
        "code",
        "recovery_code",
    }
    assert wrong.status_code == 400
    assert "That code is not valid." in wrong.text
    assert right.status_code == 303
    assert SESSION_COOKIE in set_cookies(right)
    code = query_of(back.headers["location"])["code"]
    tokens = (
        await http.post(
            "/auth/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": CALLBACK,
                "code_verifier": VERIFIER,
                "client_id": first_party["client_id"],
            },
        )
    ).json()
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["amr"] == ["pwd", "otp", "mfa"]


async def test_a_browser_session_ends_when_the_user_logs_out_everywhere(
    http: httpx.AsyncClient, first_party: dict[str, Any], account: Account
) -> None:
    await authorize_in_browser(http, authorize_url(first_party["client_id"], VERIFIER), account)
    token = await api_token(http, account)

    ended = await http.delete("/auth/v1/sessions", headers=bearer(token))
    response = await http.get(authorize_url(first_party["client_id"], VERIFIER))

    assert ended.status_code == 204
    assert response.status_code == 303
    assert response.headers["location"].startswith("/auth/login?")


async def test_a_browser_session_ends_when_the_account_is_disabled(
    http: httpx.AsyncClient, app: FastAPI, first_party: dict[str, Any], account: Account
) -> None:
    await authorize_in_browser(http, authorize_url(first_party["client_id"], VERIFIER), account)
    async with app.state.resources.sessions() as db, db.begin():
        await db.execute(update(User).where(User.id == account.id).values(status="disabled"))

    response = await http.get(authorize_url(first_party["client_id"], VERIFIER, prompt="none"))

    assert query_of(response.headers["location"])["error"] == "login_required"


async def test_signing_in_without_an_authorization_request_shows_a_confirmation(
    http: httpx.AsyncClient, account: Account
) -> None:
    fields = forms((await http.get("/auth/login")).text).fields
    fields.update(email=account.email, password=account.password)

    response = await http.post("/auth/login", data=fields)

    assert response.status_code == 200
    assert f"Signed in to Roadbed as {account.email}." in response.text


async def test_signing_in_again_ends_the_browsers_previous_session(
    http: httpx.AsyncClient, app: FastAPI, first_party: dict[str, Any], account: Account
) -> None:
    # Given a browser signed in once
    await authorize_in_browser(http, authorize_url(first_party["client_id"], VERIFIER), account)
    first_cookie = http.cookies.get(SESSION_COOKIE, path="/auth")

    # When it signs in again (as someone else), then replays its first cookie
    await authorize_in_browser(
        http,
        authorize_url(first_party["client_id"], VERIFIER, prompt="login"),
        await create_account(app),
    )
    second_cookie = http.cookies.get(SESSION_COOKIE, path="/auth")
    http.cookies.set(SESSION_COOKIE, str(first_cookie), domain="127.0.0.1", path="/auth")
    replayed = await http.get(authorize_url(first_party["client_id"], VERIFIER, prompt="none"))

    # Then the first session is over
    assert second_cookie != first_cookie
    assert query_of(replayed.headers["location"])["error"] == "login_required"


@pytest.mark.parametrize(
    "resume",
    [
        "https://evil.example/oauth/authorize?x=1",
        "//evil.example/oauth/authorize",
        "/v1/me",
        "/oauth/authorize/../../v1/me",
        "javascript:alert(1)",
    ],
)
async def test_signing_in_never_sends_the_browser_anywhere_but_our_pages(
    http: httpx.AsyncClient, account: Account, resume: str
) -> None:
    page = await http.get("/auth/login", params={"resume": resume})
    fields = forms(page.text).fields
    fields.update(email=account.email, password=account.password)

    response = await http.post("/auth/login", data=fields)

    assert response.status_code == 200
    assert "location" not in response.headers
    assert f"Signed in to Roadbed as {account.email}." in response.text
