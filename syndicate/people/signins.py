"""Sign-in limits for /stats/, shared by every worker and machine through the database.

Two limits over the last `WINDOW` (15 minutes), as docs/reach.md gives them:
- a client (a keyed hash of its address) gets `CLIENT_LIMIT` sign-ins, right or wrong;
- past `FAILURE_LIMIT` wrong passwords from everyone together, sign-ins are slowed rather
  than stopped: one every `SLOW_SECONDS` for everyone, so guessing from many addresses gets
  a few guesses a quarter of an hour, and the operator still gets in (after a wait, told by
  Retry-After). From this machine (an SSH tunnel to the service) the global limit never
  applies: attackers cannot reach it, the operator always can.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from syndicate.people.database import sign_in_attempts

CLIENT_LIMIT, FAILURE_LIMIT = 10, 30
WINDOW = timedelta(minutes=15)
SLOW_SECONDS = 60.0


@dataclass(frozen=True)
class Standing:
    """What the window holds: this client's sign-ins (the oldest's time), everyone's
    failures, and the newest sign-in of anyone."""

    client_attempts: int
    client_oldest: datetime | None
    failures: int
    newest: datetime | None


def standing(engine: Engine, client: str, now: datetime) -> Standing:
    since = now - WINDOW
    table = sign_in_attempts
    with engine.connect() as connection:
        mine = connection.execute(
            sa.select(sa.func.count(), sa.func.min(table.c.at)).where(
                table.c.client == client, table.c.at > since
            )
        ).one()
        failures, newest = connection.execute(
            sa.select(
                sa.func.count().filter(table.c.failed.is_(True)), sa.func.max(table.c.at)
            ).where(table.c.at > since)
        ).one()
    return Standing(int(mine[0]), mine[1], int(failures or 0), newest)


def wait(found: Standing, now: datetime, local: bool) -> float:
    """Seconds this client must wait before its next sign-in (0: it may sign in now).
    `local`: it asks from this machine, where the global limit does not apply."""
    waits = [0.0]
    if found.client_attempts >= CLIENT_LIMIT and found.client_oldest is not None:
        waits.append((found.client_oldest + WINDOW - now).total_seconds())
    if found.failures >= FAILURE_LIMIT and not local and found.newest is not None:
        waits.append(SLOW_SECONDS - (now - found.newest).total_seconds())
    return max(waits)


def record(engine: Engine, client: str, failed: bool, now: datetime) -> None:
    """Note a sign-in that was let through (and forget those past the window)."""
    with engine.begin() as connection:
        connection.execute(sa.delete(sign_in_attempts).where(sign_in_attempts.c.at <= now - WINDOW))
        connection.execute(
            sa.insert(sign_in_attempts), {"at": now, "client": client, "failed": failed}
        )
