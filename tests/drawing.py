"""Examples drawn from a Hypothesis strategy up front, for tests that must act on them afterwards (on the
session's event loop and database, which a ``@given`` test body cannot await)."""

from __future__ import annotations

from typing import TypeVar

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

T = TypeVar("T")


def draw(strategy: st.SearchStrategy[T], count: int) -> list[T]:
    """Up to ``count`` examples of ``strategy``, the same on every run (derandomized, no example database)."""
    drawn: list[T] = []

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(value=strategy)
    def collect(value: T) -> None:
        drawn.append(value)

    collect()
    return drawn
