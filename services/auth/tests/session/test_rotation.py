"""Refresh-token rotation: one child per parent, grace for concurrent tabs, reuse kills the family."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from roadbed_auth.session import service
from roadbed_auth.session.errors import InvalidRefreshToken, SessionNotFound
from roadbed_auth.session.models import LoginSession, RefreshToken
from roadbed_auth.session.service import RefreshTokenReused, SessionPolicy
from roadbed_core.db import unit_of_work

from ..factories import create_user

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
POLICY = SessionPolicy(
    lifetime=timedelta(days=30), reuse_grace=timedelta(seconds=10), child_secret=b"k" * 32
)

Sessions = async_sessionmaker[AsyncSession]


async def _login(sessionmaker: Sessions) -> tuple[uuid.UUID, uuid.UUID, str]:
    async with unit_of_work(sessionmaker) as db:
        user = await create_user(db)
        issued = await service.create(
            db,
            user_id=user.id,
            client_id="roadbed",
            scope="",
            amr="pwd",
            user_agent="pytest",
            ip_address="127.0.0.1",
            now=T0,
            policy=POLICY,
        )
    return user.id, issued.session.id, issued.refresh_token


async def _rotate(sessionmaker: Sessions, token: str, now: datetime) -> str:
    async with unit_of_work(sessionmaker) as db:
        return (await service.rotate(db, presented=token, now=now, policy=POLICY)).refresh_token


async def _session(sessionmaker: Sessions, session_id: uuid.UUID) -> LoginSession:
    async with sessionmaker() as db:
        session = await db.get(LoginSession, session_id)
        assert session is not None
        return session


async def test_rotation_yields_a_new_token_in_the_same_family(sessionmaker: Sessions) -> None:
    _, session_id, first = await _login(sessionmaker)

    second = await _rotate(sessionmaker, first, T0 + timedelta(minutes=5))
    third = await _rotate(sessionmaker, second, T0 + timedelta(minutes=10))

    assert len({first, second, third}) == 3
    async with sessionmaker() as db:
        count = await db.scalar(
            select(func.count())
            .select_from(RefreshToken)
            .where(RefreshToken.session_id == session_id)
        )
    assert count == 3
    assert (await _session(sessionmaker, session_id)).last_used_at == T0 + timedelta(minutes=10)


async def test_a_second_tab_within_the_grace_window_gets_the_same_child(
    sessionmaker: Sessions,
) -> None:
    _, session_id, first = await _login(sessionmaker)

    child = await _rotate(sessionmaker, first, T0 + timedelta(minutes=1))
    again = await _rotate(sessionmaker, first, T0 + timedelta(minutes=1, seconds=9))

    assert again == child
    assert (await _session(sessionmaker, session_id)).revoked_at is None


async def test_reuse_after_the_grace_window_revokes_the_whole_family(
    sessionmaker: Sessions,
) -> None:
    user_id, session_id, first = await _login(sessionmaker)
    child = await _rotate(sessionmaker, first, T0 + timedelta(minutes=1))

    reuse_time = T0 + timedelta(minutes=1, seconds=11)
    with pytest.raises(RefreshTokenReused) as raised:
        await _rotate(sessionmaker, first, reuse_time)
    assert (await _session(sessionmaker, session_id)).revoked_at is None  # nothing written yet
    async with unit_of_work(sessionmaker) as db:
        await service.revoke_family(db, reused=raised.value, now=reuse_time)

    assert raised.value.session_id == session_id
    assert raised.value.user_id == user_id
    session = await _session(sessionmaker, session_id)
    assert session.revoked_at == reuse_time
    assert session.revoked_reason == "refresh_token_reuse"
    with pytest.raises(InvalidRefreshToken, match="session of this refresh token has ended"):
        await _rotate(sessionmaker, child, reuse_time + timedelta(seconds=1))


async def test_the_family_has_an_absolute_lifetime(sessionmaker: Sessions) -> None:
    _, _, first = await _login(sessionmaker)
    token = first
    for day in (10, 20, 29):
        token = await _rotate(sessionmaker, token, T0 + timedelta(days=day))

    with pytest.raises(InvalidRefreshToken, match="has ended"):
        await _rotate(sessionmaker, token, T0 + timedelta(days=30))


@pytest.mark.parametrize("presented", ["", "x" * 129, "not-a-token-we-issued"])
async def test_unknown_or_malformed_tokens_are_invalid_grant(
    sessionmaker: Sessions, presented: str
) -> None:
    await _login(sessionmaker)

    with pytest.raises(InvalidRefreshToken) as raised:
        await _rotate(sessionmaker, presented, T0)

    assert raised.value.status == 401
    assert raised.value.code == "invalid_grant"


async def test_a_user_cannot_revoke_someone_elses_session(sessionmaker: Sessions) -> None:
    _, session_id, _ = await _login(sessionmaker)
    other_user_id, _, _ = await _login(sessionmaker)

    async with sessionmaker() as db:
        with pytest.raises(SessionNotFound):
            await service.revoke(
                db, user_id=other_user_id, session_id=session_id, reason="logout", now=T0
            )

    assert (await _session(sessionmaker, session_id)).revoked_at is None


async def test_log_out_everywhere_but_here(sessionmaker: Sessions) -> None:
    async with unit_of_work(sessionmaker) as db:
        user = await create_user(db)
        sessions = [
            await service.create(
                db,
                user_id=user.id,
                client_id="roadbed",
                scope="",
                amr="pwd",
                user_agent="",
                ip_address="",
                now=T0,
                policy=POLICY,
            )
            for _ in range(3)
        ]
    keep = sessions[0].session.id

    async with unit_of_work(sessionmaker) as db:
        revoked = await service.revoke_all(
            db, user_id=user.id, reason="logout_everywhere", now=T0, keep_session_id=keep
        )
    async with sessionmaker() as db:
        active = await service.list_active(db, user_id=user.id, now=T0)

    assert revoked == 2
    assert [s.id for s in active] == [keep]


async def test_concurrent_refreshes_of_one_token_all_get_the_same_child(
    sessionmaker: Sessions,
) -> None:
    _, session_id, first = await _login(sessionmaker)

    children = await asyncio.gather(
        *(_rotate(sessionmaker, first, T0 + timedelta(seconds=1)) for _ in range(5))
    )

    assert len(set(children)) == 1
    assert (await _session(sessionmaker, session_id)).revoked_at is None
