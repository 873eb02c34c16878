"""Signing-key failures. Both are 503: without a usable key we cannot issue tokens, and the
cause (configuration or storage) is ours, never the client's."""

from __future__ import annotations

from roadbed_core.errors import ServiceUnavailable


class SigningKeyUnavailable(ServiceUnavailable):
    """No active key for the requested algorithm (keys not bootstrapped, or a row is unusable)."""

    code = "signing_key_unavailable"
    title = "Token signing unavailable"


class SigningKeyDecryptionFailed(SigningKeyUnavailable):
    """A stored private key could not be decrypted: wrong secret, or the row was altered.

    Raised instead of ``cryptography``'s bare ``InvalidTag`` so an operator reading the log learns
    which key failed and the two possible causes.
    """

    code = "signing_key_decryption_failed"
