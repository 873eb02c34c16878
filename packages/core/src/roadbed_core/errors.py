"""RFC 9457 problem details: the one error base every service raises and every framework renders.

Domain code raises a :class:`ProblemError` subclass; the framework adapters
(``roadbed_core.integrations.fastapi``, ``.flask`` and ``.django``) turn it into an
``application/problem+json`` response. Expected failures are 4xx and never reach a 500.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:roadbed:problem:"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid input: where it is (a JSON pointer-ish dotted path), what is wrong, a code."""

    field: str
    message: str
    code: str = "invalid"

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "code": self.code}


def problem_body(
    *,
    status: int,
    code: str,
    title: str | None = None,
    detail: str | None = None,
    errors: Sequence[FieldError] = (),
    instance: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build a problem+json document. ``type`` is a stable URN derived from ``code``."""
    body: dict[str, Any] = {
        "type": f"{PROBLEM_TYPE_PREFIX}{code}",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = [error.as_dict() for error in errors]
    if extra:
        body.update(extra)
    return body


class ProblemError(Exception):
    """Base of every expected failure. Subclasses set ``status``, ``code`` and ``title``."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal Server Error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.errors = tuple(errors)
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def to_problem(self, *, instance: str | None = None) -> dict[str, Any]:
        return problem_body(
            status=self.status,
            code=self.code,
            title=self.title,
            detail=self.detail,
            errors=self.errors,
            instance=instance,
            extra=self.extra,
        )


class BadRequest(ProblemError):
    status = 400
    code = "bad_request"
    title = "Bad Request"


class Unauthorized(ProblemError):
    status = 401
    code = "unauthorized"
    title = "Unauthorized"


class Forbidden(ProblemError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class NotFound(ProblemError):
    status = 404
    code = "not_found"
    title = "Not Found"


class Conflict(ProblemError):
    status = 409
    code = "conflict"
    title = "Conflict"


class ValidationFailed(ProblemError):
    status = 422
    code = "validation_failed"
    title = "Unprocessable Content"


class TooManyRequests(ProblemError):
    status = 429
    code = "too_many_requests"
    title = "Too Many Requests"


class ServiceUnavailable(ProblemError):
    status = 503
    code = "service_unavailable"
    title = "Service Unavailable"
