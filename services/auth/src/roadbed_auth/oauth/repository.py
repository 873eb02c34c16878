"""All SQL of the OAuth provider."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from roadbed_auth.oauth.models import (
    AuthorizationCode,
    BrowserSession,
    Consent,
    DeviceAuthorization,
    OAuthClient,
)
from roadbed_auth.session.models import LoginSession

# --- clients -----------------------------------------------------------------------------------


async def get_client(db: AsyncSession, client_id: str) -> OAuthClient | None:
    result = await db.execute(select(OAuthClient).where(OAuthClient.client_id == client_id))
    return result.scalar_one_or_none()


async def add_client(db: AsyncSession, client: OAuthClient) -> None:
    db.add(client)
    await db.flush()


async def list_clients(
    db: AsyncSession, *, after_client_id: str | None, limit: int
) -> Sequence[OAuthClient]:
    statement = select(OAuthClient).order_by(OAuthClient.client_id).limit(limit)
    if after_client_id is not None:
        statement = statement.where(OAuthClient.client_id > after_client_id)
    return (await db.execute(statement)).scalars().all()


async def revoke_client_sessions(
    db: AsyncSession,
    *,
    client_id: str,
    reason: str,
    now: datetime,
    user_id: uuid.UUID | None = None,
) -> int:
    """End every live refresh-token family issued to the client (optionally: of one user)."""
    statement = update(LoginSession).where(
        LoginSession.client_id == client_id, LoginSession.revoked_at.is_(None)
    )
    if user_id is not None:
        statement = statement.where(LoginSession.user_id == user_id)
    result = await db.execute(
        statement.values(revoked_at=now, revoked_reason=reason).execution_options(
            synchronize_session=False
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# --- authorization codes -----------------------------------------------------------------------


async def add_code(db: AsyncSession, code: AuthorizationCode) -> None:
    db.add(code)
    await db.flush()


async def get_code_by_digest(db: AsyncSession, code_hash: str) -> AuthorizationCode | None:
    result = await db.execute(
        select(AuthorizationCode).where(AuthorizationCode.code_hash == code_hash)
    )
    return result.scalar_one_or_none()


async def get_code(db: AsyncSession, code_id: uuid.UUID) -> AuthorizationCode | None:
    return await db.get(AuthorizationCode, code_id)


async def claim_code(db: AsyncSession, *, code_id: uuid.UUID, now: datetime) -> bool:
    """Mark the code redeemed unless someone already did: the guarded UPDATE decides races."""
    result = await db.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.id == code_id, AuthorizationCode.redeemed_at.is_(None))
        .values(redeemed_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def sessions_of_browser_session(
    db: AsyncSession, *, browser_session_id: uuid.UUID
) -> Sequence[uuid.UUID]:
    """The login sessions opened by redeeming codes issued to one browser session."""
    result = await db.execute(
        select(AuthorizationCode.session_id)
        .where(
            AuthorizationCode.browser_session_id == browser_session_id,
            AuthorizationCode.session_id.is_not(None),
        )
        .limit(1000)
    )
    return [session_id for session_id in result.scalars() if session_id is not None]


# --- browser sessions --------------------------------------------------------------------------


async def add_browser_session(db: AsyncSession, browser_session: BrowserSession) -> None:
    db.add(browser_session)
    await db.flush()


async def get_browser_session_by_digest(db: AsyncSession, token_hash: str) -> BrowserSession | None:
    result = await db.execute(select(BrowserSession).where(BrowserSession.token_hash == token_hash))
    return result.scalar_one_or_none()


async def revoke_browser_session(
    db: AsyncSession, *, browser_session_id: uuid.UUID, now: datetime
) -> None:
    await db.execute(
        update(BrowserSession)
        .where(BrowserSession.id == browser_session_id, BrowserSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


# --- consents ----------------------------------------------------------------------------------


async def get_consent(db: AsyncSession, *, user_id: uuid.UUID, client_id: str) -> Consent | None:
    result = await db.execute(
        select(Consent).where(Consent.user_id == user_id, Consent.client_id == client_id)
    )
    return result.scalar_one_or_none()


async def lock_consent(db: AsyncSession, *, user_id: uuid.UUID, client_id: str) -> Consent | None:
    """The consent row, locked for update where the database can (PostgreSQL)."""
    result = await db.execute(
        select(Consent)
        .where(Consent.user_id == user_id, Consent.client_id == client_id)
        .with_for_update()
    )
    return result.scalar_one_or_none()


async def add_consent(db: AsyncSession, consent: Consent) -> None:
    db.add(consent)
    await db.flush()


async def list_consents(db: AsyncSession, *, user_id: uuid.UUID) -> Sequence[Consent]:
    result = await db.execute(
        select(Consent).where(Consent.user_id == user_id).order_by(Consent.client_id).limit(500)
    )
    return result.scalars().all()


async def delete_consent(db: AsyncSession, *, user_id: uuid.UUID, client_id: str) -> bool:
    consent = await get_consent(db, user_id=user_id, client_id=client_id)
    if consent is None:
        return False
    await db.delete(consent)
    await db.flush()
    return True


# --- device authorizations (RFC 8628) ----------------------------------------------------------


async def add_device_authorization(db: AsyncSession, device: DeviceAuthorization) -> None:
    db.add(device)
    await db.flush()


async def get_device_by_device_code(
    db: AsyncSession, device_code_hash: str
) -> DeviceAuthorization | None:
    result = await db.execute(
        select(DeviceAuthorization).where(DeviceAuthorization.device_code_hash == device_code_hash)
    )
    return result.scalar_one_or_none()


async def get_device_by_user_code(
    db: AsyncSession, user_code_hash: str
) -> DeviceAuthorization | None:
    result = await db.execute(
        select(DeviceAuthorization).where(DeviceAuthorization.user_code_hash == user_code_hash)
    )
    return result.scalar_one_or_none()


async def transition_device(
    db: AsyncSession,
    *,
    device_id: uuid.UUID,
    from_status: str,
    not_expired_at: datetime | None,
    values: dict[str, Any],
) -> bool:
    """Move a device authorization out of ``from_status`` unless someone already did."""
    statement = update(DeviceAuthorization).where(
        DeviceAuthorization.id == device_id, DeviceAuthorization.status == from_status
    )
    if not_expired_at is not None:
        statement = statement.where(DeviceAuthorization.expires_at > not_expired_at)
    result = await db.execute(
        statement.values(**values).execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
