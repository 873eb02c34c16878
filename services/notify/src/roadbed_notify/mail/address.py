"""Mailbox parsing: the one strict place where text becomes an :class:`~email.headerregistry.Address`."""

from __future__ import annotations

from email.errors import HeaderParseError, NonASCIILocalPartDefect
from email.headerregistry import Address, AddressHeader, HeaderRegistry
from typing import cast

#: RFC 5321 caps a path at 256 octets, angle brackets included.
MAX_ADDRESS_LENGTH = 254

_HEADERS = HeaderRegistry()


def parse_mailbox(value: str) -> Address:
    """``"Ada <ada@example.com>"`` or ``"ada@example.com"`` as an ``Address``; ``ValueError`` if not one.

    The header registry parses the RFC 5322 grammar and reports what it had to guess as defects;
    any defect other than a non-ASCII local part (legal under RFC 6532) refuses the value. The
    error messages describe the syntax, never echo the value.
    """
    if "\r" in value or "\n" in value:
        raise ValueError("a mailbox cannot contain line breaks")
    try:
        header = _HEADERS("To", value)
    except (HeaderParseError, IndexError, ValueError) as exc:
        raise ValueError(f"not a valid mailbox: {exc}") from None
    defects = [d for d in header.defects if not isinstance(d, NonASCIILocalPartDefect)]
    if defects:
        raise ValueError(f"not a valid mailbox: {defects[0]}")
    # The registry maps "To" to an address header; typeshed only knows it as a BaseHeader.
    addresses = cast("AddressHeader", header).addresses
    if len(addresses) != 1:
        raise ValueError("expected exactly one mailbox")
    address = addresses[0]
    if not address.username or not address.domain:
        raise ValueError("an address needs a local part and a domain")
    if len(address.addr_spec) > MAX_ADDRESS_LENGTH:
        raise ValueError(f"an address is at most {MAX_ADDRESS_LENGTH} characters long")
    return address


def mailbox(*, display_name: str, addr_spec: str) -> Address:
    """The mailbox ``display_name <addr_spec>``; ``ValueError`` unless ``addr_spec`` is one address."""
    if any(character in addr_spec for character in '<>"(),;:'):
        raise ValueError("expected a bare address")
    address = parse_mailbox(addr_spec)
    return Address(display_name=display_name, username=address.username, domain=address.domain)


def is_ascii(address: Address) -> bool:
    """Whether the address itself (not its display name) can travel without SMTPUTF8."""
    return address.addr_spec.isascii()
