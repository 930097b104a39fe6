"""The listener for what comes back: an SMTP server (aiosmtpd, on the service's event loop) that
the relay hands bounces and complaints to, and the one place they are turned into
suppressions (the provider webhooks, web/webhooks.py, come here too).

`SYNDICATE_BOUNCE_LISTEN=127.0.0.1:2525` starts it (in one process of a pool). Postfix routes
the return path's domain to it with one `transport_maps` line (docs/email.md):

    bounces.example.org   smtp:[127.0.0.1]:2525

It takes mail only for our return paths (`SYNDICATE_MAIL_RETURN_PATH` and its VERP forms,
mail/verp.py) and for that address itself (a complaint feedback loop may send there), at most
`MAX_REPORT` bytes each; anything else is refused at RCPT TO. Every report is answered 250
once read (a refusal would make the relay bounce the bounce); what it says is acted on only
for a subscriber it names with a valid token, so a forged report can suppress nobody. A
fault of ours (the database down) answers 451, and the relay tries again later: nothing is
lost.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from aiosmtpd.smtp import SMTP

from syndicate.mail import links, returns, verp
from syndicate.mail.links import LinkError
from syndicate.people import bounces
from syndicate.people.database import Database, DatabaseUnavailable
from syndicate.web.clock import Clock
from syndicate.web.metrics import Metrics
from syndicate.web.supervise import Health

log = logging.getLogger("syndicate.email")
TASK = "email-returns"
MAX_REPORT = 1_000_000  # bytes: a DSN quotes the original, and ours are far under 100 KB


class Returns:
    """Reports in, suppressions out, for one service."""

    def __init__(
        self,
        db: Database,
        secret: bytes,
        return_path: str | None,
        metrics: Metrics,
        clock: Clock,
    ) -> None:
        self.db, self.secret, self.base = db, secret, return_path
        self.metrics, self.clock = metrics, clock

    def ours(self, address: str) -> bool:
        """Whether `address` is one of our return paths (the listener takes mail for it)."""
        if self.base is None:  # webhooks only
            return False
        plain = address.strip().strip("<>").lower()
        return plain == self.base.lower() or verp.read(plain, self.base) is not None

    async def take(self, data: bytes, recipients: list[str]) -> None:
        """Act on one report sent to `recipients` (our return paths). Raises
        DatabaseUnavailable when it cannot be kept (the caller answers "later")."""
        message = returns.parse(data)
        report = returns.classify(message)
        now = self.clock.now()
        subscriber = None
        for recipient in recipients:
            if self.base is not None:
                subscriber = await self._by_token(verp.read(recipient, self.base))
            if subscriber is not None:
                break
        if subscriber is None:
            subscriber = await self._quoted(message, now)
        await self.learn(subscriber, report, "report")

    async def learn(self, subscriber: int | None, report: returns.Report, source: str) -> None:
        if subscriber is None:
            self.metrics.email_returns[("unmatched", report.kind)] += 1
            log.info("a %s %s named none of our subscribers: ignored", source, report.kind)
            return
        if report.kind == returns.IGNORED:
            self.metrics.email_returns[("ignored", report.kind)] += 1
            return
        outcome = await self.db.run(
            bounces.record, subscriber, report.kind, report.detail, self.clock.now()
        )
        self.metrics.email_returns[(outcome, report.kind)] += 1
        log.info("a %s said %s (%s): %s", source, report.kind, report.detail, outcome)

    async def _by_token(self, token: verp.ReturnToken | None) -> int | None:
        if token is None:
            return None
        key = await self.db.run(bounces.token_key, token.subscriber)
        if key is None or not verp.verify(token, key, self.secret):
            return None
        return token.subscriber

    async def _quoted(self, message: Any, now: datetime) -> int | None:
        """Whom a report names in the original it encloses: a return path of ours, or a
        signed unsubscribe link (complaints come from feedback loops, to any address)."""
        text, tokens = returns.references(message)
        if self.base is not None:
            found = await self._by_token(verp.find(text, self.base))
            if found is not None:
                return found
        for token in tokens:
            try:
                link = links.verify(token, self.secret, links.UNSUBSCRIBE, now)
            except LinkError:
                continue
            key = await self.db.run(bounces.token_key, link.subscriber)
            if key is not None and key == link.key:
                return link.subscriber
        return None


class _Handler:
    """aiosmtpd's handler: our return paths only, a size cap, the report kept before 250."""

    def __init__(self, returns_: Returns, health: Health) -> None:
        self.returns, self.health = returns_, health

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if not self.returns.ours(address):
            return "550 5.1.1 not a return path of this service"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        try:
            await self.returns.take(envelope.content, list(envelope.rcpt_tos))
        except DatabaseUnavailable as error:
            self.health.fail(TASK, str(error))
            return "451 4.3.0 cannot keep it just now; try again later"
        except Exception as error:  # a report no parser expected: kept out of the loop
            log.warning("a report could not be read: %s", type(error).__name__)
            return "250 2.0.0 received (unreadable, ignored)"
        if TASK in self.health.failures:
            self.health.ok(TASK)
        return "250 2.0.0 received"


async def listen(
    returns_: Returns, health: Health, host: str, port: int, stop: asyncio.Event
) -> None:
    """Serve the listener until `stop` is set (run under `supervise`: a port it cannot bind
    is a failure in /healthz, tried again)."""
    loop = asyncio.get_running_loop()
    handler = _Handler(returns_, health)
    sessions: set[SMTP] = set()  # open ones: a relay keeps idle connections for reuse

    def session() -> SMTP:
        made = SMTP(handler, data_size_limit=MAX_REPORT, hostname="syndicate-returns",
                    ident="syndicate returns", timeout=60)  # fmt: skip
        sessions.difference_update([s for s in sessions if _closed(s)])
        sessions.add(made)
        return made

    server = await loop.create_server(session, host, port)
    log.info("taking bounces and complaints on %s:%d", host, port)
    try:
        await stop.wait()
    finally:
        server.close()
        for open_session in sessions:  # Python 3.11's server leaves accepted ones open
            transport = open_session.transport
            if transport is not None and not transport.is_closing():
                transport.close()
        await server.wait_closed()


def _closed(session: SMTP) -> bool:
    return session.transport is None or session.transport.is_closing()
