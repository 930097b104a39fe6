"""The people wing's database functions, on SQLite and on PostgreSQL alike: migrations,
double opt-in, announcing items once, composing and claiming messages, bounces, erasure,
the sender's lease."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from syndicate.people import bounces, outbox, subscriptions
from syndicate.people.database import MIGRATIONS, metadata, migrate
from syndicate.people.outbox import BATCH, Live
from syndicate.people.subscriptions import INSTANT, WEEKLY, Feed
from tests.people import old_subscriber

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
HARM = Feed("harm-reduction", "*")
ITEM = Live("naloxone-evening", "events", ("harm-reduction",))


def table(engine, name: str) -> list[sa.Row]:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return list(connection.execute(sa.select(metadata.tables[name])).all())


def subscribed(
    engine,
    address: str = "reader@example.org",
    feed: Feed = HARM,  # type: ignore[no-untyped-def]
    frequency: str = INSTANT,
) -> int:
    """A confirmed subscriber; its id."""
    assert subscriptions.request(engine, address, feed, frequency, NOW)
    (confirmation,) = [m for m in outbox.due(engine, NOW, "test") if m.address == address]
    detail = confirmation.detail
    assert subscriptions.confirm(engine, int(detail["subscription"]), str(detail["nonce"]),  # type: ignore[call-overload]
                                 frequency, NOW)  # fmt: skip
    outbox.sent(engine, [confirmation.id], NOW)
    return confirmation.subscriber_id


def test_migrations_make_exactly_the_tables_the_code_uses(engine):
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []


def test_every_revision_upgrades_from_the_one_before_to_the_newest(empty_engine):
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    revisions = [r.revision for r in ScriptDirectory.from_config(config).walk_revisions()]
    for revision in reversed(revisions):  # from empty, oldest first, one step at a time
        migrate(empty_engine, revision)
        with empty_engine.connect() as connection:
            version = "select version_num from alembic_version"
            assert connection.execute(sa.text(version)).scalar() == revision
    migrate(empty_engine)  # at the newest already: nothing to do, and nothing fails
    with empty_engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []


def test_a_database_of_the_first_version_keeps_its_people_through_the_upgrade(empty_engine):
    migrate(empty_engine, "0001")  # as the first release left it, with someone subscribed
    key = outbox.link_key(empty_engine)
    someone = old_subscriber(empty_engine, "reader@example.org", NOW)
    migrate(empty_engine)
    assert [(r.id, r.address) for r in table(empty_engine, "subscribers")] == [
        (someone, "reader@example.org")
    ]
    assert len(table(empty_engine, "subscriptions")) == 1 and outbox.link_key(empty_engine) == key
    with empty_engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []


def test_the_upgrade_clears_bounces_that_were_the_relays_fault_and_keeps_real_ones(empty_engine):
    migrate(empty_engine, "0004")  # as the code before 0005 left a list after a bad day
    falsely = {
        "wrong-password@example.org": "535 5.7.8 Error: authentication failed: authentication failure",
        "refused-sender@example.org": "553 5.7.1 <address>: Sender address rejected: not owned by user",
        "too-big@example.org": "552 5.3.4 Message size exceeds fixed limit",
        "content@example.org": "550 5.7.1 Message content rejected",
        "helo@example.org": "504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname",
        "no-login@example.org": "554 5.7.1 <address>: Relay access denied",
    }
    truly = {
        "gone@example.org": "550 5.1.1 <address>: Recipient address rejected: User unknown",
        "old-relay@example.org": "550 no such user here",
        "disabled@example.org": "550 5.2.1 mailbox disabled",
    }
    ids = {address: old_subscriber(empty_engine, address, NOW, reply)
           for address, reply in {**falsely, **truly}.items()}  # fmt: skip
    fine = old_subscriber(empty_engine, "fine@example.org", NOW)
    migrate(empty_engine)
    subscribers = {row.id: row for row in table(empty_engine, "subscribers")}
    assert {a for a, i in ids.items() if subscribers[i].bounced_at is None} == set(falsely)
    assert subscribers[fine].bounced_at is None
    for address in truly:
        assert subscribers[ids[address]].bounce_reason == f"rcpt: {truly[address]}"
    # Each false bounce's message is back in the queue, due now, for no one else.
    later = datetime.now(UTC) + timedelta(seconds=1)
    due = outbox.due(empty_engine, later, "test", 100)
    assert sorted(m.address for m in due) == sorted(falsely)
    assert {m.kind for m in due} == {"update"}


def test_the_link_key_is_made_once_and_kept(engine):
    key = outbox.link_key(engine)
    migrate(engine)
    assert len(key) == 32 and outbox.link_key(engine) == key


def test_a_request_queues_one_confirmation_and_subscribes_nobody_yet(engine):
    assert subscriptions.request(engine, "reader@example.org", HARM, INSTANT, NOW)
    (row,) = table(engine, "subscriptions")
    assert row.confirmed_at is None and row.nonce
    (message,) = outbox.due(engine, NOW, "test")
    assert message.kind == "confirm" and message.address == "reader@example.org"
    outbox.announce(engine, [], NOW)
    outbox.announce(engine, [ITEM], NOW)
    assert table(engine, "pending") == []  # not confirmed: nothing due


def test_confirming_works_once(engine):
    subscriptions.request(engine, "reader@example.org", HARM, WEEKLY, NOW)
    (message,) = outbox.due(engine, NOW, "test")
    subscription, nonce = int(message.detail["subscription"]), str(message.detail["nonce"])  # type: ignore[call-overload]
    assert not subscriptions.confirm(engine, subscription, "0" * 32, WEEKLY, NOW)
    assert subscriptions.confirm(engine, subscription, nonce, WEEKLY, NOW)
    assert not subscriptions.confirm(engine, subscription, nonce, WEEKLY, NOW)  # replayed
    (row,) = table(engine, "subscriptions")
    assert row.confirmed_at == NOW and row.frequency == WEEKLY and row.nonce is None


def test_a_recipient_gets_at_most_three_confirmations_a_day(engine):
    asked = [subscriptions.request(engine, "reader@example.org", HARM, INSTANT, NOW)
             for _ in range(5)]  # fmt: skip
    assert asked == [True, True, True, False, False]
    later = NOW + timedelta(days=1)
    assert subscriptions.request(engine, "reader@example.org", HARM, INSTANT, later)


def test_a_mailbox_gets_at_most_three_confirmations_a_day_however_the_address_is_spelt(engine):
    spellings = ["reader@example.org", "Reader+a@example.org", "reader+b@EXAMPLE.org",
                 "READER+c@example.org", "reader+d@example.org"]  # fmt: skip
    asked = [subscriptions.request(engine, a, HARM, INSTANT, NOW) for a in spellings]
    assert asked == [True, True, True, False, False]
    assert subscriptions.request(engine, "other@example.org", HARM, INSTANT, NOW)
    assert not subscriptions.request(
        engine, "reader+e@example.org", HARM, INSTANT, NOW + timedelta(hours=23, minutes=59)
    )
    assert subscriptions.request(engine, "reader+e@example.org", HARM, INSTANT,
                                 NOW + timedelta(days=1, seconds=1))  # fmt: skip


def test_gmail_dots_are_one_mailbox_elsewhere_they_are_not():
    assert subscriptions.mailbox_key("r.e.ader@gmail.com") == subscriptions.mailbox_key(
        "reader+x@googlemail.com"
    )
    assert subscriptions.mailbox_key("r.eader@example.org") != subscriptions.mailbox_key(
        "reader@example.org"
    )


def test_sign_ups_of_one_mailbox_at_once_send_at_most_three_confirmations(engine):
    from concurrent.futures import ThreadPoolExecutor

    spellings = [f"reader+{n}@example.org" for n in range(30)]
    with ThreadPoolExecutor(8) as pool:
        asked = list(pool.map(
            lambda a: subscriptions.request(engine, a, HARM, INSTANT, NOW), spellings
        ))  # fmt: skip
    assert sum(asked) == 3
    assert len([m for m in table(engine, "messages") if m.kind == "confirm"]) == 3


def test_asking_again_for_what_is_confirmed_sends_nothing(engine):
    subscribed(engine)
    assert not subscriptions.request(engine, "reader@example.org", HARM, INSTANT, NOW)
    assert subscriptions.request(engine, "reader@example.org", HARM, WEEKLY, NOW)  # a change


def test_the_first_announcement_mails_nobody_the_back_catalogue(engine):
    subscribed(engine)
    assert outbox.announce(engine, [ITEM], NOW) == []
    assert table(engine, "pending") == []
    assert outbox.announce(engine, [ITEM, Live("new", "voices", ("harm-reduction",))], NOW) == [
        "new"
    ]
    assert [row.item_id for row in table(engine, "pending")] == ["new"]


def test_an_item_is_announced_once_ever(engine):
    outbox.announce(engine, [], NOW)
    subscribed(engine)
    assert outbox.announce(engine, [ITEM], NOW) == ["naloxone-evening"]
    assert outbox.announce(engine, [ITEM], NOW) == []
    assert len(table(engine, "pending")) == 1


def test_only_followers_of_the_item_are_due_it_once_each(engine):
    outbox.announce(engine, [], NOW)
    everything = subscribed(engine, "all@example.org", Feed("*", "*"))
    subscribed(engine, "all@example.org", HARM, WEEKLY)  # and the topic: once, soonest
    voices_only = subscribed(engine, "voices@example.org", Feed("*", "voices"))
    other_topic = subscribed(engine, "drugs@example.org", Feed("drug-policy", "*"))
    outbox.announce(engine, [ITEM], NOW)
    rows = table(engine, "pending")
    assert [(r.subscriber_id, r.frequency) for r in rows] == [(everything, INSTANT)]
    assert voices_only != other_topic


def test_items_within_the_batch_window_go_in_one_message(engine):
    outbox.announce(engine, [], NOW)
    subscribed(engine)
    outbox.announce(engine, [ITEM], NOW)
    later = Live("second", "voices", ("harm-reduction",))
    outbox.announce(engine, [ITEM, later], NOW + timedelta(minutes=1))
    assert outbox.compose(engine, NOW + timedelta(minutes=2), None) == 0  # newest too fresh
    assert outbox.compose(engine, NOW + timedelta(minutes=1) + BATCH, None) == 1
    (message,) = outbox.due(engine, NOW + timedelta(minutes=5), "test")
    assert message.kind == "update" and message.items == ("naloxone-evening", "second")


def test_weekly_items_wait_for_the_digest_moment(engine):
    outbox.announce(engine, [], NOW)
    subscribed(engine, frequency=WEEKLY)
    outbox.announce(engine, [ITEM], NOW)
    assert outbox.compose(engine, NOW + timedelta(days=2), NOW - timedelta(days=1)) == 0
    monday = NOW + timedelta(days=3)
    assert outbox.compose(engine, monday, monday) == 1
    (message,) = outbox.due(engine, monday, "test")
    assert message.kind == "digest" and message.items == ("naloxone-evening",)
    assert outbox.compose(engine, monday + timedelta(days=7), monday + timedelta(days=7)) == 0


def test_a_sent_message_is_never_due_again_and_a_retried_one_waits(engine):
    subscriptions.request(engine, "reader@example.org", HARM, INSTANT, NOW)
    (message,) = outbox.due(engine, NOW, "test")
    outbox.retry(engine, message.id, NOW + timedelta(minutes=1), "421 try later")
    assert outbox.due(engine, NOW, "test") == []
    (again,) = outbox.due(engine, NOW + timedelta(minutes=1), "test")
    assert again.attempts == 1 and again.key == message.key  # the same Message-ID
    outbox.sent(engine, [message.id], NOW)
    assert outbox.due(engine, NOW + timedelta(days=1), "test") == []


def test_a_bounce_stops_all_mail_to_the_address(engine):
    outbox.announce(engine, [], NOW)
    subscriber = subscribed(engine)
    outbox.announce(engine, [ITEM], NOW)
    outbox.compose(engine, NOW + BATCH, None)
    (message,) = outbox.due(engine, NOW + BATCH, "test")
    bounces.bounced(engine, message.id, subscriber, NOW + BATCH, "550 no such user")
    outbox.announce(engine, [ITEM, Live("next", "events", ("harm-reduction",))], NOW + BATCH)
    outbox.compose(engine, NOW + 3 * BATCH, None)
    assert outbox.due(engine, NOW + 3 * BATCH, "test") == []
    assert not subscriptions.request(engine, "reader@example.org", HARM, INSTANT, NOW)


def test_unsubscribing_from_everything_erases_the_address(engine):
    subscriber = subscribed(engine)
    subscriptions.unsubscribe(engine, subscriber)
    for name in ("subscribers", "subscriptions", "messages", "pending", "suppressed"):
        assert table(engine, name) == [], name


def test_an_erased_bounced_address_leaves_only_its_hash(engine):
    subscriber = subscribed(engine)
    subscriptions.request(engine, "reader@example.org", HARM, WEEKLY, NOW)
    (message,) = outbox.due(engine, NOW, "test")
    bounces.bounced(engine, message.id, subscriber, NOW, "550 no such user")
    subscriptions.erase(engine, subscriber)
    (row,) = table(engine, "suppressed")
    assert row.hash == subscriptions.suppression_hash("reader@example.org")
    for name in ("subscribers", "subscriptions", "messages", "pending"):
        assert table(engine, name) == [], name
    assert not subscriptions.request(engine, "reader@example.org", HARM, INSTANT, NOW)
    assert table(engine, "subscribers") == []  # suppressed: not even stored again


def test_one_sender_holds_the_lease_until_it_lapses(engine):
    assert outbox.hold_lease(engine, "a", NOW, 30)
    assert not outbox.hold_lease(engine, "b", NOW + timedelta(seconds=10), 30)
    assert outbox.hold_lease(engine, "a", NOW + timedelta(seconds=20), 30)  # renewed
    assert not outbox.hold_lease(engine, "b", NOW + timedelta(seconds=40), 30)
    assert outbox.hold_lease(engine, "b", NOW + timedelta(seconds=51), 30)


def test_a_claimed_message_is_not_given_to_another_sender_until_the_claim_lapses(engine):
    subscriptions.request(engine, "reader@example.org", HARM, INSTANT, NOW)
    (claimed,) = outbox.due(engine, NOW, "a", hold=60)
    assert outbox.due(engine, NOW + timedelta(seconds=30), "b") == []
    renewed = outbox.due(engine, NOW + timedelta(seconds=30), "a", hold=60)
    assert [m.id for m in renewed] == [claimed.id]
    assert outbox.due(engine, NOW + timedelta(seconds=61), "b") == []  # renewed till 90 s
    (taken_over,) = outbox.due(engine, NOW + timedelta(seconds=91), "b")
    assert taken_over.id == claimed.id and taken_over.key == claimed.key


def test_a_digest_takes_what_went_live_by_its_moment_and_leaves_the_rest_for_next_week(engine):
    outbox.announce(engine, [], NOW)
    subscribed(engine, frequency=WEEKLY)
    outbox.announce(engine, [ITEM], NOW)
    monday = NOW + timedelta(days=3)
    late = Live("after-the-digest", "voices", ("harm-reduction",))
    outbox.announce(engine, [ITEM, late], monday + timedelta(minutes=1))
    assert outbox.compose(engine, monday + timedelta(minutes=2), monday) == 1
    (message,) = outbox.due(engine, monday + timedelta(minutes=2), "test")
    assert message.items == ("naloxone-evening",)
    next_monday = monday + timedelta(days=7)
    assert outbox.compose(engine, next_monday, next_monday) == 1


def test_processes_starting_together_migrate_one_at_a_time(tmp_path, request):
    """The workers of a pool (or machines) starting at once: each brings the schema to the
    newest version, none fails on tables another is creating."""
    from concurrent.futures import ThreadPoolExecutor

    from syndicate.people.database import create_engine, database_url
    from tests.people import fresh_database_url

    for kind in ("sqlite", "postgresql"):
        url = database_url(fresh_database_url(kind, tmp_path, request), None)
        engines = [create_engine(url) for _ in range(4)]
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(migrate, engines))
        assert outbox.link_key(engines[0]) == outbox.link_key(engines[3])
        for made in engines:
            made.dispose()
