"""`syndicate email`: the operator's view of the outbox, and the way back for what was set aside.

    syndicate email status     counts, why messages are set aside, how addresses bounced
    syndicate email release    messages set aside go back in the queue (after the operator
                               fixed what refused them: a size limit, a content filter)

Both read SYNDICATE_DATABASE_URL, or SQLite in SYNDICATE_STATE_DIR, as `serve` does, and
migrate it first (a database of an older version is brought up to date, which also clears
bounces that were the relay's fault: migration 0005). They print counts and the relay's
words, never an address.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from syndicate.people import bounces, outbox
from syndicate.people.database import open_database
from syndicate.settings import Settings


def run(action: str, settings: Settings) -> int:
    try:
        engine = open_database(settings.database_url, settings.state_dir)
    except ValueError as error:
        print(f"syndicate: {error}", file=sys.stderr)
        return 2
    try:
        if action == "release":
            released = outbox.release(engine, datetime.now(UTC))
            print(f"{released} message(s) set aside are back in the queue, due now")
            return 0
        counts = outbox.counts(engine)
        for name in ("subscribers", "queued", "set_aside", "bounced", "pending_items"):
            print(f"{name.replace('_', ' ')}: {counts[name]}")
        reasons = outbox.set_aside_reasons(engine)
        if reasons:
            print("set aside, by the reason (syndicate email release sends them again):")
            for reason, count in reasons:
                print(f"  {count:>6}  {reason}")
        learnt = bounces.bounce_reasons(engine)
        if learnt:
            print("bounced, by how it was learnt:")
            for reason, count in learnt:
                print(f"  {count:>6}  {reason}")
        return 0
    finally:
        engine.dispose()
