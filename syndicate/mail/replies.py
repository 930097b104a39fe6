"""What an SMTP reply means for the list: whose fault it is, and so what the outbox does next.

Only a reply to `RCPT TO` speaks of one recipient (RFC 5321 3.3; RFC 3463 for the enhanced
status codes). Everything before it (the greeting, EHLO, STARTTLS, AUTH, `MAIL FROM`) is about
the session with the relay, and `DATA` is about the message: neither says an address is bad.
A wrong password (535), missing credentials (530, or Postfix's "554 5.7.1 Relay access denied"
at RCPT), a refused sender, refused content (550 5.7.1 at DATA), a size limit (552) or a
refused HELO (504) must never mark anyone bounced.

    Outcome.SENT       250 to DATA
    Outcome.LATER      a 4xx for this message (greylisting, a full mailbox): retry it, backing off
    Outcome.BOUNCED    a 5xx to RCPT TO with an address status (5.1.x, 5.2.1): never mail it again
    Outcome.SET_ASIDE  refused for itself (a 5xx to DATA, a size over the relay's limit, a
                       policy refusal of the recipient, an address that cannot go on the
                       wire): kept with its reason, not retried in a loop, released by the
                       operator (`syndicate email release`)
    Outcome.RELAY      the relay's state (unreachable, TLS, AUTH, HELO, MAIL FROM, 421):
                       nothing is recorded against the message or its recipient; everything
                       waits until the relay works again

`sort` is a pure function of (phase, code, text), tested as a table; `speaks_of_recipient` is
the one rule for "this reply says the address is bad", also applied to DSNs.
"""

from __future__ import annotations

import re
from enum import Enum


class Outcome(Enum):
    SENT = "sent"
    LATER = "later"
    BOUNCED = "bounced"
    SET_ASIDE = "set_aside"
    RELAY = "relay"


class Phase(Enum):
    """Where in the session a reply came (RFC 5321 section 3)."""

    CONNECT = "connect"  # the greeting, EHLO/HELO, STARTTLS
    AUTH = "auth"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"


_ENHANCED = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")
# Words of a refusal at RCPT that is about us, not the recipient: the relay will not relay
# for an unauthenticated client, or wants a login (Postfix: "554 5.7.1 <x>: Relay access
# denied"; Exim: "550 relay not permitted"; others: "530 5.7.0 Authentication required").
_ABOUT_US = re.compile(r"relay|authenticat|sender|helo|ehlo|client host", re.IGNORECASE)
# Address statuses (RFC 3463 3.2, 3.3) that say this recipient cannot be delivered to:
# bad mailbox, bad system, bad syntax, moved, no mail accepted (null MX, RFC 7505), disabled.
# 5.1.7 and 5.1.8 are about the sender; 5.2.2 (full) and 5.2.3 (too big) may pass.
_HARD = {(1, 0), (1, 1), (1, 2), (1, 3), (1, 6), (1, 10), (2, 1)}


_ADDRESS = re.compile(r"<?[^\s<>@]+@[^\s<>]+>?")


def without_addresses(text: str) -> str:
    """`text` (a relay's reply, an error) fit for a log line: any address in it replaced."""
    return _ADDRESS.sub("<address>", text).strip()[:300]


def enhanced(text: str) -> tuple[int, int, int] | None:
    """The enhanced status code (RFC 3463) a reply's text begins with, if any."""
    found = _ENHANCED.match(text)
    return (int(found[1]), int(found[2]), int(found[3])) if found else None


def speaks_of_recipient(code: int, text: str) -> bool:
    """Whether a permanent refusal says the recipient's address is bad, for good."""
    if not 500 <= code < 600 or _ABOUT_US.search(text):
        return False
    if enhanced(text) is None:  # a relay without enhanced codes: the classic "no such user"
        return code in (550, 551, 553)
    return bad_address_status(text)


def bad_address_status(text: str) -> bool:
    """Whether `text` begins with an enhanced status saying the address is bad for good (a
    reply's, or a DSN's `Status:` field)."""
    status = enhanced(text)
    return status is not None and status[0] == 5 and status[1:] in _HARD


def sort(phase: Phase, code: int, text: str) -> Outcome:
    """What a reply other than success means (see the module's table)."""
    status = enhanced(text)
    if phase is Phase.MAIL and (code == 552 or status == (5, 3, 4)):
        return Outcome.SET_ASIDE  # the SIZE we declared is over the relay's limit (RFC 1870)
    if code == 421 or phase in (Phase.CONNECT, Phase.AUTH, Phase.MAIL):
        return Outcome.RELAY  # the session's, or the sender's: nobody's address
    if (
        code == 530
        or (status is not None and status[1:] in ((7, 0), (7, 8)))  # log in, or credentials
        or (phase is Phase.RCPT and _ABOUT_US.search(text))  # Postfix's delayed restrictions
    ):
        return Outcome.RELAY
    if 400 <= code < 500:
        return Outcome.LATER
    if phase is Phase.RCPT and speaks_of_recipient(code, text):
        return Outcome.BOUNCED
    if phase is Phase.RCPT and status is not None and status[1:] == (2, 2):
        return Outcome.LATER  # a full mailbox: RFC 5321 4.5.3.1.10 says treat 552 as 452
    return Outcome.SET_ASIDE
