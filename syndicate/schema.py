"""The declared fields of every section of the content definitions.

One table per section: name, value type, whether it is required, and help text. The loader
validates against these tables (unknown keys are errors, with a "did you mean"), and a test
checks that docs/content.md documents exactly these keys. Adding a field starts here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    required: bool
    help: str


def _f(name: str, type_: str, help_: str, *, required: bool = False) -> Field:
    return Field(name, type_, required, help_)


# Value types, as the loader understands them (see loader._convert_value).
VALUE_TYPES: Final = {
    "line": "one line of plain text (line breaks become spaces)",
    "text": "plain text; blank lines separate paragraphs",
    "html": "a fragment of the restricted HTML subset (see 'HTML in summaries')",
    "slug": "lower-case letters, digits and hyphens, starting with a letter or digit",
    "url": "an absolute http:// or https:// URL",
    "email": "an e-mail address",
    "date": "a date, or a date and time (see 'Dates')",
    "timezone": "an IANA time zone name, e.g. America/New_York",
    "language": "a BCP 47 language tag, e.g. en, en-US, ar",
    "boolean": "true or false",
    "integer": "a whole number",
    "kind": "event or article",
    "event-status": "scheduled, cancelled, postponed, rescheduled or moved-online",
    "tag-authority": "a domain name or e-mail address you control (RFC 4151)",
    "tag-date": "YYYY, YYYY-MM or YYYY-MM-DD, a date on which you controlled the authority",
    "weekday": "monday, tuesday ... sunday",
    "time-of-day": "HH:MM on a 24-hour clock, e.g. 09:00",
    "list of line": "a list of one-line texts",
    "list of slug": "a list of slugs",
    "person": "a mapping (see 'person')",
    "list of person": "a list of mappings (see 'person')",
    "image": "a mapping (see 'image')",
    "list of program": "a list of mappings (see 'program')",
    "withdrawal": "a mapping (see 'withdrawal')",
}

SITE: Final = (
    _f("title", "line", "The publisher's name, used in every feed title.", required=True),
    _f("description", "text", "One or two sentences; the subtitle of site-wide feeds."),
    _f("url", "url", "The website's home page.", required=True),
    _f(
        "feeds_url",
        "url",
        "Public base URL of this service, for self links; usually left out (see the README).",
    ),
    _f("language", "language", "Language of the content.", required=True),
    _f("timezone", "timezone", "Zone for dates written without one.", required=True),
    _f("rights", "line", "Copyright or licence statement carried by every feed."),
    _f("publisher", "person", "Who publishes; the default author of every item.", required=True),
    _f("logo", "url", "Wide logo image (Atom logo, RSS image)."),
    _f("icon", "url", "Small square icon (Atom icon, JSON Feed favicon)."),
    _f("tag_authority", "tag-authority", "Authority part of permanent ids.", required=True),
    _f("tag_date", "tag-date", "Date part of permanent ids; never change it.", required=True),
    _f("feed_size", "integer", "Entries per feed, newest first (default 20, 1 to 500)."),
    _f("hubs", "list of url", "WebSub hubs told of every feed change (none by default)."),
    _f("digest_day", "weekday", "The day weekly email digests go out (default monday)."),
    _f("digest_time", "time-of-day", "Their time, in the site's zone (default 09:00)."),
)

CONTENT_TYPE: Final = (
    _f("slug", "slug", "Short name used in URLs, e.g. events.", required=True),
    _f("kind", "kind", "event or article: decides which item fields apply.", required=True),
    _f("title", "line", "Plural title, e.g. Events.", required=True),
    _f("singular", "line", "Singular title, e.g. Event.", required=True),
    _f("description", "text", "What this type of content is; the subtitle of its feeds."),
    _f("order", "integer", "Where it is listed: lower first (default 0), then as defined."),
    _f(
        "aliases",
        "list of slug",
        "Former slugs, oldest first, after a rename: their URLs redirect here for good.",
    ),
)

TOPIC: Final = (
    _f("slug", "slug", "Short name used in URLs, e.g. harm-reduction.", required=True),
    _f("title", "line", "The topic's title.", required=True),
    _f("description", "text", "What the topic covers; the subtitle of its feeds."),
    _f("url", "url", "The topic page on the website (the feeds' alternate link)."),
    _f("area", "line", "The wider area the topic belongs to, e.g. Health."),
    _f("programs", "list of program", "Programs that focus on this topic."),
    _f("order", "integer", "Where it is listed: lower first (default 0), then as defined."),
    _f(
        "aliases",
        "list of slug",
        "Former slugs, oldest first, after a rename: their URLs redirect here for good.",
    ),
)

ITEM: Final = (
    _f(
        "id",
        "slug",
        "Permanent id. Never change it: readers use it to spot new items.",
        required=True,
    ),
    _f("type", "slug", "The content type's slug.", required=True),
    _f("title", "line", "The item's title.", required=True),
    _f("summary", "text", "Short plain-text summary (this or summary_html is required)."),
    _f("summary_html", "html", "Summary in the restricted HTML subset, instead of summary."),
    _f("content", "text", "Full text, plain."),
    _f("content_html", "html", "Full text in the restricted HTML subset, instead of content."),
    _f("url", "url", "The item's canonical page.", required=True),
    _f("published", "date", "When the item was first published.", required=True),
    _f("updated", "date", "When it last changed meaningfully (default: published)."),
    _f("authors", "list of person", "Who wrote it (default: the site's publisher)."),
    _f("topics", "list of slug", "One or more topic slugs.", required=True),
    _f("tags", "list of line", "Free keywords, carried as categories."),
    _f("image", "image", "A picture for the item."),
    _f("language", "language", "Language, where it differs from the site's."),
    _f("withdrawn", "withdrawal", "Retract the item instead of deleting it."),
    _f("draft", "boolean", "true: a draft, in no feed, calendar, page or ping until removed."),
)

# Fields only items of an event-kind type may have.
EVENT: Final = (
    _f("start", "date", "When it starts; a date alone means an all-day event.", required=True),
    _f("end", "date", "When it ends; for all-day events, the last day included."),
    _f("timezone", "timezone", "Where the event's clock is (default: the site's zone)."),
    _f("all_day", "boolean", "A whole-day event (default: true when start has no time)."),
    _f("venue", "line", "Name of the place."),
    _f("address", "line", "Street address."),
    _f("city", "line", "City."),
    _f("country", "line", "Country."),
    _f("online_url", "url", "Where to join online."),
    _f("registration_url", "url", "Where to register."),
    _f(
        "status",
        "event-status",
        "scheduled (default), cancelled, postponed, rescheduled or moved-online.",
    ),
    _f("changes", "list of change", "Every change of time, place or status, oldest first."),
)

CHANGE: Final = (
    _f("date", "date", "When the change was made.", required=True),
    _f("note", "line", "What changed, in a sentence shown to subscribers.", required=True),
)

PERSON: Final = (
    _f("name", "line", "The person's or organisation's name.", required=True),
    _f("url", "url", "Their page."),
    _f("email", "email", "Contact address; published for the site's publisher only."),
)

IMAGE: Final = (
    _f("url", "url", "The image file.", required=True),
    _f("alt", "line", "Text alternative for people who cannot see it.", required=True),
    _f("type", "line", "Media type, e.g. image/jpeg (default: from the file extension)."),
)

PROGRAM: Final = (
    _f("title", "line", "The program's name.", required=True),
    _f("url", "url", "Its page."),
)

WITHDRAWAL: Final = (
    _f("date", "date", "When it was withdrawn.", required=True),
    _f("reason", "line", "Why, in a sentence shown to subscribers.", required=True),
)

# Every section, by the name docs/content.md uses for it.
SECTIONS: Final[dict[str, tuple[Field, ...]]] = {
    "site": SITE,
    "type": CONTENT_TYPE,
    "topic": TOPIC,
    "item": ITEM,
    "event": EVENT,
    "person": PERSON,
    "image": IMAGE,
    "program": PROGRAM,
    "withdrawal": WITHDRAWAL,
    "change": CHANGE,
}

# Top-level keys of a file: each may hold one definition or (plural) a list of them.
FILE_KEYS: Final = {
    "site": "site",
    "type": "type",
    "types": "type",
    "topic": "topic",
    "topics": "topic",
    "item": "item",
    "items": "item",
}

# What `syndicate new` writes where the editor must write something (a URL's path holds the
# hyphenated form): an item holding either is valid as a draft only.
PLACEHOLDER: Final = "REPLACE ME"
PLACEHOLDER_IN_URL: Final = "REPLACE-ME"

DEFAULT_FEED_SIZE: Final = 20
MAX_FEED_SIZE: Final = 500
