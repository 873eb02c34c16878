"""The client registry API: the authorization matrix, validation, secrets shown once, paging."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from roadbed_auth.audit.models import AuditEntry
from roadbed_auth.oauth.models import OAuthClient
from roadbed_auth.oauth.secrets import digest

from .conftest import admin_headers, api_token, bearer, create_account, register_client

NEW_CLIENT = {
    "name": "Matrix app",
    "client_type": "public",
    "redirect_uris": ["https://m.example/cb"],
}
ENDPOINTS = [
    ("POST", "/auth/v1/clients", NEW_CLIENT, 201),
    ("GET", "/auth/v1/clients", None, 200),
    ("GET", "/auth/v1/clients/roadbed-shop", None, 200),
    ("POST", "/auth/v1/clients/{confidential}/secret", None, 200),
    ("DELETE", "/auth/v1/clients/{confidential}", None, 204),
]


@pytest.fixture
async def confidential(http: httpx.AsyncClient, app: FastAPI) -> dict[str, Any]:
    return await register_client(http, app, client_type="confidential")


@pytest.mark.parametrize(("method", "path", "body", "status"), ENDPOINTS)
@pytest.mark.parametrize("caller", ["anonymous", "forged", "customer", "staff", "admin"])
async def test_only_admins_manage_clients(
    http: httpx.AsyncClient,
    app: FastAPI,
    confidential: dict[str, Any],
    caller: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
) -> None:
    headers: dict[str, str] = {}
    if caller == "forged":
        headers = bearer("eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJ4In0.")
    elif caller in ("customer", "staff"):
        headers = bearer(await api_token(http, await create_account(app, roles=(caller,))))
    elif caller == "admin":
        headers = await admin_headers(http, app)

    response = await http.request(
        method, path.format(confidential=confidential["client_id"]), json=body, headers=headers
    )

    expected = {"anonymous": 401, "forged": 401, "customer": 403, "staff": 403}.get(caller, status)
    assert response.status_code == expected, response.text
    if expected == 403:
        assert response.json()["code"] == "insufficient_scope"


async def test_a_confidential_client_gets_its_secret_once_and_only_its_digest_is_stored(
    http: httpx.AsyncClient, app: FastAPI, confidential: dict[str, Any]
) -> None:
    read = await http.get(
        f"/auth/v1/clients/{confidential['client_id']}", headers=await admin_headers(http, app)
    )

    assert confidential["client_id"].startswith("rbc_")
    assert len(confidential["client_secret"]) == 43
    assert confidential["token_endpoint_auth_method"] == "client_secret_basic"
    assert "client_secret" not in read.json()
    async with app.state.resources.sessions() as db:
        stored = (
            await db.execute(
                select(OAuthClient).where(OAuthClient.client_id == confidential["client_id"])
            )
        ).scalar_one()
        audit = (
            (await db.execute(select(AuditEntry).where(AuditEntry.action == "client.registered")))
            .scalars()
            .all()
        )
    assert stored.secret_hash == digest(confidential["client_secret"])
    assert confidential["client_id"] in [entry.details["client_id"] for entry in audit]


async def test_a_public_client_has_no_secret(http: httpx.AsyncClient, app: FastAPI) -> None:
    registered = await register_client(http, app)

    assert registered["client_secret"] is None
    assert registered["token_endpoint_auth_method"] == "none"


async def test_rotating_the_secret_retires_the_old_one(
    http: httpx.AsyncClient, app: FastAPI
) -> None:
    machine = await register_client(
        http,
        app,
        client_type="confidential",
        redirect_uris=[],
        grant_types=["client_credentials"],
        scopes=["shop:orders"],
        audience="roadbed",
    )
    rotated = await http.post(
        f"/auth/v1/clients/{machine['client_id']}/secret", headers=await admin_headers(http, app)
    )

    def token(secret: str) -> Any:
        return http.post(
            "/auth/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(machine["client_id"], secret),
        )

    assert (await token(machine["client_secret"])).status_code == 401
    assert (await token(rotated.json()["client_secret"])).status_code == 200


async def test_a_public_client_has_no_secret_to_rotate(
    http: httpx.AsyncClient, app: FastAPI
) -> None:
    response = await http.post(
        "/auth/v1/clients/roadbed-shop/secret", headers=await admin_headers(http, app)
    )

    assert response.status_code == 409
    assert response.json()["code"] == "client_is_public"


async def test_disabling_a_client_stops_its_authentication(
    http: httpx.AsyncClient, app: FastAPI, confidential: dict[str, Any]
) -> None:
    headers = await admin_headers(http, app)

    disabled = await http.delete(f"/auth/v1/clients/{confidential['client_id']}", headers=headers)
    token = await http.post(
        "/auth/oauth/token",
        data={"grant_type": "authorization_code", "code": "x"},
        auth=(confidential["client_id"], confidential["client_secret"]),
    )
    read = await http.get(f"/auth/v1/clients/{confidential['client_id']}", headers=headers)

    assert disabled.status_code == 204
    assert token.status_code == 401
    assert read.json()["disabled_at"] is not None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"redirect_uris": ["http://app.example.com/cb"]}, "redirect_uris.0"),
        ({"redirect_uris": ["https://app.example.com/cb#frag"]}, "redirect_uris.0"),
        ({"redirect_uris": ["/relative/cb"]}, "redirect_uris.0"),
        ({"redirect_uris": ["javascript://x/%0aalert(1)"]}, "redirect_uris.0"),
        ({"redirect_uris": []}, "redirect_uris"),
        ({"post_logout_redirect_uris": ["http://evil.example/"]}, "post_logout_redirect_uris.0"),
        ({"grant_types": ["client_credentials"], "audience": "roadbed"}, "grant_types"),
        ({"client_type": "confidential", "grant_types": ["client_credentials"]}, "audience"),
        ({"grant_types": ["refresh_token"]}, "grant_types"),
    ],
)
async def test_unsafe_or_inconsistent_registrations_are_refused(
    http: httpx.AsyncClient, app: FastAPI, body: dict[str, Any], field: str
) -> None:
    request = {
        "name": "Bad app",
        "client_type": "public",
        "redirect_uris": ["https://a.example/cb"],
    }
    request.update(body)

    response = await http.post(
        "/auth/v1/clients", json=request, headers=await admin_headers(http, app)
    )

    assert response.status_code == 422
    assert field in [error["field"] for error in response.json()["errors"]]


@pytest.mark.parametrize(
    "body",
    [
        {"grant_types": ["password"]},
        {"grant_types": ["implicit"]},
        {"client_type": "spa"},
        {"scopes": ['bad"scope']},
        {"client_id": "UPPER"},
        {"client_id": "0b8f3c2e-0d4c-4a8e-9a55-3f0e8b0f6a11"},  # would look like a user subject
        {"name": ""},
        {"redirect_uris": ["https://a.example/" + "x" * 2048]},
        {"unexpected": True},
    ],
)
async def test_malformed_registrations_are_validation_errors(
    http: httpx.AsyncClient, app: FastAPI, body: dict[str, Any]
) -> None:
    request = {
        "name": "Bad app",
        "client_type": "public",
        "redirect_uris": ["https://a.example/cb"],
    }
    request.update(body)

    response = await http.post(
        "/auth/v1/clients", json=request, headers=await admin_headers(http, app)
    )

    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"


async def test_a_taken_client_id_is_a_conflict(http: httpx.AsyncClient, app: FastAPI) -> None:
    response = await http.post(
        "/auth/v1/clients",
        json={**NEW_CLIENT, "client_id": "roadbed-blog-admin"},
        headers=await admin_headers(http, app),
    )

    assert response.status_code == 409
    assert response.json()["code"] == "client_id_taken"


async def test_clients_are_listed_in_pages_by_client_id(
    http: httpx.AsyncClient, app: FastAPI
) -> None:
    headers = await admin_headers(http, app)
    for name in ("a", "b", "c"):
        await http.post(
            "/auth/v1/clients", json={**NEW_CLIENT, "client_id": f"page-{name}"}, headers=headers
        )

    first = (await http.get("/auth/v1/clients", params={"limit": 4}, headers=headers)).json()
    second = (
        await http.get(
            "/auth/v1/clients", params={"limit": 4, "cursor": first["next_cursor"]}, headers=headers
        )
    ).json()
    bad = await http.get("/auth/v1/clients", params={"cursor": "%%%"}, headers=headers)

    assert [c["client_id"] for c in first["items"]] == [
        "page-a",
        "page-b",
        "page-c",
        "roadbed-blog-admin",
    ]
    assert [c["client_id"] for c in second["items"]] == ["roadbed-shop", "roadbed-tasks"]
    assert second["next_cursor"] is None
    assert bad.status_code == 400


async def test_an_unknown_client_is_not_found(http: httpx.AsyncClient, app: FastAPI) -> None:
    response = await http.get("/auth/v1/clients/nope", headers=await admin_headers(http, app))

    assert response.status_code == 404
    assert response.json()["code"] == "client_not_found"
