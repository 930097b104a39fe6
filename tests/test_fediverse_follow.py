"""Following a topic from a fediverse server (a fake one in the test process) and what the
follower's server then receives: the Accept, a Create when an item goes live (YAML added),
an Update when it is edited, a Delete when it is withdrawn, each signed by our actor; and
an inbox that believes nothing unsigned, misdated, oversized or signed by someone else."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from syndicate.fediverse import signatures
from syndicate.people.database import metadata
from syndicate.settings import Settings
from tests.fakeclock import FakeClock
from tests.fediverse import rsa_pems, start_fake_server
from tests.people import ENGINES, fresh_database_url

NOW = datetime(2026, 11, 30, 15, tzinfo=UTC)
PUBLIC = "http://feeds.example.org"
TOPIC = f"{PUBLIC}/ap/actors/harm-reduction"
NEW_ITEM = """item:
  id: naloxone-saves-lives
  type: voices
  title: Naloxone Saves Lives
  summary: Why every clinic should stock it.
  url: https://www.opensocietyfoundations.org/voices/naloxone-saves-lives
  published: 2026-11-30T09:30
  topics: [harm-reduction]
"""


@pytest.fixture
async def remote():  # type: ignore[no-untyped-def]
    server, running = await start_fake_server()
    yield server
    await running.close()


@pytest.fixture
async def client(serve, folder: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = Settings(
        config=folder, state_dir=tmp_path / "state", public_url=PUBLIC, watch=False,
        access_log=False, fediverse=True, federation_allow_local=True,
    )  # fmt: skip
    found = await serve(settings, FakeClock(NOW))
    await found.service.deliverer.round()  # takes note of what is live: no back catalogue
    return found


def rows(client, table: str) -> list[sa.Row]:  # type: ignore[no-untyped-def]
    with client.service.database.engine.connect() as connection:
        return list(connection.execute(sa.select(metadata.tables[table])).all())


def follow_of(remote, handle: str = "harm-reduction") -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{remote.alice}#follows/1", "type": "Follow", "actor": remote.alice,
        "object": f"{PUBLIC}/ap/actors/{handle}",
    }  # fmt: skip


async def post(client, remote, activity, path="/ap/inbox", when=NOW, **options):  # type: ignore[no-untyped-def]
    body, headers = remote.sign(f"{PUBLIC}{path}", activity, when, **options)
    return await client.post(path, data=body, headers={**headers, "Host": "feeds.example.org"})


async def our_signature_verifies(client, received) -> None:  # type: ignore[no-untyped-def]
    """What the fake server got was signed by the actor it names, with the key that
    actor's document (fetched from us) publishes."""
    activity = received.activity
    actor = json.loads(await (await client.get(
        activity["actor"].removeprefix(PUBLIC), headers={"Accept": "application/activity+json"}
    )).read())  # fmt: skip
    request = signatures.Received("POST", f"http://fake{received.path}", received.headers,
                                  received.body)  # fmt: skip
    assert signatures.key_id(request) == actor["publicKey"]["id"]
    signatures.verify(request, actor["publicKey"]["publicKeyPem"], NOW)


async def followed(client, remote) -> None:  # type: ignore[no-untyped-def]
    response = await post(client, remote, follow_of(remote))
    assert response.status == 202, await response.text()
    await client.service.deliverer.round()


async def test_a_follow_is_recorded_and_answered_with_a_signed_accept(client, remote):
    await followed(client, remote)
    (row,) = rows(client, "followers")
    assert (row.actor, row.follower, row.shared_inbox) == (
        "harm-reduction", remote.alice, f"{remote.base}/inbox"
    )  # fmt: skip
    (accept,) = remote.of_type("Accept")
    assert accept["actor"] == TOPIC and accept["object"]["id"] == follow_of(remote)["id"]
    (received,) = [r for r in remote.received if r.activity["type"] == "Accept"]
    assert received.path == "/users/alice/inbox"
    await our_signature_verifies(client, received)
    count = json.loads(await (await client.get("/ap/actors/harm-reduction/followers")).read())
    assert count["totalItems"] == 1 and "orderedItems" not in count


async def test_an_item_going_live_is_created_edited_updated_withdrawn_deleted(
    client, remote, folder
):
    await followed(client, remote)
    service = client.service
    (folder / "items" / "naloxone.yaml").write_text(NEW_ITEM)
    assert await service.store.reload("test")
    await service.deliverer.round()
    (create,) = remote.of_type("Create")
    note = create["object"]
    assert create["actor"] == TOPIC and note["attributedTo"] == TOPIC
    assert note["id"] == f"{PUBLIC}/ap/notes/naloxone-saves-lives"
    assert "Naloxone Saves Lives" in note["content"]
    (received,) = [r for r in remote.received if r.activity["type"] == "Create"]
    assert received.path == "/inbox"  # the server's shared inbox
    await our_signature_verifies(client, received)

    (folder / "items" / "naloxone.yaml").write_text(
        NEW_ITEM.replace("Why every clinic", "Why every clinic and pharmacy")
    )
    assert await service.store.reload("test")
    await service.deliverer.round()
    (update,) = remote.of_type("Update")
    assert update["object"]["id"] == note["id"]  # the same Note, changed
    assert "pharmacy" in update["object"]["content"]

    (folder / "items" / "naloxone.yaml").write_text(
        NEW_ITEM + "  withdrawn:\n    date: 2026-11-30T09:45\n    reason: Published in error.\n"
    )
    assert await service.store.reload("test")
    await service.deliverer.round()
    (delete,) = remote.of_type("Delete")
    assert delete["object"] == {"id": note["id"], "type": "Tombstone",
                                "deleted": "2026-11-30T14:45:00Z"}  # fmt: skip
    assert delete["actor"] == TOPIC
    await service.deliverer.round()  # nothing more to tell: each went once
    assert [r.activity["type"] for r in remote.received] == ["Accept", "Create", "Update", "Delete"]


async def test_an_undo_ends_the_follow(client, remote):
    await followed(client, remote)
    undo = {"id": f"{remote.alice}#undo/1", "type": "Undo", "actor": remote.alice,
            "object": follow_of(remote)}  # fmt: skip
    assert (await post(client, remote, undo)).status == 202
    assert rows(client, "followers") == []


async def test_a_deleted_follower_is_forgotten_even_when_its_key_is_gone(client, remote):
    await followed(client, remote)
    remote.actor_status = 410  # the account is deleted: its key can no longer be fetched
    client.service.fediverse.actors.kept.clear()
    delete = {"id": f"{remote.alice}#delete", "type": "Delete", "actor": remote.alice,
              "object": remote.alice}  # fmt: skip
    assert (await post(client, remote, delete)).status == 202
    assert rows(client, "followers") == []


async def test_other_activities_are_answered_and_ignored(client, remote):
    like = {"id": f"{remote.alice}#like", "type": "Like", "actor": remote.alice,
            "object": f"{PUBLIC}/ap/notes/x"}  # fmt: skip
    response = await post(client, remote, like)
    assert response.status == 202 and rows(client, "followers") == []


OTHER_PRIVATE, _ = rsa_pems()


@pytest.mark.parametrize(
    ("spoil", "status", "reason"),
    [
        (lambda r, a: {"when": NOW - timedelta(hours=13)}, 401, "more than 12 hours"),
        (lambda r, a: {"private": OTHER_PRIVATE}, 401, "does not match the signer's key"),
        (lambda r, a: {"activity": {**a, "actor": f"{r.base}/users/mallory"}}, 401,
         "another actor"),
        (lambda r, a: {"activity": {**a, "object": f"{PUBLIC}/ap/actors/nobody"}}, 404,
         "no actor"),
        (lambda r, a: {"activity": {**a, "id": 7}}, 400, "no id"),
    ],
    ids=["replayed", "another key", "another actor", "unknown actor", "malformed"],
)  # fmt: skip
async def test_a_follow_that_proves_nothing_stores_nothing(client, remote, spoil, status, reason):
    options = {"activity": follow_of(remote), **spoil(remote, follow_of(remote))}
    activity = options.pop("activity")
    response = await post(client, remote, activity, **options)
    assert response.status == status
    assert reason in json.loads(await response.read())["error"]
    assert rows(client, "followers") == [] and rows(client, "deliveries") == []


async def test_an_unsigned_post_is_refused(client, remote):
    response = await client.post(
        "/ap/inbox", data=json.dumps(follow_of(remote)),
        headers={"Content-Type": "application/activity+json"},
    )  # fmt: skip
    assert response.status == 401 and "not signed" in (await response.text())
    assert rows(client, "followers") == []


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{" * 10, "application/activity+json", 400),
        (b"[]", "application/activity+json", 400),
        (b"x" * 1_000_001, "application/activity+json", 413),
        (b"{}", "text/plain", 415),
    ],
    ids=["broken JSON", "not an object", "over 1 MB", "not JSON"],
)
async def test_a_malformed_post_gets_a_reason_never_a_500(client, body, content_type, status):
    response = await client.post("/ap/inbox", data=body, headers={"Content-Type": content_type})
    assert response.status == status
    assert json.loads(await response.read())["error"]


async def test_an_inbox_answers_only_posts(client):
    for method in ("GET", "PUT", "DELETE"):
        response = await client.request(method, "/ap/actors/harm-reduction/inbox")
        assert response.status == 405


async def test_a_flood_of_follows_from_one_server_is_slowed(client, remote, monkeypatch):
    monkeypatch.setattr(client.service.fediverse.follows, "limit", 3)
    statuses = []
    for n in range(5):
        activity = {**follow_of(remote), "id": f"{remote.alice}#follows/{n}"}
        statuses.append((await post(client, remote, activity)).status)
    assert statuses == [202, 202, 202, 429, 429]
    assert len(rows(client, "followers")) == 1  # the same follower, followed again


async def test_a_follower_server_down_gets_everything_once_it_is_back(client, remote, folder):
    await followed(client, remote)
    service, clock = client.service, client.service.clock
    remote.status = 503
    (folder / "items" / "naloxone.yaml").write_text(NEW_ITEM)
    assert await service.store.reload("test")
    await service.deliverer.round()
    (delivery,) = [r for r in rows(client, "deliveries") if r.delivered_at is None]
    assert delivery.attempts == 1 and delivery.due_at > clock.now()
    for _ in range(6):  # an hour of fake time, the server still down
        clock.advance(clock.now() + timedelta(minutes=10))
        await service.deliverer.round()
    remote.status = 202
    clock.advance(clock.now() + timedelta(hours=2))
    await service.deliverer.round()
    creates = [r for r in remote.received if r.activity["type"] == "Create" and r.path == "/inbox"]
    assert len(creates) >= 1
    await service.deliverer.round()
    delivered = [r for r in rows(client, "deliveries") if r.delivered_at is not None]
    assert len(delivered) == 2  # the Accept and the Create, each once recorded


async def test_a_refusal_for_good_is_not_tried_again(client, remote, folder):
    await followed(client, remote)
    remote.status = 403
    (folder / "items" / "naloxone.yaml").write_text(NEW_ITEM)
    assert await client.service.store.reload("test")
    await client.service.deliverer.round()
    (refused,) = [r for r in rows(client, "deliveries") if r.failed_at is not None]
    assert refused.last_error == "HTTP 403"
    before = len(remote.received)
    client.service.clock.advance(NOW + timedelta(days=1))
    await client.service.deliverer.round()
    assert len(remote.received) == before


def test_inbox_posts_carry_no_data_of_people_into_metrics_labels():
    from syndicate.web.metrics import Metrics

    metrics = Metrics()
    metrics.fediverse_enabled = True
    metrics.fediverse_inbox["followed"] += 1
    text = metrics.exposition()[0].decode()
    assert 'syndicate_fediverse_inbox_total{answer="followed"} 1.0' in text


async def test_deliveries_nobody_makes_are_degraded_in_healthz_and_counted_in_metrics(
    client, remote
):
    from syndicate.people.database import lease

    service = client.service
    await followed(client, remote)
    engine = service.database.engine
    later = NOW + timedelta(minutes=11)
    # Another machine takes the lease (ours lapsed) and dies holding it.
    assert lease(engine, "fediverse-deliverer", "another-machine", NOW + timedelta(minutes=2), 3600)
    body, headers = remote.sign(f"{PUBLIC}/ap/inbox", {**follow_of(remote, "drug-policy"),
                                "id": f"{remote.alice}#follows/2"}, NOW)  # fmt: skip
    response = await client.post("/ap/inbox", data=body,
                                 headers={**headers, "Host": "feeds.example.org"})  # fmt: skip
    assert response.status == 202  # its Accept is queued, and nobody will deliver it
    service.clock.advance(later)
    await service.deliverer.round()
    health = json.loads(await (await client.get("/healthz")).read())
    assert health["status"] == "degraded"
    assert any("deliveries due" in reason for reason in health["reasons"]), health["reasons"]
    metrics = (await (await client.get("/metrics")).read()).decode()
    assert "syndicate_fediverse_queued 1.0" in metrics
    assert "syndicate_fediverse_followers 2.0" in metrics
    assert "syndicate_fediverse_oldest_queued_seconds 660.0" in metrics


NEW_EVENT = """item:
  id: naloxone-training
  type: events
  title: Naloxone training
  summary: How to reverse an overdose.
  url: https://www.opensocietyfoundations.org/events/naloxone-training
  published: 2026-11-30T09:30
  topics: [harm-reduction]
  start: 2027-02-04T18:00
  end: 2027-02-04T20:00
  timezone: America/New_York
  city: Baltimore
"""


async def test_event_software_following_events_gets_events_not_notes(client, remote, folder):
    response = await post(client, remote, follow_of(remote, "events"))
    assert response.status == 202
    service = client.service
    await service.deliverer.round()
    (folder / "items" / "training.yaml").write_text(NEW_EVENT)
    assert await service.store.reload("test")
    await service.deliverer.round()
    (create,) = remote.of_type("Create")
    assert create["object"]["type"] == "Event"
    assert create["actor"] == f"{PUBLIC}/ap/actors/events"
    assert create["object"]["startTime"] == "2027-02-04T18:00:00-05:00"
    assert remote.of_type("Announce") == []  # no Note comes to event software
    (folder / "items" / "training.yaml").write_text(
        NEW_EVENT + "  status: cancelled\n  changes:\n    - date: 2026-11-30T09:45\n"
        "      note: Cancelled.\n"
    )
    assert await service.store.reload("test")
    await service.deliverer.round()
    (update,) = remote.of_type("Update")
    assert update["object"]["id"] == create["object"]["id"]
    assert update["object"]["ical:status"] == "CANCELLED"
    (folder / "items" / "training.yaml").write_text(
        NEW_EVENT + "  withdrawn:\n    date: 2026-11-30T09:50\n    reason: Published in error.\n"
    )
    assert await service.store.reload("test")
    await service.deliverer.round()
    (delete,) = remote.of_type("Delete")
    assert delete["object"]["id"] == create["object"]["id"]
    assert delete["actor"] == f"{PUBLIC}/ap/actors/events"


async def test_a_topic_s_follower_gets_an_event_as_a_note_only(client, remote, folder):
    await followed(client, remote)
    (folder / "items" / "training.yaml").write_text(NEW_EVENT)
    assert await client.service.store.reload("test")
    await client.service.deliverer.round()
    (create,) = remote.of_type("Create")
    assert create["object"]["type"] == "Note"


async def test_a_large_activity_sent_in_chunks_is_read_whole(client, remote):
    """A body may arrive in many pieces (chunked, no Content-Length): all of it is read,
    up to the cap, before it is judged."""
    activity = {**follow_of(remote), "summary": "x" * 300_000}  # well under 1 MB
    body, headers = remote.sign(f"{PUBLIC}/ap/inbox", activity, NOW)

    async def pieces():  # type: ignore[no-untyped-def]
        for start in range(0, len(body), 16_384):
            yield body[start : start + 16_384]
            await asyncio.sleep(0.005)  # the service reads while the rest is on its way

    response = await client.post(
        "/ap/inbox", data=pieces(), headers={**headers, "Host": "feeds.example.org"}
    )
    assert response.status == 202, await response.text()
    assert len(rows(client, "followers")) == 1


async def test_a_chunked_body_over_the_cap_is_refused_part_read(client, remote):
    async def endless():  # type: ignore[no-untyped-def]
        for _ in range(100):  # 1.6 MB, never announced
            yield b" " * 16_384

    response = await client.post(
        "/ap/inbox", data=endless(), headers={"Content-Type": "application/activity+json"}
    )
    assert response.status == 413


async def test_a_follower_s_new_key_is_fetched_again_when_its_signature_does_not_match(
    client, remote
):
    await followed(client, remote)  # its key is now kept
    new_private, new_public = rsa_pems()
    remote.public_pem = new_public  # the account rotated its key
    undo = {"id": f"{remote.alice}#undo/1", "type": "Undo", "actor": remote.alice,
            "object": follow_of(remote)}  # fmt: skip
    response = await post(client, remote, undo, private=new_private)
    assert response.status == 202, await response.text()
    assert rows(client, "followers") == []


async def test_a_follower_that_deletes_its_account_is_forgotten(client, remote):
    await followed(client, remote)
    delete = {"id": f"{remote.alice}#delete", "type": "Delete", "actor": remote.alice,
              "object": remote.alice}  # fmt: skip
    assert (await post(client, remote, delete)).status == 202
    assert rows(client, "followers") == []


async def test_one_client_cannot_flood_the_inbox(client, remote, monkeypatch):
    monkeypatch.setattr(client.service.fediverse.clients, "limit", 2)
    like = {"id": f"{remote.alice}#like", "type": "Like", "actor": remote.alice,
            "object": f"{PUBLIC}/ap/notes/x"}  # fmt: skip
    statuses = [(await post(client, remote, like)).status for _ in range(3)]
    assert statuses == [202, 202, 429]


@pytest.fixture(params=ENGINES)
async def client_on(request, serve, folder: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The service on each engine (PostgreSQL holds a column's width; SQLite does not)."""
    settings = Settings(
        config=folder, state_dir=tmp_path / "state", public_url=PUBLIC, watch=False,
        access_log=False, fediverse=True, federation_allow_local=True,
        database_url=fresh_database_url(request.param, tmp_path, request),
    )  # fmt: skip
    found = await serve(settings, FakeClock(NOW))
    await found.service.deliverer.round()
    return found


@pytest.mark.parametrize("field", ["id", "object"])
async def test_an_activity_naming_an_id_longer_than_its_column_is_refused_with_a_reason(
    client_on, remote, field
):
    activity = follow_of(remote)
    activity[field] = activity[field] + "/" + "a" * 600  # a signed Follow, 600 characters over
    response = await post(client_on, remote, activity)
    assert response.status == 400
    assert "over 500 characters" in json.loads(await response.read())["error"]
    assert rows(client_on, "followers") == []
