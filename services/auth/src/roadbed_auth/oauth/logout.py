"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).

``post_logout_redirect_uri`` must be registered for the client exactly, and the client must be
known — from a valid ``id_token_hint`` we issued (expired is fine) or ``client_id``. Without a
hint naming the signed-in user, the user confirms on a CSRF-protected page first, so a hostile
page cannot sign people out with a bare link.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from roadbed_auth.oauth import clients
from roadbed_auth.oauth.authorization import MAX_PARAMETER_LENGTH, redirect_with
from roadbed_auth.oauth.browser import SignedIn
from roadbed_auth.oauth.errors import UntrustedAuthorizationRequest
from roadbed_auth.oauth.inspection import id_token_hint_claims
from roadbed_auth.oauth.models import OAuthClient
from roadbed_auth.oauth.tokens import TokenReader


@dataclass(frozen=True, slots=True)
class LogoutRequest:
    client: OAuthClient | None
    post_logout_redirect_uri: str | None
    state: str | None
    #: The user the ``id_token_hint`` was issued to, if one was sent.
    hinted_subject: str | None

    def confirmed_by_hint(self, signed_in: SignedIn) -> bool:
        """A valid hint for the signed-in user shows the request comes from their own client."""
        return self.hinted_subject == str(signed_in.user.id)

    def redirect(self) -> str | None:
        if self.post_logout_redirect_uri is None:
            return None
        return redirect_with(self.post_logout_redirect_uri, {"state": self.state})


async def validate(
    db: AsyncSession, *, parameters: Sequence[tuple[str, str]], reader: TokenReader
) -> LogoutRequest:
    """Check a logout request; problems are shown to the user (:class:`UntrustedAuthorizationRequest`)."""
    values: dict[str, str] = {}
    for name, value in parameters:
        if name in values:
            raise UntrustedAuthorizationRequest("The logout request repeats a parameter.")
        if len(value) > 8192 or (name != "id_token_hint" and len(value) > MAX_PARAMETER_LENGTH):
            raise UntrustedAuthorizationRequest("A logout parameter is too long.")
        values[name] = value
    client_id = values.get("client_id")
    hinted_subject = None
    hint = values.get("id_token_hint")
    if hint:
        claims = await id_token_hint_claims(reader.jwks, hint, issuer=reader.issuer)
        if claims is None:
            raise UntrustedAuthorizationRequest("The id_token_hint is not a valid ID token.")
        audience = claims["aud"]
        hinted_client = audience if isinstance(audience, str) else (audience or [""])[0]
        if client_id is not None and client_id != hinted_client:
            raise UntrustedAuthorizationRequest("The client_id does not match the id_token_hint.")
        client_id = hinted_client
        hinted_subject = claims["sub"]
    client = await clients.get_active(db, client_id=client_id) if client_id else None
    if client_id and client is None:
        raise UntrustedAuthorizationRequest("This application is unknown or has been disabled.")
    redirect_uri = values.get("post_logout_redirect_uri")
    if redirect_uri is not None:
        if client is None:
            raise UntrustedAuthorizationRequest(
                "A post_logout_redirect_uri needs an id_token_hint or a client_id."
            )
        if redirect_uri not in client.post_logout_redirect_uris:
            raise UntrustedAuthorizationRequest(
                "The post_logout_redirect_uri is not registered for this application."
            )
    return LogoutRequest(
        client=client,
        post_logout_redirect_uri=redirect_uri,
        state=values.get("state"),
        hinted_subject=hinted_subject,
    )
