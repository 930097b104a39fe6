"""The links in emails, signed: what a click proves without a password.

A link carries a small payload (what it is for, whose it is, and for a confirmation which
subscription, its one-time nonce and frequency, and an expiry) and an HMAC-SHA256 of it with
the database's link key (`people.outbox.link_key`), so any machine sharing the database
checks any link, and nobody can make one. Unsubscribe and manage links also carry the
subscriber's `token_key`, renewed when their data is erased: old links then lead nowhere.
A confirmation link is also single-use: its nonce is cleared when it is used.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

CONFIRM, UNSUBSCRIBE, MANAGE = "confirm", "unsubscribe", "manage"
CONFIRM_LIFETIME = timedelta(days=7)
MAX_LENGTH = 1000


class LinkError(ValueError):
    """A link that proves nothing: forged or damaged, or (`gone`) a real link that no longer
    serves: expired, or for something else."""

    def __init__(self, reason: str, gone: bool = False) -> None:
        super().__init__(reason)
        self.gone = gone


@dataclass(frozen=True)
class Link:
    purpose: str
    subscriber: int
    key: str  # the subscriber's token_key (unsubscribe, manage) or the nonce (confirm)
    subscription: int = 0
    frequency: str = ""
    expires: int = 0  # Unix time; 0: never


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(link: Link, secret: bytes) -> str:
    payload = json.dumps(
        [link.purpose, link.subscriber, link.key, link.subscription, link.frequency, link.expires],
        separators=(",", ":"),
    ).encode()
    mac = hmac.new(secret, payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(mac)}"


def verify(token: str, secret: bytes, purpose: str, now: datetime) -> Link:
    """The link `token` stands for, if it is ours, for `purpose` and not expired."""
    if not isinstance(token, str) or len(token) > MAX_LENGTH or token.count(".") != 1:
        raise LinkError("this link is damaged")
    body, mac = token.split(".")
    try:
        payload, given = _unb64(body), _unb64(mac)
    except ValueError:
        raise LinkError("this link is damaged") from None
    if not hmac.compare_digest(hmac.new(secret, payload, hashlib.sha256).digest(), given):
        raise LinkError("this link is not one of ours")
    try:
        fields = json.loads(payload)
        link = Link(*fields)
    except (ValueError, TypeError):
        raise LinkError("this link is damaged") from None
    if link.purpose != purpose:
        raise LinkError("this link is for something else", gone=True)
    if link.expires and now.timestamp() > link.expires:
        raise LinkError("this link has expired", gone=True)
    return link
