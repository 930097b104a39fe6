"""A return path per message (VERP): what comes back names whom it is about, and cannot be forged.

With `SYNDICATE_MAIL_RETURN_PATH=bounces@example.org`, each message goes out with the
envelope sender `bounces+TOKEN@example.org`, TOKEN being the subscriber's id, the message's
id and an HMAC-SHA256 of both with the subscriber's `token_key` (renewed when their data is
erased) under the database's link key: lower-case letters and digits only, since some
relays fold the case of local parts, and short enough for RFC 5321's 64-character local
part. A DSN or complaint sent to it names one subscriber without carrying their address;
one for an erased subscriber (SQLite reuses row ids: a newcomer may have the same id) no
longer matches, and nobody can make one for another subscriber.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

MAC_LENGTH = 20  # hex digits: 80 bits


@dataclass(frozen=True)
class ReturnToken:
    subscriber: int
    message: int
    mac: str


def _mac(secret: bytes, subscriber: int, message: int, token_key: str) -> str:
    text = f"verp:{subscriber}:{message}:{token_key}".encode()
    return hmac.new(secret, text, hashlib.sha256).hexdigest()[:MAC_LENGTH]


def return_path(base: str, subscriber: int, message: int, token_key: str, secret: bytes) -> str:
    """The envelope sender for one message: `local+TOKEN@domain` of `base`."""
    local, _, domain = base.rpartition("@")
    token = f"{subscriber}x{message}x{_mac(secret, subscriber, message, token_key)}"
    return f"{local}+{token}@{domain}"


def _pattern(base: str) -> str:
    """A regular expression for `base`'s return paths: subscriber, message and MAC."""
    local, _, domain = base.lower().rpartition("@")
    token = rf"(\d{{1,12}})x(\d{{1,12}})x([0-9a-f]{{{MAC_LENGTH}}})"
    return rf"{re.escape(local)}\+{token}@{re.escape(domain)}"


def read(address: str, base: str) -> ReturnToken | None:
    """The token of `address` if it is one of `base`'s return paths (not yet verified)."""
    found = re.fullmatch(rf"<?{_pattern(base)}>?", address.strip().lower())
    if found is None:
        return None
    return ReturnToken(int(found[1]), int(found[2]), found[3])


def verify(token: ReturnToken, token_key: str, secret: bytes) -> bool:
    """Whether `token` was made for this subscriber (their current `token_key`)."""
    expected = _mac(secret, token.subscriber, token.message, token_key)
    return hmac.compare_digest(expected, token.mac)


def find(text: str, base: str) -> ReturnToken | None:
    """The first of `base`'s return paths anywhere in `text` (an enclosed original's headers,
    as a complaint or a bounce in no standard form quotes them)."""
    local, _, domain = base.lower().rpartition("@")
    pattern = (
        rf"{re.escape(local)}\+\d{{1,12}}x\d{{1,12}}x[0-9a-f]{{{MAC_LENGTH}}}@{re.escape(domain)}"
    )
    found = re.search(pattern, text.lower())
    return read(found[0], base) if found else None
