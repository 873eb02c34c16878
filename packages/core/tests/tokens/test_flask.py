"""Flask adapter end to end: a real app, real tokens, the Flask test client."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, Response, g, jsonify
from flask.testing import FlaskClient

from roadbed_core.errors import PROBLEM_CONTENT_TYPE, ProblemError
from roadbed_core.tokens import TokenVerifier
from roadbed_core.tokens.flask import current_claims, init_app, optional_token, require_token


def build_app(verifier: TokenVerifier | None) -> Flask:
    app = Flask(__name__)
    if verifier is not None:
        init_app(app, verifier)

    # Rendering problems belongs to the service; this is the minimum a test app needs.
    @app.errorhandler(ProblemError)
    def render_problem(exc: ProblemError) -> tuple[Response, int, dict[str, str]]:
        response = jsonify(exc.to_problem())
        response.content_type = PROBLEM_CONTENT_TYPE
        return response, exc.status, exc.headers

    @app.get("/admin")
    @require_token(scopes=("articles:write",), roles=("admin",))
    def admin() -> dict[str, Any]:
        return {"sub": g.claims.sub}

    @app.get("/feed")
    @optional_token()
    def feed() -> dict[str, Any]:
        claims = current_claims()
        return {"sub": claims.sub if claims else None}

    return app


@pytest.fixture
def client(verifier: TokenVerifier) -> FlaskClient:
    return build_app(verifier).test_client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_anonymous_request_gets_401_with_the_bare_challenge(client: FlaskClient) -> None:
    response = client.get("/admin")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.get_json()["code"] == "missing_token"


def test_bad_token_gets_401_invalid_token(client: FlaskClient, tokens: Any) -> None:
    response = client.get("/admin", headers=bearer(tokens.sign(iss="https://evil.test")))

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == (
        'Bearer error="invalid_token", error_description="The access token issuer is not trusted"'
    )
    assert response.content_type == PROBLEM_CONTENT_TYPE
    assert response.get_json() == {
        "type": "urn:roadbed:problem:invalid_token",
        "title": "Unauthorized",
        "status": 401,
        "code": "invalid_token",
        "detail": "bad_issuer",
    }


@pytest.mark.parametrize("authorization", ["Bearer", "Bearer a b"])
def test_malformed_bearer_header_gets_401(client: FlaskClient, authorization: str) -> None:
    response = client.get("/admin", headers={"Authorization": authorization})

    assert response.status_code == 401
    assert response.get_json()["detail"] == "malformed"


def test_wrong_role_gets_403(client: FlaskClient, tokens: Any) -> None:
    response = client.get("/admin", headers=bearer(tokens.sign(roles=["author"])))

    assert response.status_code == 403
    assert response.get_json()["code"] == "insufficient_scope"


def test_right_role_gets_200(client: FlaskClient, tokens: Any) -> None:
    response = client.get("/admin", headers=bearer(tokens.sign(sub="user-9", roles=["admin"])))

    assert (response.status_code, response.get_json()) == (200, {"sub": "user-9"})


def test_lowercase_scheme_is_accepted(client: FlaskClient, tokens: Any) -> None:
    token = tokens.sign(roles=["admin"])

    response = client.get("/admin", headers={"Authorization": f"bearer {token}"})

    assert response.status_code == 200


def test_optional_token_serves_anonymous_and_signed_in_requests(
    client: FlaskClient, tokens: Any
) -> None:
    assert client.get("/feed").get_json() == {"sub": None}
    assert client.get("/feed", headers=bearer(tokens.sign())).get_json() == {"sub": "user-1"}
    assert client.get("/feed", headers=bearer("not-a-jwt")).status_code == 401


def test_app_without_init_app_fails_loudly(tokens: Any) -> None:
    app = build_app(None)
    app.config["PROPAGATE_EXCEPTIONS"] = True

    with pytest.raises(RuntimeError, match="init_app"):
        app.test_client().get("/admin", headers=bearer(tokens.sign()))
