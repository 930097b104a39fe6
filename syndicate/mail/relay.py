"""The foundation's SMTP relay: its settings, and sending one message with the answer sorted.

`SYNDICATE_SMTP_URL` names it: `smtp://user:password@host:587` (STARTTLS when the relay
offers it), `smtps://user:password@host:465` (TLS from the start); the user and password are
percent-decoded. It is read from the environment only, never from a command line (where
other users of the machine could read the password). `send` speaks to the relay with
aiosmtplib and sorts its answer into what the outbox does next: sent (250), later (a 4xx,
or no relay to speak to), or bounced (a 5xx for the recipient: never mail it again).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from urllib.parse import unquote, urlsplit

import aiosmtplib

TIMEOUT = 30.0


class RelayError(ValueError):
    """SYNDICATE_SMTP_URL cannot be used; the message says why."""


@dataclass(frozen=True)
class Relay:
    host: str
    port: int
    tls: bool  # TLS from the start (smtps); else STARTTLS when offered
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:  # never the password, in a log line or a traceback
        return f"Relay({'smtps' if self.tls else 'smtp'}://{self.host}:{self.port})"


def parse_relay(url: str) -> Relay:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps"):
        raise RelayError("expected smtp://user:password@host:port or smtps://...")
    try:
        port = parts.port
    except ValueError:
        raise RelayError("the port is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise RelayError("no host name")
    tls = parts.scheme == "smtps"
    return Relay(
        parts.hostname,
        port or (465 if tls else 587),
        tls,
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password else None,
    )


class Outcome(Enum):
    SENT = "sent"
    LATER = "later"  # a 4xx, or the relay could not be reached: try again
    BOUNCED = "bounced"  # a 5xx for the recipient: never again


@dataclass(frozen=True)
class Answer:
    outcome: Outcome
    reply: str  # the relay's words (never an address), for the outbox and the log


_ADDRESS = re.compile(r"<?[^\s<>@]+@[^\s<>]+>?")


def _reply(code: int, text: str) -> str:
    """The relay's reply without the address it may quote: it goes to logs and the outbox."""
    return _ADDRESS.sub("<address>", f"{code} {text}".strip())[:300]


def _sorted(code: int, text: str) -> Answer:
    outcome = Outcome.BOUNCED if 500 <= code < 600 else Outcome.LATER
    return Answer(outcome, _reply(code, text))


class Connection:
    """One session with the relay, for several messages in a row."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.client: aiosmtplib.SMTP | None = None

    async def send(self, data: bytes, sender: str, recipient: str) -> Answer:
        """Send the message `data` (as built by messages.py) to `recipient`."""
        try:
            if self.client is None or not self.client.is_connected:
                await self._connect()
            assert self.client is not None
            refused, reply = await self.client.sendmail(sender, [recipient], data)
        except aiosmtplib.SMTPRecipientsRefused as error:
            if not error.recipients:
                return Answer(Outcome.LATER, "recipient refused")
            return _sorted(error.recipients[0].code, error.recipients[0].message)
        except aiosmtplib.SMTPResponseException as error:
            await self.close()
            return _sorted(error.code, error.message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            await self.close()
            return Answer(
                Outcome.LATER, f"relay unreachable: {type(error).__name__}: {error}"[:300]
            )
        if refused:
            code, text = next(iter(refused.values()))
            return _sorted(code, text)
        return Answer(Outcome.SENT, _ADDRESS.sub("<address>", reply)[:300])

    async def _connect(self) -> None:
        relay = self.relay
        client = aiosmtplib.SMTP(
            hostname=relay.host,
            port=relay.port,
            use_tls=relay.tls,
            timeout=TIMEOUT,
            start_tls=None if not relay.tls else False,
        )
        await client.connect()
        if relay.username:
            await client.login(relay.username, relay.password or "")
        self.client = client

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()
