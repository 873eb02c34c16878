"""Problem details (RFC 9457): the body builder and the ProblemError family."""

from __future__ import annotations

import pytest

from roadbed_core.errors import (
    PROBLEM_CONTENT_TYPE,
    BadRequest,
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    ProblemError,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
    problem_body,
)


def test_content_type_is_problem_json() -> None:
    assert PROBLEM_CONTENT_TYPE == "application/problem+json"


def test_minimal_body_has_type_title_status_and_code() -> None:
    assert problem_body(status=404, code="not_found") == {
        "type": "urn:roadbed:problem:not_found",
        "title": "Not Found",
        "status": 404,
        "code": "not_found",
    }


def test_full_body_carries_detail_instance_errors_and_extra_members() -> None:
    body = problem_body(
        status=422,
        code="validation_failed",
        title="Unprocessable Content",
        detail="Two fields are invalid.",
        instance="/v1/tasks",
        errors=[FieldError("title", "Required."), FieldError("due", "In the past.", "past_date")],
        extra={"retryable": False},
    )
    assert body == {
        "type": "urn:roadbed:problem:validation_failed",
        "title": "Unprocessable Content",
        "status": 422,
        "code": "validation_failed",
        "detail": "Two fields are invalid.",
        "instance": "/v1/tasks",
        "errors": [
            {"field": "title", "message": "Required.", "code": "invalid"},
            {"field": "due", "message": "In the past.", "code": "past_date"},
        ],
        "retryable": False,
    }


def test_empty_detail_and_errors_are_left_out() -> None:
    assert set(problem_body(status=400, code="bad_request", detail="", errors=())) == {
        "type",
        "title",
        "status",
        "code",
    }


@pytest.mark.parametrize(
    ("error_class", "status", "code", "title"),
    [
        (ProblemError, 500, "internal_error", "Internal Server Error"),
        (BadRequest, 400, "bad_request", "Bad Request"),
        (Unauthorized, 401, "unauthorized", "Unauthorized"),
        (Forbidden, 403, "forbidden", "Forbidden"),
        (NotFound, 404, "not_found", "Not Found"),
        (Conflict, 409, "conflict", "Conflict"),
        (ValidationFailed, 422, "validation_failed", "Unprocessable Content"),
        (TooManyRequests, 429, "too_many_requests", "Too Many Requests"),
        (ServiceUnavailable, 503, "service_unavailable", "Service Unavailable"),
    ],
)
def test_each_error_renders_its_status_code_and_title(
    error_class: type[ProblemError], status: int, code: str, title: str
) -> None:
    assert error_class().to_problem() == {
        "type": f"urn:roadbed:problem:{code}",
        "title": title,
        "status": status,
        "code": code,
    }


def test_domain_subclass_overrides_code_and_keeps_status() -> None:
    # given a domain error the way services declare them
    class OutOfStock(Conflict):
        code = "out_of_stock"
        title = "Out of stock"

    # when
    error = OutOfStock("Only 2 left.", extra={"available": 2}, headers={"Retry-After": "60"})
    # then
    assert error.to_problem(instance="/v1/carts/c1") == {
        "type": "urn:roadbed:problem:out_of_stock",
        "title": "Out of stock",
        "status": 409,
        "code": "out_of_stock",
        "detail": "Only 2 left.",
        "instance": "/v1/carts/c1",
        "available": 2,
    }
    assert (error.status, error.headers) == (409, {"Retry-After": "60"})
    assert isinstance(error, ProblemError)


def test_validation_failed_carries_field_errors() -> None:
    error = ValidationFailed(errors=[FieldError("email", "Already taken.", "taken")])
    assert error.errors == (FieldError("email", "Already taken.", "taken"),)
    assert error.to_problem()["errors"] == [
        {"field": "email", "message": "Already taken.", "code": "taken"}
    ]


def test_message_is_the_detail_or_else_the_title() -> None:
    assert (str(NotFound("No task 7.")), str(NotFound())) == ("No task 7.", "Not Found")


def test_headers_and_extra_are_copied_not_shared() -> None:
    headers = {"WWW-Authenticate": "Bearer"}
    error = Unauthorized(headers=headers)
    headers["WWW-Authenticate"] = "changed"
    assert error.headers == {"WWW-Authenticate": "Bearer"}


def test_field_error_is_a_value() -> None:
    error = FieldError("title", "Required.")
    assert (error.as_dict(), error == FieldError("title", "Required.", "invalid")) == (
        {"field": "title", "message": "Required.", "code": "invalid"},
        True,
    )
    with pytest.raises(AttributeError):
        error.field = "other"  # type: ignore[misc]
