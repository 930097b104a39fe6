"""Every sample feed in every format: valid by its spec, parsed by real parsers, with the
structure a reader relies on (ids, order, dates, links, categories, events, withdrawals)."""

from __future__ import annotations

import json
from email.utils import parsedate_to_datetime

import pytest
from lxml import etree

from syndicate import urls
from syndicate.feeds import all_feed_keys, feed_view
from syndicate.loader import load_catalog
from syndicate.render import FORMATS
from syndicate.urls import FeedKey
from tests.conftest import CONTENT
from tests.feedcheck import ATOM, CHECKS

CATALOG = load_catalog(CONTENT)
EV = "{http://purl.org/rss/1.0/modules/event/}"
AT = "{http://purl.org/atompub/tombstones/1.0}"
CASES = [
    (key, name)
    for key in all_feed_keys(CATALOG)
    for name, fmt in FORMATS.items()
    if fmt.applies_to(key, CATALOG)
]
FEED_FORMATS = [name for name, fmt in FORMATS.items() if fmt.is_feed]


def render(key: FeedKey, name: str) -> bytes:
    return FORMATS[name].render(feed_view(CATALOG, key))


@pytest.mark.parametrize(("key", "name"), CASES, ids=[f"{urls.feed_path(k, n)}" for k, n in CASES])
def test_every_sample_feed_is_valid(key, name):
    CHECKS[name](render(key, name))


EVERYTHING = FeedKey()


def atom(key: FeedKey = EVERYTHING) -> etree._Element:
    return CHECKS["atom"](render(key, "atom"))


def rss(key: FeedKey = EVERYTHING) -> etree._Element:
    return CHECKS["rss"](render(key, "rss"))


def json_feed(key: FeedKey = EVERYTHING) -> dict:
    return CHECKS["json"](render(key, "json"))


def test_atom_ids_are_tag_uris_from_the_item_id():
    ids = [e.findtext(f"{ATOM}id") for e in atom().findall(f"{ATOM}entry")]
    assert "tag:opensocietyfoundations.org,2026:item/how-drug-courts-are-falling-short" in ids
    assert all(i.startswith("tag:opensocietyfoundations.org,2026:item/") for i in ids)


def test_rss_guids_are_the_same_tag_uris_and_not_permalinks():
    items = rss().findall("item")
    assert [i.findtext("guid") for i in items] == [
        e.findtext(f"{ATOM}id") for e in atom().findall(f"{ATOM}entry")
    ]
    assert {i.find("guid").get("isPermaLink") for i in items} == {"false"}


def test_json_ids_match_atom_ids():
    assert [i["id"] for i in json_feed()["items"]] == [
        e.findtext(f"{ATOM}id") for e in atom().findall(f"{ATOM}entry")
    ]


def test_entries_are_newest_first_in_every_format():
    published = [e.findtext(f"{ATOM}published") for e in atom().findall(f"{ATOM}entry")]
    from datetime import datetime

    stamps = [datetime.fromisoformat(p) for p in published]
    assert stamps == sorted(stamps, reverse=True)
    rss_dates = [parsedate_to_datetime(i.findtext("pubDate")) for i in rss().findall("item")]
    assert rss_dates == stamps


def test_feed_updated_is_the_newest_change_among_entries_and_tombstones():
    root = atom(FeedKey("harm-reduction", "events"))
    changes = [e.findtext(f"{ATOM}updated") for e in root.findall(f"{ATOM}entry")]
    changes += [d.get("when") for d in root.findall(f"{AT}deleted-entry")]
    from datetime import datetime

    newest = max(changes, key=datetime.fromisoformat)
    assert root.findtext(f"{ATOM}updated") == newest == "2026-11-25T08:00:00-05:00"


def test_rss_dates_are_in_gmt_whatever_the_offset_they_were_written_with(tmp_path):
    from tests.conftest import MINIMAL, write_config

    items = MINIMAL["items.yaml"].replace(
        "published: 2026-11-02T10:00", "published: 2026-11-02T10:00+05:45"
    )
    catalog = load_catalog(write_config(tmp_path, {**MINIMAL, "items.yaml": items}))
    channel = CHECKS["rss"](FORMATS["rss"].render(feed_view(catalog, FeedKey("justice"))))
    assert channel.findtext("item/pubDate") == "Mon, 02 Nov 2026 04:15:00 GMT"
    assert channel.findtext("lastBuildDate") == "Mon, 02 Nov 2026 04:15:00 GMT"


def test_rss_last_build_date_equals_atom_updated():
    from datetime import datetime

    updated = datetime.fromisoformat(atom().findtext(f"{ATOM}updated"))
    assert parsedate_to_datetime(rss().findtext("lastBuildDate")) == updated


@pytest.mark.parametrize("name", ["atom", "rss", "json"])
def test_self_link_is_the_feeds_own_url(name):
    key = FeedKey("harm-reduction", "events")
    expected = f"https://feeds.example.org/topics/harm-reduction/events.{FORMATS[name].extension}"
    body = render(key, name)
    if name in ("atom", "rss"):
        links = [
            link.get("href")
            for link in CHECKS[name](body).findall(f"{ATOM}link")
            if link.get("rel") == "self"
        ]
    else:
        links = [json.loads(body)["feed_url"]]
    assert links == [expected]


def test_alternate_link_is_the_topic_page():
    root = atom(FeedKey("harm-reduction"))
    alternates = [
        link.get("href") for link in root.findall(f"{ATOM}link") if link.get("rel") == "alternate"
    ]
    assert alternates == ["https://www.opensocietyfoundations.org/topics/harm-reduction"]
    assert rss(FeedKey("harm-reduction")).findtext("link") == alternates[0]


def test_categories_carry_topics_type_and_tags_with_schemes():
    entry = next(
        e
        for e in atom().findall(f"{ATOM}entry")
        if e.findtext(f"{ATOM}id").endswith("/how-drug-courts-are-falling-short")
    )
    categories = {
        (c.get("scheme").rsplit(":", 1)[1], c.get("term"), c.get("label"))
        for c in entry.findall(f"{ATOM}category")
    }
    assert categories == {
        ("topics", "harm-reduction", "Harm Reduction"),
        ("topics", "drug-policy", "Drug Policy"),
        ("types", "voices", "Voices"),
        ("tags", "drug courts", "drug courts"),
        ("tags", "human rights", "human rights"),
    }


def test_rss_categories_have_domains():
    for item in rss().findall("item"):
        assert all(c.get("domain", "").startswith("tag:") for c in item.findall("category"))


def test_authors_are_carried():
    entry = next(
        e
        for e in atom().findall(f"{ATOM}entry")
        if e.findtext(f"{ATOM}title") == "How Drug Courts Are Falling Short"
    )
    assert entry.findtext(f"{ATOM}author/{ATOM}name") == "Maria Alvarez"
    item = next(
        i
        for i in rss().findall("item")
        if i.findtext("title") == "How Drug Courts Are Falling Short"
    )
    assert item.findtext("{http://purl.org/dc/elements/1.1/}creator") == "Maria Alvarez"
    assert atom().findtext(f"{ATOM}author/{ATOM}name") == "Open Society Foundations"


def test_event_entries_say_when_and_where_in_the_text():
    entry = next(
        e
        for e in atom().findall(f"{ATOM}entry")
        if "Talking About Race" in e.findtext(f"{ATOM}title")
    )
    summary = entry.findtext(f"{ATOM}summary")
    assert "Thu 10 December 2026, 13:00–14:30 EST" in summary
    assert "Online" in summary


def test_event_fields_are_machine_readable_in_atom_and_rss():
    for element in (
        atom(FeedKey(type="events")).findall(f"{ATOM}entry"),
        rss(FeedKey(type="events")).findall("item"),
    ):
        by_start = {e.findtext(f"{EV}startdate"): e for e in element}
        london = by_start["2027-01-14T18:30:00+00:00"]
        assert london.findtext(f"{EV}enddate") == "2027-01-14T21:00:00+00:00"
        assert "London" in london.findtext(f"{EV}location")
        assert by_start["2027-03-15"].findtext(f"{EV}enddate") == "2027-03-17"  # all-day: dates
        assert by_start["2026-12-10T13:00:00-05:00"].findtext(f"{EV}location") == "Online"


def test_json_feed_event_extension():
    items = {i["title"]: i for i in json_feed(FeedKey(type="events"))["items"]}
    online = items["Talking About Race: Harm Reduction and Communities of Color"]["_event"]
    assert online["start"] == "2026-12-10T13:00:00-05:00"
    assert online["timezone"] == "America/New_York"
    assert online["all_day"] is False
    assert online["online_url"].endswith("/live")
    assert online["registration_url"].endswith("/register")
    assert online["location"] == {"text": "Online"}
    conference = items["International Drug Policy Reform Conference 2027"]["_event"]
    assert (conference["start"], conference["end"], conference["all_day"]) == (
        "2027-03-15",
        "2027-03-17",
        True,
    )
    assert conference["location"]["city"] == "Lisbon"


def test_withdrawn_item_is_announced_in_atom_with_its_reason():
    root = atom(FeedKey("harm-reduction"))
    deleted = root.findall(f"{AT}deleted-entry")
    assert [d.get("ref") for d in deleted] == [
        "tag:opensocietyfoundations.org,2026:item/addiction-now-safe-injection-facilities",
        "tag:opensocietyfoundations.org,2026:item/drug-checking-services-explained",
    ]
    assert [d.get("when") for d in deleted] == [
        "2026-11-25T08:00:00-05:00",
        "2026-11-22T15:00:00-05:00",
    ]
    assert "author's request" in deleted[1].findtext(f"{AT}comment")
    assert all("drug-checking" not in e.findtext(f"{ATOM}id") for e in root.findall(f"{ATOM}entry"))


def test_withdrawn_item_is_announced_in_json_and_absent_from_rss():
    feed = json_feed(FeedKey("harm-reduction"))
    assert [d["id"] for d in feed["_deleted"]["items"]] == [
        "tag:opensocietyfoundations.org,2026:item/addiction-now-safe-injection-facilities",
        "tag:opensocietyfoundations.org,2026:item/drug-checking-services-explained",
    ]
    assert all("drug-checking" not in i["id"] for i in feed["items"])
    assert all(
        "drug-checking" not in i.findtext("guid")
        for i in rss(FeedKey("harm-reduction")).findall("item")
    )


def test_feeds_without_withdrawals_declare_no_tombstones(config_dir):
    catalog = load_catalog(config_dir)  # the minimal content withdraws nothing
    body = FORMATS["atom"].render(feed_view(catalog, FeedKey("health")))
    assert b"tombstones" not in body


def test_image_is_an_enclosure_in_atom_and_rss_and_image_in_json():
    entry = next(
        e for e in atom().findall(f"{ATOM}entry") if "Documentary" in e.findtext(f"{ATOM}title")
    )
    enclosure = [link for link in entry.findall(f"{ATOM}link") if link.get("rel") == "enclosure"]
    assert enclosure[0].get("type") == "image/jpeg" and enclosure[0].get("title").startswith(
        "A darkened cinema"
    )
    item = next(i for i in rss().findall("item") if "Documentary" in i.findtext("title"))
    assert item.find("enclosure").get("length") == "0"
    json_item = next(i for i in json_feed()["items"] if "Documentary" in i["title"])
    assert json_item["image"] == enclosure[0].get("href")


def test_html_summary_is_sanitized_and_links_absolute():
    item = next(
        i
        for i in json_feed()["items"]
        if i["title"] == "Decriminalization Is a Public Health Measure"
    )
    assert (
        '<a href="https://www.opensocietyfoundations.org/topics/drug-policy" rel="noopener">'
        in item["content_html"]
    )
    assert item["summary"].startswith("Two decades after Portugal")


def test_json_feed_carries_the_required_feed_fields():
    feed = json_feed(FeedKey("harm-reduction"))
    for key in ("version", "title", "home_page_url", "feed_url", "authors", "language"):
        assert feed[key]


def test_language_and_rights_are_carried():
    root = atom()
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    assert root.findtext(f"{ATOM}rights").startswith("©")
    channel = rss()
    assert channel.findtext("language") == "en"
    assert channel.findtext("copyright").startswith("©")


@pytest.mark.parametrize("name", list(FORMATS))
def test_an_empty_feed_is_valid_in_every_format(config_dir, name):
    catalog = load_catalog(config_dir)
    view = feed_view(catalog, FeedKey("justice", "events"))  # no events in that topic
    assert view.entries == ()
    CHECKS[name](FORMATS[name].render(view))


def test_publisher_email_is_the_rss_managing_editor_and_the_atom_author_email():
    from dataclasses import replace

    site = replace(
        CATALOG.site,
        publisher=replace(CATALOG.site.publisher, email="press@example.org"),
    )
    catalog = replace(CATALOG, site=site)
    view = feed_view(catalog, FeedKey())
    channel = CHECKS["rss"](FORMATS["rss"].render(view))
    assert channel.findtext("managingEditor") == "press@example.org (Open Society Foundations)"
    root = CHECKS["atom"](FORMATS["atom"].render(view))
    assert root.findtext(f"{ATOM}author/{ATOM}email") == "press@example.org"
    assert all(
        item.find("author") is None for item in channel.findall("item")
    )  # never item e-mails


@pytest.mark.parametrize("name", FEED_FORMATS)
def test_markup_characters_in_titles_survive_as_text(config_dir, name):
    from tests.conftest import write_config

    title = "Fish & Chips <b>not bold</b> ]]> \u202eRTL\u202c مرحبا 😀"
    write_config(
        config_dir,
        {
            "x.yaml": f"""
item:
  id: x
  type: voices
  title: '{title}'
  summary: 'Also & < > ]]> here.'
  url: https://example.org/x
  published: 2026-11-03
  topics: [health]
"""
        },
    )
    view = feed_view(load_catalog(config_dir), FeedKey(type="voices"))
    body = CHECKS[name](FORMATS[name].render(view))
    if name == "json":
        titles = [item["title"] for item in body["items"]]
    elif name == "atom":
        titles = [e.findtext(f"{ATOM}title") for e in body.findall(f"{ATOM}entry")]
    else:
        titles = [item.findtext("title") for item in body.findall("item")]
    assert title in titles


def test_atom_entries_link_the_online_and_registration_pages():
    entry = next(
        e
        for e in atom().findall(f"{ATOM}entry")
        if "Talking About Race" in e.findtext(f"{ATOM}title")
    )
    related = {
        link.get("title"): link.get("href")
        for link in entry.findall(f"{ATOM}link")
        if link.get("rel") == "related"
    }
    assert related["Join online"].endswith("/talking-about-race-harm-reduction/live")
    assert related["Register"].endswith("/talking-about-race-harm-reduction/register")


def test_an_items_own_language_is_xml_lang_on_its_atom_entry(config_dir):
    from tests.conftest import write_config

    write_config(
        config_dir,
        {
            "x.yaml": """
item:
  id: x
  type: voices
  title: مرحبا
  summary: نص
  url: https://example.org/x
  published: 2026-11-03
  topics: [health]
  language: ar
"""
        },
    )
    root = CHECKS["atom"](
        FORMATS["atom"].render(feed_view(load_catalog(config_dir), FeedKey(type="voices")))
    )
    languages = {
        e.findtext(f"{ATOM}id").rsplit("/", 1)[1]: e.get(
            "{http://www.w3.org/XML/1998/namespace}lang"
        )
        for e in root.findall(f"{ATOM}entry")
    }
    assert languages == {"x": "ar", "an-essay": None}
    json_items = json.loads(
        FORMATS["json"].render(feed_view(load_catalog(config_dir), FeedKey(type="voices")))
    )["items"]
    assert [i.get("language") for i in json_items] == ["ar", None]


@pytest.mark.parametrize("name", ["atom", "rss"])
def test_an_edited_catalog_renders_its_own_entries_not_the_previous_ones(config_dir, name):
    """Entries are built once per catalog and shared between its feeds; the next catalog
    (a reload) must never get the previous one's."""
    from tests.conftest import write_config

    def titles(catalog) -> list[str]:
        body = CHECKS[name](FORMATS[name].render(feed_view(catalog, FeedKey(type="voices"))))
        if name == "atom":
            return [e.findtext(f"{ATOM}title") for e in body.findall(f"{ATOM}entry")]
        return [item.findtext("title") for item in body.findall("item")]

    item = """
item:
  id: x
  type: voices
  title: {title}
  summary: Same id, another title.
  url: https://example.org/x
  published: 2026-11-03
  topics: [health]
"""
    write_config(config_dir, {"x.yaml": item.format(title="Before the edit")})
    before = load_catalog(config_dir)
    assert "Before the edit" in titles(before)
    write_config(config_dir, {"x.yaml": item.format(title="After the edit")})
    after = load_catalog(config_dir)
    assert "After the edit" in titles(after)
    assert "Before the edit" not in titles(after)
    assert "Before the edit" in titles(before)  # and back: each catalog keeps its own
