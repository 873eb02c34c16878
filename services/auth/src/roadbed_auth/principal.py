"""The bearer token of a signed-in user, as the account, session and MFA endpoints need it.

The core verifier accepts any access token for our audience, including a client-credentials
token (``sub`` = the client's id) whose client was registered with that audience. Such a token
has no user behind it: the "me" endpoints refuse it as a token (401) instead of reading its
``sub`` as a user id (RFC 9068 §5: ``sub`` = ``client_id`` marks a client acting for itself).
"""

# No ``from __future__ import annotations``: FastAPI must see the dependency below as an
# object, not a string naming a local variable.
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated

from fastapi import Depends

from roadbed_core.tokens.claims import Claims
from roadbed_core.tokens.errors import InvalidToken
from roadbed_core.tokens.fastapi import require_token


def require_user_token(
    *, scopes: Iterable[str] = (), roles: Iterable[str] = ()
) -> Callable[..., Awaitable[Claims]]:
    """Like :func:`require_token`, and the subject must be a user (its id a UUID)."""
    verified = require_token(scopes=scopes, roles=roles)

    async def dependency(claims: Annotated[Claims, Depends(verified)]) -> Claims:
        if claims.sub == claims.client_id:
            raise InvalidToken("bad_claims")
        try:
            uuid.UUID(claims.sub)
        except ValueError:
            raise InvalidToken("bad_claims") from None
        return claims

    return dependency
