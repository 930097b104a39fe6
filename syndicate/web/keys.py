"""Typed application keys: everything the handlers find on the app, in one place."""

from __future__ import annotations

from aiohttp import web

from syndicate.settings import Settings
from syndicate.web.content import ContentStore
from syndicate.web.metrics import Metrics

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", ContentStore)
METRICS = web.AppKey("metrics", Metrics)
