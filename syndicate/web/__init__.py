"""The HTTP service (aiohttp only): a thin layer of lookups in the current snapshot plus HTTP
semantics. `Service(settings)` holds the content and the handler; `run(settings)` serves it."""

from syndicate.web.service import Service, run

__all__ = ["Service", "run"]
