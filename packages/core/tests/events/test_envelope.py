"""The CloudEvents envelope: construction, serialisation, strict parsing."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from roadbed_core.events import CloudEvent, EventFormatError, new_event

ORDER_PLACED = "roadbed.shop.order.placed.v1"


def _document(**overrides: object) -> bytes:
    document: dict[str, object] = {
        "specversion": "1.0",
        "id": "3f0d8a6e-5d7c-4b8e-9a51-0c2f4b1e7d90",
        "source": "/shop",
        "type": ORDER_PLACED,
        "time": "2026-03-01T12:30:45.123456Z",
        "datacontenttype": "application/json",
        "data": {"order_id": "o-1"},
    }
    for key, value in overrides.items():
        if value is _MISSING:
            document.pop(key)
        else:
            document[key] = value
    return json.dumps(document).encode()


_MISSING = object()


def test_new_event_fills_id_time_and_constant_attributes() -> None:
    before = datetime.now(UTC)

    event = new_event(type=ORDER_PLACED, source="/shop", data={"order_id": "o-1"})

    assert uuid.UUID(event.id).version == 4
    assert event.time.tzinfo is UTC
    assert before <= event.time <= datetime.now(UTC)
    assert (event.specversion, event.datacontenttype) == ("1.0", "application/json")
    assert event.subject is None


def test_new_event_copies_data_so_later_changes_do_not_leak_in() -> None:
    data = {"order_id": "o-1"}

    event = new_event(type=ORDER_PLACED, source="/shop", data=data)
    data["order_id"] = "changed"

    assert event.data == {"order_id": "o-1"}


def test_event_is_frozen() -> None:
    event = new_event(type=ORDER_PLACED, source="/shop", data={})

    with pytest.raises(AttributeError):
        event.source = "/auth"  # type: ignore[misc]


def test_to_json_writes_the_structured_mode_document() -> None:
    event = CloudEvent(
        id="3f0d8a6e-5d7c-4b8e-9a51-0c2f4b1e7d90",
        source="/shop",
        type=ORDER_PLACED,
        time=datetime(2026, 3, 1, 12, 30, 45, 123456, tzinfo=UTC),
        subject="orders/o-1",
        data={"order_id": "o-1", "note": "café"},
    )

    assert json.loads(event.to_json()) == {
        "specversion": "1.0",
        "id": "3f0d8a6e-5d7c-4b8e-9a51-0c2f4b1e7d90",
        "source": "/shop",
        "type": ORDER_PLACED,
        "time": "2026-03-01T12:30:45.123456Z",
        "datacontenttype": "application/json",
        "subject": "orders/o-1",
        "data": {"order_id": "o-1", "note": "café"},
    }


@pytest.mark.parametrize("subject", [None, "users/42"])
def test_json_round_trip_gives_an_equal_event(subject: str | None) -> None:
    event = new_event(
        type="roadbed.auth.user.registered.v1",
        source="/auth",
        data={"user_id": 42, "roles": ["reader"], "profile": {"name": "Zoë"}, "flag": None},
        subject=subject,
    )

    assert CloudEvent.from_json(event.to_json()) == event


def test_from_json_accepts_str_and_converts_offsets_to_utc() -> None:
    event = CloudEvent.from_json(_document(time="2026-03-01T14:30:45+02:00").decode())

    assert event.time == datetime(2026, 3, 1, 12, 30, 45, tzinfo=UTC)
    assert event.time.tzinfo is UTC


def test_from_json_ignores_unknown_extension_attributes() -> None:
    event = CloudEvent.from_json(_document(traceparent="00-abc-def-01"))

    assert event.id == "3f0d8a6e-5d7c-4b8e-9a51-0c2f4b1e7d90"


def test_non_utc_time_is_normalised_on_construction() -> None:
    plus_two = timezone(timedelta(hours=2))

    event = CloudEvent(
        id=str(uuid.uuid4()),
        source="/shop",
        type=ORDER_PLACED,
        time=datetime(2026, 3, 1, 14, 0, tzinfo=plus_two),
        data={},
    )

    assert event.time == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert event.time.tzinfo is UTC


@pytest.mark.parametrize(
    "event_type",
    [
        "roadbed.shop.order.placed",  # no version
        "roadbed.shop.order.placed.v0",
        "roadbed.shop.order.placed.1",
        "roadbed.shop.placed.v1",  # no entity
        "roadbed.shop.order.item.added.v1",  # one word too many
        "shop.order.placed.v1",
        "roadbed.Shop.order.placed.v1",
        "roadbed.shop.order-item.added.v1",
        "roadbed.shop.order.placed.v1 ",
    ],
)
def test_rejects_malformed_event_types(event_type: str) -> None:
    with pytest.raises(EventFormatError, match=r"roadbed\.<service>\.<entity>\.<action>\.v<N>"):
        new_event(type=event_type, source="/shop", data={})


@pytest.mark.parametrize(
    "event_type",
    ["roadbed.shop.order.placed.v1", "roadbed.auth.password_reset.requested.v12"],
)
def test_accepts_well_formed_event_types(event_type: str) -> None:
    assert new_event(type=event_type, source="/x", data={}).type == event_type


def test_rejects_naive_time() -> None:
    with pytest.raises(EventFormatError, match="timezone-aware"):
        CloudEvent(
            id=str(uuid.uuid4()),
            source="/shop",
            type=ORDER_PLACED,
            time=datetime(2026, 3, 1, 12, 0),  # noqa: DTZ001 - the naive value under test
            data={},
        )


@pytest.mark.parametrize(
    ("source", "subject", "message"),
    [("", None, "'source' must be a non-empty"), ("/shop", "", "'subject' must be omitted")],
)
def test_new_event_rejects_empty_source_or_subject(
    source: str, subject: str | None, message: str
) -> None:
    with pytest.raises(EventFormatError, match=message):
        new_event(type=ORDER_PLACED, source=source, data={}, subject=subject)


def test_rejects_data_that_is_not_an_object() -> None:
    with pytest.raises(EventFormatError, match="'data' must be a JSON object"):
        CloudEvent(
            id=str(uuid.uuid4()),
            source="/shop",
            type=ORDER_PLACED,
            time=datetime.now(UTC),
            data=["not", "an", "object"],  # type: ignore[arg-type]
        )


def test_to_json_rejects_data_that_json_cannot_represent() -> None:
    event = new_event(type=ORDER_PLACED, source="/shop", data={"when": datetime.now(UTC)})

    with pytest.raises(EventFormatError, match="not JSON-serialisable"):
        event.to_json()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (_document(specversion="0.3"), "'specversion' must be '1.0'"),
        (_document(specversion=_MISSING), "'specversion' must be '1.0'"),
        (_document(id=_MISSING), "'id' is required"),
        (_document(id="42"), "'id' must be a UUID"),
        (_document(id="3F0D8A6E-5D7C-4B8E-9A51-0C2F4B1E7D90"), "'id' must be a UUID"),
        (_document(source=7), "'source' is required and must be a string"),
        (_document(source=""), "'source' must be a non-empty"),
        (_document(type="order.placed"), "'type' must look like"),
        (_document(time="yesterday"), "'time' must be an RFC 3339 timestamp"),
        (_document(time="2026-03-01T12:30:45"), "'time' must carry a UTC offset"),
        (_document(datacontenttype="text/plain"), "'datacontenttype' must be"),
        (_document(subject=5), "'subject' must be a string"),
        (_document(data=_MISSING), "'data' is required"),
        (_document(data="text"), "'data' must be a JSON object"),
    ],
)
def test_from_json_rejects_malformed_input_with_a_clear_error(raw: bytes, message: str) -> None:
    with pytest.raises(EventFormatError, match=message):
        CloudEvent.from_json(raw)


def test_event_format_error_is_a_value_error() -> None:
    assert issubclass(EventFormatError, ValueError)
