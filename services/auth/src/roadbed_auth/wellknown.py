"""Published metadata: the JWKS every service verifies our tokens with."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

router = APIRouter(tags=["discovery"])


@router.get(
    "/.well-known/jwks.json",
    responses={
        200: {
            "content": {
                "application/jwk-set+json": {
                    "example": {
                        "keys": [
                            {
                                "kty": "RSA",
                                "kid": "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
                                "use": "sig",
                                "alg": "RS256",
                                "n": "…",
                                "e": "AQAB",
                            }
                        ]
                    }
                }
            }
        }
    },
)
async def jwks(request: Request) -> Response:
    """The public signing keys (RFC 7517): pending, active and retired, never private parts."""
    document = await request.app.state.keyring.jwks()
    if request.headers.get("if-none-match") == document.etag:
        return Response(status_code=304, headers={"ETag": document.etag})
    refresh = request.app.state.auth.settings.signing_key_refresh_seconds
    return Response(
        content=document.body,
        media_type="application/jwk-set+json",
        headers={"ETag": document.etag, "Cache-Control": f"public, max-age={refresh}"},
    )
