"""Sign-up addresses: checked and normalised by `email-validator` (syntax only, no network),
so one person is one row whatever the case of the domain, and nothing that could break a
header (CR, LF, other controls) ever reaches one.

The rule for addresses beyond ASCII: a domain beyond ASCII (`exämple.org`, or its IDNA form
`xn--exmple-cua.org`, the same row) is stored as Unicode and put on the wire in its IDNA
A-label form (RFC 5890), which every relay takes. A local part beyond ASCII (`üser@`) would
need SMTPUTF8 (RFC 6531) from the relay and from every hop to the mailbox, which we cannot
know at sign-up: it is refused there with a message that says so. A row that holds one all
the same (written before this rule) is set aside when its message is made, never blocking
another (`envelope` raises `AddressError`).
"""

from __future__ import annotations

import idna
from email_validator import EmailNotValidError, validate_email

MAX_LENGTH = 254  # RFC 5321's limit on a path
NON_ASCII_LOCAL = (
    "We cannot send to an address with letters beyond A to Z before the @ yet; "
    "please use another address."
)


class AddressError(ValueError):
    """Not an address mail can be sent to; the message says why, for the person who typed it."""


def normalised(text: str) -> str:
    """The address as stored; AddressError if it is not one we can mail."""
    if not isinstance(text, str) or not text.strip():
        raise AddressError("Enter your email address.")
    if len(text) > MAX_LENGTH or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise AddressError("That is not an email address.")
    try:
        checked = validate_email(text.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise AddressError(f"That is not an email address: {error}") from None
    if checked.ascii_email is None:
        raise AddressError(NON_ASCII_LOCAL)
    return checked.normalized


def envelope(address: str) -> str:
    """`address` as it goes on the wire (RCPT TO and the To header): ASCII, its domain in
    IDNA form. AddressError for one that cannot be (a local part beyond ASCII)."""
    if address.isascii():
        return address
    local, _, domain = address.rpartition("@")
    if not local.isascii():
        raise AddressError("the address has characters beyond ASCII before the @ (SMTPUTF8)")
    try:
        return f"{local}@{idna.encode(domain, uts46=True).decode('ascii')}"
    except idna.IDNAError as error:
        raise AddressError(f"the domain cannot be written in IDNA: {error}") from None
