"""Prometheus metrics, exposed at /metrics in the text format by prometheus-client.

Counting a request is one dict increment: the hot path stays cheap, and a custom collector
turns the counts into metric families when Prometheus scrapes. Each app has its own
registry, so several apps (tests) never share counts.

    syndicate_http_requests_total{route,status}   requests by route kind and status
    syndicate_http_response_bytes_total{route}    body bytes sent
    syndicate_http_not_modified_ratio             share of feed GETs answered 304
    syndicate_snapshot_build_seconds              histogram of snapshot builds
    syndicate_snapshot_representations            representations in the current snapshot
    syndicate_snapshot_timestamp_seconds          when the current snapshot was built
    syndicate_reloads_total{result}               reloads that succeeded or failed
    syndicate_background_failures_total{task}     failures of background work (watcher...)
    syndicate_degraded                            1 while /healthz says "degraded"
    syndicate_scheduled_items                     items waiting for their `published` moment
    syndicate_removed_items                       published items removed without a withdrawal
    syndicate_next_rebuild_timestamp_seconds      when time next changes what is served (0: none)
    syndicate_connections_closed_total{reason}    closed early: idle-closed, refused, slow-body
    syndicate_connections_max                     the bound on open connections per process
    syndicate_export_files_written_total          files written into the live export
    syndicate_export_timestamp_seconds            when the live export last took a version
    syndicate_email_sent_total{outcome}           emails: sent, later, bounced, set_aside,
                                                  relay (the relay's fault), dropped
    syndicate_email_set_aside                     emails refused for themselves, kept
    syndicate_email_bounced                       addresses no longer mailed
    syndicate_email_signups_total{answer}         sign-up requests: asked, refused, limited
    syndicate_email_returns_total{outcome,kind}   bounces and complaints that came back
    syndicate_email_queued                        emails waiting in the outbox
    syndicate_email_subscribers                   confirmed subscribers (a count, no address)
    syndicate_fediverse_deliveries_total{outcome} deliveries: delivered, retried, failed
    syndicate_fediverse_inbox_total{answer}       inbound activities: accepted, refused...
    syndicate_fediverse_queued                    deliveries waiting (due, or backing off)
    syndicate_fediverse_oldest_queued_seconds     the age of the oldest waiting delivery
    syndicate_fediverse_followers                 followers of every actor (a count)
    syndicate_reach_requests_total{kind,answer}   feed, calendar, event, embed answers
    syndicate_reach_bytes_total{kind}             their body bytes
    syndicate_reach_embeds_total{embed}           fetches by partners: component, fragment, iframe
    syndicate_reach_subscribers{reader}           subscribers hosted readers report today
    syndicate_reach_pollers                       distinct other pollers today, every feed
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# The counters a pool sums over its workers (gauges are the answering worker's own).
COUNTERS = (
    "requests", "bytes_sent", "reloads", "background_failures", "websub_pings",
    "connections_closed", "email_sent", "email_signups", "email_returns", "fediverse_deliveries",
    "fediverse_inbox", "reach_requests", "reach_bytes", "reach_embeds",
)  # fmt: skip
Counts = dict[str, list[list[Any]]]


class Metrics(Collector):
    """Counters of this app's requests and reloads, plus build timings."""

    def __init__(self) -> None:
        self.requests: defaultdict[tuple[str, int], int] = defaultdict(int)
        self.bytes_sent: defaultdict[str, int] = defaultdict(int)
        self.reloads: defaultdict[str, int] = defaultdict(int)
        self.background_failures: defaultdict[str, int] = defaultdict(int)
        self.degraded: Callable[[], bool] = lambda: False  # set by the service
        # The other workers' counters, in a pool (set by the service): /metrics shows the sums.
        self.others: Callable[[], list[Counts]] = list
        self.representations = 0
        self.built_at = 0.0
        self.scheduled_items = 0
        self.removed_items = 0
        self.next_rebuild = 0.0
        self.websub_pings: defaultdict[tuple[str, str], int] = defaultdict(int)  # hub, outcome
        self.websub_pending = 0
        # Where the pending figure comes from: this process, or (in a pool, for the workers
        # that do not ping) the worker that pings (set by the board).
        self.websub_pending_now: Callable[[], int] = lambda: self.websub_pending
        self.connections_closed: defaultdict[str, int] = defaultdict(int)  # by reason
        self.max_connections = 0
        self.export_files_written = 0  # the lead worker's own: not summed over a pool
        self.export_version_at = 0.0  # when the export last took a new version; 0: none
        self.email_sent: defaultdict[str, int] = defaultdict(int)  # by outcome
        self.email_signups: defaultdict[str, int] = defaultdict(int)  # by answer
        # What came back (bounces, complaints): by what became of it, and what it said.
        self.email_returns: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.email_queued = 0  # messages due or waiting (the sender's figures, from the database)
        self.email_subscribers = 0
        self.email_set_aside = 0
        self.email_bounced = 0
        self.email_enabled = False
        self.fediverse_deliveries: defaultdict[str, int] = defaultdict(int)  # by outcome
        self.fediverse_inbox: defaultdict[str, int] = defaultdict(int)  # by answer
        self.fediverse_queued = 0  # the deliverer's figures, from the database
        self.fediverse_oldest = 0.0
        self.fediverse_followers = 0
        self.fediverse_enabled = False
        self.reach_requests: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.reach_bytes: defaultdict[str, int] = defaultdict(int)  # by kind
        self.reach_embeds: defaultdict[str, int] = defaultdict(int)  # by way of embedding
        self.reach_subscribers: dict[str, int] = {}  # by reader (known ones, or "other")
        self.reach_pollers = 0
        self.reach_enabled = False
        self.registry = CollectorRegistry(auto_describe=True)
        self.build_seconds = Histogram(
            "syndicate_snapshot_build_seconds",
            "Seconds to load the content and render every representation.",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
            registry=self.registry,
        )
        self.registry.register(self)

    def count(self, route: str, status: int, sent: int) -> None:
        self.requests[(route, status)] += 1
        if sent:
            self.bytes_sent[route] += sent

    def connection_closed(self, reason: str) -> None:
        """A connection closed early to stay within the bound (`connections.Server`)."""
        self.connections_closed[reason] += 1

    def counts(self) -> Counts:
        """The counters, as JSON-ready lists of [labels..., value] (for a pool's status)."""
        return {
            name: [[*key, value] if isinstance(key, tuple) else [key, value]
                   for key, value in getattr(self, name).items()]
            for name in COUNTERS
        }  # fmt: skip

    def _merged(self) -> dict[str, dict[Any, int]]:
        """This process's counters plus the other workers' (see `others`)."""
        merged: dict[str, dict[Any, int]] = {name: dict(getattr(self, name)) for name in COUNTERS}
        for counts in self.others():
            for name in COUNTERS:
                target = merged[name]
                for *labels, value in counts.get(name, ()):
                    key = tuple(labels) if len(labels) > 1 else labels[0]
                    target[key] = target.get(key, 0) + int(value)
        return merged

    def collect(self) -> Iterator[Metric]:
        merged = self._merged()
        requests = CounterMetricFamily(
            "syndicate_http_requests",
            "HTTP requests by route kind and status.",
            labels=["route", "status"],
        )
        for (route, status), value in sorted(merged["requests"].items()):
            requests.add_metric([route, str(status)], value)
        yield requests
        sent = CounterMetricFamily(
            "syndicate_http_response_bytes",
            "Response body bytes sent, by route kind.",
            labels=["route"],
        )
        for route, value in sorted(merged["bytes_sent"].items()):
            sent.add_metric([route], value)
        yield sent
        feed_gets = sum(v for (route, _), v in merged["requests"].items() if route == "feed")
        not_modified = merged["requests"].get(("feed", 304), 0)
        yield GaugeMetricFamily(
            "syndicate_http_not_modified_ratio",
            "Share of feed requests answered 304 Not Modified since start.",
            value=not_modified / feed_gets if feed_gets else 0.0,
        )
        reloads = CounterMetricFamily(
            "syndicate_reloads", "Content reloads by result.", labels=["result"]
        )
        for result in ("ok", "failed"):
            reloads.add_metric([result], merged["reloads"].get(result, 0))
        yield reloads
        failures = CounterMetricFamily(
            "syndicate_background_failures",
            "Failures of background work (the file watcher, timers...), by task.",
            labels=["task"],
        )
        for task, value in sorted(merged["background_failures"].items()):
            failures.add_metric([task], value)
        yield failures
        yield GaugeMetricFamily(
            "syndicate_degraded",
            "1 while the service is degraded (see /healthz), else 0.",
            value=1.0 if self.degraded() else 0.0,
        )
        yield GaugeMetricFamily(
            "syndicate_snapshot_representations",
            "Representations in the current snapshot.",
            value=self.representations,
        )
        yield GaugeMetricFamily(
            "syndicate_snapshot_timestamp_seconds",
            "Unix time the current snapshot was built.",
            value=self.built_at,
        )
        yield GaugeMetricFamily(
            "syndicate_scheduled_items",
            "Items with a future published date, in no feed until then.",
            value=self.scheduled_items,
        )
        yield GaugeMetricFamily(
            "syndicate_removed_items",
            "Published items removed from the content without a withdrawal (published.py).",
            value=self.removed_items,
        )
        yield GaugeMetricFamily(
            "syndicate_next_rebuild_timestamp_seconds",
            "Unix time of the next automatic rebuild (an item due, an event ending), 0 if none.",
            value=self.next_rebuild,
        )

        pings = CounterMetricFamily(
            "syndicate_websub_pings",
            "WebSub publish pings sent to hubs, by hub and outcome (ok, failed).",
            labels=["hub", "outcome"],
        )
        for (hub, outcome), value in sorted(merged["websub_pings"].items()):
            pings.add_metric([hub, outcome], value)
        yield pings
        yield GaugeMetricFamily(
            "syndicate_websub_pending",
            "Feed changes not yet told to a hub (topics x hubs), including those awaiting a retry.",
            value=self.websub_pending_now(),
        )

        closed = CounterMetricFamily(
            "syndicate_connections_closed",
            "Connections closed early near the connection bound: idle keep-alive ones "
            "(idle-closed) and new ones past it (refused).",
            labels=["reason"],
        )
        for reason in ("idle-closed", "refused"):
            closed.add_metric([reason], merged["connections_closed"].get(reason, 0))
        yield closed
        yield GaugeMetricFamily(
            "syndicate_connections_max",
            "Open connections this process keeps (SYNDICATE_MAX_CONNECTIONS or the open-files "
            "limit).",
            value=self.max_connections,
        )

        if self.export_version_at:
            yield CounterMetricFamily(
                "syndicate_export_files_written",
                "Representations written into the live export (`serve --export`).",
                value=self.export_files_written,
            )
            yield GaugeMetricFamily(
                "syndicate_export_timestamp_seconds",
                "Unix time the live export last took the version served.",
                value=self.export_version_at,
            )

        if self.email_enabled:
            sent = CounterMetricFamily(
                "syndicate_email_sent",
                "Emails by outcome: sent, later, bounced, set_aside, relay, dropped.",
                labels=["outcome"],
            )  # fmt: skip
            for outcome, value in sorted(merged["email_sent"].items()):
                sent.add_metric([outcome], value)
            yield sent
            signups = CounterMetricFamily(
                "syndicate_email_signups", "Sign-up requests by answer.", labels=["answer"]
            )
            for answer, value in sorted(merged["email_signups"].items()):
                signups.add_metric([answer], value)
            yield signups
            returned = CounterMetricFamily(
                "syndicate_email_returns",
                "Bounces and complaints that came back, by what became of them (suppressed, "
                "counted, known, ignored, unmatched) and what they said (hard, soft, "
                "complaint, ignored).",
                labels=["outcome", "kind"],
            )
            for (outcome, kind), value in sorted(merged["email_returns"].items()):
                returned.add_metric([outcome, kind], value)
            yield returned
            yield GaugeMetricFamily(
                "syndicate_email_queued", "Emails waiting in the outbox.", value=self.email_queued
            )
            yield GaugeMetricFamily(
                "syndicate_email_subscribers", "Confirmed email subscribers.",
                value=self.email_subscribers,
            )  # fmt: skip
            yield GaugeMetricFamily(
                "syndicate_email_set_aside",
                "Emails refused for themselves, kept until released (syndicate email release).",
                value=self.email_set_aside,
            )
            yield GaugeMetricFamily(
                "syndicate_email_bounced", "Addresses no longer mailed: bounced or complained.",
                value=self.email_bounced,
            )  # fmt: skip

        if self.fediverse_enabled:
            yield from self._fediverse(merged)
        if self.reach_enabled:
            yield from self._reach(merged)

    def _reach(self, merged: dict[str, Any]) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "syndicate_reach_requests",
            "Answers counted for reach, by kind (feed, calendar, event, fragment, frame) and "
            "answer (ok, not_modified, other; bot: a known bot's request).",
            labels=["kind", "answer"],
        )
        for (kind, answer), value in sorted(merged["reach_requests"].items()):
            requests.add_metric([kind, answer], value)
        yield requests
        sent = CounterMetricFamily(
            "syndicate_reach_bytes", "Body bytes of the answers counted for reach, by kind.",
            labels=["kind"],
        )  # fmt: skip
        for kind, value in sorted(merged["reach_bytes"].items()):
            sent.add_metric([kind], value)
        yield sent
        embeds = CounterMetricFamily(
            "syndicate_reach_embeds",
            "Fetches by partner sites, by way of embedding (component, fragment, iframe).",
            labels=["embed"],
        )
        for embed, value in sorted(merged["reach_embeds"].items()):
            embeds.add_metric([embed], value)
        yield embeds
        subscribers = GaugeMetricFamily(
            "syndicate_reach_subscribers",
            "Subscribers hosted readers reported today, summed over feeds, by reader.",
            labels=["reader"],
        )
        for reader, value in sorted(self.reach_subscribers.items()):
            subscribers.add_metric([reader], value)
        yield subscribers
        yield GaugeMetricFamily(
            "syndicate_reach_pollers",
            "Distinct other pollers today, summed over feeds (as last written).",
            value=self.reach_pollers,
        )

    def _fediverse(self, merged: dict[str, Any]) -> Iterator[Metric]:
        deliveries = CounterMetricFamily(
            "syndicate_fediverse_deliveries",
            "Deliveries to followers' inboxes by outcome: delivered, retried, failed.",
            labels=["outcome"],
        )
        for outcome, value in sorted(merged["fediverse_deliveries"].items()):
            deliveries.add_metric([outcome], value)
        yield deliveries
        inbox = CounterMetricFamily(
            "syndicate_fediverse_inbox", "Activities posted to our inboxes, by answer.",
            labels=["answer"],
        )  # fmt: skip
        for answer, value in sorted(merged["fediverse_inbox"].items()):
            inbox.add_metric([answer], value)
        yield inbox
        yield GaugeMetricFamily(
            "syndicate_fediverse_queued", "Deliveries waiting (due, or backing off).",
            value=self.fediverse_queued,
        )  # fmt: skip
        yield GaugeMetricFamily(
            "syndicate_fediverse_oldest_queued_seconds",
            "Seconds the oldest waiting delivery has waited.", value=self.fediverse_oldest,
        )  # fmt: skip
        yield GaugeMetricFamily(
            "syndicate_fediverse_followers", "Followers of every actor (a count).",
            value=self.fediverse_followers,
        )  # fmt: skip

    def exposition(self) -> tuple[bytes, str]:
        """The text exposition and its content type."""
        return bytes(generate_latest(self.registry)), CONTENT_TYPE
