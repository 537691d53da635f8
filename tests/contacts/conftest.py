"""A clock the contact tests drive, so "later" needs no sleep."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from leadhub.core import clock
from tests.contacts.support import DrivenClock


@pytest.fixture
def driven_clock() -> Iterator[DrivenClock]:
    driven = DrivenClock()
    clock.set_clock(lambda: driven.now)
    try:
        yield driven
    finally:
        clock.set_clock(None)
