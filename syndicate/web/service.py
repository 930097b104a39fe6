"""The service: the content store, one request handler, and the background tasks around it.

It runs on aiohttp's low-level `web.Server` rather than a `web.Application`: the service has
three kinds of path (snapshot lookups, /healthz, /metrics) and no use for the router,
middlewares, signals and per-request application state, which cost a quarter of the
throughput on this hot path (`make bench`: 34,000 against 46,000 requests a second).
`Service` owns the lifecycle instead: `start()` starts the file watcher, the SIGHUP handler
and the access-log flusher, `stop()` ends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import signal
import socket
import urllib.parse
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from syndicate import urls
from syndicate.build import FROM_ADDRESS, FROM_SETTING, FROM_SITE
from syndicate.fediverse import notes, remote
from syndicate.people.database import Database, open_database
from syndicate.people.keys import public_pem, signing_key
from syndicate.reach.salt import DailySalt
from syndicate.settings import SettingError, Settings
from syndicate.web import deliverer as deliverer_task
from syndicate.web import exporter as exporter_task
from syndicate.web import mailer as mailer_task
from syndicate.web import publishing, reload, websub
from syndicate.web import reach as reach_task
from syndicate.web import returns as returns_task
from syndicate.web.accesslog import AccessLog, flush_regularly, logger_class
from syndicate.web.board import BOARD_TASK, Board
from syndicate.web.clock import Clock
from syndicate.web.connections import KEEPALIVE_SECONDS, Server, connection_budget
from syndicate.web.content import ContentStore
from syndicate.web.deliverer import Deliverer
from syndicate.web.email_wing import email_wing
from syndicate.web.exporter import Exporter
from syndicate.web.fediverse import PREFIXES as FEDIVERSE_PREFIXES
from syndicate.web.fediverse import Fediverse
from syndicate.web.handlers import Handler, router
from syndicate.web.limits import Proxies
from syndicate.web.mailer import Mailer
from syndicate.web.member import LEAD_WORKER, Member
from syndicate.web.metrics import Metrics
from syndicate.web.publishing import rebuild_on_time
from syndicate.web.reach import Reach
from syndicate.web.reload import watch
from syndicate.web.returns import Returns
from syndicate.web.signup import People
from syndicate.web.stats import STATS_PREFIX, Stats
from syndicate.web.supervise import Health, describe, supervise
from syndicate.web.websub import Publisher

log = logging.getLogger("syndicate")
# Request lines and header fields beyond these are refused with 400 by aiohttp's parser.
MAX_LINE_SIZE = 8190
MAX_FIELD_SIZE = 8190
SHUTDOWN_SECONDS = 10


class QuietMalformedRequests(logging.Filter):
    """Malformed requests (refused with 400 by aiohttp's parser) are the client's mistake,
    and scanners send many: log one line at INFO instead of an ERROR with a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError) and 400 <= (error.code or 500) < 500:
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg = f"refused a malformed request from %s: {error.message.splitlines()[0]}"
            record.exc_info, record.exc_text = None, None
        return True


class Service:
    """Everything one `syndicate serve` process runs.

    Creating it loads and renders the content (ContentError, every problem located, if the
    content is invalid: the service does not start on content it cannot serve).
    """

    def __init__(
        self,
        settings: Settings,
        clock: Clock | None = None,
        member: Member | None = None,
        salt: DailySalt | None = None,
    ) -> None:
        settings.check_startup()
        self.member = member
        _quiet_malformed_requests()
        self.metrics = Metrics()
        self.health = Health(self.metrics)
        self.clock = clock or Clock()
        # People's data (email subscribers, fediverse followers): the database, migrated now.
        self.database: Database | None = None
        if settings.needs_database:
            self.database = Database(open_database(settings.database_url, settings.state_dir))
        self.actors_private_key: str | None = None
        if settings.federating:
            assert self.database is not None
            self.actors_private_key = signing_key(self.database.engine, self.clock.now())
            settings = replace(settings, actors_key=public_pem(self.actors_private_key))
        self.settings = settings
        store_settings = settings
        if member is not None and settings.state_dir is not None:  # a history per worker
            store_settings = replace(
                settings, state_dir=settings.state_dir / f"worker-{member.index}"
            )
        self.store = ContentStore(store_settings, self.metrics, self.health, self.clock)
        if settings.federating:
            _check_federation_url(self.store.snapshot.catalog.site.feeds_url or "", settings)
        self.board = Board(member, self.store, self.metrics, self.health) if member else None
        self.metrics.degraded = self.degraded
        self.access_log = AccessLog() if settings.access_log else None
        self.mailer: Mailer | None = None
        self.returns: Returns | None = None
        self.people: People | None = None
        wings: list[tuple[str, Handler]] = []
        if settings.email:
            assert self.database is not None
            email = email_wing(
                settings, self.store, self.database, self.metrics, self.health, self.clock,
                self.member.index if self.member else 0,
            )  # fmt: skip
            self.mailer, self.people, self.returns = email.mailer, email.people, email.returns
            wings += email.routes()
        self.fediverse: Fediverse | None = None
        if settings.federating:
            assert self.database is not None
            self.fediverse = Fediverse(self.store, self.database, self.metrics, self.clock)
            self.metrics.fediverse_enabled = True
            wings += [(prefix, self.fediverse.handle) for prefix in FEDIVERSE_PREFIXES]
        trusted = Proxies(settings.trusted_proxies)
        for wing in (self.people, self.fediverse):
            if wing is not None:
                wing.trusted = trusted
        self.reach: Reach | None = None
        if settings.reaching:
            assert self.database is not None
            self.reach = Reach(
                self.store, self.database, self.clock, self.metrics, self.health,
                salt or DailySalt(), trusted, settings.reach_days,
            )  # fmt: skip
            self.metrics.reach_enabled = True
        self.stats: Stats | None = None
        if settings.admin_password is not None and not settings.preview:
            assert self.database is not None
            self.stats = Stats(
                self.store, self.database, self.clock, settings.admin_password,
                settings.reach_days, trusted,
            )  # fmt: skip
            wings.append((STATS_PREFIX, self.stats.handle))
        self.handle = router(self.store, self.metrics, self.health, self.board, wings, self.reach)
        # One worker of a pool tells the hubs (the others would repeat every ping); a
        # preview tells no one of anything.
        pinging = (member is None or member.index == LEAD_WORKER) and not settings.preview
        self.lead = pinging  # this process does what a pool does once (pings, listening)
        self.publisher = (
            Publisher(self.store, self.metrics, self.health, settings.state_dir)
            if pinging
            else None
        )
        if self.reach is not None and self.publisher is not None:
            self.publisher.on_told = self.reach.hub_told  # hubs told, per feed and day
        self.exporter = (
            Exporter(self.store, settings, settings.export_dir, self.metrics, self.health)
            if settings.export_dir is not None and pinging
            else None
        )
        self.deliverer: Deliverer | None = None
        self._remote: aiohttp.ClientSession | None = None
        self._stop_watching = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self._sighup = False

    def server_options(self) -> dict[str, Any]:
        """Keyword arguments for aiohttp's `web.Server` (and its test server)."""
        options: dict[str, Any] = {
            "max_line_size": MAX_LINE_SIZE,
            "max_field_size": MAX_FIELD_SIZE,
            "keepalive_timeout": KEEPALIVE_SECONDS,
        }
        if self.access_log is not None:
            options["access_log_class"] = logger_class(self.access_log)
            options["access_log"] = logging.getLogger("syndicate.access")
        else:
            options["access_log"] = None
        return options

    async def start(self) -> None:
        """Start the background work: file watcher, publishing timer, WebSub pings, SIGHUP
        reload, access-log flusher."""
        if self.settings.watch:
            self._background(
                reload.TASK,
                lambda: watch(self.store, self.settings.config, self._stop_watching, self.health),
            )
        self._background(
            publishing.TASK,
            lambda: rebuild_on_time(self.store, self._stop_watching, self.health, self.clock),
        )
        publisher = self.publisher
        if publisher is not None:
            self._background(websub.TASK, lambda: publisher.run(self._stop_watching))
        mailer = self.mailer
        if mailer is not None:
            self._background(mailer_task.TASK, lambda: mailer.run(self._stop_watching))
        listening = self.settings.bounce_listen
        if self.returns is not None and listening is not None and self.lead:
            returns_, (host, port) = self.returns, listening  # one process of a pool listens
            self._background(
                returns_task.TASK,
                lambda: returns_task.listen(returns_, self.health, host, port,
                                            self._stop_watching),
            )  # fmt: skip
        if self.fediverse is not None:
            self._federate()
        exporter = self.exporter
        if exporter is not None:
            self._background(exporter_task.TASK, lambda: exporter.run(self._stop_watching))
        reach = self.reach
        if reach is not None:
            self._background(reach_task.TASK, lambda: reach.run(self._stop_watching))
        board = self.board
        if board is not None:
            self._background(BOARD_TASK, lambda: board.run(self._stop_watching, self._pool_gone))
        if self.access_log is not None:
            self._tasks.append(asyncio.create_task(flush_regularly(self.access_log)))
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._on_sighup)
            self._sighup = True

    def _federate(self) -> None:
        """The fediverse's outgoing side: one HTTP session for every fetch and delivery
        (remote.session: public addresses only), the actors' fetcher, the deliverer."""
        assert self.fediverse is not None and self.database is not None
        assert self.actors_private_key is not None
        settings = self.settings
        self._remote = remote.session(settings.federation_allow_local, settings.federation_ca_file)
        site = self.store.snapshot.catalog.site
        site_key = f"{notes.actor_url(site, urls.SITE_HANDLE)}#main-key"
        self.fediverse.actors = remote.Actors(
            self._remote, settings.federation_allow_local, site_key, self.actors_private_key,
            self.clock.now,
        )  # fmt: skip
        deliverer = self.deliverer = Deliverer(
            self.store, self.database, self.actors_private_key, self.metrics, self.health,
            self.clock, self._remote, f"{socket.gethostname()}:{settings.port}:"
            f"{self.member.index if self.member else 0}",
        )  # fmt: skip
        self.fediverse.wake = deliverer.wakeup.set
        self._background(deliverer_task.TASK, lambda: deliverer.run(self._stop_watching))

    def degraded(self) -> bool:
        return (
            self.store.last_failure is not None
            or bool(self.health.failures)
            or bool(self.store.content_reasons)
        )

    def _pool_gone(self) -> None:
        """The pool that started this worker has gone: stop as SIGTERM would."""
        log.warning("the worker pool has gone: stopping")
        os.kill(os.getpid(), signal.SIGTERM)

    def _background(self, name: str, run: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self._tasks.append(
            asyncio.create_task(supervise(name, run, self.health, self._stop_watching), name=name)
        )

    def _on_sighup(self) -> None:
        task = asyncio.create_task(self.store.reload("SIGHUP"))
        self._tasks.append(task)
        task.add_done_callback(self._sighup_done)

    def _sighup_done(self, task: asyncio.Task[bool]) -> None:
        if task in self._tasks:
            self._tasks.remove(task)
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            assert error is not None
            self.health.fail("sighup", describe(error), error)

    async def stop(self) -> None:
        """Stop the background work (after the server has stopped taking requests)."""
        if self._sighup:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            self._sighup = False
        self._stop_watching.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self.deliverer is not None:
            self.deliverer.close()
        if self._remote is not None:
            await self._remote.close()
            self._remote = None
        if self.reach is not None:  # what was counted since the last minute
            with contextlib.suppress(Exception):
                await self.reach.flush()
        if self.database is not None:
            await self.database.close()  # after the calls in flight


def _quiet_malformed_requests() -> None:
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, QuietMalformedRequests) for f in server_log.filters):
        server_log.addFilter(QuietMalformedRequests())


def bind(host: str, port: int, reuse_port: bool = False) -> socket.socket:
    """A listening socket on `host`:`port` (port 0: any free port). Bound before the content
    is rendered, so the public URL can name the port actually served. `reuse_port`: shared
    with the other workers of a pool (SO_REUSEPORT)."""
    family, _, _, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    return socket.create_server(address[:2], family=family, backlog=1024, reuse_port=reuse_port)


def served_url(sock: socket.socket) -> str:
    """`http://host:port` for a bound socket; a wildcard address (0.0.0.0, ::) becomes the
    loopback address, the only one known to reach it."""
    host, port = sock.getsockname()[:2]
    address = ipaddress.ip_address(host)
    if address.is_unspecified:
        address = ipaddress.ip_address("::1" if address.version == 6 else "127.0.0.1")
    shown = f"[{address}]" if address.version == 6 else str(address)
    return f"http://{shown}:{port}"


async def serve(
    settings: Settings, member: Member | None = None, salt: DailySalt | None = None
) -> None:
    """Serve until SIGTERM or SIGINT, then stop taking connections, let requests in flight
    finish (up to SHUTDOWN_SECONDS), flush the access log and return. `member`: as one
    worker of a pool (`pool.py`)."""
    sock = bind(settings.host, settings.port, reuse_port=member is not None)
    try:
        settings = replace(settings, served_url=served_url(sock))
        service = Service(settings, member=member, salt=salt)
    except BaseException:
        sock.close()
        raise
    budget = connection_budget(settings.max_connections)
    service.metrics.max_connections = budget
    log.info("keeping up to %d open connections", budget)
    server = Server(
        service.handle,
        head_timeout=settings.header_timeout,
        max_connections=budget,
        on_close=service.metrics.connection_closed,
        **service.server_options(),
    )
    runner = web.ServerRunner(server, shutdown_timeout=SHUTDOWN_SECONDS)
    await runner.setup()
    if service.board is not None:
        # On file before the first connection: a worker that lists itself as running (from
        # its own memory) is then one every other worker can read, too.
        service.board.member.write_status(service.board.status())
    await web.SockSite(runner, sock).start()
    _log_addresses(settings, service)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await service.start()
    try:
        await stopping.wait()
        log.info("stopping: finishing requests in flight")
    finally:
        await runner.cleanup()
        await service.stop()


def _check_federation_url(public: str, settings: Settings) -> None:
    """Other servers talk only to https: the fediverse on an http public URL is refused,
    except on this machine's own address (a trial), where it is a warning."""
    url = urllib.parse.urlsplit(public)
    if url.scheme == "https" or settings.federation_allow_local:
        return
    if (url.hostname or "") in ("localhost", "127.0.0.1", "::1"):
        log.warning(
            "the fediverse is on, but the public URL %s is not https: no other server will "
            "follow its topics (a trial on this machine only)",
            public,
        )
        return
    raise SettingError(
        f"SYNDICATE_FEDIVERSE=true needs an https public URL, and it is {public}: set "
        "SYNDICATE_PUBLIC_URL=https://... (other servers talk only to https)"
    )


def _log_addresses(settings: Settings, service: Service) -> None:
    public = service.store.snapshot.catalog.site.feeds_url
    if service.member is not None:
        log.info(
            "worker %d (pid %d) serving version %s",
            service.member.index, os.getpid(), service.store.snapshot.version,
        )  # fmt: skip
        if service.member.index:
            return
    if settings.preview:
        log.info(
            "preview of %s on %s/ (version %s): drafts and scheduled items shown, marked; "
            "nothing is sent to anyone. Not for the public.",
            settings.config, settings.served_url, service.store.snapshot.version,
        )  # fmt: skip
        return
    if settings.public_url:
        source = FROM_SETTING
    elif public != settings.served_url:
        source = FROM_SITE
    else:
        source = FROM_ADDRESS
    log.info(
        "serving %s on %s/ (version %s); public URL %s (from %s)",
        settings.config, settings.served_url, service.store.snapshot.version, public, source,
    )  # fmt: skip
    if source == FROM_ADDRESS and settings.host in ("", "0.0.0.0", "::"):
        log.warning(
            "listening on every address, but links name %s, which only this machine reaches: "
            "set --public-url or SYNDICATE_PUBLIC_URL to the address clients use",
            public,
        )


def run(settings: Settings, member: Member | None = None, salt: DailySalt | None = None) -> None:
    """Run `serve` on uvloop's event loop where installed (faster), else asyncio's."""
    worker = f"[worker {member.index}]" if member is not None else ""
    logging.basicConfig(
        level=settings.log_level,
        format=f"%(asctime)s %(levelname)s %(name)s{worker}: %(message)s",
    )
    try:
        import uvloop
    except ImportError:  # pragma: no cover - platforms without uvloop
        asyncio.run(serve(settings, member, salt))
    else:
        uvloop.run(serve(settings, member, salt))
