"""Re-confirming the password before a sensitive change, as every such endpoint does it.

The hash runs with no transaction open; a wrong password is audited in a transaction of its own
(so the entry survives the failed request) and answered with 401.
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
    """Raise :class:`InvalidCredentials` (after auditing ``<action>.refused``) unless ``password`` is right."""
    async with auth.sessions() as db:
        user = await service.get_or_raise(db, user_id=user_id)
    if await service.password_matches(user=user, password=password, hasher=auth.hasher):
        return
    async with unit_of_work(auth.sessions) as db:
        await service.record_failed_confirmation(
            db, user_id=user_id, action=action, context=context, now=utc_now()
        )
    raise InvalidCredentials("the password is not correct")
