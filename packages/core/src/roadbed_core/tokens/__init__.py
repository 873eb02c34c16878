"""Access-token verification shared by every service (DESIGN.md §4).

The framework-neutral pieces are exported here; the adapters live in their own modules so that
importing this package never imports FastAPI, Django or Flask:

* ``roadbed_core.tokens.fastapi`` — ``require_token`` / ``optional_token`` dependencies;
* ``roadbed_core.tokens.drf`` — ``RoadbedTokenAuthentication`` and permission classes;
* ``roadbed_core.tokens.flask`` — ``init_app`` and the ``require_token`` decorator.
"""

from roadbed_core.tokens.claims import Claims, check_access
from roadbed_core.tokens.errors import (
    InsufficientScope,
    InvalidToken,
    MissingToken,
    RevocationUnavailable,
    TokenExpired,
    TokenKeysUnavailable,
    TokenRevoked,
)
from roadbed_core.tokens.jwks import JwksClient, SigningKey
from roadbed_core.tokens.revocation import (
    RevocationList,
    arevoke_token,
    arevoke_user_tokens_before,
    revoke_token,
    revoke_user_tokens_before,
)
from roadbed_core.tokens.verifier import TokenVerifier

__all__ = [
    "Claims",
    "InsufficientScope",
    "InvalidToken",
    "JwksClient",
    "MissingToken",
    "RevocationList",
    "RevocationUnavailable",
    "SigningKey",
    "TokenExpired",
    "TokenKeysUnavailable",
    "TokenRevoked",
    "TokenVerifier",
    "arevoke_token",
    "arevoke_user_tokens_before",
    "check_access",
    "revoke_token",
    "revoke_user_tokens_before",
]
