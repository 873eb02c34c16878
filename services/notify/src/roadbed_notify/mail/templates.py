"""Which event becomes which email, and how it is rendered (plain text plus a simple HTML part).

Templates are Jinja2 files next to this module. The ``.html`` ones autoescape everything they
interpolate; the ``.txt`` ones do not need to. Rendering is a pure function of the event, so a
retry renders exactly the message the first attempt recorded — which is why links (they carry
single-use tokens) never have to be stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from pydantic import ValidationError

from roadbed_core.events.envelope import CloudEvent
from roadbed_notify.mail.address import mailbox
from roadbed_notify.mail.schemas import (
    AccountEmailData,
    DuplicateRegistrationAttempted,
    EmailVerificationRequested,
    PasswordResetRequested,
)

EMAIL_VERIFICATION_REQUESTED = "roadbed.auth.email_verification.requested.v1"
PASSWORD_RESET_REQUESTED = "roadbed.auth.password_reset.requested.v1"  # noqa: S105 - an event type
REGISTRATION_DUPLICATE_ATTEMPTED = "roadbed.auth.registration.duplicate_attempted.v1"

TEMPLATE_DIRECTORY = Path(__file__).with_name("templates")


@dataclass(frozen=True, slots=True)
class EmailTemplate:
    #: Stored in ``deliveries.template``; the files are ``<name>.txt`` and ``<name>.html``.
    name: str
    subject: str
    data: type[AccountEmailData]


#: The events notify mails from, and how. The ``notify.email`` consumer subscribes to exactly these.
TEMPLATES: Mapping[str, EmailTemplate] = {
    EMAIL_VERIFICATION_REQUESTED: EmailTemplate(
        name="auth.email_verification",
        subject="Confirm your email address for Roadbed",
        data=EmailVerificationRequested,
    ),
    PASSWORD_RESET_REQUESTED: EmailTemplate(
        name="auth.password_reset",
        subject="Reset your Roadbed password",
        data=PasswordResetRequested,
    ),
    REGISTRATION_DUPLICATE_ATTEMPTED: EmailTemplate(
        name="auth.registration_duplicate",
        subject="Someone tried to register with your email address",
        data=DuplicateRegistrationAttempted,
    ),
}


class InvalidEventData(ValueError):
    """An event's ``data`` cannot become an email. The message names fields, never their values."""

    def __init__(self, event: CloudEvent, problems: str) -> None:
        super().__init__(f"cannot mail {event.type} {event.id}: {problems}")


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    """One message's content; addressing beyond the recipient is the sender's business."""

    template: str
    recipient: Address
    subject: str
    text: str
    html: str


def _format_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATE_DIRECTORY),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["utc"] = _format_utc
    return environment


def _describe(error: ValidationError) -> str:
    # include_input=False: the values may be links carrying tokens, and this text gets logged.
    return "; ".join(
        f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
        for problem in error.errors(include_input=False, include_url=False, include_context=False)
    )


def render_event(event: CloudEvent) -> RenderedEmail:
    """The email ``event`` asks for; :class:`InvalidEventData` when its data cannot make one."""
    template = TEMPLATES.get(event.type)
    if template is None:
        raise InvalidEventData(event, "notify has no email template for this event type")
    try:
        data = template.data.model_validate(event.data)
    except ValidationError as exc:
        raise InvalidEventData(event, _describe(exc)) from None
    context = {"subject": template.subject, **dict(data)}
    environment = _environment()
    return RenderedEmail(
        template=template.name,
        recipient=mailbox(display_name=data.display_name, addr_spec=data.email),
        subject=template.subject,
        text=environment.get_template(f"{template.name}.txt").render(context),
        html=environment.get_template(f"{template.name}.html").render(context),
    )
