"""The JWKS document (RFC 7517 §5) served at ``/.well-known/jwks.json``, rendered once per change.

Members are copied from a per-key-type allow-list, not from the stored JWK as a whole: even a
row holding extra members could never leak a private parameter (``d``, ``p``, ``q``...) here.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from roadbed_auth.keys.material import SUPPORTED_ALGORITHMS, THUMBPRINT_MEMBERS
from roadbed_auth.keys.repository import SigningKeyRecord
from roadbed_auth.keys.tables import SigningKeyState


@dataclass(frozen=True, slots=True)
class JwksDocument:
    """A rendered JWKS: the exact response ``body``, its ``etag``, and the ``kids`` it holds."""

    body: bytes
    etag: str
    kids: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """A fresh (mutable) copy of the document, e.g. for ``JwksClient.from_jwks``."""
        document: dict[str, Any] = json.loads(self.body)
        return document


def published_jwk(record: SigningKeyRecord) -> dict[str, str]:
    """The public JWK of ``record``: ``kid``, ``alg``, ``use``, ``kty`` and the key parameters."""
    kty = str(record.public_jwk["kty"])
    parameters = {name: str(record.public_jwk[name]) for name in THUMBPRINT_MEMBERS[kty]}
    return {**parameters, "kid": record.kid, "alg": record.algorithm, "use": "sig"}


def published_order(records: Iterable[SigningKeyRecord]) -> list[SigningKeyRecord]:
    """Active keys first (naive clients take the first key), then pending, then retired."""
    state_rank = {SigningKeyState.ACTIVE: 0, SigningKeyState.PENDING: 1, SigningKeyState.RETIRED: 2}
    algorithm_rank = {algorithm: rank for rank, algorithm in enumerate(SUPPORTED_ALGORITHMS)}
    return sorted(
        records,
        key=lambda record: (
            state_rank.get(record.state, len(state_rank)),
            algorithm_rank.get(record.algorithm, len(algorithm_rank)),
            record.created_at,
            record.kid,
        ),
    )


def render_jwks(records: Iterable[SigningKeyRecord]) -> JwksDocument:
    """Render the published keys among ``records`` (revoked ones are skipped)."""
    published = published_order(
        record for record in records if record.state is not SigningKeyState.REVOKED
    )
    document = {"keys": [published_jwk(record) for record in published]}
    body = json.dumps(document, separators=(",", ":"), sort_keys=True).encode("ascii")
    digest = base64.urlsafe_b64encode(hashlib.sha256(body).digest()[:18]).decode("ascii")
    return JwksDocument(
        body=body, etag=f'"{digest}"', kids=tuple(record.kid for record in published)
    )
