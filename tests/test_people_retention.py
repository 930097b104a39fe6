"""What is forgotten, and when (people/retention.py), on SQLite and PostgreSQL: an address
that never confirmed goes once its links have expired, sent messages after 30 days, and
forgetting a message never makes its items due again."""

from __future__ import annotations

from datetime import timedelta

from syndicate.people import outbox, subscriptions
from syndicate.people.retention import SENT_KEPT, tidy
from syndicate.people.subscriptions import INSTANT, Feed
from tests.test_people import HARM, ITEM, NOW, subscribed, table

LINKS_LAST = timedelta(days=7)


def asked(engine, address: str = "pending@example.org", feed: Feed = HARM) -> None:  # type: ignore[no-untyped-def]
    """A sign-up whose confirmation email went out at NOW and was never clicked."""
    assert subscriptions.request(engine, address, feed, INSTANT, NOW)
    for message in outbox.due(engine, NOW, "test"):
        if message.address == address:
            outbox.sent(engine, [message.id], NOW)


def addresses(engine) -> list[str]:  # type: ignore[no-untyped-def]
    return [row.address for row in table(engine, "subscribers")]


def test_an_address_never_confirmed_is_kept_while_its_link_works(engine):
    asked(engine)
    tidy(engine, NOW + LINKS_LAST - timedelta(minutes=1), LINKS_LAST)
    assert addresses(engine) == ["pending@example.org"]


def test_an_address_never_confirmed_is_erased_once_its_link_expired(engine):
    asked(engine)
    forgotten = tidy(engine, NOW + LINKS_LAST + timedelta(minutes=1), LINKS_LAST)
    assert addresses(engine) == [] and table(engine, "subscriptions") == []
    assert table(engine, "messages") == [] and forgotten["addresses"] == 1


def test_a_confirmation_not_sent_yet_keeps_its_address(engine):
    assert subscriptions.request(engine, "waiting@example.org", HARM, INSTANT, NOW)
    tidy(engine, NOW + timedelta(days=30), LINKS_LAST)  # the relay was down all month
    assert addresses(engine) == ["waiting@example.org"]


def test_a_subscriber_keeps_what_they_confirmed_and_loses_what_they_did_not(engine):
    subscribed(engine)  # confirmed at NOW
    asked(engine, "reader@example.org", Feed("drug-policy", "*"))  # never clicked
    tidy(engine, NOW + LINKS_LAST + timedelta(minutes=1), LINKS_LAST)
    assert addresses(engine) == ["reader@example.org"]
    assert [(r.topic, r.confirmed_at is not None) for r in table(engine, "subscriptions")] == [
        ("harm-reduction", True)
    ]


def test_sent_messages_are_forgotten_after_30_days_and_their_items_stay_sent(engine):
    outbox.announce(engine, [], NOW)
    subscribed(engine)
    outbox.announce(engine, [ITEM], NOW)
    assert outbox.compose(engine, NOW + timedelta(minutes=5), None) == 1
    (message,) = outbox.due(engine, NOW + timedelta(minutes=5), "test")
    outbox.sent(engine, [message.id], NOW + timedelta(minutes=5))
    tidy(engine, NOW + SENT_KEPT, LINKS_LAST)
    assert len(table(engine, "messages")) == 2  # the update, and the confirmation: 30 days
    forgotten = tidy(engine, NOW + SENT_KEPT + timedelta(minutes=6), LINKS_LAST)
    assert forgotten["messages"] == 2 and table(engine, "pending") == []
    assert addresses(engine) == ["reader@example.org"]  # a subscriber still
    later = NOW + SENT_KEPT + timedelta(hours=1)
    outbox.announce(engine, [ITEM], later)
    assert outbox.compose(engine, later, None) == 0  # announced once, ever: nothing due


def test_an_address_asked_again_is_kept_while_its_newest_link_works(engine):
    asked(engine)
    again = NOW + timedelta(days=6)
    assert subscriptions.request(engine, "pending@example.org", HARM, INSTANT, again)
    for message in outbox.due(engine, again, "test"):
        outbox.sent(engine, [message.id], again)
    tidy(engine, NOW + LINKS_LAST + timedelta(days=1), LINKS_LAST)
    assert addresses(engine) == ["pending@example.org"]
    tidy(engine, again + LINKS_LAST + timedelta(minutes=1), LINKS_LAST)
    assert addresses(engine) == []


def test_fediverse_deliveries_are_forgotten_after_30_days_and_what_was_told_stays(engine):
    from syndicate.people import deliveries
    from syndicate.people.deliveries import Live, Outgoing
    from syndicate.people.retention import tidy_deliveries

    def make(item_id, kind, author, audience):  # type: ignore[no-untyped-def]
        return [Outgoing(f"urn:{item_id}:{kind}", author, "{}", audience)]

    deliveries.tell(engine, [], make, NOW)
    from syndicate.people import followers

    followers.add(engine, followers.Follower("harm-reduction", "https://a.example/u",
                                             "https://a.example/inbox", None, "f"), NOW)  # fmt: skip
    deliveries.tell(engine, [Live("x", "d1", "harm-reduction", ("harm-reduction",))], make, NOW)
    (due,) = deliveries.due(engine, NOW, "me", 10, 60)
    deliveries.delivered(engine, [due.id], NOW)
    assert tidy_deliveries(engine, NOW + SENT_KEPT - timedelta(minutes=1)) == 0
    assert tidy_deliveries(engine, NOW + SENT_KEPT + timedelta(minutes=1)) == 1
    assert table(engine, "deliveries") == [] and table(engine, "activities") == []
    assert [row.item_id for row in table(engine, "posts")] == ["x"]  # an edit is an Update
