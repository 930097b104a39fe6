"""The fediverse's outbox (people/deliveries.py) on SQLite and PostgreSQL: what is told when,
to which inboxes, once; claims that keep two deliverers apart; a server's deliveries put off
while its circuit is open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from syndicate.people import deliveries, followers
from syndicate.people.deliveries import CREATE, DELETE, UPDATE, Live, Outgoing
from tests.test_people import table

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
HARM = "harm-reduction"


def follow(engine, who: str, handle: str = HARM, shared: str | None = None) -> None:  # type: ignore[no-untyped-def]
    followers.add(engine, followers.Follower(handle, who, f"{who}/inbox", shared, f"{who}#f"), NOW)


def make(item_id: str, kind: str, author: str, audience: tuple[str, ...]) -> list[Outgoing]:
    return [Outgoing(f"urn:{item_id}:{kind}", author, f'{{"type": "{kind}"}}', audience)]


def told(engine) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(activity uri, inbox) of every delivery."""
    uris = {row.id: row.uri for row in table(engine, "activities")}
    return sorted((uris[row.activity_id], row.inbox) for row in table(engine, "deliveries"))


def test_the_first_telling_takes_note_and_sends_nobody_the_back_catalogue(engine):
    follow(engine, "https://a.example/users/ann")
    assert deliveries.tell(engine, [Live("old", "d1", HARM, (HARM,))], make, NOW) == {
        CREATE: 0, UPDATE: 0, DELETE: 0
    }  # fmt: skip
    assert told(engine) == []
    deliveries.tell(engine, [Live("old", "d1", HARM, (HARM,)), Live("new", "d1", HARM, (HARM,))],
                    make, NOW)  # fmt: skip
    assert told(engine) == [("urn:new:create", "https://a.example/users/ann/inbox")]


def test_a_change_is_an_update_to_everyone_told_before_and_a_withdrawal_a_delete(engine):
    deliveries.tell(engine, [], make, NOW)
    follow(engine, "https://a.example/users/ann", HARM)
    follow(engine, "https://b.example/users/bob", "drug-policy")
    deliveries.tell(engine, [Live("x", "d1", HARM, (HARM,))], make, NOW)
    deliveries.tell(engine, [Live("x", "d1", HARM, (HARM,))], make, NOW)  # nothing changed
    deliveries.tell(engine, [Live("x", "d2", HARM, ("drug-policy",))], make, NOW)
    deliveries.tell(engine, [], make, NOW)
    assert told(engine) == [
        ("urn:x:create", "https://a.example/users/ann/inbox"),
        ("urn:x:delete", "https://b.example/users/bob/inbox"),  # told of it by the update
        ("urn:x:update", "https://a.example/users/ann/inbox"),  # was told it: hears the change
        ("urn:x:update", "https://b.example/users/bob/inbox"),
    ]


def test_an_item_live_again_after_its_deletion_is_created_again(engine):
    deliveries.tell(engine, [], make, NOW)
    follow(engine, "https://a.example/users/ann")
    deliveries.tell(engine, [Live("x", "d1", HARM, (HARM,))], make, NOW)
    deliveries.tell(engine, [], make, NOW)
    counted = deliveries.tell(engine, [Live("x", "d1", HARM, (HARM,))], make, NOW)
    assert counted[CREATE] == 1


def test_a_server_gets_an_activity_once_at_its_shared_inbox(engine):
    shared = "https://a.example/inbox"
    follow(engine, "https://a.example/users/ann", HARM, shared)
    follow(engine, "https://a.example/users/amy", HARM, shared)
    outgoing = Outgoing("urn:one", HARM, "{}", (HARM,))
    assert deliveries.enqueue(engine, outgoing, followers.inboxes(engine, (HARM,)), NOW) == 1
    deliveries.enqueue(engine, outgoing, followers.inboxes(engine, (HARM,)), NOW)  # again
    assert told(engine) == [("urn:one", shared)]


def test_a_claimed_delivery_is_not_given_to_another_deliverer(engine):
    deliveries.enqueue(engine, Outgoing("urn:a", HARM, "{}", ()), {"https://a.example/inbox":
                                                                     "a.example"}, NOW)  # fmt: skip
    (mine,) = deliveries.due(engine, NOW, "one", 10, 60)
    assert deliveries.due(engine, NOW, "two", 10, 60) == []
    assert [d.id for d in deliveries.due(engine, NOW + timedelta(seconds=61), "two", 10, 60)] == [
        mine.id
    ]


def test_an_open_circuit_puts_a_server_s_deliveries_off_and_they_are_not_stuck(engine):
    deliveries.enqueue(engine, Outgoing("urn:a", HARM, "{}", ()), {"https://a.example/inbox":
                                                                     "a.example"}, NOW)  # fmt: skip
    assert deliveries.stuck(engine, NOW + timedelta(minutes=20)) == 20 * 60
    deliveries.postpone(engine, "a.example", NOW + timedelta(minutes=30))
    assert deliveries.stuck(engine, NOW + timedelta(minutes=20)) == 0
    assert deliveries.due(engine, NOW + timedelta(minutes=20), "one", 10, 60) == []
    assert len(deliveries.due(engine, NOW + timedelta(minutes=30), "one", 10, 60)) == 1
    counts = deliveries.counts(engine, NOW + timedelta(minutes=40))
    assert counts["queued"] == 1 and counts["oldest_seconds"] == 40 * 60
