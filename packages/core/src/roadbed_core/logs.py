"""Structured logging: one configuration for structlog and the standard library.

Every line — ours, uvicorn's, granian's, Django's, SQLAlchemy's — goes through the same stdlib
handler and structlog's :class:`~structlog.stdlib.ProcessorFormatter`, so production gets one JSON
object per line and development one readable line, whichever library emitted it. Request-scoped
fields (``request_id``, ``user_id``, ``service``) live in contextvars, so any logger called while a
request is being served carries them without being handed a bound logger.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any, Final, TextIO

import structlog
import structlog.tracebacks
from structlog.contextvars import (
    bind_contextvars,
    get_contextvars,
    reset_contextvars,
    unbind_contextvars,
)
from structlog.typing import Processor

#: Loggers that servers and frameworks configure with their own handlers; we take them over so
#: their lines are rendered like ours instead of in their own format (or twice).
TAKEN_OVER_LOGGERS: Final = (
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "granian",
    "granian.access",
    "gunicorn.error",
    "gunicorn.access",
    "django",
    "django.request",
    "django.server",
    "werkzeug",
)

#: Server access loggers are silenced below WARNING: our middleware writes the one access line
#: per request, with the request id, route template and user the server cannot know.
SERVER_ACCESS_LOGGERS: Final = ("uvicorn.access", "granian.access", "gunicorn.access")

_HANDLER_MARK: Final = "_roadbed_handler"

_MISSING: Final = object()


#: Record attributes that are not information: ``message`` is left behind by other formatters,
#: ``color_message`` is uvicorn's ANSI-coloured copy of the message.
_FOREIGN_NOISE: Final = frozenset({"message", "color_message", "taskName"})


def _shared_processors() -> list[Processor]:
    """Processors applied to structlog and stdlib records alike, before rendering."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]


def _drop_foreign_noise(
    logger: object, method_name: str, event_dict: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    for key in _FOREIGN_NOISE.intersection(event_dict):
        del event_dict[key]
    return event_dict


def _foreign_pre_chain() -> list[Processor]:
    """For stdlib records: the shared steps plus their ``extra={...}`` fields, minus noise."""
    return [*_shared_processors(), structlog.stdlib.ExtraAdder(), _drop_foreign_noise]


def _render_processors(*, json: bool) -> list[Processor]:
    """The formatter's final steps: JSON with structured tracebacks, or a console line."""
    if json:
        return [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # Frames without their locals: those hold passwords, tokens and personal data.
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            ),
            structlog.processors.JSONRenderer(),
        ]
    return [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        # Plain tracebacks: rich ones print every frame's locals, secrets included.
        structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        ),
    ]


def _install_root_handler(handler: logging.Handler, level: int) -> None:
    """Replace our previous root handler (if any) with ``handler``; leave foreign ones alone.

    Foreign handlers matter: pytest's caplog and an APM agent attach to the root logger too.
    """
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, _HANDLER_MARK, False):
            root.removeHandler(existing)
    setattr(handler, _HANDLER_MARK, True)
    root.addHandler(handler)
    root.setLevel(level)


def _take_over_framework_loggers() -> None:
    for name in TAKEN_OVER_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    for name in SERVER_ACCESS_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_logging(*, json: bool, level: str = "INFO", stream: TextIO | None = None) -> None:
    """Route structlog and stdlib logging through one handler on the root logger.

    ``json`` selects one JSON object per line (production) or a readable console line
    (development). Safe to call again — e.g. once per embedded service or per test — it replaces
    what the previous call installed instead of stacking handlers. ``stream`` defaults to the
    current ``sys.stderr``.
    """
    numeric_level = logging.getLevelNamesMapping().get(level.upper())
    if numeric_level is None:
        raise ValueError(f"unknown log level {level!r}")
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.UnicodeDecoder(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: a cached logger keeps the processor chain it was first used with, which
        # would make later reconfiguration (and structlog.testing.capture_logs) silently miss it.
        # The cost is a few microseconds per call.
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_foreign_pre_chain(), processors=_render_processors(json=json)
        )
    )
    _install_root_handler(handler, numeric_level)
    _take_over_framework_loggers()
    logging.captureWarnings(True)


def get_logger(name: str | None = None, **initial_values: Any) -> structlog.stdlib.BoundLogger:
    """A structlog logger named like a stdlib one (so levels can be set per module)."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name, **initial_values)
    return logger


def bind_request(*, request_id: str, service: str) -> Callable[[], None]:
    """Bind ``request_id`` and ``service`` to every log line until the returned callable runs.

    The callable restores the previous values and also drops a ``user_id`` bound during the
    request (by :func:`bind_user_id`), so a worker thread or a reused task never leaks one
    request's identity into the next. Call it exactly once, at the end of the request.
    """
    previous_user_id = get_contextvars().get("user_id", _MISSING)
    tokens = bind_contextvars(request_id=request_id, service=service)

    def restore() -> None:
        reset_contextvars(**tokens)
        if previous_user_id is _MISSING:
            unbind_contextvars("user_id")
        else:
            bind_contextvars(user_id=previous_user_id)

    return restore


def bind_user_id(user_id: str | None) -> None:
    """Attach the authenticated user to the rest of this request's log lines.

    Meant for the token-verifier adapters: they know the user as soon as a token is accepted.
    """
    if user_id is None:
        unbind_contextvars("user_id")
    else:
        bind_contextvars(user_id=user_id)


def current_request_id() -> str | None:
    """The id of the request being served in this context, if any (e.g. to stamp on events)."""
    value = get_contextvars().get("request_id")
    return value if isinstance(value, str) else None


def current_user_id() -> str | None:
    """The user bound by :func:`bind_user_id` in this context, if any."""
    value = get_contextvars().get("user_id")
    return value if isinstance(value, str) else None


def reset_logging() -> None:
    """Undo :func:`configure_logging`: drop our root handler and structlog's configuration.

    For tests that configure logging into a buffer and must not leave it behind.
    """
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, _HANDLER_MARK, False):
            root.removeHandler(existing)
    structlog.reset_defaults()
