"""The device authorization grant (RFC 8628): for devices without a browser or keyboard.

The device asks for a device code and a user code; the user enters the user code at
``<issuer>/device`` in any browser, signs in and approves (or denies); meanwhile the device
polls the token endpoint and gets its tokens once approved — exactly once.

- user codes are 8 letters from an alphabet without vowels or look-alikes (RFC 8628 §6.1),
  shown as ``XXXX-XXXX``; typing is forgiving (case, dashes, spaces); guessing is
  rate-limited per client address by the caller;
- a poll sooner than the interval answers ``slow_down`` and lengthens the interval by five
  seconds (RFC 8628 §3.5); polls are recorded even though they answer with an error;
- approval, denial and redemption are guarded UPDATEs, so one decision and one redemption win.
Functions only flush; the caller's unit of work commits.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final
from urllib.parse import urlencode

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from roadbed_auth.context import RequestContext
from roadbed_auth.oauth import repository
from roadbed_auth.oauth.browser import SignedIn
from roadbed_auth.oauth.errors import (
    AccessDenied,
    AuthorizationPending,
    ExpiredToken,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    OAuthError,
    SlowDown,
    UnauthorizedClient,
)
from roadbed_auth.oauth.grants import Minting, TokenResponse, open_grant
from roadbed_auth.oauth.models import DeviceAuthorization, GrantType, OAuthClient
from roadbed_auth.oauth.scopes import parse_scope
from roadbed_auth.oauth.secrets import MAX_OPAQUE_LENGTH, digest, new_opaque_value

DEVICE_CODE_TTL: Final = timedelta(minutes=10)
POLL_INTERVAL_SECONDS: Final = 5
SLOW_DOWN_STEP_SECONDS: Final = 5
#: RFC 8628 §6.1: base-20, no vowels (no words), nothing that looks like a digit.
USER_CODE_ALPHABET: Final = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH: Final = 8


class DeviceStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    REDEEMED = "redeemed"


@dataclass(frozen=True, slots=True)
class DeviceGrant:
    """RFC 8628 §3.2 device authorization response."""

    device_code: str
    user_code: str
    verification_uri: str
    expires_in: int
    interval: int

    def body(self) -> dict[str, Any]:
        return {
            "device_code": self.device_code,
            "user_code": self.user_code,
            "verification_uri": self.verification_uri,
            "verification_uri_complete": (
                f"{self.verification_uri}?{urlencode({'user_code': self.user_code})}"
            ),
            "expires_in": self.expires_in,
            "interval": self.interval,
        }


def new_user_code() -> str:
    letters = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))
    return f"{letters[:4]}-{letters[4:]}"


def normalise_user_code(value: str) -> str | None:
    """The 8 letters of a typed user code (any case, dashes and spaces), or ``None``."""
    if len(value) > 32:
        return None
    letters = "".join(ch for ch in value.upper() if ch not in "- ")
    if len(letters) != USER_CODE_LENGTH or not all(ch in USER_CODE_ALPHABET for ch in letters):
        return None
    return letters


def _user_code_digest(letters: str) -> str:
    return digest("user-code:" + letters)


async def start(
    db: AsyncSession, *, client: OAuthClient, scope: str | None, issuer: str, now: datetime
) -> DeviceGrant:
    """RFC 8628 §3.1: open a device authorization for the client."""
    if GrantType.DEVICE_CODE not in client.grant_types:
        raise UnauthorizedClient("this client may not use the device authorization grant")
    scopes = parse_scope(scope)
    if scopes is None:
        raise InvalidScope("the scope parameter is malformed")
    if not scopes:
        raise InvalidScope("the scope parameter is required")
    if not set(scopes) <= set(client.scopes):
        raise InvalidScope("a requested scope is not allowed for this client")
    device_code = new_opaque_value()
    for _attempt in range(3):  # a user-code collision is unlikely; retry with a new one
        user_code = new_user_code()
        device = DeviceAuthorization(
            id=uuid.uuid4(),
            device_code_hash=digest(device_code),
            user_code_hash=_user_code_digest(user_code.replace("-", "")),
            client_id=client.client_id,
            scope=" ".join(scopes),
            status=DeviceStatus.PENDING,
            created_at=now,
            expires_at=now + DEVICE_CODE_TTL,
            interval=POLL_INTERVAL_SECONDS,
        )
        try:
            async with db.begin_nested():
                await repository.add_device_authorization(db, device)
        except IntegrityError:
            continue
        return DeviceGrant(
            device_code=device_code,
            user_code=user_code,
            verification_uri=f"{issuer}/device",
            expires_in=int(DEVICE_CODE_TTL.total_seconds()),
            interval=POLL_INTERVAL_SECONDS,
        )
    raise RuntimeError("no free user code")  # pragma: no cover - three collisions in a row


@dataclass(frozen=True, slots=True)
class PendingDevice:
    device: DeviceAuthorization
    client: OAuthClient
    user_code: str

    @property
    def scopes(self) -> list[str]:
        return self.device.scope.split()


async def find_pending(db: AsyncSession, *, user_code: str, now: datetime) -> PendingDevice | None:
    """The live, undecided authorization a typed user code names, or ``None``."""
    letters = normalise_user_code(user_code)
    if letters is None:
        return None
    device = await repository.get_device_by_user_code(db, _user_code_digest(letters))
    if device is None or device.status != DeviceStatus.PENDING or device.expires_at <= now:
        return None
    client = await repository.get_client(db, device.client_id)
    if client is None or not client.is_active:
        return None
    return PendingDevice(device=device, client=client, user_code=f"{letters[:4]}-{letters[4:]}")


async def decide(
    db: AsyncSession, *, pending: PendingDevice, signed_in: SignedIn, approve: bool, now: datetime
) -> bool:
    """Record the user's answer; ``False`` if the request was decided or expired meanwhile."""
    browser_session = signed_in.browser_session
    values: dict[str, Any] = (
        {
            "status": DeviceStatus.APPROVED,
            "user_id": signed_in.user.id,
            "auth_time": browser_session.auth_time,
            "amr": browser_session.amr,
        }
        if approve
        else {"status": DeviceStatus.DENIED, "user_id": signed_in.user.id}
    )
    return await repository.transition_device(
        db,
        device_id=pending.device.id,
        from_status=DeviceStatus.PENDING,
        not_expired_at=now,
        values=values,
    )


async def poll(
    db: AsyncSession,
    *,
    client: OAuthClient,
    device_code: str | None,
    context: RequestContext,
    now: datetime,
    minting: Minting,
) -> TokenResponse | OAuthError:
    """RFC 8628 §3.4: the tokens once approved; otherwise the error to answer with.

    ``authorization_pending`` and ``slow_down`` are returned, not raised: the poll they record
    must commit.
    """
    if GrantType.DEVICE_CODE not in client.grant_types:
        raise UnauthorizedClient("this client may not use the device authorization grant")
    if not device_code:
        raise InvalidRequest("device_code is required")
    if len(device_code) > MAX_OPAQUE_LENGTH:
        raise InvalidGrant("device code is not valid")
    device = await repository.get_device_by_device_code(db, digest(device_code))
    if device is None or device.client_id != client.client_id:
        raise InvalidGrant("device code is not valid")
    if device.status == DeviceStatus.REDEEMED:
        raise InvalidGrant("device code was already used")
    if device.expires_at <= now:
        raise ExpiredToken("the device code has expired")
    if device.status == DeviceStatus.DENIED:
        raise AccessDenied("the user denied the request")
    if device.status == DeviceStatus.PENDING:
        too_soon = device.last_polled_at is not None and now - device.last_polled_at < timedelta(
            seconds=device.interval
        )
        device.last_polled_at = now
        if too_soon:
            device.interval += SLOW_DOWN_STEP_SECONDS
            await db.flush()
            return SlowDown(f"poll at most every {device.interval} seconds")
        await db.flush()
        return AuthorizationPending("the user has not answered yet")
    if not await repository.transition_device(
        db,
        device_id=device.id,
        from_status=DeviceStatus.APPROVED,
        not_expired_at=None,
        values={"status": DeviceStatus.REDEEMED},
    ):
        raise InvalidGrant("device code was already used")
    if device.user_id is None or device.auth_time is None:  # an approval always sets both
        raise InvalidGrant("device code is not valid")
    opened = await open_grant(
        db,
        client=client,
        user_id=device.user_id,
        scope=device.scope,
        amr=device.amr or "",
        auth_time=device.auth_time,
        nonce=None,
        context=context,
        now=now,
        minting=minting,
    )
    return opened.response
