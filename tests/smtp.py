"""A real SMTP server in the test process (aiosmtpd), standing for the foundation's relay:
it keeps every message it accepts, parsed as a mail client would (`email` package), and can
answer as relays do when things go wrong (421 for a while, 550 for one recipient)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.live import free_port


@dataclass
class Sink:
    """What the relay received, and how it answers."""

    received: list[tuple[str, EmailMessage]] = field(default_factory=list)  # (recipient, message)
    senders: list[str] = field(default_factory=list)  # the envelope sender of each, in order
    raw: list[tuple[str, bytes]] = field(default_factory=list)  # (recipient, bytes as received)
    refuse: set[str] = field(default_factory=set)  # recipients answered 550
    busy: int = 0  # answer `busy_reply` to the next `busy` messages, at DATA
    busy_reply: str = "421 4.3.2 try again later"
    answers: dict[str, str] = field(default_factory=dict)  # "MAIL"/"RCPT"/"DATA": a refusal
    logins: list[tuple[str, bool]] = field(default_factory=list)  # AUTH attempts, in order
    delay: float = 0.0  # seconds each message takes to accept
    url: str = ""

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if "MAIL" in self.answers:
            return self.answers["MAIL"]
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if "RCPT" in self.answers:
            return self.answers["RCPT"]
        if address in self.refuse:
            return "550 5.1.1 <" + address + ">: no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if "DATA" in self.answers:
            return self.answers["DATA"]
        if self.busy:
            self.busy -= 1
            return self.busy_reply
        if self.delay:
            await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        for recipient in envelope.rcpt_tos:
            self.received.append((recipient, message))  # type: ignore[arg-type]
            self.raw.append((recipient, envelope.content))
            self.senders.append(envelope.mail_from)
        return "250 2.0.0 queued"

    def to(self, recipient: str) -> list[EmailMessage]:
        return [message for to, message in self.received if to == recipient]

    async def wait_for(
        self, recipient: str, count: int = 1, timeout: float = 15
    ) -> list[EmailMessage]:
        """The messages to `recipient` once there are `count` (fails after `timeout` s)."""
        deadline = time.monotonic() + timeout
        while len(self.to(recipient)) < count:
            assert time.monotonic() < deadline, f"{count} message(s) never arrived: {self.received}"
            await asyncio.sleep(0.05)
        return self.to(recipient)


def _password_is(expected: str, sink: Sink) -> Any:
    """An aiosmtpd authenticator taking one user, `relay`, with the password `expected`;
    each attempt noted in `sink.logins` (the mechanism, and whether it passed)."""

    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"relay",
            expected.encode(),
        )
        sink.logins.append((mechanism, ok))
        return AuthResult(success=ok, handled=False)

    return check


@contextmanager
def smtp_sink(password: str | None = None) -> Iterator[Sink]:
    """The relay double; with `password`, it offers a login (user `relay`) over no TLS:
    the client must refuse to use it, unless allowed in so many words."""
    sink = Sink()
    port = free_port()
    options: dict[str, Any] = {}
    if password is not None:
        # Offered, not required (aiosmtpd warns of requiring it in clear): our client logs
        # in whenever it has credentials.
        options = {"auth_require_tls": False, "authenticator": _password_is(password, sink)}
    controller = Controller(sink, hostname="127.0.0.1", port=port, **options)
    controller.start()
    sink.url = f"smtp://127.0.0.1:{port}"
    try:
        yield sink
    finally:
        controller.stop()


def email_settings(folder: Any, state: Any, smtp_url: str, **overrides: Any) -> Any:
    """The service's settings for an email test: the content in `folder`, state in `state`,
    the relay at `smtp_url`, the public URL the tests' links use; `overrides` on top."""
    from syndicate.settings import Settings

    values: dict[str, Any] = {
        "config": folder, "state_dir": state, "public_url": "http://feeds.example.org",
        "watch": False, "smtp_url": smtp_url, "mail_from": "updates@example.org",
        "access_log": False, **overrides,
    }  # fmt: skip
    return Settings(**values)


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def link_in(message: EmailMessage, path: str) -> str:
    """The first link to `path` in the text part."""
    found = re.search(rf"https?://\S+{re.escape(path)}\?token=\S+", text_of(message))
    assert found, text_of(message)
    return found[0]
