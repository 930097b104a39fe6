"""Email updates wired together for one process: the sender, the people's endpoints, the
listener for what comes back and the providers' webhooks, from the settings (the service
holds the wing; its routes go before the snapshot's, its tasks under `supervise`)."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import timedelta

from syndicate.mail.relay import helo_name, parse_relay
from syndicate.people.database import Database
from syndicate.settings import Settings
from syndicate.web.clock import Clock
from syndicate.web.content import ContentStore
from syndicate.web.handlers import EMAIL_PREFIX, Handler
from syndicate.web.mailer import Mailer
from syndicate.web.metrics import Metrics
from syndicate.web.returns import Returns
from syndicate.web.signup import People
from syndicate.web.supervise import Health
from syndicate.web.webhooks import PREFIX as WEBHOOKS_PREFIX
from syndicate.web.webhooks import Webhooks


@dataclass(frozen=True)
class EmailWing:
    mailer: Mailer
    people: People
    returns: Returns
    webhooks: Webhooks | None

    def routes(self) -> list[tuple[str, Handler]]:
        """(prefix, handler): the webhooks' before the rest of /email/."""
        routes: list[tuple[str, Handler]] = [(EMAIL_PREFIX, self.people.handle)]
        if self.webhooks is not None:
            routes.insert(0, (WEBHOOKS_PREFIX, self.webhooks.handle))
        return routes


def email_wing(
    settings: Settings,
    store: ContentStore,
    database: Database,
    metrics: Metrics,
    health: Health,
    clock: Clock,
    worker: int,
) -> EmailWing:
    """The wing for `settings` (email updates on), in worker `worker` (0 alone)."""
    assert settings.smtp_url and settings.mail_from
    relay = parse_relay(
        settings.smtp_url,
        settings.smtp_helo or helo_name(settings.public_url or settings.served_url),
        str(settings.smtp_ca_file) if settings.smtp_ca_file else None,
        settings.smtp_cleartext_auth == "allow",
    )
    mailer = Mailer(
        store, database, relay, settings.mail_from, metrics, health, clock,
        settings.mail_connections, settings.mail_rate, timedelta(seconds=settings.mail_batch),
        # One name per process serving a port on this machine, the same after a restart.
        f"{socket.gethostname()}:{settings.port}:{worker}",
        settings.mail_return_path,
    )  # fmt: skip
    returns = Returns(database, mailer.secret, settings.mail_return_path, metrics, clock)
    people = People(store, database, metrics, clock, mailer.wakeup.set, health)
    webhooks = (
        Webhooks(returns, clock, settings.postmark_webhook, settings.mailgun_signing_key)
        if settings.postmark_webhook or settings.mailgun_signing_key
        else None
    )
    metrics.email_enabled = True
    return EmailWing(mailer, people, returns, webhooks)
