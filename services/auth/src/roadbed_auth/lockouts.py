"""Failed attempts that start a lockout are audited (ASVS V6.3: lockouts are security events)."""

from __future__ import annotations

import uuid

from roadbed_auth.audit import service as audit
from roadbed_auth.components import AuthComponents, utc_now
from roadbed_auth.context import RequestContext
from roadbed_auth.throttle.login import LoginThrottle
from roadbed_core.db import unit_of_work


async def count_failure(
    auth: AuthComponents,
    throttle: LoginThrottle,
    *,
    account_key: str,
    subject_id: uuid.UUID | None,
    context: RequestContext,
) -> None:
    """Count the failed attempt; when it starts a lockout, audit it in a transaction of its own."""
    lockout = await throttle.record_failure(ip=context.ip_address, account_key=account_key)
    if lockout is None:
        return
    async with unit_of_work(auth.sessions) as db:
        await audit.record(
            db,
            action="account.locked",
            context=context,
            now=utc_now(),
            subject_id=subject_id,
            details={
                "factor": throttle.name,
                "scope": lockout.scope.value,
                "retry_after": lockout.retry_after,
            },
        )
