"""Every table of the auth service on one ``MetaData`` (what migrations and tests build)."""

from __future__ import annotations

from roadbed_auth.account import models as account_models
from roadbed_auth.audit import models as audit_models
from roadbed_auth.base import inbox, metadata, outbox, signing_keys
from roadbed_auth.oauth import models as oauth_models
from roadbed_auth.session import models as session_models

__all__ = [
    "account_models",
    "audit_models",
    "inbox",
    "metadata",
    "oauth_models",
    "outbox",
    "session_models",
    "signing_keys",
]
