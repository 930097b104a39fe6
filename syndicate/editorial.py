"""What `syndicate check` tells an editor: a summary of the content, and what the record of
published things (published.py) finds missing from it, as located problems. Pure: the CLI
prints what these return.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from syndicate.model import Catalog
from syndicate.problems import Problem
from syndicate.published import Gone, Record, Removed, gone, removed
from syndicate.schedule import as_of


def plural(n: int, noun: str) -> str:
    """ "1 item", "2 items"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def summary(catalog: Catalog, config: Path, now: datetime) -> str:
    """A short human summary of what the content defines, and what is scheduled after `now`."""
    split = as_of(catalog, now)
    scheduled, drafts = split.scheduled, split.drafts
    withdrawn = sum(1 for item in catalog.items if item.withdrawn)
    apart = [f"{n} {what}" for n, what in ((withdrawn, "withdrawn"), (len(drafts), "draft"))
             if n]  # fmt: skip
    lines = [
        f"{config}: valid. {catalog.site.title}, {plural(len(catalog.items), 'item')}"
        + (f" ({', '.join(apart)})" if apart else "")
        + "."
    ]
    lines.append("Types:")
    for slug, content_type in catalog.types.items():
        count = plural(len(catalog.by_type[slug]), "item")
        lines.append(f"  {slug:<20} {content_type.kind.value:<8} {count:>11}")
    lines.append("Topics:")
    for slug in catalog.topics:
        per_type = ", ".join(
            f"{len(catalog.by_topic_and_type[(slug, t)])} {t}" for t in catalog.types
        )
        lines.append(f"  {slug:<20} {plural(len(catalog.by_topic[slug]), 'item'):>11} ({per_type})")
    if withdrawn:
        lines.append(f"Withdrawn (announced, in no feed): {withdrawn}")
    if scheduled:
        zone = ZoneInfo(catalog.site.timezone)
        lines.append(f"Scheduled (in no feed until then): {len(scheduled)}")
        for item in scheduled:
            when = item.published.astimezone(zone).isoformat(timespec="minutes")
            lines.append(f"  {when}  {item.id} ({item.type}, {item.source})")
    if drafts:
        lines.append(f"Drafts (in no feed until 'draft: true' is removed): {len(drafts)}")
        lines += [f"  {item.source}: {item.id} ({item.type})" for item in drafts]
    return "\n".join(lines)


def record_problems(
    path: Path, data: bytes, record: Record, catalog: Catalog, before: Record | None = None
) -> list[Problem]:
    """Each item the record has and the content lost, and each published slug that leads
    nowhere, located at its line of the record (`data`, the record's bytes at `path`);
    `before`: the record before this check brought it up to date."""
    lines = data.decode("utf-8", "replace").splitlines()

    def line_of(prefix: str) -> int:
        return next((n for n, text in enumerate(lines, 1) if text.lstrip().startswith(prefix)), 0)

    found = [
        Problem(str(path), line_of(f'"{r.id}":'), "", _removed_message(r))
        for r in removed(record, catalog)
    ]
    found += [
        Problem(str(path), line_of(f'"{g.kind}s":'), "", _gone_message(g))
        for g in gone(record, catalog, before)
    ]
    return found


def _removed_message(found: Removed) -> str:
    entry = found.entry
    how = (
        "is a draft again: subscribers have it already"
        if found.drafted
        else "is no longer in the content"
    )
    return (
        f"item '{found.id}' (\"{entry.title}\", {entry.type}) was published and {how}. "
        "Subscribers still have it: put it back with 'withdrawn:' (a date and the reason they "
        f"will see), or, to tell them nothing, run `syndicate forget {found.id}`. Until then "
        'the service serves it as withdrawn ("Removed from the site.")'
    )


def _gone_message(found: Gone) -> str:
    return (
        f"{found.kind} '{found.slug}' was published and is no longer a {found.kind} or an "
        f"alias{found.hint}: every subscription to its feeds gets 404. If you renamed it, add "
        f"'aliases: [{found.slug}]' to the new {found.kind}: its URLs then redirect. If you "
        f"removed it, run `syndicate forget --{found.kind} {found.slug}`"
    )
