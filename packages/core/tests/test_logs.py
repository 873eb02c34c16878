"""configure_logging and the request log context, checked on the rendered output."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog

from roadbed_core.logs import (
    bind_request,
    bind_user_id,
    configure_logging,
    current_request_id,
    current_user_id,
    get_logger,
    reset_logging,
)

Configure = Callable[..., io.StringIO]


@pytest.fixture
def configure() -> Iterator[Configure]:
    """configure_logging into a buffer; undone after the test."""
    root = logging.getLogger()
    previous_level = root.level

    def configure_into_buffer(*, json: bool = True, level: str = "DEBUG") -> io.StringIO:
        stream = io.StringIO()
        configure_logging(json=json, level=level, stream=stream)
        return stream

    yield configure_into_buffer
    reset_logging()
    root.setLevel(previous_level)
    structlog.contextvars.clear_contextvars()


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_structlog_lines_are_json_with_level_logger_and_utc_timestamp(configure: Configure) -> None:
    # given
    stream = configure(json=True)
    # when
    get_logger("roadbed.test").info("order_placed", order_id="o-1", total_minor=1250)
    # then
    [line] = json_lines(stream)
    assert line.pop("timestamp").endswith("Z")
    assert line == {
        "event": "order_placed",
        "order_id": "o-1",
        "total_minor": 1250,
        "level": "info",
        "logger": "roadbed.test",
    }


def test_stdlib_lines_come_out_the_same_way(configure: Configure) -> None:
    # given a library logging through the standard library, as uvicorn and Django do
    stream = configure(json=True)
    # when
    logging.getLogger("uvicorn.error").warning(
        "Started server process [%d]", 42, extra={"color_message": "\x1b[1m%d\x1b[0m"}
    )
    logging.getLogger("some.library").info("with extra", extra={"attempt": 2})
    # then
    lines = json_lines(stream)
    assert [{k: v for k, v in line.items() if k != "timestamp"} for line in lines] == [
        {"event": "Started server process [42]", "level": "warning", "logger": "uvicorn.error"},
        {"event": "with extra", "attempt": 2, "level": "info", "logger": "some.library"},
    ]


def test_request_context_reaches_structlog_and_stdlib_lines(configure: Configure) -> None:
    stream = configure(json=True)
    restore = bind_request(request_id="req-1", service="shop")
    bind_user_id("user-7")
    get_logger("roadbed.test").info("from_structlog")
    logging.getLogger("tests.some_library").info("from stdlib")
    restore()
    contexts = [
        (line["request_id"], line["service"], line["user_id"]) for line in json_lines(stream)
    ]
    assert contexts == [("req-1", "shop", "user-7"), ("req-1", "shop", "user-7")]


def test_restoring_drops_the_request_and_its_user(configure: Configure) -> None:
    # given an outer context (a worker binding its service) and a request inside it
    stream = configure(json=True)
    outer = bind_request(request_id="outer", service="notify")
    inner = bind_request(request_id="req-2", service="notify")
    bind_user_id("user-7")
    assert (current_request_id(), current_user_id()) == ("req-2", "user-7")
    # when the request ends
    inner()
    # then the outer values are back and the user is gone
    assert (current_request_id(), current_user_id()) == ("outer", None)
    get_logger("roadbed.test").info("after")
    outer()
    assert current_request_id() is None
    [line] = json_lines(stream)
    assert (line["request_id"], "user_id" in line) == ("outer", False)


def test_bind_user_id_none_unbinds() -> None:
    bind_user_id("user-7")
    bind_user_id(None)
    assert current_user_id() is None


def test_exceptions_render_as_structured_tracebacks(configure: Configure) -> None:
    stream = configure(json=True)
    try:
        raise KeyError("missing")
    except KeyError as exc:
        get_logger("roadbed.test").error("failed", exc_info=exc)
    [line] = json_lines(stream)
    assert (line["exception"][0]["exc_type"], line["exception"][0]["exc_value"]) == (
        "KeyError",
        "'missing'",
    )


def test_tracebacks_never_carry_local_variables(configure: Configure) -> None:
    # given a frame holding a secret, as a failing login or DB call would
    stream = configure(json=True)
    password = "hunter2"
    try:
        raise ValueError("login failed")
    except ValueError as exc:
        get_logger("roadbed.test").error("failed", exc_info=exc)
    # then the rendered traceback has frames but not their variables
    [line] = json_lines(stream)
    assert (
        line["exception"][0]["frames"][0]["name"] == "test_tracebacks_never_carry_local_variables"
    )
    assert password not in stream.getvalue()


def test_console_tracebacks_never_carry_local_variables(configure: Configure) -> None:
    stream = configure(json=False)
    password = "hunter2"
    try:
        raise ValueError("login failed")
    except ValueError as exc:
        get_logger("roadbed.test").error("failed", exc_info=exc)
    assert "ValueError: login failed" in stream.getvalue()
    assert password not in stream.getvalue()


def test_console_rendering_is_one_readable_line(configure: Configure) -> None:
    stream = configure(json=False)
    get_logger("roadbed.test").info("order_placed", order_id="o-1")
    [line] = stream.getvalue().splitlines()
    assert "order_placed" in line
    assert "order_id=o-1" in line
    assert "[roadbed.test]" in line
    assert not line.startswith("{")


def test_level_filters_both_kinds_of_lines(configure: Configure) -> None:
    stream = configure(json=True, level="WARNING")
    get_logger("roadbed.test").info("dropped")
    logging.getLogger("lib").info("dropped too")
    get_logger("roadbed.test").warning("kept")
    assert [line["event"] for line in json_lines(stream)] == ["kept"]


def test_configuring_again_replaces_instead_of_duplicating(configure: Configure) -> None:
    # given logging configured twice (e.g. by two embedded services)
    first = configure(json=True)
    second = configure(json=True)
    # when
    get_logger("roadbed.test").info("once")
    # then exactly one line, written to the current destination
    assert (first.getvalue(), [line["event"] for line in json_lines(second)]) == ("", ["once"])


def test_foreign_root_handlers_are_left_in_place(configure: Configure) -> None:
    foreign = logging.NullHandler()
    logging.getLogger().addHandler(foreign)
    try:
        configure(json=True)
        configure(json=True)
        assert foreign in logging.getLogger().handlers
    finally:
        logging.getLogger().removeHandler(foreign)


def test_server_loggers_are_taken_over(configure: Configure) -> None:
    # given uvicorn's own configuration: a private handler and no propagation
    uvicorn = logging.getLogger("uvicorn.error")
    uvicorn.addHandler(logging.StreamHandler(io.StringIO()))
    uvicorn.propagate = False
    # when
    stream = configure(json=True)
    uvicorn.info("Application startup complete.")
    logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET / HTTP/1.1" 200')
    # then its lines reach our handler; its access lines are ours to write
    assert (uvicorn.handlers, uvicorn.propagate) == ([], True)
    assert [line["event"] for line in json_lines(stream)] == ["Application startup complete."]


def test_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log level 'LOUD'"):
        configure_logging(json=True, level="LOUD")
