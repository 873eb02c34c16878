"""Re-confirming the password before a sensitive change, as every such endpoint does it.

The hash runs with no transaction open; a wrong password is audited in a transaction of its own
(so the entry survives the failed request) and answered with 401. Guesses here are throttled
like sign-in guesses (ASVS V6.3.1), on the same per-account count: a stolen access token must
not turn these endpoints into an unthrottled password oracle.
"""

from __future__ import annotations

import uuid

from roadbed_auth.account import service
from roadbed_auth.account.errors import InvalidCredentials
from roadbed_auth.components import AuthComponents, utc_now
from roadbed_auth.context import RequestContext
from roadbed_core.db import unit_of_work


async def confirm_password_or_raise(
    auth: AuthComponents, *, user_id: uuid.UUID, password: str, action: str, context: RequestContext
) -> None:
    """Raise :class:`InvalidCredentials` (after auditing ``<action>.refused``) unless ``password`` is right.

    Raises ``TooManyAttempts`` (429) while the account is locked out.
    """
    async with auth.sessions() as db:
        user = await service.get_or_raise(db, user_id=user_id)
    await auth.login_throttle.check(ip=context.ip_address, account_key=user.email)
    if await service.password_matches(user=user, password=password, hasher=auth.hasher):
        await auth.login_throttle.record_success(ip=context.ip_address, account_key=user.email)
        return
    async with unit_of_work(auth.sessions) as db:
        await service.record_failed_confirmation(
            db, user_id=user_id, action=action, context=context, now=utc_now()
        )
    await auth.login_throttle.record_failure(ip=context.ip_address, account_key=user.email)
    raise InvalidCredentials("the password is not correct")
