"""MFA recovery codes: ten single-use codes, shown once, stored only as SHA-256.

A fast hash is enough here, unlike for passwords, because the codes are not chosen by people:
each is 16 symbols drawn uniformly from a 32-symbol alphabet, 80 bits of entropy. Exhausting
2^80 SHA-256 inputs is out of reach for any attacker holding a database dump (a large GPU farm
at 10^12 hashes/s would need tens of thousands of years), so a slow, salted hash would buy
nothing and would make checking ten codes cost ten Argon2 runs. (Ten symbols, 50 bits, would
not be: 2^50 SHA-256 is hours of one GPU.)

The alphabet is Crockford's base32 (digits and letters without I, L, O, U); on input, O is read
as 0 and I or L as 1, case is ignored, and spaces and dashes are dropped, so whatever someone
copies from paper or a password manager reads back as the same code.

Single use is the caller's side: :meth:`RecoveryCodes.match` says *which* stored code matched,
and the caller marks that row used with a guarded ``UPDATE ... WHERE used_at IS NULL``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ALPHABET_SET: Final = frozenset(ALPHABET)
_CONFUSABLES: Final = str.maketrans({"O": "0", "I": "1", "L": "1"})
_IGNORED: Final = str.maketrans("", "", " \t\r\n-\u2010\u2011\u2012\u2013\u2014")
_HASH_DOMAIN: Final = b"roadbed:auth:recovery-code:v1\x00"
_MAX_INPUT_LENGTH: Final = 64


@dataclass(frozen=True, slots=True)
class RecoveryCodes:
    """How many codes, how long, and how they are shown (``XXXX-XXXX-XXXX-XXXX``)."""

    count: int = 10
    length: int = 16
    group: int = 4

    def __post_init__(self) -> None:
        if self.count < 1 or self.length < 16 or self.group < 1:
            # Fewer than 16 symbols would undercut the reasoning that allows a fast hash.
            raise ValueError("count >= 1, length >= 16 and group >= 1 are required")

    def generate(self) -> tuple[list[str], list[str]]:
        """(codes to show the user once, their hashes to store), in the same order."""
        codes: list[str] = []
        while len(codes) < self.count:
            raw = "".join(secrets.choice(ALPHABET) for _ in range(self.length))
            if raw not in codes:
                codes.append(raw)
        return [self._display(raw) for raw in codes], [self._digest(raw) for raw in codes]

    def normalise(self, code: str) -> str | None:
        """The canonical form of a typed code, or ``None`` if it cannot be one of ours."""
        if len(code) > _MAX_INPUT_LENGTH:
            return None
        # NFKC first: full-width letters and digits (some input methods) become ASCII.
        normalised = unicodedata.normalize("NFKC", code)
        candidate = normalised.translate(_IGNORED).upper().translate(_CONFUSABLES)
        if len(candidate) != self.length or not _ALPHABET_SET.issuperset(candidate):
            return None
        return candidate

    def hash(self, code: str) -> str:
        """The stored form of ``code`` (hex SHA-256 of its canonical form)."""
        canonical = self.normalise(code)
        if canonical is None:
            raise ValueError("not a recovery code")
        return self._digest(canonical)

    def match(self, hashes: Sequence[str | None], code: str) -> int | None:
        """Index of the stored hash ``code`` matches, or ``None``. ``None`` entries are spent.

        Every stored hash is compared in constant time and none is skipped once one matched,
        so timing says nothing about which code (or whether any) was right.
        """
        canonical = self.normalise(code)
        if canonical is None:
            return None
        digest = self._digest(canonical).encode()
        matched: int | None = None
        for index, stored in enumerate(hashes):
            if stored is None:
                continue
            if hmac.compare_digest(stored.encode(), digest) and matched is None:
                matched = index
        return matched

    def _display(self, raw: str) -> str:
        return "-".join(raw[i : i + self.group] for i in range(0, len(raw), self.group))

    @staticmethod
    def _digest(canonical: str) -> str:
        return hashlib.sha256(_HASH_DOMAIN + canonical.encode()).hexdigest()
