"""The event envelope: CloudEvents 1.0 in structured JSON mode (DESIGN.md §5).

Every event crossing a service boundary is a :class:`CloudEvent`. It is serialised the same way on
every bus (the in-process bus round-trips through :meth:`CloudEvent.to_json` too), so a consumer
never sees a field that would not survive RabbitMQ. Parsing is strict: our producers are the only
producers, so anything that does not look like what they write is a bug worth an error.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

SPEC_VERSION = "1.0"
DATA_CONTENT_TYPE = "application/json"

#: ``roadbed.<service>.<entity>.<action>.v<N>``, lower-case words (``_`` allowed), N >= 1.
EVENT_TYPE_PATTERN = re.compile(
    r"roadbed\.(?P<service>[a-z][a-z0-9_]*)\.(?P<entity>[a-z][a-z0-9_]*)"
    r"\.(?P<action>[a-z][a-z0-9_]*)\.v(?P<version>[1-9][0-9]*)"
)

_REQUIRED_STRINGS = ("id", "source", "type", "time")


class EventFormatError(ValueError):
    """An event (or its JSON) does not satisfy the Roadbed CloudEvents envelope."""


def _check_event_type(value: str) -> None:
    if EVENT_TYPE_PATTERN.fullmatch(value) is None:
        raise EventFormatError(
            f"'type' must look like roadbed.<service>.<entity>.<action>.v<N>, got {value!r}"
        )


def _check_event_id(value: str) -> None:
    try:
        canonical = str(uuid.UUID(value))
    except ValueError:
        canonical = None
    if canonical != value:
        raise EventFormatError(f"'id' must be a UUID in canonical lower-case form, got {value!r}")


def _format_time(value: datetime) -> str:
    # Always six fractional digits and a "Z": fixed width, RFC 3339, sorts as text.
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise EventFormatError(f"'time' must be an RFC 3339 timestamp, got {value!r}") from None
    if parsed.tzinfo is None:
        raise EventFormatError(f"'time' must carry a UTC offset, got {value!r}")
    return parsed.astimezone(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class CloudEvent:
    """One immutable event. Build it with :func:`new_event`; ``data`` must be a JSON object.

    ``time`` is always timezone-aware UTC (other offsets are converted, naive values refused).
    """

    specversion: ClassVar[str] = SPEC_VERSION
    datacontenttype: ClassVar[str] = DATA_CONTENT_TYPE

    id: str
    source: str
    type: str
    time: datetime
    data: dict[str, Any]
    subject: str | None = None

    def __post_init__(self) -> None:
        _check_event_id(self.id)
        _check_event_type(self.type)
        if not self.source:
            raise EventFormatError("'source' must be a non-empty URI reference such as '/auth'")
        if self.subject is not None and not self.subject:
            raise EventFormatError("'subject' must be omitted or non-empty")
        if not isinstance(self.data, dict) or not all(isinstance(key, str) for key in self.data):
            raise EventFormatError("'data' must be a JSON object (a dict with string keys)")
        if self.time.tzinfo is None:
            raise EventFormatError("'time' must be timezone-aware")
        if self.time.tzinfo is not UTC:
            # Normalise so that equal instants compare and serialise equal.
            object.__setattr__(self, "time", self.time.astimezone(UTC))

    def to_json(self) -> bytes:
        """The structured-mode document, UTF-8 encoded (what goes on the wire and in the outbox)."""
        document: dict[str, Any] = {
            "specversion": SPEC_VERSION,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "time": _format_time(self.time),
            "datacontenttype": DATA_CONTENT_TYPE,
        }
        if self.subject is not None:
            document["subject"] = self.subject
        document["data"] = self.data
        try:
            text = json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise EventFormatError(
                f"'data' of {self.type} is not JSON-serialisable: {exc}"
            ) from exc
        return text.encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes | str) -> CloudEvent:
        """Parse a structured-mode document; :class:`EventFormatError` says what is wrong.

        Unknown extension attributes are ignored, as CloudEvents asks of receivers.
        """
        try:
            document = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise EventFormatError(f"event is not valid JSON: {exc}") from exc
        if not isinstance(document, dict):
            raise EventFormatError("event must be a JSON object")
        return cls._from_document(document)

    @classmethod
    def _from_document(cls, document: Mapping[str, Any]) -> CloudEvent:
        if document.get("specversion") != SPEC_VERSION:
            raise EventFormatError(
                f"'specversion' must be {SPEC_VERSION!r}, got {document.get('specversion')!r}"
            )
        for name in _REQUIRED_STRINGS:
            if not isinstance(document.get(name), str):
                raise EventFormatError(f"'{name}' is required and must be a string")
        content_type = document.get("datacontenttype", DATA_CONTENT_TYPE)
        if content_type != DATA_CONTENT_TYPE:
            raise EventFormatError(
                f"'datacontenttype' must be {DATA_CONTENT_TYPE!r}, got {content_type!r}"
            )
        subject = document.get("subject")
        if subject is not None and not isinstance(subject, str):
            raise EventFormatError("'subject' must be a string when present")
        if "data" not in document:
            raise EventFormatError("'data' is required (a JSON object)")
        return cls(
            id=document["id"],
            source=document["source"],
            type=document["type"],
            time=_parse_time(document["time"]),
            data=document["data"],
            subject=subject,
        )


def new_event(
    *,
    type: str,  # shadows the builtin on purpose: the CloudEvents attribute is called "type"
    source: str,
    data: Mapping[str, Any],
    subject: str | None = None,
) -> CloudEvent:
    """A fresh event: a random UUID id and the current UTC time.

    ``data`` is copied (shallowly) so later changes to the caller's dict do not leak in.
    """
    return CloudEvent(
        id=str(uuid.uuid4()),
        source=source,
        type=type,
        time=datetime.now(UTC),
        data=dict(data),
        subject=subject,
    )
