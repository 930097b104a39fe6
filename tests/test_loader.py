"""The loader: the sample loads, and every kind of mistake gives its exact located message."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from textwrap import dedent
from zoneinfo import ZoneInfo

import pytest

from syndicate.eventtext import where
from syndicate.loader import load_catalog
from syndicate.model import Catalog, Kind
from syndicate.problems import ContentError
from tests.conftest import MINIMAL, write_config

ITEM = dedent("""
    item:
      id: x
      type: voices
      title: X
      summary: S.
      url: https://example.org/x
      published: 2026-11-03
      topics: [health]
""")
EVENT = dedent("""
    item:
      id: x
      type: events
      title: X
      summary: S.
      url: https://example.org/x
      published: 2026-11-03
      topics: [health]
""")


def problems_for(config_dir: Path, files: dict[str, str]) -> list[str]:
    write_config(config_dir, files)
    with pytest.raises(ContentError) as caught:
        load_catalog(config_dir)
    return [str(p) for p in caught.value.problems]


# (case name, files to add or replace, exact messages expected)
BROKEN = [
    (
        "yaml syntax error",
        {"x.yaml": "item:\n  id: x\n  title: [unclosed\n"},
        [
            "cfg/x.yaml:3: YAML syntax error: the bracket opened on this line is not closed "
            "where it should be (or a ',' is missing between its values) (the parser said: "
            "while parsing a flow sequence did not find expected ',' or ']')"
        ],
    ),
    (
        "tab indentation",
        {"x.yaml": "item:\n\tid: x\n"},
        [
            "cfg/x.yaml:2: YAML syntax error: this line has a tab; YAML does not allow tabs for "
            "indentation, use spaces (the parser said: while scanning for the next token found "
            "character that cannot start any token)"
        ],
    ),
    (
        "list item not lined up",
        {"x.yaml": "items:\n  - id: a\n    title: x\n\n   - id: b\n"},
        [
            "cfg/x.yaml:5: YAML syntax error: this line is not lined up with the list that starts "
            "on line 2: every item of a list starts with '-' in the same column, and the keys of "
            "an item line up with the first key after its '-' (the parser said: while parsing a "
            "block collection did not find expected '-' indicator)"
        ],
    ),
    (
        "key indented less than its siblings",
        {"x.yaml": "item:\n  id: a\n  title: x\n# note\n summary: y\n"},
        [
            "cfg/x.yaml:5: YAML syntax error: this line is indented differently from the keys "
            "before it (the mapping starts on line 1): keys of one mapping start in the same "
            "column; indent with spaces only (the parser said: while parsing a block mapping did "
            "not find expected key)"
        ],
    ),
    (
        "key indented more than its siblings",
        {"x.yaml": "item:\n  id: a\n    title: x\n"},
        [
            "cfg/x.yaml:3: YAML syntax error: YAML reads a key here ('name: value'), but one "
            "cannot start here: this line is indented more than the key before it, or a value "
            "holds ': ' and needs quotes (the parser said: mapping values are not allowed in "
            "this context)"
        ],
    ),
    (
        "key without a colon",
        {"x.yaml": "item:\n  id: a\n  title x\n  url: y\n"},
        [
            "cfg/x.yaml:3: YAML syntax error: this key has no ':' after it (write 'key: value', "
            "with a space after the colon) (the parser said: while scanning a simple key could "
            "not find expected ':')"
        ],
    ),
    (
        "unclosed quote",
        {"x.yaml": 'item:\n  title: "abc\n  id: x\n'},
        [
            "cfg/x.yaml:2: YAML syntax error: the quote opened on this line is never closed "
            "(the parser said: while scanning a quoted scalar found unexpected end of stream)"
        ],
    ),
    (
        "unknown key, with a suggestion",
        {"x.yaml": ITEM + "  summery: typo\n"},
        ["cfg/x.yaml:9: item.summery: unknown key 'summery' (did you mean 'summary'?)"],
    ),
    (
        "unknown top-level key",
        {"x.yaml": "iterms: []\n"},
        [
            "cfg/x.yaml:1: iterms: unknown top-level key 'iterms' (did you mean 'items'?); a "
            "content file is a mapping with any of the keys site, type(s), topic(s), item(s); "
            "see docs/content.md"
        ],
    ),
    (
        "missing required field",
        {"x.yaml": ITEM.replace("  url: https://example.org/x\n", "")},
        ["cfg/x.yaml:2: item.url: required, but missing. The item's canonical page."],
    ),
    (
        "missing summary",
        {"x.yaml": ITEM.replace("  summary: S.\n", "")},
        ["cfg/x.yaml:2: item.summary: required, but missing: give 'summary' or 'summary_html'"],
    ),
    (
        # It was dropped without a word: an item missing from every feed, and check "valid".
        "empty summary",
        {"x.yaml": ITEM.replace("  summary: S.\n", '  summary: ""\n')},
        ["cfg/x.yaml:5: item.summary: must not be empty: give 'summary' or 'summary_html'"],
    ),
    (
        "summary and summary_html both",
        {"x.yaml": ITEM + "  summary_html: <p>S.</p>\n"},
        [
            "cfg/x.yaml:9: item.summary_html: give either 'summary' (plain text) or "
            "'summary_html', not both"
        ],
    ),
    (
        "wrong type: list for a line",
        {"x.yaml": ITEM.replace("title: X", "title: [X]")},
        ["cfg/x.yaml:4: item.title: expected one line of text, got a list"],
    ),
    (
        "wrong type: number for a line",
        {"x.yaml": ITEM.replace("title: X", "title: 1984")},
        [
            "cfg/x.yaml:4: item.title: expected one line of text, got the number 1984; put it in quotes"
        ],
    ),
    (
        "wrong type: yes for a line",
        {"x.yaml": ITEM + "  tags: [yes]\n"},
        [
            "cfg/x.yaml:9: item.tags[0]: expected one line of text, got true (YAML reads "
            "yes/no/on/off as true/false); put it in quotes"
        ],
    ),
    (
        "empty title",
        {"x.yaml": ITEM.replace("title: X", 'title: ""')},
        ["cfg/x.yaml:4: item.title: must not be empty"],
    ),
    (
        "blank title",
        {"x.yaml": ITEM.replace("title: X", 'title: "   "')},
        ["cfg/x.yaml:4: item.title: must not be empty"],
    ),
    (
        "duplicate item id, naming both places, on the one published later",
        {"x.yaml": ITEM.replace("id: x", "id: an-essay")},
        [
            "cfg/x.yaml:2: item.id: duplicate item id 'an-essay': cfg/items.yaml:10 holds it "
            "too, published earlier; give this item an id of its own (readers know an item by "
            "its id: never change the one they have)"
        ],
    ),
    (
        # The copy is dated earlier: by the dates, the item in items.yaml is the copy.
        "duplicate item id, the other published later",
        {"x.yaml": ITEM.replace("id: x", "id: an-essay").replace("2026-11-03", "2026-10-01")},
        [
            "cfg/items.yaml:10: items[1].id: duplicate item id 'an-essay': cfg/x.yaml:2 holds "
            "it too, published earlier; give this item an id of its own (readers know an item "
            "by its id: never change the one they have)"
        ],
    ),
    (
        "duplicate item id, dated alike: on the later in file order",
        {"x.yaml": ITEM.replace("id: x", "id: an-essay").replace("2026-11-03", "2026-11-02T10:00")},
        [
            "cfg/x.yaml:2: item.id: duplicate item id 'an-essay': cfg/items.yaml:10 holds it "
            "too; give this item an id of its own (readers know an item by its id: never "
            "change the one they have)"
        ],
    ),
    (
        # YAML reads this as an empty item and seven top-level keys: one message, not eight.
        "keys not indented under item:",
        {"x.yaml": "item:\n" + "\n".join(line.strip() for line in ITEM.splitlines()[2:]) + "\n"},
        [
            "cfg/x.yaml:2: item: id, type, title, summary, url, published, topics (lines 2-8) "
            "belong to 'item:' on line 1 but are not indented under it: indent them by two "
            "spaces, like the keys of the other definitions. They are checked as if they were."
        ],
    ),
    (
        "one key not indented, in a list",
        {
            "x.yaml": "items:\n"
            + "\n".join("  " + line.replace("  id:", "- id:") for line in ITEM.splitlines()[2:-1])
            + "\ntopics: [health]\n"
        },
        [
            "cfg/x.yaml:8: items: topics (line 8) belongs to 'items:' on line 1 but is not "
            "indented under it: line it up with the first key after the '-' above it. It is "
            "checked as if it was."
        ],
    ),
    (
        "duplicate topic slug",
        {"more-topics.yaml": "topic: {slug: health, title: Health again}\n"},
        [
            "cfg/topics.yaml:2: topics[0].slug: duplicate topic slug 'health', first defined at "
            "cfg/more-topics.yaml:1; every topic needs its own slug"
        ],
    ),
    (
        "unknown topic",
        {"x.yaml": ITEM.replace("[health]", "[helth]")},
        [
            "cfg/x.yaml:8: item.topics: unknown topic 'helth' (did you mean 'health'?); "
            "defined topics: health, justice"
        ],
    ),
    (
        "no topics",
        {"x.yaml": ITEM.replace("[health]", "[]")},
        ["cfg/x.yaml:8: item.topics: list at least one topic"],
    ),
    (
        "unknown type",
        {"x.yaml": ITEM.replace("type: voices", "type: voice")},
        [
            "cfg/x.yaml:3: item.type: unknown type 'voice' (did you mean 'voices'?); defined "
            "types: events, voices"
        ],
    ),
    (
        "relative URL",
        {"x.yaml": ITEM.replace("https://example.org/x", "/x")},
        ["cfg/x.yaml:6: item.url: '/x' is not an absolute http(s) URL; write it as https://..."],
    ),
    (
        "javascript URL",
        {"x.yaml": ITEM.replace("https://example.org/x", "javascript:alert(1)")},
        [
            "cfg/x.yaml:6: item.url: 'javascript:alert(1)' is not an absolute http(s) URL; "
            "write it as https://..."
        ],
    ),
    (
        "date that does not parse",
        {"x.yaml": ITEM.replace("2026-11-03", "next tuesday")},
        [
            "cfg/x.yaml:7: item.published: 'next tuesday' is not a date; write it as "
            "'2026-12-10', '2026-12-10T18:30' or '2026-12-10T18:30:00-05:00'"
        ],
    ),
    (
        "impossible date",
        {"x.yaml": ITEM.replace("2026-11-03", "2026-02-30")},
        [
            "cfg/x.yaml:7: item.published: '2026-02-30' is not a real date (day is out of range for month)"
        ],
    ),
    (
        "date without a year",
        {"x.yaml": ITEM.replace("2026-11-03", "December 10")},
        [
            "cfg/x.yaml:7: item.published: 'December 10' is missing the year, month or day; "
            "write a full date such as '2026-12-10' or '2026-12-10T18:30'"
        ],
    ),
    (
        "ambiguous zone abbreviation",
        {"x.yaml": ITEM.replace("2026-11-03", "2026-11-03 10:00 XYZ")},
        [
            "cfg/x.yaml:7: item.published: '2026-11-03 10:00 XYZ' names a time zone by "
            "abbreviation, which is ambiguous; write an offset such as '-05:00', or leave the "
            "zone out and set 'timezone'"
        ],
    ),
    (
        "updated before published",
        {"x.yaml": ITEM + "  updated: 2026-11-01\n"},
        ["cfg/x.yaml:9: item.updated: is before 'published'"],
    ),
    (
        "event ends before it starts",
        {"x.yaml": EVENT + "  start: 2026-12-10T18:00\n  end: 2026-12-10T17:00\n"},
        ["cfg/x.yaml:10: item.end: the event ends before it starts"],
    ),
    (
        "event without start",
        {"x.yaml": EVENT},
        [
            "cfg/x.yaml:2: item.start: required, but missing. When it starts; a date alone means an all-day event."
        ],
    ),
    (
        "unknown time zone",
        {"x.yaml": EVENT + "  start: 2026-12-10T18:00\n  timezone: Europe/Londres\n"},
        [
            "cfg/x.yaml:10: item.timezone: unknown time zone 'Europe/Londres'; use an IANA name "
            "such as 'Europe/Berlin' or 'America/New_York'"
        ],
    ),
    (
        "a time zone name zoneinfo would read as a path too long to open",
        {"site.yaml": MINIMAL["site.yaml"].replace("America/New_York", "a" * 400)},
        [
            f"cfg/site.yaml:6: site.timezone: unknown time zone '{'a' * 60}…'; use an IANA "
            "name such as 'Europe/Berlin' or 'America/New_York'"
        ],
    ),
    (
        "a time zone name that is a folder of the zone database",
        {"x.yaml": EVENT + "  start: 2026-12-10T18:00\n  timezone: America\n"},
        [
            "cfg/x.yaml:10: item.timezone: unknown time zone 'America'; use an IANA name "
            "such as 'Europe/Berlin' or 'America/New_York'"
        ],
    ),
    (
        "event field on an article",
        {"x.yaml": ITEM + "  start: 2026-12-10T18:00\n"},
        [
            "cfg/x.yaml:9: item.start: 'start' is only for items of an event type; 'voices' is "
            "an article type"
        ],
    ),
    (
        "all-day flag with a time",
        {"x.yaml": EVENT + "  start: 2026-12-10T18:00\n  all_day: true\n"},
        ["cfg/x.yaml:9: item.start: all_day events take a date without a time, e.g. '2026-12-10'"],
    ),
    (
        "start with time, end without",
        {"x.yaml": EVENT + "  start: 2026-12-10T18:00\n  end: 2026-12-11\n"},
        ["cfg/x.yaml:10: item.end: give both start and end with a time, or both as dates only"],
    ),
    (
        "withdrawn before published",
        {"x.yaml": ITEM + "  withdrawn: {date: 2026-01-01, reason: Oops.}\n"},
        ["cfg/x.yaml:9: item.withdrawn.date: is before 'published'"],
    ),
    (
        "withdrawn without reason",
        {"x.yaml": ITEM + "  withdrawn: {date: 2026-12-01}\n"},
        [
            "cfg/x.yaml:9: item.withdrawn.reason: required, but missing. Why, in a sentence shown to subscribers."
        ],
    ),
    (
        "bad slug",
        {"x.yaml": ITEM.replace("id: x", "id: Not A Slug")},
        [
            "cfg/x.yaml:2: item.id: 'Not A Slug' is not a slug: use lower-case letters, digits "
            "and hyphens (at most 100), starting with a letter or digit"
        ],
    ),
    (
        "bad language",
        {"x.yaml": ITEM + "  language: english please\n"},
        [
            "cfg/x.yaml:9: item.language: 'english please' is not a language tag; write e.g. 'en', 'en-US' or 'ar'"
        ],
    ),
    (
        "image without alt",
        {"x.yaml": ITEM + "  image: {url: https://example.org/a.jpg}\n"},
        [
            "cfg/x.yaml:9: item.image.alt: required, but missing. Text alternative for people who cannot see it."
        ],
    ),
    (
        "image of unknown type",
        {"x.yaml": ITEM + "  image: {url: https://example.org/a, alt: A}\n"},
        [
            "cfg/x.yaml:9: item.image.type: cannot tell the image's media type from its URL; add "
            "'type: image/jpeg' (or image/png, image/webp...)"
        ],
    ),
    (
        "html with nothing left",
        {"x.yaml": ITEM.replace("summary: S.", "summary_html: <script>alert(1)</script>")},
        ["cfg/x.yaml:5: item.summary_html: has no text left once unsafe HTML is removed"],
    ),
    (
        "duplicate key in a mapping",
        {"x.yaml": ITEM + "  title: Y\n"},
        ["cfg/x.yaml:9: title: duplicate key (first given on line 4); keep one"],
    ),
    (
        "item is not a mapping",
        {"x.yaml": "items:\n  - just a string\n"},
        ["cfg/x.yaml:2: items[0]: expected a mapping of keys, got a text"],
    ),
    (
        "file is a list",
        {"x.yaml": "- a\n- b\n"},
        [
            "cfg/x.yaml:1: a content file is a mapping with any of the keys site, type(s), "
            "topic(s), item(s); see docs/content.md"
        ],
    ),
    (
        "reserved type slug",
        {"more-types.yaml": "type: {slug: feeds, kind: article, title: F, singular: F}\n"},
        [
            "cfg/more-types.yaml:1: type.slug: 'feeds' is reserved: its feeds would collide with "
            "/feeds.opml, /feeds-rss.opml, /feeds-json.opml and /feeds.json; choose another slug"
        ],
    ),
    (
        "unknown kind",
        {"more-types.yaml": "type: {slug: pubs, kind: artcle, title: P, singular: P}\n"},
        [
            "cfg/more-types.yaml:1: type.kind: unknown kind 'artcle' (did you mean 'article'?); kinds: event, article"
        ],
    ),
    (
        "site twice",
        {"zz-site.yaml": "site: {title: Again}\n"},
        ["cfg/zz-site.yaml:1: site: site is defined twice, first at cfg/site.yaml:2"],
    ),
    (
        "feed size out of range",
        {"site.yaml": MINIMAL["site.yaml"] + "  feed_size: 0\n"},
        ["cfg/site.yaml:10: site.feed_size: must be from 1 to 500"],
    ),
    (
        "bad tag authority",
        {
            "site.yaml": MINIMAL["site.yaml"].replace(
                "tag_authority: example.org", "tag_authority: not a domain"
            )
        },
        [
            "cfg/site.yaml:8: site.tag_authority: 'not a domain' is not a domain name or e-mail address (RFC 4151 tag authority)"
        ],
    ),
    (
        "url with an unbalanced bracket",
        {"x.yaml": ITEM.replace("https://example.org/x", '"https://[::1/x"')},
        ["cfg/x.yaml:6: item.url: 'https://[::1/x' is not a valid URL (Invalid IPv6 URL)"],
    ),
    (
        "url with an IPv6 host (a URI feed validators refuse)",
        {"x.yaml": ITEM.replace("https://example.org/x", '"https://[::1]/"')},
        [
            "cfg/x.yaml:6: item.url: 'https://[::1]/' names its host by an IP address in "
            "brackets, which feed validators and many readers refuse (RFC 2396 has no "
            "brackets); use a host name"
        ],
    ),
    (
        "url with an IPvFuture host",
        {"x.yaml": ITEM.replace("https://example.org/x", '"http://[v1.x]/"')},
        [
            "cfg/x.yaml:6: item.url: 'http://[v1.x]/' names its host by an IP address in "
            "brackets, which feed validators and many readers refuse (RFC 2396 has no "
            "brackets); use a host name"
        ],
    ),
    (
        "url with a quote in its host",
        {"x.yaml": ITEM.replace("https://example.org/x", "'https://exa\"mple.org/'")},
        ["cfg/x.yaml:6: item.url: 'https://exa\"mple.org/' has characters a host name cannot have"],
    ),
    (
        "url with a bad port",
        {"x.yaml": ITEM.replace("https://example.org/x", "https://example.org:99999/x")},
        [
            "cfg/x.yaml:6: item.url: 'https://example.org:99999/x' is not a valid URL "
            "(Port out of range 0-65535)"
        ],
    ),
    (
        "flow mappings nested too deep",
        {"x.yaml": "item: " + "{a: " * 500 + "1" + "}" * 500 + "\n"},
        [
            "cfg/x.yaml:1: lists and mappings are nested more than 50 levels deep here; "
            "check the brackets and indentation"
        ],
    ),
    (
        "block mappings nested too deep",
        {"x.yaml": "".join("  " * i + "a:\n" for i in range(600))},
        [
            "cfg/x.yaml:51: lists and mappings are nested more than 50 levels deep here; "
            "check the brackets and indentation"
        ],
    ),
    (
        "title over the one-line limit",
        {"x.yaml": ITEM.replace("title: X", "title: " + "x" * 301)},
        [
            "cfg/x.yaml:4: item.title: is 301 characters long, over the limit of 300 for one "
            "line; shorten it"
        ],
    ),
    (
        "publisher name over the one-line limit",
        {
            "site.yaml": MINIMAL["site.yaml"].replace(
                "{name: Example Foundation}", "{name: " + "n" * 400 + "}"
            )
        },
        [
            "cfg/site.yaml:7: site.publisher.name: is 400 characters long, over the limit of "
            "300 for one line; shorten it"
        ],
    ),
    (
        "summary over the text limit",
        {"x.yaml": ITEM.replace("summary: S.", "summary: " + "s " * 60_000)},
        [
            "cfg/x.yaml:5: item.summary: is 119,999 characters long, over the limit of 100,000 "
            "for a text; shorten it"
        ],
    ),
    (
        "e-mail address with a control character",
        {
            "site.yaml": MINIMAL["site.yaml"].replace(
                "{name: Example Foundation}", '{name: E, email: "a\\x01@example.org"}'
            )
        },
        ["cfg/site.yaml:7: site.publisher.email: 'a\\x01@example.org' is not an e-mail address"],
    ),
]


@pytest.mark.parametrize(("files", "expected"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_broken_content_gives_exact_located_messages(config_dir, files, expected):
    assert problems_for(config_dir, files) == expected


def test_every_problem_is_reported_at_once(config_dir):
    files = {
        "x.yaml": ITEM.replace("title: X", 'title: ""').replace("[health]", "[nope]"),
        "y.yaml": "item: {id: y}\n",
        "z.yaml": "broken: [\n",
    }
    messages = problems_for(config_dir, files)
    assert len(messages) >= 8
    assert {m.split(":")[0] for m in messages} == {"cfg/x.yaml", "cfg/y.yaml", "cfg/z.yaml"}


def test_missing_site_is_reported(config_dir):
    (config_dir / "site.yaml").unlink()
    assert problems_for(config_dir, {}) == [
        "cfg: site: no site definition; add a file with 'site:'"
    ]


def test_empty_folder_is_reported(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("cfg").mkdir()
    with pytest.raises(ContentError) as caught:
        load_catalog(Path("cfg"))
    assert [str(p) for p in caught.value.problems] == [
        "cfg: no .yaml files found; a content file is a mapping with any of the keys site, "
        "type(s), topic(s), item(s); see docs/content.md",
        "cfg: site: no site definition; add a file with 'site:'",
    ]


def test_oversized_file_is_refused(config_dir):
    big = "# " + "x" * (1024 * 1024) + "\n"
    assert problems_for(config_dir, {"big.yaml": big}) == [
        f"cfg/big.yaml: file is {len(big)} bytes, over the 1048576-byte limit per file; "
        "split it into several files"
    ]


def test_symlink_out_of_the_folder_is_not_followed(config_dir, tmp_path):
    outside = tmp_path / "outside.yaml"
    outside.write_text(ITEM, encoding="utf-8")
    (config_dir / "link.yaml").symlink_to(outside)
    assert problems_for(config_dir, {}) == [
        "cfg/link.yaml: symbolic link points outside the config folder, so it is not read; "
        "copy the file into the folder instead"
    ]


def test_symlink_inside_the_folder_is_followed_once(config_dir):
    write_config(config_dir, {"real/x.yaml": ITEM})
    (config_dir / "alias").symlink_to(config_dir.resolve() / "real")
    assert [i.id for i in load_catalog(config_dir).items if i.id == "x"] == ["x"]


def test_alias_bomb_is_refused(config_dir):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [
        f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]"
        for i in range(1, 9)
    ]
    messages = problems_for(config_dir, {"bomb.yaml": "\n".join(lines) + "\n"})
    assert messages == [
        "cfg/bomb.yaml:6: more than 200000 values once aliases are expanded; avoid deeply nested aliases"
    ]


def test_python_tags_are_refused(config_dir):
    messages = problems_for(
        config_dir, {"x.yaml": "item: !!python/object/apply:os.system [echo hi]\n"}
    )
    assert messages == [
        "cfg/x.yaml:1: the tag 'tag:yaml.org,2002:python/object/apply:os.system' "
        "is not allowed; write plain YAML"
    ]


def test_python_tags_on_scalars_are_refused(config_dir):
    messages = problems_for(config_dir, {"x.yaml": "item: !!python/name:os.system x\n"})
    assert len(messages) == 1
    assert messages == [
        "cfg/x.yaml:1: the tag 'tag:yaml.org,2002:python/name:os.system' is not allowed; write plain YAML"
    ]


def test_hidden_and_non_yaml_files_are_ignored(config_dir):
    write_config(config_dir, {".swap.yaml": "broken: [\n", "notes.txt": "broken: [\n"})
    assert len(load_catalog(config_dir).items) == 2


SEED = Path(__file__).parent / "fixtures/seed/harm-reduction-topic-page.txt"


def seed_works() -> list[tuple[str, str, str]]:
    """(type, title, summary) of each work under "Recent Work" on the seed page."""
    lines = [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines[lines.index("Recent Work") + 1 :] if line]
    kinds = {"Event": "events", "Voices": "voices"}
    return [
        (kinds[lines[i]], lines[i + 1], lines[i + 2])
        for i in range(len(lines) - 2)
        if lines[i] in kinds
    ]


# The editors' sample is theirs to change: it is only checked for being valid and for still
# holding the seed page's topic and works, as written there.


def test_sample_is_valid(sample: Catalog):
    assert sample.items


def test_sample_has_every_work_of_the_seed_page_as_written(sample: Catalog):
    works = seed_works()
    assert len(works) == 6
    shown = {
        (i.type, i.title, i.summary.plain)
        for i in sample.by_topic["harm-reduction"]
        if not i.withdrawn
    }
    assert set(works) <= shown


def test_sample_topic_is_the_seed_pages(sample: Catalog):
    text = " ".join(SEED.read_text(encoding="utf-8").split())
    topic = sample.topics["harm-reduction"]
    assert topic.title == "Harm Reduction" and topic.description in text
    assert f"our work in {topic.area}." in text


def test_test_content_covers_the_event_cases(content: Catalog):
    events = [i.event for i in content.by_type["events"] if i.event]
    assert any(e.start > datetime(2026, 12, 31, tzinfo=ZoneInfo("UTC")) for e in events)
    assert any(where(e) == "Online" for e in events)
    assert any(e.timezone != content.site.timezone for e in events)
    assert any(e.all_day for e in events)
    assert any(len(i.topics) > 1 for i in content.items)


def test_items_are_newest_first_ties_by_id_descending(config_dir):
    same_time = ITEM.replace("published: 2026-11-03", "published: 2026-11-02T10:00")
    write_config(
        config_dir,
        {
            "b.yaml": same_time.replace("id: x", "id: b-item"),
            "a.yaml": same_time.replace("id: x", "id: a-item"),
        },
    )
    ids = [item.id for item in load_catalog(config_dir).items]
    # (publication, id) descending: archive pages take the exact reverse (test_ordering.py)
    assert ids == ["b-item", "an-essay", "a-item", "a-talk"]


def test_a_third_type_needs_only_yaml(config_dir):
    write_config(
        config_dir,
        {
            "pubs.yaml": "type: {slug: publications, kind: article, title: Publications, singular: Publication}\n",
            "x.yaml": ITEM.replace("type: voices", "type: publications"),
        },
    )
    catalog = load_catalog(config_dir)
    assert catalog.types["publications"].kind is Kind.ARTICLE
    assert [i.id for i in catalog.by_type["publications"]] == ["x"]


def test_dates_without_zone_take_the_site_zone(config_dir):
    catalog = load_catalog(config_dir)
    essay = next(i for i in catalog.items if i.id == "an-essay")
    assert essay.published == datetime(2026, 11, 2, 10, 0, tzinfo=ZoneInfo("America/New_York"))


def test_event_dates_take_the_event_zone(config_dir):
    write_config(
        config_dir, {"x.yaml": EVENT + "  start: 2026-12-10T18:00\n  timezone: Europe/London\n"}
    )
    item = next(i for i in load_catalog(config_dir).items if i.id == "x")
    assert item.event is not None
    assert item.event.start.utcoffset().total_seconds() == 0
    assert item.event.timezone == "Europe/London"


def test_a_date_alone_makes_an_all_day_event(config_dir):
    write_config(config_dir, {"x.yaml": EVENT + "  start: 2026-12-10\n  end: 2026-12-11\n"})
    event = next(i for i in load_catalog(config_dir).items if i.id == "x").event
    assert event is not None and event.all_day


def test_html_summary_is_sanitized_once_at_load(config_dir):
    html = (
        '<p onclick="x()">Hi <a href="/more">more</a> <a href="javascript:alert(1)">bad</a>'
        "<script>alert(1)</script><iframe src=x></iframe></p>"
    )
    write_config(config_dir, {"x.yaml": ITEM.replace("summary: S.", f"summary_html: '{html}'")})
    item = next(i for i in load_catalog(config_dir).items if i.id == "x")
    assert item.summary.html == (
        '<p>Hi <a href="https://example.org/more" rel="noopener">more</a> '
        '<a rel="noopener">bad</a></p>'
    )
    assert item.summary.plain == "Hi more bad"


def test_control_characters_are_removed_from_text(config_dir):
    write_config(config_dir, {"x.yaml": ITEM.replace("title: X", 'title: "A\\x01B\\x0bC\\u0085D"')})
    item = next(i for i in load_catalog(config_dir).items if i.id == "x")
    assert item.title == "ABCD"


def test_catalog_is_immutable(sample: Catalog):
    with pytest.raises(AttributeError):
        sample.site.title = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        sample.by_type["events"] = ()  # type: ignore[index]


def test_merge_keys_fill_in_and_never_override(config_dir):
    write_config(
        config_dir,
        {
            "shared.yaml": "items:\n"
            "  - &base {id: x, type: voices, title: X, summary: Base., url: 'https://example.org/x',"
            " published: 2026-11-03, topics: [health]}\n"
            "  - <<: *base\n"
            "    id: y\n"
            "    summary: Own.\n",
        },
    )
    items = {i.id: i for i in load_catalog(config_dir).items}
    assert items["y"].title == "X"
    assert items["y"].summary.plain == "Own."
    assert items["x"].summary.plain == "Base."


def test_undefined_alias_is_reported(config_dir):
    assert problems_for(config_dir, {"x.yaml": "item: *nowhere\n"})[0].startswith("cfg/x.yaml:1: ")


def test_two_documents_in_one_file_are_refused(config_dir):
    messages = problems_for(config_dir, {"x.yaml": "item: {id: a}\n---\nitem: {id: b}\n"})
    assert messages == [
        "cfg/x.yaml:2: YAML syntax error: expected a single document in the file but found another "
        "document (---); use one file per document"
    ]


def test_an_unreadable_file_is_a_located_problem(config_dir, monkeypatch):
    from pathlib import Path as RealPath

    write_config(config_dir, {"secret.yaml": ITEM})
    real_read = RealPath.read_bytes

    def refuse(self):
        if self.name == "secret.yaml":
            raise PermissionError(13, "Permission denied")
        return real_read(self)

    monkeypatch.setattr(RealPath, "read_bytes", refuse)
    assert problems_for(config_dir, {}) == [
        "cfg/secret.yaml: cannot read the file: Permission denied"
    ]


def test_a_file_that_is_not_utf8_is_a_located_problem(config_dir):
    text = "# Saved by an old editor.\nitem: {title: 'Caf\xe9'}\n"  # é: column 19 of line 2
    (config_dir / "latin1.yaml").write_bytes(text.encode("latin-1"))
    assert problems_for(config_dir, {}) == [
        "cfg/latin1.yaml:2: column 19: the file is not UTF-8 (invalid continuation byte: "
        "byte 0xe9); save it as UTF-8 (most editors: Save with Encoding, UTF-8)"
    ]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("https://example.org/]]%3E", "https://example.org/%5D%5D%3E"),
        ("https://example.org/a[b]?q=[1]#x]", "https://example.org/a%5Bb%5D?q=%5B1%5D#x%5D"),
        ("https://[::1]:8080/x", None),  # validators refuse brackets (RFC 2396)
        ("https://example.org/caf\u00e9 <b>", None),  # a space: refused, not guessed
        ('https://example.org/caf\u00e9/"q"', "https://example.org/caf%C3%A9/%22q%22"),
        ("https://b\u00fccher.example/x?a=1&b=%20", "https://xn--bcher-kva.example/x?a=1&b=%20"),
    ],
)
def test_urls_are_written_with_only_the_characters_validators_allow(config_dir, written, expected):
    write_config(config_dir, {"x.yaml": ITEM.replace("https://example.org/x", f"'{written}'")})
    if expected is None:
        with pytest.raises(ContentError):
            load_catalog(config_dir)
        return
    item = next(i for i in load_catalog(config_dir).items if i.id == "x")
    assert item.url == expected


def test_a_defect_in_item_validation_is_a_located_problem_not_a_crash(config_dir, monkeypatch):
    from syndicate import items

    def broken(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(items.ItemBuilder, "_withdrawal", broken)
    messages = problems_for(config_dir, {})
    assert messages[0].startswith("cfg/items.yaml:2: items[0]: syndicate could not read this")
    assert "RuntimeError: boom" in messages[0] and len(messages) == 2


def test_topics_and_types_are_listed_by_their_order_then_as_defined(config_dir):
    write_config(
        config_dir,
        {
            "a-topic-mental-health.yaml": "topic: {slug: mental-health, title: Mental Health, order: 30}\n",
            "topics.yaml": "topics:\n  - {slug: health, title: Health, order: 20}\n"
            "  - {slug: justice, title: Justice, order: 10}\n  - {slug: later, title: Later, order: 30}\n",
            "types.yaml": MINIMAL["types.yaml"]
            + "  - {slug: notes, kind: article, title: N, singular: N, order: -1}\n",
        },
    )
    catalog = load_catalog(config_dir)
    assert list(catalog.topics) == ["justice", "health", "mental-health", "later"]
    assert list(catalog.types) == ["notes", "events", "voices"]


def test_a_change_date_is_read_in_the_sites_zone_whatever_the_events(config_dir):
    """As documented (docs/content.md, "Dates"): only start and end are in the event's zone.
    Read in Los Angeles, 12:00 would be 20:00 UTC, after `now`: a false "in the future"."""
    event = EVENT + (
        "  start: 2026-12-10T18:30\n  timezone: America/Los_Angeles\n  status: postponed\n"
        "  changes:\n    - date: 2026-11-25T12:00\n      note: Postponed.\n"
    )
    write_config(config_dir, {"x.yaml": event})
    now = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)  # 13:00 in New York, the site's zone
    (item,) = [i for i in load_catalog(config_dir, now).items if i.id == "x"]
    assert item.event is not None
    assert item.event.changes[0].date == datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
