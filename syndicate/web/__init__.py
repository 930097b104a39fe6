"""The HTTP service (aiohttp only): a thin layer of lookups in the current snapshot plus HTTP
semantics. `create_app(settings)` builds the application; `run(settings)` serves it."""

from syndicate.web.app import create_app, run

__all__ = ["create_app", "run"]
