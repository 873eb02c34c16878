"""The browser side of the provider: authorization, sign-in, consent and logout pages.

Server-rendered (Jinja2, autoescaped), no script. Every form carries a CSRF token
(:mod:`roadbed_auth.oauth.browser`); every page forbids framing (clickjacking on the consent
screen) and caching, and sends no referrer, so codes and parameters in URLs go nowhere else.
"""

from __future__ import annotations

from typing import Annotated, Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from roadbed_auth.account import service as accounts
from roadbed_auth.context import RequestContext
from roadbed_auth.lockouts import count_failure
from roadbed_auth.mfa import service as mfa
from roadbed_auth.oauth import authorization, browser, consents, device, logout
from roadbed_auth.oauth.authorization import (
    MAX_QUERY_LENGTH,
    AuthorizationRequest,
    Interaction,
)
from roadbed_auth.oauth.browser import CSRF_COOKIE, SESSION_COOKIE, SignedIn
from roadbed_auth.oauth.components import OAuthComponents, oauth_components
from roadbed_auth.oauth.errors import (
    AccessDenied,
    RedirectedAuthorizationError,
    UntrustedAuthorizationRequest,
)
from roadbed_auth.throttle.errors import RateLimited, TooManyAttempts
from roadbed_core.db import unit_of_work

router = APIRouter(tags=["oauth pages"])

AUTHORIZE_PATH: Final = "/oauth/authorize"
DEVICE_PATH: Final = "/device"
#: The pages the sign-in may send the user back to.
RESUMABLE: Final = frozenset({AUTHORIZE_PATH, DEVICE_PATH})
MAX_RESUME_LENGTH: Final = MAX_QUERY_LENGTH + 64

OAuth = Annotated[OAuthComponents, Depends(oauth_components)]

PAGE_HEADERS: Final = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
HTML_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {"content": {"text/html": {}}, "description": "An HTML page"},
    303: {"description": "Redirect (sign-in, or back to the application)"},
}


# --- forms ---------------------------------------------------------------------------------------


class LoginForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    email: Annotated[str, Field(max_length=320)] = ""
    password: Annotated[str, Field(max_length=4096)] = ""
    csrf_token: Annotated[str, Field(max_length=128)] = ""
    resume: Annotated[str, Field(max_length=MAX_RESUME_LENGTH)] = ""


class MfaForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    mfa_token: Annotated[str, Field(max_length=128)] = ""
    code: Annotated[str, Field(max_length=16)] = ""
    recovery_code: Annotated[str, Field(max_length=40)] = ""
    csrf_token: Annotated[str, Field(max_length=128)] = ""
    resume: Annotated[str, Field(max_length=MAX_RESUME_LENGTH)] = ""


class ConsentForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    decision: Annotated[str, Field(max_length=16)] = ""
    csrf_token: Annotated[str, Field(max_length=128)] = ""
    authorization_request: Annotated[str, Field(max_length=MAX_QUERY_LENGTH)] = ""


# --- helpers -------------------------------------------------------------------------------------


def _path(request: Request, path: str) -> str:
    """A path under this app's mount point (``/auth`` embedded and behind nginx)."""
    return f"{request.scope.get('root_path', '').rstrip('/')}{path}"


def _cookie_path(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/") or "/"


def _set_cookie(
    response: Response,
    request: Request,
    oauth: OAuthComponents,
    name: str,
    value: str,
    *,
    max_age: int,
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=_cookie_path(request),
        secure=oauth.browser.secure_cookies,
        httponly=True,
        samesite="lax",
    )


def _clear_cookie(response: Response, request: Request, oauth: OAuthComponents, name: str) -> None:
    response.delete_cookie(
        name,
        path=_cookie_path(request),
        secure=oauth.browser.secure_cookies,
        httponly=True,
        samesite="lax",
    )


class _Csrf:
    """The CSRF cookie of this request (minted when missing) and the form token for it."""

    def __init__(self, request: Request, oauth: OAuthComponents) -> None:
        existing = request.cookies.get(CSRF_COOKIE)
        self.is_new = not existing or len(existing) > 128
        self.cookie = browser.new_csrf_cookie() if self.is_new else str(existing)
        self._key = oauth.browser.csrf_key

    def token(self, binding: str = "") -> str:
        return browser.csrf_token(key=self._key, cookie=self.cookie, binding=binding)

    def persist(self, response: Response, request: Request, oauth: OAuthComponents) -> None:
        if self.is_new:
            max_age = int(oauth.browser.lifetime.total_seconds())
            _set_cookie(response, request, oauth, CSRF_COOKIE, self.cookie, max_age=max_age)


def _csrf_ok(request: Request, oauth: OAuthComponents, submitted: str, binding: str = "") -> bool:
    return browser.csrf_valid(
        key=oauth.browser.csrf_key,
        cookie=request.cookies.get(CSRF_COOKIE),
        submitted=submitted,
        binding=binding,
    )


def _render(
    oauth: OAuthComponents,
    template: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    body = oauth.templates.get_template(template).render(**context)
    return HTMLResponse(body, status_code=status_code, headers={**PAGE_HEADERS, **(headers or {})})


def _redirect(location: str, *, status_code: int = 303) -> RedirectResponse:
    return RedirectResponse(
        location,
        status_code=status_code,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _error_page(oauth: OAuthComponents, message: str, *, status_code: int = 400) -> HTMLResponse:
    return _render(oauth, "error.html", status_code=status_code, message=message)


async def _signed_in(request: Request, oauth: OAuthComponents) -> SignedIn | None:
    async with oauth.auth.sessions() as db:
        return await browser.current(
            db,
            cookie=request.cookies.get(SESSION_COOKIE),
            now=oauth.clock(),
            cache=oauth.auth.cache,
        )


def _login_redirect(request: Request, resume: str) -> RedirectResponse:
    """To the sign-in page, which sends the user on to ``resume`` (one of our pages) after."""
    return _redirect(_path(request, "/login") + "?" + urlencode({"resume": resume}))


def _resume_location(request: Request, resume: str) -> str | None:
    """Where to go after signing in: only the authorization or device page, never elsewhere."""
    target = urlsplit(resume)
    if target.scheme or target.netloc or target.path not in RESUMABLE:
        return None
    query = target.query
    if target.path == AUTHORIZE_PATH:
        query = authorization.after_login_query(parse_qsl(query, keep_blank_values=True))
    return _path(request, target.path) + ("?" + query if query else "")


# --- authorization -------------------------------------------------------------------------------


async def _authorize(
    request: Request, oauth: OAuthComponents, parameters: list[tuple[str, str]]
) -> Response:
    query = urlencode(parameters)
    if len(query) > MAX_QUERY_LENGTH:
        return _error_page(oauth, "The authorization request is too long.")
    signed_in = await _signed_in(request, oauth)
    now = oauth.clock()
    code: str | None = None
    try:
        async with unit_of_work(oauth.auth.sessions) as db:
            authorization_request = await authorization.validate(db, parameters=parameters)
            interaction = await authorization.required_interaction(
                db, request=authorization_request, signed_in=signed_in, now=now
            )
            if interaction is None and signed_in is not None:
                code = await authorization.issue_code(
                    db,
                    request=authorization_request,
                    signed_in=signed_in,
                    now=now,
                    ttl=oauth.code_ttl,
                )
    except UntrustedAuthorizationRequest as untrusted:
        return _error_page(oauth, untrusted.message)
    except RedirectedAuthorizationError as error:
        return _redirect(authorization.error_redirect(error, issuer=oauth.issuer), status_code=302)
    if signed_in is None or interaction is Interaction.LOGIN:
        return _login_redirect(request, f"{AUTHORIZE_PATH}?{query}")
    if interaction is Interaction.CONSENT or code is None:
        return _consent_page(request, oauth, authorization_request, signed_in, query)
    return _redirect(
        authorization.code_redirect(request=authorization_request, code=code, issuer=oauth.issuer),
        status_code=302,
    )


def _consent_page(
    request: Request,
    oauth: OAuthComponents,
    authorization_request: AuthorizationRequest,
    signed_in: SignedIn,
    query: str,
) -> HTMLResponse:
    csrf = _Csrf(request, oauth)
    response = _render(
        oauth,
        "consent.html",
        action=_path(request, "/oauth/consent"),
        client_name=authorization_request.client.name,
        user_email=signed_in.user.email,
        scopes=authorization.describe_scopes(authorization_request.scopes),
        csrf_token=csrf.token(str(signed_in.browser_session.id)),
        authorization_request=query,
    )
    csrf.persist(response, request, oauth)
    return response


@router.get("/oauth/authorize", response_class=HTMLResponse, responses=HTML_RESPONSES)
async def authorize(request: Request, oauth: OAuth) -> Response:
    """Start an authorization (code flow with PKCE S256): sign-in and consent pages, then the
    redirect back with ``code``, ``state`` and ``iss``."""
    if len(request.url.query) > MAX_QUERY_LENGTH:
        return _error_page(oauth, "The authorization request is too long.")
    return await _authorize(request, oauth, request.query_params.multi_items())


@router.post("/oauth/authorize", response_class=HTMLResponse, responses=HTML_RESPONSES)
async def authorize_by_post(request: Request, oauth: OAuth) -> Response:
    """The same authorization request, form-encoded (OIDC Core §3.1.2.1 allows POST)."""
    form = await request.form(max_fields=50, max_files=0)
    parameters = [(name, value) for name, value in form.multi_items() if isinstance(value, str)]
    return await _authorize(request, oauth, parameters)


@router.post("/oauth/consent", response_class=HTMLResponse, responses=HTML_RESPONSES)
async def consent(body: Annotated[ConsentForm, Form()], request: Request, oauth: OAuth) -> Response:
    """The user's answer on the consent page: allow (remembered) or deny."""
    parameters = parse_qsl(body.authorization_request, keep_blank_values=True)
    signed_in = await _signed_in(request, oauth)
    if signed_in is None:
        return _login_redirect(request, f"{AUTHORIZE_PATH}?{body.authorization_request}")
    if not _csrf_ok(request, oauth, body.csrf_token, str(signed_in.browser_session.id)):
        return _error_page(oauth, "This form has expired. Go back and try again.", status_code=403)
    now = oauth.clock()
    try:
        async with unit_of_work(oauth.auth.sessions) as db:
            authorization_request = await authorization.validate(db, parameters=parameters)
            if body.decision != "allow":
                raise RedirectedAuthorizationError(
                    AccessDenied("the user denied the request"),
                    redirect_uri=authorization_request.redirect_uri,
                    state=authorization_request.state,
                )
            await consents.grant(
                db,
                user_id=signed_in.user.id,
                client_id=authorization_request.client.client_id,
                scopes=authorization_request.scopes,
                now=now,
            )
            code = await authorization.issue_code(
                db, request=authorization_request, signed_in=signed_in, now=now, ttl=oauth.code_ttl
            )
    except UntrustedAuthorizationRequest as untrusted:
        return _error_page(oauth, untrusted.message)
    except RedirectedAuthorizationError as error:
        return _redirect(authorization.error_redirect(error, issuer=oauth.issuer))
    return _redirect(
        authorization.code_redirect(request=authorization_request, code=code, issuer=oauth.issuer)
    )


# --- sign-in -------------------------------------------------------------------------------------


def _login_page(
    request: Request,
    oauth: OAuthComponents,
    *,
    resume: str,
    email: str = "",
    error: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    csrf = _Csrf(request, oauth)
    response = _render(
        oauth,
        "login.html",
        status_code=status_code,
        headers=headers,
        action=_path(request, "/login"),
        client_name=None,
        csrf_token=csrf.token(),
        resume=resume,
        email=email,
        error=error,
    )
    csrf.persist(response, request, oauth)
    return response


@router.get("/login", response_class=HTMLResponse, responses=HTML_RESPONSES)
async def login_page(
    request: Request,
    oauth: OAuth,
    resume: Annotated[str, Query(max_length=MAX_RESUME_LENGTH)] = "",
) -> HTMLResponse:
    """The sign-in page (email and password)."""
    return _login_page(request, oauth, resume=resume)


@router.post("/login", response_class=HTMLResponse, responses=HTML_RESPONSES)
async def login(body: Annotated[LoginForm, Form()], request: Request, oauth: OAuth) -> Response:
    """Sign in with email and password (then the second factor, when the account has one)."""
    auth = oauth.auth

    def again(error: str, status_code: int, headers: dict[str, str] | None = None) -> Response:
        return _login_page(
            request,
            oauth,
            resume=body.resume,
            email=body.email,
            error=error,
            status_code=status_code,
            headers=headers,
        )

    if not _csrf_ok(request, oauth, body.csrf_token):
        return again("This form has expired. Please try again.", 403)
    if not body.email or not body.password:
        return again("Enter your email and password.", 400)
    context = RequestContext.from_request(request)
    try:
        await auth.login_throttle.check(ip=context.ip_address, account_key=body.email)
    except TooManyAttempts as throttled:
        return again("Too many failed attempts. Try again later.", 429, throttled.headers)
    async with auth.sessions() as db:  # a short read; the hash below holds no connection
        account = await accounts.find_for_login(db, email=body.email)
    check = await accounts.check_password(user=account, password=body.password, hasher=auth.hasher)
    now = oauth.clock()
    cookie = None
    async with unit_of_work(auth.sessions) as db:
        user = await accounts.record_authentication(db, check=check, context=context, now=now)
        if user is not None and user.mfa_enabled_at is None:
            _browser_session, cookie = await browser.sign_in(
                db,
                user=user,
                amr="pwd",
                context=context,
                now=now,
                policy=oauth.browser,
                previous_cookie=request.cookies.get(SESSION_COOKIE),
            )
    # The failed attempt's audit entry is committed above; only now is the failure answered.
    if user is None:
        await count_failure(
            auth,
            auth.login_throttle,
            account_key=body.email,
            subject_id=account.id if account is not None else None,
            context=context,
        )
        return again("Invalid email or password.", 400)
    await auth.login_throttle.record_success(ip=context.ip_address, account_key=body.email)
    if cookie is None:
        challenge = await mfa.open_challenge(auth.cache, user_id=user.id)
        return _mfa_page(request, oauth, mfa_token=challenge, resume=body.resume)
    return _signed_in_response(request, oauth, body.resume, user.email, cookie)


def _signed_in_response(
    request: Request, oauth: OAuthComponents, resume: str, email: str, cookie: str
) -> Response:
    """Back to the page that sent the user here, with the session cookie."""
    location = _resume_location(request, resume) if resume else None
    response: Response = (
        _redirect(location)
        if location is not None
        else _render(oauth, "signed_in.html", user_email=email)
    )
    max_age = int(oauth.browser.lifetime.total_seconds())
    _set_cookie(response, request, oauth, SESSION_COOKIE, cookie, max_age=max_age)
    return response


def _mfa_page(
    request: Request,
    oauth: OAuthComponents,
    *,
    mfa_token: str,
    resume: str,
    error: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    csrf = _Csrf(request, oauth)
    response = _render(
        oauth,
        "mfa.html",
        status_code=status_code,
        headers=headers,
        action=_path(request, "/login/mfa"),
        csrf_token=csrf.token(),
        mfa_token=mfa_token,
        resume=resume,
        error=error,
    )
    csrf.persist(response, request, oauth)
    return response


@router.post("/login/mfa", response_class=HTMLResponse, responses=HTML_RESPONSES)
async def login_second_factor(
    body: Annotated[MfaForm, Form()], request: Request, oauth: OAuth
) -> Response:
    """Second sign-in step: a code from the authenticator app, or a recovery code."""
    auth = oauth.auth

    def again(error: str, status_code: int, headers: dict[str, str] | None = None) -> Response:
        return _mfa_page(
            request,
            oauth,
            mfa_token=body.mfa_token,
            resume=body.resume,
            error=error,
            status_code=status_code,
            headers=headers,
        )

    if not _csrf_ok(request, oauth, body.csrf_token):
        return again("This form has expired. Please try again.", 403)
    code = body.code.replace(" ", "") or None
    recovery_code = body.recovery_code.strip() or None
    if (code is None) == (recovery_code is None):
        return again("Enter the code from your authenticator app, or a recovery code.", 400)
    try:
        user_id = await mfa.read_challenge(auth.cache, body.mfa_token)
    except mfa.InvalidMfaChallenge:
        return _login_page(
            request,
            oauth,
            resume=body.resume,
            error="Your sign-in attempt has expired. Please sign in again.",
            status_code=400,
        )
    context = RequestContext.from_request(request)
    try:
        await auth.mfa_throttle.check(ip=context.ip_address, account_key=str(user_id))
    except TooManyAttempts as throttled:
        return again("Too many failed attempts. Try again later.", 429, throttled.headers)
    now = oauth.clock()
    try:
        async with unit_of_work(auth.sessions) as db:
            user = await accounts.get_or_raise(db, user_id=user_id)
            method = await mfa.verify_second_factor(
                db,
                user=user,
                code=code,
                recovery_code=recovery_code,
                keys=auth.mfa_keys,
                guard=auth.totp_guard,
                context=context,
                now=now,
            )
            await mfa.close_challenge(auth.cache, body.mfa_token)
            _browser_session, cookie = await browser.sign_in(
                db,
                user=user,
                amr=f"pwd {method} mfa",
                context=context,
                now=now,
                policy=oauth.browser,
                previous_cookie=request.cookies.get(SESSION_COOKIE),
            )
    except mfa.InvalidMfaCode:
        async with unit_of_work(auth.sessions) as db:
            await mfa.record_failed_verification(db, user_id=user_id, context=context, now=now)
        await count_failure(
            auth, auth.mfa_throttle, account_key=str(user_id), subject_id=user_id, context=context
        )
        return again("That code is not valid.", 400)
    await auth.mfa_throttle.record_success(ip=context.ip_address, account_key=str(user_id))
    return _signed_in_response(request, oauth, body.resume, user.email, cookie)


# --- logout --------------------------------------------------------------------------------------


async def _logout(
    request: Request, oauth: OAuthComponents, parameters: list[tuple[str, str]]
) -> Response:
    signed_in = await _signed_in(request, oauth)
    try:
        async with oauth.auth.sessions() as db:
            logout_request = await logout.validate(db, parameters=parameters, reader=oauth.reader)
    except UntrustedAuthorizationRequest as untrusted:
        return _error_page(oauth, untrusted.message)
    if signed_in is not None and not logout_request.confirmed_by_hint(signed_in):
        csrf = _Csrf(request, oauth)
        page = _render(
            oauth,
            "logout.html",
            action=_path(request, "/oauth/logout"),
            user_email=signed_in.user.email,
            client_name=logout_request.client.name if logout_request.client else None,
            csrf_token=csrf.token(str(signed_in.browser_session.id)),
            logout_request=urlencode(parameters),
        )
        csrf.persist(page, request, oauth)
        return page
    return await _sign_out(request, oauth, signed_in, logout_request)


async def _sign_out(
    request: Request,
    oauth: OAuthComponents,
    signed_in: SignedIn | None,
    logout_request: logout.LogoutRequest,
) -> Response:
    if signed_in is not None:
        async with unit_of_work(oauth.auth.sessions) as db:
            await browser.sign_out(db, signed_in=signed_in, now=oauth.clock())
    target = logout_request.redirect()
    response: Response = (
        _redirect(target) if target is not None else _render(oauth, "signed_out.html")
    )
    _clear_cookie(response, request, oauth, SESSION_COOKIE)
    return response


@router.get("/oauth/logout", response_class=HTMLResponse, responses=HTML_RESPONSES)
async def end_session(request: Request, oauth: OAuth) -> Response:
    """RP-initiated logout: ``id_token_hint``, ``post_logout_redirect_uri`` (registered), ``state``."""
    if len(request.url.query) > 2 * MAX_QUERY_LENGTH:
        return _error_page(oauth, "The logout request is too long.")
    return await _logout(request, oauth, request.query_params.multi_items())


@router.post("/oauth/logout", response_class=HTMLResponse, responses=HTML_RESPONSES)
async def end_session_by_post(request: Request, oauth: OAuth) -> Response:
    """Logout by form post: the confirmation page's answer, or a logout request itself."""
    form = await request.form(max_fields=20, max_files=0)
    fields = [(name, value) for name, value in form.multi_items() if isinstance(value, str)]
    values = dict(fields)
    if "logout_request" not in values:
        return await _logout(request, oauth, fields)
    signed_in = await _signed_in(request, oauth)
    binding = str(signed_in.browser_session.id) if signed_in else ""
    if signed_in is None or not _csrf_ok(request, oauth, values.get("csrf_token", ""), binding):
        return _error_page(oauth, "This form has expired. Go back and try again.", status_code=403)
    try:
        async with oauth.auth.sessions() as db:
            logout_request = await logout.validate(
                db,
                parameters=parse_qsl(values["logout_request"][: 2 * MAX_QUERY_LENGTH]),
                reader=oauth.reader,
            )
    except UntrustedAuthorizationRequest as untrusted:
        return _error_page(oauth, untrusted.message)
    return await _sign_out(request, oauth, signed_in, logout_request)


# --- device authorization (RFC 8628) -------------------------------------------------------------


class DeviceForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    user_code: Annotated[str, Field(max_length=32)] = ""
    decision: Annotated[str, Field(max_length=16)] = ""
    csrf_token: Annotated[str, Field(max_length=128)] = ""


INVALID_USER_CODE: Final = "That code is not valid or has expired. Check your device and try again."


def _device_entry_page(
    request: Request,
    oauth: OAuthComponents,
    signed_in: SignedIn,
    *,
    user_code: str = "",
    error: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    return _render(
        oauth,
        "device.html",
        status_code=status_code,
        headers=headers,
        action=_path(request, DEVICE_PATH),
        user_email=signed_in.user.email,
        user_code=user_code,
        error=error,
    )


async def _pending_device(
    request: Request, oauth: OAuthComponents, signed_in: SignedIn, user_code: str
) -> device.PendingDevice | HTMLResponse:
    """The pending request a typed code names, or the entry page again (rate-limited guessing)."""
    try:
        await oauth.user_code_limiter.hit_or_raise(RequestContext.from_request(request).ip_address)
    except RateLimited as limited:
        return _device_entry_page(
            request,
            oauth,
            signed_in,
            user_code=user_code,
            error="Too many attempts. Try again later.",
            status_code=429,
            headers=limited.headers,
        )
    async with oauth.auth.sessions() as db:
        pending = await device.find_pending(db, user_code=user_code, now=oauth.clock())
    if pending is None:
        return _device_entry_page(
            request, oauth, signed_in, user_code=user_code, error=INVALID_USER_CODE, status_code=400
        )
    return pending


@router.get(DEVICE_PATH, response_class=HTMLResponse, responses=HTML_RESPONSES)
async def device_page(
    request: Request,
    oauth: OAuth,
    user_code: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    """Where a user enters the code their device shows, then allows or denies it (RFC 8628)."""
    signed_in = await _signed_in(request, oauth)
    if signed_in is None:
        query = urlencode({"user_code": user_code}) if user_code else ""
        return _login_redirect(request, f"{DEVICE_PATH}?{query}" if query else DEVICE_PATH)
    if not user_code:
        return _device_entry_page(request, oauth, signed_in)
    found = await _pending_device(request, oauth, signed_in, user_code)
    if isinstance(found, HTMLResponse):
        return found
    csrf = _Csrf(request, oauth)
    page = _render(
        oauth,
        "device_consent.html",
        action=_path(request, DEVICE_PATH),
        client_name=found.client.name,
        user_email=signed_in.user.email,
        user_code=found.user_code,
        scopes=authorization.describe_scopes(found.scopes),
        csrf_token=csrf.token(str(signed_in.browser_session.id)),
    )
    csrf.persist(page, request, oauth)
    return page


@router.post(DEVICE_PATH, response_class=HTMLResponse, responses=HTML_RESPONSES)
async def device_decision(
    body: Annotated[DeviceForm, Form()], request: Request, oauth: OAuth
) -> Response:
    """The user's answer for a device: allow or deny."""
    signed_in = await _signed_in(request, oauth)
    if signed_in is None:
        return _login_redirect(request, f"{DEVICE_PATH}?{urlencode({'user_code': body.user_code})}")
    if not _csrf_ok(request, oauth, body.csrf_token, str(signed_in.browser_session.id)):
        return _error_page(oauth, "This form has expired. Go back and try again.", status_code=403)
    found = await _pending_device(request, oauth, signed_in, body.user_code)
    if isinstance(found, HTMLResponse):
        return found
    approve = body.decision == "allow"
    async with unit_of_work(oauth.auth.sessions) as db:
        decided = await device.decide(
            db, pending=found, signed_in=signed_in, approve=approve, now=oauth.clock()
        )
    if not decided:
        return _device_entry_page(
            request, oauth, signed_in, error=INVALID_USER_CODE, status_code=400
        )
    return _render(oauth, "device_done.html", approved=approve)
