"""A clock the pipeline tests drive by hand (never sleep): ``clock.advance(seconds=…)``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from leadhub.core import clock

START = datetime(2026, 1, 10, 10, 30, tzinfo=UTC)


class DrivenClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.at


@pytest.fixture
def driven_clock() -> Iterator[DrivenClock]:
    driven = DrivenClock(START)
    clock.set_clock(driven.now)
    try:
        yield driven
    finally:
        clock.set_clock(None)
