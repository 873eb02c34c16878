"""First-party access tokens: the key ring's issuer plus the session id (``sid``) claim."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

from roadbed_auth.components import MintedAccessToken
from roadbed_auth.keys.issuer import AccessTokenIssuer
from roadbed_core.cache import AsyncCache
from roadbed_core.tokens.revocation import anot_before_of


class SessionTokenMinter:
    """Mints RFC 9068 access tokens for a login session, audience = every Roadbed service."""

    def __init__(self, issuer: AccessTokenIssuer, *, audience: str, cache: AsyncCache) -> None:
        self._issuer = issuer
        self._audience = audience
        self._cache = cache

    async def mint(
        self,
        *,
        subject: str,
        client_id: str,
        scope: str,
        roles: list[str],
        session_id: str | None,
        auth_time: datetime,
    ) -> MintedAccessToken:
        await self._wait_out_revocation(subject)
        issued = await self._issuer.issue(
            subject=subject,
            audience=self._audience,
            client_id=client_id,
            scopes=scope.split(),
            roles=roles,
            auth_time=auth_time,
            extra_claims={"sid": session_id} if session_id else None,
        )
        assert issued.jti is not None  # noqa: S101 - the issuer always sets one
        return MintedAccessToken(
            token=issued.token,
            jti=issued.jti,
            expires_at=issued.expires_at,
            expires_in=issued.expires_in,
        )

    async def _wait_out_revocation(self, subject: str) -> None:
        """Never mint a token its own subject's fresh revocation would reject.

        ``iat`` has whole seconds and the revocation threshold is rounded up, so right after a
        "log out everywhere" or password reset a new login waits for the next second (< 1 s).
        """
        threshold = await anot_before_of(self._cache, subject)
        if threshold is None:
            return
        remaining = threshold - time.time()
        if 0 < remaining <= 1:
            await asyncio.sleep(remaining)
