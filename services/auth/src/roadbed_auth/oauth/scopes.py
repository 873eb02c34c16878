"""Scopes: parsing RFC 6749 §3.3 scope strings and the OpenID Connect scopes we know."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

OPENID: Final = "openid"
PROFILE: Final = "profile"
EMAIL: Final = "email"
OFFLINE_ACCESS: Final = "offline_access"
#: Scopes that are about the user's identity, never granted to a client acting for itself.
OIDC_SCOPES: Final = (OPENID, PROFILE, EMAIL, OFFLINE_ACCESS)

#: What a client may ask for unless registered otherwise.
DEFAULT_CLIENT_SCOPES: Final = (OPENID, PROFILE, EMAIL, OFFLINE_ACCESS)

#: Scopes of Roadbed's own APIs, advertised in discovery (clients may be granted others).
API_SCOPES: Final = ("blog:write", "shop:orders", "tasks:write")

MAX_SCOPES: Final = 50
MAX_SCOPE_LENGTH: Final = 100
# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN: Final = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]{1,100}")


def is_scope_token(value: str) -> bool:
    return _SCOPE_TOKEN.fullmatch(value) is not None


def parse_scope(value: str | None) -> tuple[str, ...] | None:
    """The scope tokens of a request parameter in their order, duplicates dropped.

    ``None`` when the string is not a valid scope (bad characters, too many, too long).
    """
    if value is None:
        return ()
    tokens = value.split(" ")
    if len(tokens) > MAX_SCOPES or not all(is_scope_token(token) for token in tokens if token):
        return None
    return tuple(dict.fromkeys(token for token in tokens if token))


def format_scope(scopes: Iterable[str]) -> str:
    return " ".join(dict.fromkeys(scopes))
