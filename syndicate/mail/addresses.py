"""Sign-up addresses: checked and normalised by `email-validator` (syntax only, no network),
so one person is one row whatever the case of the domain, and nothing that could break a
header (CR, LF, other controls) ever reaches one."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

MAX_LENGTH = 254  # RFC 5321's limit on a path


class AddressError(ValueError):
    """Not an address mail can be sent to; the message says why, for the person who typed it."""


def normalised(text: str) -> str:
    """The address as stored and mailed; AddressError if it is not one."""
    if not isinstance(text, str) or not text.strip():
        raise AddressError("Enter your email address.")
    if len(text) > MAX_LENGTH or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise AddressError("That is not an email address.")
    try:
        checked = validate_email(text.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise AddressError(f"That is not an email address: {error}") from None
    return checked.normalized
