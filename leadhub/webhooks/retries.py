"""The retry schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h after each failure, with jitter, and no
sooner than the receiver's ``Retry-After``."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

SCHEDULE = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(SCHEDULE) + 1
JITTER = 0.1
# A receiver cannot park a delivery for longer than the longest step of the schedule.
MAX_RETRY_AFTER = timedelta(hours=10)
# An endpoint that has failed every attempt for this long is disabled.
DISABLE_AFTER = timedelta(days=5)


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """``Retry-After`` as delay-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(when - now, timedelta(0))


def next_delay(attempts: int, retry_after: timedelta | None = None) -> timedelta | None:
    """The wait before the next attempt after ``attempts`` failed ones; None when the schedule is spent."""
    if attempts >= MAX_ATTEMPTS:
        return None
    step = SCHEDULE[attempts - 1]
    delay = step * random.uniform(1 - JITTER, 1 + JITTER)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return delay
