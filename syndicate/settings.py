"""Service settings, declared once: name, environment variable, default, help.

`Settings.from_env` reads the environment; the CLI passes its options as overrides. A test
checks that every setting here is documented in the README.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class SettingError(ValueError):
    """A setting has a value it cannot take; the message names the variable."""


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise ValueError("expected a port from 0 to 65535")
    return value


def _timeout(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 3600:
        raise ValueError("expected whole seconds from 1 to 3600")
    return value


def _workers(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 64:
        raise ValueError("expected a number of processes from 1 to 64")
    return value


def _connections(text: str) -> int:
    value = int(text)
    if not (value == 0 or 16 <= value <= 1_000_000):
        raise ValueError("expected 0 (from the open-files limit) or 16 to 1000000")
    return value


def _listen(text: str) -> str:
    value = text.strip()
    if not value or any(c in value for c in ";{}#\"'\n\r\t "):
        raise ValueError("expected an nginx listen value such as 80 or 127.0.0.1:8081")
    return value


def _folder_or_none(text: str) -> Path | None:
    return Path(text) if text.strip() else None


def _file_or_none(text: str) -> Path | None:
    if not text.strip():
        return None
    path = Path(text)
    if not path.is_file():
        raise ValueError("expected a file that exists")
    return path


def _seconds(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 31_536_000:
        raise ValueError("expected whole seconds from 0 to 31536000")
    return value


def _text_or_none(text: str) -> str | None:
    return text.strip() or None


def _relay_or_none(text: str) -> str | None:
    from syndicate.mail.relay import parse_relay

    if not text.strip():
        return None
    parse_relay(text)  # RelayError, a ValueError, says what is wrong (never the password)
    return text.strip()


def _cleartext(text: str) -> str | None:
    if not text.strip():
        return None
    if text.strip() != "allow":
        raise ValueError("expected `allow` (the password then goes to the relay without TLS)")
    return "allow"


def _mail_from(text: str) -> str | None:
    from syndicate.mail.addresses import normalised

    return normalised(text) if text.strip() else None


def _address_or_none(text: str) -> str | None:
    from syndicate.mail.addresses import normalised

    if not text.strip():
        return None
    address = normalised(text)
    local = address.split("@", 1)[0]
    if "+" in local:
        raise ValueError("the return path takes +TOKEN itself: give it without a +tag")
    if len(local) > 17:  # its +TOKEN takes up to 47 of the 64 a local part may have
        raise ValueError("keep the part before the @ to 17 characters (bounces@... will do)")
    return address


def _host_port_or_none(text: str) -> tuple[str, int] | None:
    if not text.strip():
        return None
    host, _, port = text.strip().rpartition(":")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError("expected HOST:PORT, such as 127.0.0.1:2525")
    return host.strip("[]"), int(port)


def _user_password_or_none(text: str) -> str | None:
    if not text:
        return None
    user, colon, password = text.partition(":")
    if not colon or not user or len(password) < 12:
        raise ValueError("expected user:password, the password of 12 characters or more")
    return text


def _secret_or_none(text: str) -> str | None:
    if not text.strip():
        return None
    if len(text.strip()) < 16:
        raise ValueError("expected the provider's signing key (16 characters or more)")
    return text.strip()


def _rate(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 100_000:
        raise ValueError("expected emails a second from 1 to 100000")
    return value


def _connections_to_relay(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 20:
        raise ValueError("expected 1 to 20 sessions")
    return value


def _batch(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 3600:
        raise ValueError("expected whole seconds from 0 to 3600")
    return value


def _password(text: str) -> str | None:
    if not text:
        return None
    if len(text) < 12:
        raise ValueError("an operator's password of at least 12 characters is needed")
    return text


def _reach_days(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 3660:
        raise ValueError("expected whole days from 1 to 3660")
    return value


def _networks(text: str) -> str:
    import ipaddress

    for part in text.split(","):
        if part.strip():
            ipaddress.ip_network(part.strip())  # ValueError names what is wrong
    return text


def parse_url_setting(text: str) -> str | None:
    text = text.strip().rstrip("/")
    if not text:
        return None
    if not text.startswith(("http://", "https://")):
        raise ValueError("expected an absolute http(s) URL")
    return text


@dataclass(frozen=True)
class Setting:
    name: str
    env: str
    default: Any
    parse: Callable[[str], Any]
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("config", "SYNDICATE_CONFIG", Path("feeds_config"), Path, "The content folder."),
    Setting("host", "SYNDICATE_HOST", "127.0.0.1", str, "Address to listen on."),
    Setting("port", "SYNDICATE_PORT", 8080, _port, "Port to listen on."),
    Setting(
        "public_url",
        "SYNDICATE_PUBLIC_URL",
        None,
        parse_url_setting,
        "Public base URL of the service, for self links, OPML and pages; overrides the site's "
        "feeds_url. Unset: the address served.",
    ),
    Setting(
        "max_age",
        "SYNDICATE_MAX_AGE",
        300,
        _seconds,
        "Seconds clients may cache a feed (Cache-Control max-age, RSS ttl and sy:updatePeriod).",
    ),
    Setting(
        "stale_while_revalidate",
        "SYNDICATE_STALE_WHILE_REVALIDATE",
        60,
        _seconds,
        "Seconds a cache may serve a stale feed while it revalidates.",
    ),
    Setting(
        "stale_if_error",
        "SYNDICATE_STALE_IF_ERROR",
        86400,
        _seconds,
        "Seconds a cache may serve a stale feed when the service fails.",
    ),
    Setting(
        "header_timeout",
        "SYNDICATE_HEADER_TIMEOUT",
        5,
        _timeout,
        "Seconds a client has to send a whole request head; slower connections are closed.",
    ),
    Setting(
        "watch", "SYNDICATE_WATCH", True, _bool, "Reload when files in the content folder change."
    ),
    Setting(
        "state_dir",
        "SYNDICATE_STATE_DIR",
        None,
        _folder_or_none,
        "A folder for what must survive restarts: the Last-Modified history, and SQLite for "
        "email, the fediverse and reach. Unset: systemd's $STATE_DIRECTORY (StateDirectory= "
        "in the unit), else none; `make run` sets .state.",
    ),
    Setting(
        "workers",
        "SYNDICATE_WORKERS",
        1,
        _workers,
        "Processes serving the port (SO_REUSEPORT); each holds its own snapshot.",
    ),
    Setting(
        "max_connections",
        "SYNDICATE_MAX_CONNECTIONS",
        0,
        _connections,
        "Open connections per process before idle keep-alive ones are closed and new ones "
        "refused; 0: from the open-files limit (raised to its hard limit at start).",
    ),
    Setting(
        "export_dir",
        "SYNDICATE_EXPORT_DIR",
        None,
        _folder_or_none,
        "A folder `serve` keeps a static export in, in step with every reload (`--export`).",
    ),
    Setting(
        "export_listen",
        "SYNDICATE_EXPORT_LISTEN",
        "80",
        _listen,
        "The `listen` of the export's _nginx.conf.",
    ),
    Setting(
        "smtp_url",
        "SYNDICATE_SMTP_URL",
        None,
        _relay_or_none,
        "The SMTP relay for email updates: smtp://user:password@host:587 (STARTTLS when "
        "offered) or smtps://...:465. Unset: no email updates, and no page offers them. From "
        "the environment only.",
    ),
    Setting(
        "smtp_helo",
        "SYNDICATE_SMTP_HELO",
        None,
        _text_or_none,
        "The name given to the relay in EHLO; unset: this machine's full name, or the public "
        "URL's host when the machine has none (relays refuse `localhost`).",
    ),
    Setting(
        "smtp_ca_file",
        "SYNDICATE_SMTP_CA_FILE",
        None,
        _file_or_none,
        "A PEM file of certificate authorities to trust for the relay's certificate (a "
        "private relay), instead of the system's.",
    ),
    Setting(
        "smtp_cleartext_auth",
        "SYNDICATE_SMTP_CLEARTEXT_AUTH",
        None,
        _cleartext,
        "`allow`: send the relay's user and password even where the relay offers no TLS "
        "(a relay on this machine). Unset: with a password, TLS is required.",
    ),
    Setting(
        "mail_from",
        "SYNDICATE_MAIL_FROM",
        None,
        _mail_from,
        "The address email updates come from (a domain whose SPF, DKIM and DMARC the relay "
        "satisfies); required with SYNDICATE_SMTP_URL.",
    ),
    Setting(
        "mail_return_path",
        "SYNDICATE_MAIL_RETURN_PATH",
        None,
        _address_or_none,
        "The envelope sender's base for bounces (VERP): bounces@bounces.example.org gives "
        "each message bounces+TOKEN@bounces.example.org. Unset: SYNDICATE_MAIL_FROM, and "
        "bounces that come back later are not learnt.",
    ),
    Setting(
        "bounce_listen",
        "SYNDICATE_BOUNCE_LISTEN",
        None,
        _host_port_or_none,
        "HOST:PORT of the SMTP listener the relay hands bounces and complaints to (with "
        "SYNDICATE_MAIL_RETURN_PATH), such as 127.0.0.1:2525.",
    ),
    Setting(
        "postmark_webhook",
        "SYNDICATE_POSTMARK_WEBHOOK",
        None,
        _user_password_or_none,
        "user:password of the HTTP basic auth Postmark's bounce and spam-complaint webhooks "
        "send to /email/webhooks/postmark. From the environment only.",
    ),
    Setting(
        "mailgun_signing_key",
        "SYNDICATE_MAILGUN_SIGNING_KEY",
        None,
        _secret_or_none,
        "Mailgun's webhook signing key: its failed and complained events, posted to "
        "/email/webhooks/mailgun, are checked with it. From the environment only.",
    ),
    Setting(
        "database_url",
        "SYNDICATE_DATABASE_URL",
        None,
        _text_or_none,
        "postgresql://user:password@host/db for email updates on several machines; unset: "
        "SQLite in SYNDICATE_STATE_DIR.",
    ),
    Setting(
        "mail_rate",
        "SYNDICATE_MAIL_RATE",
        10,
        _rate,
        "Emails a second at most, through at most SYNDICATE_MAIL_CONNECTIONS sessions.",
    ),
    Setting(
        "mail_connections",
        "SYNDICATE_MAIL_CONNECTIONS",
        2,
        _connections_to_relay,
        "Sessions with the relay at once (1 to 20).",
    ),
    Setting(
        "mail_batch",
        "SYNDICATE_MAIL_BATCH",
        180,
        _batch,
        "Seconds an as-it-happens email waits for more items going live (0 to 3600).",
    ),
    Setting(
        "fediverse",
        "SYNDICATE_FEDIVERSE",
        False,
        _bool,
        "Make every topic, and the site, followable from Mastodon and other ActivityPub "
        "servers (@topic@host): needs the public https URL and the database.",
    ),
    Setting(
        "federation_allow_local",
        "SYNDICATE_FEDERATION_ALLOW_LOCAL",
        False,
        _bool,
        "For tests only: let the fediverse fetch and deliver to loopback addresses, over "
        "plain HTTP too.",
    ),
    Setting(
        "federation_ca_file",
        "SYNDICATE_FEDERATION_CA_FILE",
        None,
        _file_or_none,
        "A PEM file of certificate authorities to trust, instead of the system's, for "
        "fetches from and deliveries to other servers (a private deployment, tests).",
    ),
    Setting(
        "reach",
        "SYNDICATE_REACH",
        False,
        _bool,
        "Count reach (docs/reach.md) even without an operator's password (for /metrics); "
        "setting SYNDICATE_ADMIN_PASSWORD turns counting on by itself. Needs the database.",
    ),
    Setting(
        "reach_days",
        "SYNDICATE_REACH_DAYS",
        730,
        _reach_days,
        "Days the daily reach counts are kept (two years).",
    ),
    Setting(
        "admin_password",
        "SYNDICATE_ADMIN_PASSWORD",
        None,
        _password,
        "The operators' password for /stats/ (12 characters or more). Unset: no /stats/. "
        "From the environment only.",
    ),
    Setting(
        "trusted_proxies",
        "SYNDICATE_TRUSTED_PROXIES",
        "127.0.0.1,::1",
        _networks,
        "Addresses (or networks) of proxies whose X-Forwarded-For names the client: nginx in "
        "front. Comma-separated.",
    ),
    Setting("access_log", "SYNDICATE_ACCESS_LOG", True, _bool, "Log one line per request."),
    Setting(
        "log_level", "SYNDICATE_LOG_LEVEL", "INFO", str.upper, "DEBUG, INFO, WARNING or ERROR."
    ),
)


# Settings whose value may hold a password: never echoed in a message.
SECRET = frozenset(
    {"smtp_url", "database_url", "admin_password", "postmark_webhook", "mailgun_signing_key"}
)

# Fields of `Settings` that are not settings: known only once the service runs.
RUNTIME_FIELDS = ("served_url", "preview", "actors_key")


@dataclass(frozen=True)
class Settings:
    config: Path = Path("feeds_config")
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    max_age: int = 300
    stale_while_revalidate: int = 60
    stale_if_error: int = 86400
    header_timeout: int = 5
    watch: bool = True
    state_dir: Path | None = None
    workers: int = 1
    max_connections: int = 0
    export_dir: Path | None = None
    export_listen: str = "80"
    smtp_url: str | None = field(default=None, repr=False)  # may hold a password
    smtp_helo: str | None = None
    smtp_ca_file: Path | None = None
    smtp_cleartext_auth: str | None = None
    mail_from: str | None = None
    mail_return_path: str | None = None
    bounce_listen: tuple[str, int] | None = None
    postmark_webhook: str | None = field(default=None, repr=False)  # a password
    mailgun_signing_key: str | None = field(default=None, repr=False)  # a key
    database_url: str | None = field(default=None, repr=False)  # may hold a password
    mail_rate: int = 10
    mail_connections: int = 2
    mail_batch: int = 180
    fediverse: bool = False
    federation_allow_local: bool = False
    federation_ca_file: Path | None = None
    reach: bool = False
    reach_days: int = 730
    admin_password: str | None = field(default=None, repr=False)  # a password
    trusted_proxies: str = "127.0.0.1,::1"
    access_log: bool = True
    log_level: str = "INFO"
    # Not a setting: where `serve` listens, known once its socket is bound (port 0 included).
    # The public URL when none is configured (see build.public_url).
    served_url: str | None = None
    # Not a setting: `syndicate preview` (preview.py) rather than `serve`.
    preview: bool = False
    # Not a setting: the public key fediverse actors name (PEM), read from the database at
    # start when SYNDICATE_FEDIVERSE is on.
    actors_key: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then environment variables, then `overrides` that are not None."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = environ.get(setting.env)
            if raw is not None:
                try:
                    values[setting.name] = setting.parse(raw)
                except ValueError as error:
                    shown = (
                        "(not shown: it may hold a password)"
                        if setting.name in SECRET
                        else repr(raw)
                    )
                    raise SettingError(f"{setting.env}={shown}: {error}") from None
        if "state_dir" not in values and environ.get("STATE_DIRECTORY"):
            # systemd sets it for a unit with StateDirectory= (several: colon-separated).
            values["state_dir"] = Path(environ["STATE_DIRECTORY"].split(":")[0])
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        if settings.smtp_url and not settings.mail_from:
            raise SettingError("SYNDICATE_SMTP_URL needs SYNDICATE_MAIL_FROM, the sender address")
        if settings.bounce_listen and not settings.mail_return_path:
            raise SettingError(
                "SYNDICATE_BOUNCE_LISTEN needs SYNDICATE_MAIL_RETURN_PATH: the listener takes "
                "mail for the return paths only"
            )
        return settings

    def check_startup(self) -> None:
        """SettingError, one line naming the setting to change, for settings `serve` cannot
        start with (those that depend on the content are checked when it is loaded)."""
        # SQLite there: refused now. For the Last-Modified history alone the service
        # starts, degraded, and says so in /healthz (content matters more than the history).
        if self.state_dir is not None and self.needs_database and not self.database_url:
            try:
                self.state_dir.mkdir(parents=True, exist_ok=True)
                if not os.access(self.state_dir, os.W_OK | os.X_OK):
                    raise PermissionError("Permission denied")
            except OSError as error:
                reason = error.strerror or str(error)
                raise SettingError(
                    f"SYNDICATE_STATE_DIR={self.state_dir}: cannot be created or written "
                    f"({reason}); give the service's user a folder of its own"
                ) from None
        if self.state_dir is not None or self.database_url:
            return
        stats = self.admin_password is not None and not self.preview
        wanting = [
            what
            for on, what in (
                (self.email, "email updates (SYNDICATE_SMTP_URL)"),
                (self.federating, "the fediverse (SYNDICATE_FEDIVERSE)"),
                (stats, "the stats page (SYNDICATE_ADMIN_PASSWORD)"),
                (self.reaching and not stats, "reach (SYNDICATE_REACH)"),
            )
            if on
        ]
        if wanting:
            need = "need" if len(wanting) > 1 else "needs"
            raise SettingError(
                f"{' and '.join(wanting)} {need} a database: set SYNDICATE_STATE_DIR "
                "to a folder for SQLite, or SYNDICATE_DATABASE_URL for PostgreSQL"
            )

    @property
    def needs_database(self) -> bool:
        """Some feature on keeps people's data or counts: email, the fediverse, reach."""
        return self.email or self.federating or self.reaching

    @property
    def federating(self) -> bool:
        """Topics are followable from the fediverse (and not in a preview)."""
        return self.fediverse and not self.preview

    @property
    def reaching(self) -> bool:
        """Reach is counted: asked for, or someone can see it (and not in a preview)."""
        return (self.reach or self.admin_password is not None) and not self.preview

    @property
    def email(self) -> bool:
        """Email updates are on: a relay and a sender are configured (and not a preview)."""
        return bool(self.smtp_url and self.mail_from) and not self.preview
