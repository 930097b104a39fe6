"""The application factory, read top to bottom: one `setup_*` per concern."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from syndicate.settings import Settings
from syndicate.web import handlers
from syndicate.web.accesslog import ACCESS_LOG, AccessLog, BufferedAccessLogger, flusher
from syndicate.web.content import ContentStore
from syndicate.web.keys import METRICS, SETTINGS, STORE
from syndicate.web.metrics import Metrics
from syndicate.web.reload import sighup, watcher

# Request lines and header fields beyond these are refused with 4xx by aiohttp's parser.
MAX_LINE_SIZE = 8190
MAX_FIELD_SIZE = 8190


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


def setup_logging() -> None:
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, QuietMalformedRequests) for f in server_log.filters):
        server_log.addFilter(QuietMalformedRequests())


def setup_state(app: web.Application, settings: Settings) -> None:
    metrics = Metrics()
    app[SETTINGS] = settings
    app[METRICS] = metrics
    app[STORE] = ContentStore(settings, metrics)


def setup_routes(app: web.Application) -> None:
    for path, handler in (("/healthz", handlers.healthz), ("/metrics", handlers.metrics)):
        app.router.add_get(path, handler)
        app.router.add_route("*", path, handlers.only_get)
    # Everything else is a lookup in the snapshot (feeds, index, OPML, feeds.json).
    app.router.add_route("*", "/{path:.*}", handlers.serve)


def setup_reload(app: web.Application) -> None:
    app.cleanup_ctx.append(watcher)
    app.cleanup_ctx.append(sighup)


def setup_access_log(app: web.Application, settings: Settings) -> None:
    if settings.access_log:
        app[ACCESS_LOG] = AccessLog()
        app.cleanup_ctx.append(flusher)


def create_app(settings: Settings) -> web.Application:
    """The service for `settings`, its content loaded and rendered.

    ContentError (every problem, located) if the content is invalid: the service does not
    start on content it cannot serve.
    """
    app = web.Application(
        handler_args={"max_line_size": MAX_LINE_SIZE, "max_field_size": MAX_FIELD_SIZE}
    )
    setup_logging()
    setup_state(app, settings)
    app[STORE].load_now()
    setup_routes(app)
    setup_reload(app)
    setup_access_log(app, settings)
    return app


def run(settings: Settings) -> None:
    """Serve until SIGINT or SIGTERM, then finish in-flight requests and stop."""
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = create_app(settings)
    snapshot = app[STORE].snapshot
    version = snapshot.version if snapshot else "-"
    logging.getLogger("syndicate").info(
        "serving %s on http://%s:%d/ (version %s)",
        settings.config,
        settings.host,
        settings.port,
        version,
    )
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        access_log_class=BufferedAccessLogger,
        access_log=logging.getLogger("aiohttp.access") if settings.access_log else None,
        shutdown_timeout=10,
        print=None,
        handle_signals=True,
        loop=_event_loop(),
    )


def _event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop where installed (it roughly doubles throughput), else asyncio's."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - platforms without uvloop
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
