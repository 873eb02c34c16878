"""Shared fixtures for the token tests: real keys, real signed tokens, a real local JWKS endpoint.

Nothing of ours is faked. The one remote thing — the issuer's JWKS endpoint — is a real HTTP
server on loopback whose document, status and fetch count the test controls.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from roadbed_core.tokens import JwksClient, TokenVerifier

ISSUER = "https://id.example.test/auth"
AUDIENCE = "https://api.example.test/blog"
CLIENT_ID = "roadbed-web"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True)
class Signer:
    """A private key, the kid its public half is published under, and the algorithm it signs with."""

    private_key: PrivateKey
    kid: str
    algorithm: str

    def public_jwk(self) -> dict[str, Any]:
        public = self.private_key.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        elif isinstance(public, ec.EllipticCurvePublicKey):
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig"}

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def jwks_of(*signers: Signer) -> dict[str, Any]:
    return {"keys": [signer.public_jwk() for signer in signers]}


@dataclass(frozen=True)
class Keys:
    rsa: Signer
    ec: Signer
    ed: Signer
    rsa_rotated: Signer
    stranger: Signer  # an RSA key nobody published

    def jwks(self) -> dict[str, Any]:
        """The issuer's published set before rotation."""
        return jwks_of(self.rsa, self.ec, self.ed)


@pytest.fixture(scope="session")
def keys() -> Keys:
    # Session scope: RSA generation is the slowest thing in this suite.
    return Keys(
        rsa=Signer(
            rsa.generate_private_key(public_exponent=65537, key_size=2048), "rsa-1", "RS256"
        ),
        ec=Signer(ec.generate_private_key(ec.SECP256R1()), "ec-1", "ES256"),
        ed=Signer(ed25519.Ed25519PrivateKey.generate(), "ed-1", "EdDSA"),
        rsa_rotated=Signer(
            rsa.generate_private_key(public_exponent=65537, key_size=2048), "rsa-2", "RS256"
        ),
        stranger=Signer(
            rsa.generate_private_key(public_exponent=65537, key_size=2048), "rsa-1", "RS256"
        ),
    )


@dataclass
class TokenFactory:
    """Builds signed access tokens; every claim and header can be overridden or dropped."""

    default_signer: Signer

    def payload(self, *, drop: tuple[str, ...] = (), **claims: Any) -> dict[str, Any]:
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": ISSUER,
            "sub": "user-1",
            "aud": [AUDIENCE],
            "exp": now + 300,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "client_id": CLIENT_ID,
            "scope": "articles:read articles:write",
            "roles": ["author"],
        }
        payload.update(claims)
        for name in drop:
            del payload[name]
        return payload

    def sign(
        self,
        signer: Signer | None = None,
        *,
        headers: dict[str, Any] | None = None,
        drop: tuple[str, ...] = (),
        **claims: Any,
    ) -> str:
        signer = signer or self.default_signer
        header: dict[str, Any] = {"typ": "at+jwt", "kid": signer.kid}
        header.update(headers or {})
        # None drops a header; PyJWT does that itself for typ (and would otherwise add "JWT").
        header = {
            name: value for name, value in header.items() if value is not None or name == "typ"
        }
        return jwt.encode(
            self.payload(drop=drop, **claims),
            signer.private_key,
            algorithm=signer.algorithm,
            headers=header,
        )


@pytest.fixture
def tokens(keys: Keys) -> TokenFactory:
    return TokenFactory(default_signer=keys.rsa)


@pytest.fixture
def verifier(keys: Keys) -> TokenVerifier:
    """A verifier on the static pre-rotation JWKS, without revocation."""
    return TokenVerifier(
        JwksClient.from_jwks(keys.jwks()), issuer=ISSUER, audience=AUDIENCE, revocation=None
    )


class FakeClock:
    """Monotonic time the test advances by hand, so TTL and cooldown tests never sleep."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@dataclass
class JwksEndpoint:
    """State of the local JWKS server: what it answers, and how often it was asked."""

    document: dict[str, Any]
    status: int = 200
    raw_body: bytes | None = None
    fetches: int = 0
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def respond(self) -> tuple[int, bytes]:
        with self._lock:
            self.fetches += 1
            body = (
                self.raw_body if self.raw_body is not None else json.dumps(self.document).encode()
            )
            return self.status, body


@pytest.fixture
def jwks_endpoint(keys: Keys) -> Iterator[JwksEndpoint]:
    """A real HTTP server on 127.0.0.1 serving the issuer's JWKS; stopped after the test."""
    endpoint = JwksEndpoint(document=keys.jwks())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = endpoint.respond()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    endpoint.url = f"http://127.0.0.1:{server.server_address[1]}/auth/.well-known/jwks.json"
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
