"""The foundation's SMTP relay: its settings, and sending one message with the answer sorted.

`SYNDICATE_SMTP_URL` names it: `smtp://user:password@host:587` (STARTTLS), `smtps://...:465`
(TLS from the start); the user and password are percent-decoded. It is read from the
environment only, never from a command line (where other users of the machine could read the
password). With credentials, TLS is required: a relay (or someone in between stripping the
STARTTLS offer) that offers none gets no password, unless the operator set
`SYNDICATE_SMTP_CLEARTEXT_AUTH=allow`. Without credentials, STARTTLS is used when offered.

`Connection.send` speaks to the relay with aiosmtplib one step at a time (EHLO, STARTTLS,
AUTH, MAIL FROM, RCPT TO, DATA), so that each refusal is sorted by the step that drew it
(`replies.sort`): only RCPT TO speaks of the recipient.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import aiosmtplib

from syndicate.mail.replies import Outcome, Phase, sort, without_addresses

TIMEOUT = 30.0
CLEARTEXT = "SYNDICATE_SMTP_CLEARTEXT_AUTH=allow"


class RelayError(ValueError):
    """SYNDICATE_SMTP_URL cannot be used; the message says why."""


@dataclass(frozen=True)
class Relay:
    host: str
    port: int
    tls: bool  # TLS from the start (smtps); else STARTTLS
    username: str | None = None
    password: str | None = None
    helo: str | None = None  # the name we give in EHLO; None: this machine's FQDN
    ca_file: str | None = None  # certificate authorities for a private relay's certificate
    cleartext_auth: bool = False  # the operator allows AUTH without TLS, in so many words

    def __repr__(self) -> str:  # never the password, in a log line or a traceback
        return f"Relay({'smtps' if self.tls else 'smtp'}://{self.host}:{self.port})"


def parse_relay(
    url: str, helo: str | None = None, ca_file: str | None = None, cleartext_auth: bool = False
) -> Relay:
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
        helo,
        ca_file,
        cleartext_auth,
    )


def helo_name(public_url: str | None) -> str | None:
    """The name for EHLO: this machine's full name; where it has none (`localhost`, a bare
    container name), the public URL's host name; None leaves it to aiosmtplib."""
    fqdn = socket.getfqdn()
    if "." in fqdn and not fqdn.startswith("localhost"):
        return fqdn
    host = urlsplit(public_url or "").hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if "." in host:
            return host
    return None


@dataclass(frozen=True)
class Answer:
    outcome: Outcome
    reply: str  # the relay's words (never an address, never the password), for outbox and log


class Connection:
    """One session with the relay, for several messages in a row."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.client: aiosmtplib.SMTP | None = None

    def _clean(self, text: str) -> str:
        """The relay's words fit for a log line: no address it may quote, no password."""
        secret = self.relay.password
        if secret:
            text = text.replace(secret, "<password>")
        return without_addresses(text)

    def _answer(self, phase: Phase, code: int, text: str) -> Answer:
        return Answer(sort(phase, code, text), self._clean(f"{code} {text}"))

    async def send(self, data: bytes, sender: str, recipient: str) -> Answer:
        """Send the message `data` (as built by messages.py) from the envelope sender `sender`
        to `recipient` (both ASCII: see addresses.envelope)."""
        phase = Phase.CONNECT
        try:
            if self.client is None or not self.client.is_connected:
                phase = await self._connect()
            client = self.client
            assert client is not None
            phase = Phase.MAIL
            options = [f"SIZE={len(data)}"] if client.supports_extension("size") else []
            await client.mail(sender, options=options)
            phase = Phase.RCPT
            await client.rcpt(recipient)
            phase = Phase.DATA
            reply = await client.data(data)
        except aiosmtplib.SMTPResponseException as error:
            answer = self._answer(phase, error.code, error.message)
            await (self.close() if answer.outcome is Outcome.RELAY else self._reset())
            return answer
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            await self.close()
            return Answer(Outcome.RELAY, self._clean(_unreachable(phase, error)))
        return Answer(Outcome.SENT, self._clean(f"{reply.code} {reply.message}"))

    async def _connect(self) -> Phase:
        """Connect, greet, STARTTLS, AUTH; the phase reached (for a refusal's sorting)."""
        relay = self.relay
        context = ssl.create_default_context(cafile=relay.ca_file) if relay.ca_file else None
        # STARTTLS: always with credentials (unless allowed in clear), else when offered.
        need_tls = bool(relay.username) and not relay.cleartext_auth
        client = aiosmtplib.SMTP(
            hostname=relay.host,
            port=relay.port,
            use_tls=relay.tls,
            start_tls=False if relay.tls else (True if need_tls else None),
            tls_context=context,
            local_hostname=relay.helo,
            timeout=TIMEOUT,
        )
        await client.connect()
        self.client = client
        if relay.username:
            await _login(client, relay.username, relay.password or "")
        return Phase.AUTH

    async def open(self) -> Answer | None:
        """Connect and log in now; None when the session is ready, else the relay's answer
        (the sender opens one session first, so a wrong password costs one failed login a
        round, not one per session: relays ban clients that fail often, fail2ban-style)."""
        try:
            await self._connect()
        except aiosmtplib.SMTPResponseException as error:
            await self.close()
            return self._answer(Phase.AUTH, error.code, error.message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            await self.close()
            return Answer(Outcome.RELAY, self._clean(_unreachable(Phase.CONNECT, error)))
        return None

    async def _reset(self) -> None:
        """RSET after a refused transaction, so the session serves the next message."""
        if self.client is None:
            return
        try:
            await self.client.rset()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            await self.close()

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()


async def _login(client: aiosmtplib.SMTP, username: str, password: str) -> None:
    """One login with the best mechanism the relay offers (aiosmtplib's `login` tries each in
    turn, so one wrong password would count as two or three failures at the relay)."""
    if client.is_ehlo_or_helo_needed:  # after STARTTLS, the extensions are asked anew
        await client.ehlo()
    offered = client.supported_auth_methods
    if not client.supports_extension("auth") or not offered:
        raise aiosmtplib.SMTPException("The SMTP AUTH extension is not supported by this server.")
    for name, method in (("plain", client.auth_plain), ("login", client.auth_login),
                         ("cram-md5", client.auth_crammd5)):  # fmt: skip
        if name in offered:
            await method(username, password)
            return
    await client.login(username, password)  # something else: aiosmtplib's choice


def _unreachable(phase: Phase, error: BaseException) -> str:
    text = str(error)
    if "STARTTLS" in text and "not supported" in text:
        return (
            "the relay offers no STARTTLS: the password is never sent in clear "
            f"(use smtps://, a relay with TLS, or {CLEARTEXT} to allow it)"
        )
    if "AUTH" in text and "not supported" in text:
        return "the relay offers no AUTH, and SYNDICATE_SMTP_URL gives a user and password"
    where = "cannot be reached" if phase is Phase.CONNECT else f"failed at {phase.value}"
    return f"relay {where}: {type(error).__name__}: {text}"
