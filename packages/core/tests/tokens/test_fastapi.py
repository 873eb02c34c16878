"""FastAPI adapter end to end: a real app, real tokens, the TestClient."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from roadbed_core.errors import PROBLEM_CONTENT_TYPE, ProblemError
from roadbed_core.health import HealthRegistry
from roadbed_core.integrations.fastapi import install
from roadbed_core.logs import configure_logging, get_logger, reset_logging
from roadbed_core.metrics import HttpMetrics
from roadbed_core.tokens import Claims, TokenVerifier
from roadbed_core.tokens.fastapi import install_token_verifier, optional_token, require_token


def build_app(verifier: TokenVerifier) -> FastAPI:
    app = FastAPI()
    install_token_verifier(app, verifier)

    # Rendering problems belongs to the service; this is the minimum a test app needs.
    @app.exception_handler(ProblemError)
    async def render_problem(request: Request, exc: ProblemError) -> JSONResponse:
        return JSONResponse(
            exc.to_problem(),
            status_code=exc.status,
            headers=exc.headers,
            media_type=PROBLEM_CONTENT_TYPE,
        )

    @app.get("/me")
    async def me(claims: Annotated[Claims, Depends(require_token())]) -> dict[str, Any]:
        """Any valid token."""
        return {"sub": claims.sub}

    @app.get("/admin")
    async def admin(
        claims: Annotated[
            Claims, Depends(require_token(scopes=("articles:write",), roles=("admin",)))
        ],
    ) -> dict[str, Any]:
        """Admins with the write scope."""
        return {"sub": claims.sub}

    @app.get("/feed")
    async def feed(claims: Annotated[Claims | None, Depends(optional_token())]) -> dict[str, Any]:
        """Anonymous or signed in."""
        return {"sub": claims.sub if claims else None}

    return app


@pytest.fixture
def client(verifier: TokenVerifier) -> TestClient:
    return TestClient(build_app(verifier))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_anonymous_request_gets_401_with_the_bare_challenge(client: TestClient) -> None:
    response = client.get("/admin")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["code"] == "missing_token"


@pytest.mark.parametrize("authorization", ["Basic dXNlcjpwYXNz", "Bearer", "Token abc"])
def test_other_schemes_count_as_no_token(client: TestClient, authorization: str) -> None:
    response = client.get("/me", headers={"Authorization": authorization})

    assert response.status_code == 401
    assert response.json()["code"] == "missing_token"


def test_bad_token_gets_401_invalid_token(client: TestClient, tokens: Any) -> None:
    response = client.get("/admin", headers=bearer(tokens.sign(aud=["https://elsewhere.test"])))

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == (
        'Bearer error="invalid_token", '
        'error_description="The access token is not intended for this service"'
    )
    assert response.headers["content-type"] == PROBLEM_CONTENT_TYPE
    assert response.json() == {
        "type": "urn:roadbed:problem:invalid_token",
        "title": "Unauthorized",
        "status": 401,
        "code": "invalid_token",
        "detail": "bad_audience",
    }


def test_wrong_role_gets_403(client: TestClient, tokens: Any) -> None:
    response = client.get("/admin", headers=bearer(tokens.sign(roles=["author"])))

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    assert response.headers["www-authenticate"].startswith('Bearer error="insufficient_scope"')


def test_missing_scope_gets_403(client: TestClient, tokens: Any) -> None:
    response = client.get(
        "/admin", headers=bearer(tokens.sign(roles=["admin"], scope="articles:read"))
    )

    assert response.status_code == 403
    assert response.json()["detail"] == "missing scope: articles:write"


def test_right_role_gets_200(client: TestClient, tokens: Any) -> None:
    response = client.get("/admin", headers=bearer(tokens.sign(sub="user-9", roles=["admin"])))

    assert (response.status_code, response.json()) == (200, {"sub": "user-9"})


def test_optional_token_serves_anonymous_and_signed_in_requests(
    client: TestClient, tokens: Any
) -> None:
    assert client.get("/feed").json() == {"sub": None}
    assert client.get("/feed", headers=bearer(tokens.sign())).json() == {"sub": "user-1"}
    assert client.get("/feed", headers=bearer("not-a-jwt")).status_code == 401


def test_openapi_documents_the_bearer_scheme(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()

    assert schema["components"]["securitySchemes"] == {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "RFC 9068 access token issued by the auth service",
        }
    }
    assert schema["paths"]["/admin"]["get"]["security"] == [{"bearerAuth": []}]


def test_app_without_a_verifier_fails_loudly(tokens: Any) -> None:
    app = FastAPI()

    @app.get("/me")
    async def me(claims: Annotated[Claims, Depends(require_token())]) -> dict[str, Any]:
        """Any valid token."""
        return {"sub": claims.sub}

    with pytest.raises(RuntimeError, match="install_token_verifier"):
        TestClient(app).get("/me", headers=bearer(tokens.sign()))


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(json=True, level="INFO", stream=stream)
    try:
        yield stream
    finally:
        reset_logging()


def test_the_verified_user_is_named_in_the_access_line_and_the_endpoint_logs(
    verifier: TokenVerifier, tokens: Any, json_log: io.StringIO
) -> None:
    # given a service wired with install() whose endpoint logs something
    app = FastAPI()
    install_token_verifier(app, verifier)
    install(
        app,
        service="shop",
        health=HealthRegistry("shop"),
        metrics=HttpMetrics("shop", process_collectors=False),
    )

    @app.get("/me")
    async def me(claims: Annotated[Claims, Depends(require_token())]) -> dict[str, Any]:
        """Any valid token."""
        get_logger("shop.test").info("inside")
        return {"sub": claims.sub}

    # when a signed-in user calls it
    response = TestClient(app).get("/me", headers=bearer(tokens.sign(sub="user-7")))

    # then the endpoint's own line and the access line both carry the user id
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    by_event = {(line["logger"], line["event"]): line for line in lines}
    assert response.status_code == 200
    assert by_event[("shop.test", "inside")]["user_id"] == "user-7"
    assert by_event[("roadbed.access", "request")]["user_id"] == "user-7"
