"""The ``signing_keys`` table: one row per signing key, its state, and its sealed private key."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
)

from roadbed_core.db import UtcDateTime

SIGNING_KEYS_TABLE: Final = "signing_keys"


class SigningKeyState(StrEnum):
    """Where a key is in its life (see :mod:`roadbed_auth.keys.service` for the transitions)."""

    #: Published in the JWKS so verifiers learn it, not signing yet.
    PENDING = "pending"
    #: Signs new tokens; exactly one per algorithm.
    ACTIVE = "active"
    #: Published, no longer signing, until every token it signed has expired.
    RETIRED = "retired"
    #: Gone from the JWKS, private key erased; the row stays as a record of what existed.
    REVOKED = "revoked"


#: States whose public key is in the JWKS.
PUBLISHED_STATES: Final = (SigningKeyState.PENDING, SigningKeyState.ACTIVE, SigningKeyState.RETIRED)


def define_signing_keys_table(metadata: MetaData, *, name: str = SIGNING_KEYS_TABLE) -> Table:
    """Add the signing-keys table to a service's ``MetaData`` (its migrations then create it).

    The two partial unique indexes are the race arbiters: at most one ``active`` and at most one
    ``pending`` key per algorithm, whatever concurrent rotations or bootstraps attempt.
    """
    state = Column("state", String(16), nullable=False)
    states = ", ".join(f"'{member.value}'" for member in SigningKeyState)
    return Table(
        name,
        metadata,
        # RFC 7638 thumbprint: 43 base64url characters for SHA-256.
        Column("kid", String(64), primary_key=True),
        Column("algorithm", String(16), nullable=False),
        state,
        #: Public JWK (key parameters, kid, alg, use); never private members.
        Column("public_jwk", JSON, nullable=False),
        #: AES-256-GCM of the PKCS#8 DER private key, associated data = kid. NULL once revoked.
        Column("private_key_ciphertext", LargeBinary, nullable=True),
        Column("private_key_nonce", LargeBinary, nullable=True),
        #: Which version of the key-encryption secret sealed the private key.
        Column("kek_version", Integer, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        #: Earliest time a pending key may start signing (published long enough by then).
        Column("activate_after", UtcDateTime, nullable=False),
        Column("activated_at", UtcDateTime, nullable=True),
        Column("retired_at", UtcDateTime, nullable=True),
        #: When a retired key leaves the JWKS: every token it signed has expired by then.
        Column("drop_after", UtcDateTime, nullable=True),
        Column("revoked_at", UtcDateTime, nullable=True),
        CheckConstraint(f"state IN ({states})", name="state"),
        CheckConstraint(
            "state = 'revoked' OR "
            "(private_key_ciphertext IS NOT NULL AND private_key_nonce IS NOT NULL)",
            name="private_key_present",
        ),
        CheckConstraint("state <> 'retired' OR drop_after IS NOT NULL", name="retired_drop_after"),
        Index(
            f"uq_{name}_one_active_per_algorithm",
            "algorithm",
            unique=True,
            postgresql_where=state == SigningKeyState.ACTIVE.value,
            sqlite_where=state == SigningKeyState.ACTIVE.value,
        ),
        Index(
            f"uq_{name}_one_pending_per_algorithm",
            "algorithm",
            unique=True,
            postgresql_where=state == SigningKeyState.PENDING.value,
            sqlite_where=state == SigningKeyState.PENDING.value,
        ),
    )
