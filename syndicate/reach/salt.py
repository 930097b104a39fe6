"""The day's secret that pollers are hashed with, kept in memory only.

A poller is counted as `hash(salt, feed, address, User-Agent)`: the same poller of the same
feed gives the same hash all day, and nothing else can be learnt from it. The salt changes
at midnight in the site's zone; the secret it comes from is replaced by a one-way function
of itself (a ratchet), so from what a process holds today no earlier day's salt can be
computed again: no hash of one day can be linked to another, nor to an address.

The workers of a pool get the same seed from the pool (over a pipe, never on disk or in a
process's arguments), so a poller that reaches two workers is one poller. A restart makes a
new seed: a poller seen before and after it, the same day, is counted twice that day.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from datetime import date, timedelta

NEXT_DAY = b"syndicate reach: the next day\0"


class DailySalt:
    """The salts of `day` and later days, from a secret that only moves forward."""

    def __init__(self, seed: bytes | None = None, day: date | None = None) -> None:
        self._secret = seed if seed is not None else os.urandom(32)
        self.day = day if day is not None else date.min

    def salt(self, day: date) -> bytes | None:
        """The salt of `day`: None for a day before the one held (its secret is gone). Moving
        to a later day forgets every secret before it."""
        if day < self.day:
            return None
        if self.day == date.min:  # a fresh secret: it is `day`'s
            self.day = day
        while self.day < day:
            self._secret = hashlib.sha256(NEXT_DAY + self._secret).digest()
            self.day += timedelta(days=1)
        return hmac.new(self._secret, b"syndicate reach: salt", hashlib.sha256).digest()

    def seed(self, day: date) -> tuple[bytes, date]:
        """What a new worker starts from, moved to `day` first (see the module)."""
        self.salt(day)
        return self._secret, self.day
