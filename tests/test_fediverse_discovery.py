"""Finding and reading our actors as a fediverse server does: WebFinger to the actor, the
actor's key, inbox, outbox and followers, NodeInfo, each item's Note, and a browser sent to
the page instead of the JSON. Expectations come from the fixture's YAML, read here."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from syndicate.people.keys import signing_key
from syndicate.settings import Settings
from tests.conftest import CONTENT
from tests.fakeclock import FakeClock

NOW = datetime(2026, 11, 30, 15, tzinfo=UTC)
PUBLIC = "https://feeds.example.org"
HOST = "feeds.example.org"
AP = "application/activity+json"


def fixture_items() -> list[dict]:  # type: ignore[type-arg]
    """Every item of the fixture content, straight from its YAML."""
    found = []
    for path in sorted((CONTENT / "items").rglob("*.yaml")):
        document = yaml.safe_load(path.read_text())
        found += document.get("items", []) + ([document["item"]] if "item" in document else [])
    return found


def live_ids(topic: str | None = None) -> set[str]:
    return {
        item["id"]
        for item in fixture_items()
        if "withdrawn" not in item and not item.get("draft")
        and (topic is None or topic in item.get("topics", []))
    }  # fmt: skip


@pytest.fixture
async def client(serve, tmp_path: Path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "content"
    shutil.copytree(CONTENT, folder)
    settings = Settings(
        config=folder, state_dir=tmp_path / "state", public_url=PUBLIC, watch=False,
        access_log=False, fediverse=True,
    )  # fmt: skip
    return await serve(settings, FakeClock(NOW))


async def get_json(client, url: str, accept: str = AP) -> dict:  # type: ignore[no-untyped-def, type-arg]
    path = urlsplit(url).path if url.startswith("http") else url
    response = await client.get(path, headers={"Accept": accept})
    assert response.status == 200, await response.text()
    return json.loads(await response.read())


async def test_webfinger_finds_a_topic_s_actor(client):
    response = await client.get(
        f"/.well-known/webfinger?resource={quote(f'acct:harm-reduction@{HOST}')}"
    )
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/jrd+json")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    found = json.loads(await response.read())
    assert found["subject"] == f"acct:harm-reduction@{HOST}"
    (self_link,) = [link for link in found["links"] if link["rel"] == "self"]
    assert self_link["type"] == AP
    assert self_link["href"] == f"{PUBLIC}/ap/actors/harm-reduction"


@pytest.mark.parametrize(
    ("resource", "status"),
    [
        ("", 400),
        (f"acct:nobody@{HOST}", 404),
        ("acct:harm-reduction@elsewhere.example", 404),
        ("acct:harm-reduction", 404),
        (f"acct:<script>@{HOST}", 404),
    ],
)
async def test_webfinger_refuses_what_is_not_ours_with_a_reason(client, resource, status):
    response = await client.get(f"/.well-known/webfinger?resource={quote(resource)}")
    assert response.status == status
    assert json.loads(await response.read())["error"]


async def test_the_site_is_an_actor_too_and_the_actor_url_is_a_resource(client):
    by_handle = await get_json(
        client, f"/.well-known/webfinger?resource=acct:everything@{HOST}", "application/jrd+json"
    )
    by_url = await get_json(
        client,
        f"/.well-known/webfinger?resource={quote(f'{PUBLIC}/ap/actors/everything')}",
        "application/jrd+json",
    )
    assert by_handle == by_url and by_handle["subject"] == f"acct:everything@{HOST}"


async def test_an_actor_names_its_boxes_page_and_the_key_the_service_signs_with(client):
    actor = await get_json(client, "/ap/actors/harm-reduction")
    me = f"{PUBLIC}/ap/actors/harm-reduction"
    assert actor["id"] == me and actor["preferredUsername"] == "harm-reduction"
    assert actor["name"] == "Harm Reduction"
    assert actor["url"] == f"{PUBLIC}/topics/harm-reduction/"
    assert (actor["inbox"], actor["outbox"], actor["followers"]) == (
        f"{me}/inbox", f"{me}/outbox", f"{me}/followers"
    )  # fmt: skip
    assert actor["endpoints"]["sharedInbox"] == f"{PUBLIC}/ap/inbox"
    assert actor["publicKey"]["id"] == f"{me}#main-key" and actor["publicKey"]["owner"] == me
    private = signing_key(client.service.database.engine, NOW)  # the one kept, not a new one
    expected = serialization.load_pem_private_key(private.encode(), None).public_key()
    served = serialization.load_pem_public_key(actor["publicKey"]["publicKeyPem"].encode())
    assert served.public_numbers() == expected.public_numbers()  # type: ignore[union-attr]
    assert "w3id.org/security/v1" in json.dumps(actor["@context"])


async def test_an_actor_is_json_for_servers_and_the_topic_page_for_browsers(client):
    for accept in (AP, 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
                   "*/*", "", f"{AP}, text/html;q=0.1"):  # fmt: skip
        response = await client.get("/ap/actors/harm-reduction", headers={"Accept": accept})
        assert response.status == 200 and "Accept" in response.headers["Vary"]
        assert response.headers["Content-Type"].startswith(AP)
    browser = await client.get(
        "/ap/actors/harm-reduction",
        headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
        allow_redirects=False,
    )
    assert browser.status == 302 and "Accept" in browser.headers["Vary"]
    assert browser.headers["Location"] == f"{PUBLIC}/topics/harm-reduction/"


async def test_nodeinfo_says_what_this_server_is(client):
    links = await get_json(client, "/.well-known/nodeinfo", "application/json")
    (link,) = links["links"]
    assert link["rel"] == "http://nodeinfo.diaspora.software/ns/schema/2.1"
    info = await get_json(client, link["href"], "application/json")
    assert info["version"] == "2.1" and info["protocols"] == ["activitypub"]
    assert info["software"]["name"] == "syndicate" and info["openRegistrations"] is False
    topics = yaml.safe_load((CONTENT / "topics.yaml").read_text())["topics"]
    types = yaml.safe_load((CONTENT / "types.yaml").read_text())["types"]
    events = any(kind.get("kind") == "event" for kind in types)
    assert events
    assert info["usage"]["users"]["total"] == len(topics) + 1 + 1  # the site's, the events
    assert info["usage"]["localPosts"] == len(live_ids())


async def test_the_outbox_pages_through_every_live_item_the_actor_carries(client):
    outbox = await get_json(client, "/ap/actors/harm-reduction/outbox")
    expected = live_ids("harm-reduction")
    assert outbox["type"] == "OrderedCollection" and outbox["totalItems"] == len(expected)
    seen, url = [], outbox["first"]
    while url:
        page = await get_json(client, url)
        assert page["partOf"] == outbox["id"]
        seen += page["orderedItems"]
        url = page.get("next")
    notes = [a["object"]["id"] if a["type"] == "Create" else a["object"] for a in seen]
    assert {n.rsplit("/", 1)[1] for n in notes} == expected
    published = [a["published"] for a in seen]
    assert published == sorted(published, reverse=True)  # newest first
    for activity in seen:  # its own items created, items led by another topic announced
        note = await get_json(
            client, activity["object"]["id"] if activity["type"] == "Create" else activity["object"]
        )
        led_here = note["attributedTo"] == f"{PUBLIC}/ap/actors/harm-reduction"
        assert activity["type"] == ("Create" if led_here else "Announce")


async def test_the_site_s_outbox_carries_every_live_item(client):
    outbox = await get_json(client, "/ap/actors/everything/outbox")
    assert outbox["totalItems"] == len(live_ids())


async def test_a_note_says_the_item_in_the_site_s_language_with_its_topics_as_hashtags(client):
    (item,) = [i for i in fixture_items() if i["id"] == "drugs-in-documentary-films"]
    note = await get_json(client, f"/ap/notes/{item['id']}")
    assert note["type"] == "Note" and note["url"] == item["url"]
    assert note["attributedTo"] == f"{PUBLIC}/ap/actors/{item['topics'][0]}"
    assert "https://www.w3.org/ns/activitystreams#Public" in note["to"]
    assert set(note["contentMap"]) == {"en"} and note["contentMap"]["en"] == note["content"]
    from lxml import html as lxml_html

    text = lxml_html.fromstring(note["content"]).text_content()
    assert item["title"] in text and "14 January 2027" in text and "London" in text
    assert {tag["name"] for tag in note["tag"]} == {"#HarmReduction"}
    browser = await client.get(
        f"/ap/notes/{item['id']}", headers={"Accept": "text/html"}, allow_redirects=False
    )
    assert browser.status == 302 and browser.headers["Location"] == item["url"]


async def test_a_withdrawn_item_has_no_note(client):
    withdrawn = [i["id"] for i in fixture_items() if "withdrawn" in i]
    assert withdrawn
    for item_id in withdrawn:
        assert (await client.get(f"/ap/notes/{item_id}", headers={"Accept": AP})).status == 404


async def test_followers_are_counted_never_listed(client):
    found = await get_json(client, "/ap/actors/harm-reduction/followers")
    assert found == {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{PUBLIC}/ap/actors/harm-reduction/followers",
        "type": "OrderedCollection",
        "totalItems": 0,
    }
    assert (await client.get("/ap/actors/nobody/followers")).status == 404


async def test_without_the_setting_there_is_no_fediverse(serve, tmp_path):
    plain = await serve(
        Settings(config=CONTENT, public_url=PUBLIC, watch=False, access_log=False),
        FakeClock(NOW),
    )
    for path in ("/ap/actors/harm-reduction", "/.well-known/nodeinfo",
                 f"/.well-known/webfinger?resource=acct:harm-reduction@{HOST}"):  # fmt: skip
        assert (await plain.get(path)).status == 404


async def test_pages_name_the_handle_and_link_the_actor_for_servers_to_find(client):
    from lxml import html as lxml_html

    for path, handle in (("/topics/harm-reduction/", "harm-reduction"), ("/", "everything")):
        page = lxml_html.fromstring(await (await client.get(path)).read())
        (link,) = page.xpath("//link[@rel='alternate'][@type='application/activity+json']")
        assert link.get("href") == f"{PUBLIC}/ap/actors/{handle}"
        (line,) = page.xpath("//p[@class='fediverse']")
        assert line.xpath("string(code)") == f"@{handle}@{HOST}"
        assert line.xpath("button/@data-copy") == [f"@{handle}@{HOST}"]


async def test_pages_say_nothing_of_the_fediverse_without_it(serve):
    plain = await serve(
        Settings(config=CONTENT, public_url=PUBLIC, watch=False, access_log=False),
        FakeClock(NOW),
    )
    page = await (await plain.get("/topics/harm-reduction/")).text()
    assert "activity+json" not in page and "Mastodon" not in page


async def test_an_event_s_note_says_when_in_its_zone_where_and_its_online_link(client):
    (london,) = [i for i in fixture_items() if i["id"] == "drugs-in-documentary-films"]
    note = await get_json(client, f"/ap/notes/{london['id']}")
    assert note["startTime"] == "2027-01-14T18:30:00+00:00"  # Europe/London, in January
    assert note["endTime"] == "2027-01-14T21:00:00+00:00"
    assert note["location"]["type"] == "Place" and note["location"]["name"] == london["venue"]
    assert london["city"] in note["location"]["address"]
    (online,) = [i for i in fixture_items() if i["id"] == "talking-about-race-harm-reduction"]
    note = await get_json(client, f"/ap/notes/{online['id']}")
    from lxml import html as lxml_html

    links = lxml_html.fromstring(note["content"]).xpath("//a/@href")
    assert online["online_url"] in links
    assert "location" not in note  # online only: no place
    assert note["startTime"].startswith("2026-12-10T13:00:00-05:00")  # the site's zone


async def test_event_software_finds_an_events_actor_whose_outbox_holds_every_event(client):
    found = await get_json(
        client, f"/.well-known/webfinger?resource=acct:events@{HOST}", "application/jrd+json"
    )
    assert found["subject"] == f"acct:events@{HOST}"
    outbox = await get_json(client, "/ap/actors/events/outbox")
    events = {i["id"] for i in fixture_items() if "start" in i and "withdrawn" not in i}
    assert outbox["totalItems"] == len(events)
    page = await get_json(client, outbox["first"])
    assert {a["type"] for a in page["orderedItems"]} == {"Create"}
    assert {a["object"]["type"] for a in page["orderedItems"]} == {"Event"}
    assert {a["object"]["id"].rsplit("/", 1)[1] for a in page["orderedItems"]} == events


async def test_an_event_object_says_what_event_software_reads(client):
    (london,) = [i for i in fixture_items() if i["id"] == "drugs-in-documentary-films"]
    event = await get_json(client, f"/ap/events/{london['id']}")
    assert event["type"] == "Event" and event["name"] == london["title"]
    assert event["attributedTo"] == f"{PUBLIC}/ap/actors/events"
    assert event["startTime"] == "2027-01-14T18:30:00+00:00"
    assert event["timezone"] == "Europe/London" and event["ical:status"] == "CONFIRMED"
    assert event["location"]["name"] == london["venue"] and event["url"] == london["url"]
    assert "ical" in json.dumps(event["@context"])
    browser = await client.get(
        f"/ap/events/{london['id']}", headers={"Accept": "text/html"}, allow_redirects=False
    )
    assert browser.status == 302 and browser.headers["Location"] == london["url"]


async def test_an_outbox_of_many_items_pages_through_all_once(serve, tmp_path):
    folder = tmp_path / "many"
    shutil.copytree(CONTENT, folder)
    items = "items:\n" + "".join(
        f"""  - id: voice-{n:02d}
    type: voices
    title: Voice number {n}
    summary: One of many.
    url: https://www.opensocietyfoundations.org/voices/voice-{n:02d}
    published: 2026-10-{1 + n % 28:02d}T{n % 24:02d}:00
    topics: [drug-policy]
"""
        for n in range(45)
    )
    (folder / "items" / "many.yaml").write_text(items)
    many = await serve(Settings(
        config=folder, state_dir=tmp_path / "state", public_url=PUBLIC, watch=False,
        access_log=False, fediverse=True,
    ), FakeClock(NOW))  # fmt: skip
    outbox = await get_json(many, "/ap/actors/drug-policy/outbox")
    expected = live_ids("drug-policy") | {f"voice-{n:02d}" for n in range(45)}
    assert outbox["totalItems"] == len(expected) > 40
    seen, url, pages = [], outbox["first"], 0
    while url:
        page = await get_json(many, url)
        seen += [a["object"]["id"] if a["type"] == "Create" else a["object"]
                 for a in page["orderedItems"]]  # fmt: skip
        pages += 1
        assert (page.get("prev") is None) == (pages == 1)
        url = page.get("next")
    assert outbox["last"].endswith(f"/outbox/{pages}") and pages == -(-len(expected) // 20)
    assert sorted(n.rsplit("/", 1)[1] for n in seen) == sorted(expected)  # each once
