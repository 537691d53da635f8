"""Token-bucket arithmetic shared by every store: a bucket holds up to ``capacity`` tokens and refills
``capacity / window`` tokens a second; a request takes one token from every bucket it is charged to,
or from none of them when any is empty (so a refused request costs nothing)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Spec:
    """One bucket a request is charged to: ``policy`` names it in the headers (``key``, ``workspace``, ``daily``)."""

    policy: str
    key: str
    capacity: int
    window: int

    @property
    def rate(self) -> float:
        return self.capacity / self.window


@dataclass(frozen=True)
class State:
    spec: Spec
    tokens: float  # left after this request

    @property
    def remaining(self) -> int:
        return max(0, math.floor(self.tokens))

    @property
    def reset(self) -> int:
        """Seconds until the bucket is full again."""
        return max(0, math.ceil((self.spec.capacity - self.tokens) / self.spec.rate))

    @property
    def retry_after(self) -> int:
        """Seconds until one token is back (at least 1)."""
        return max(1, math.ceil((1 - self.tokens) / self.spec.rate))


@dataclass(frozen=True)
class Decision:
    allowed: bool
    states: list[State]

    @property
    def retry_after(self) -> int:
        return max((s.retry_after for s in self.states if s.tokens < 1), default=1)


def refill(tokens: float, updated_at: float, now: float, spec: Spec) -> float:
    """Tokens in a bucket last seen holding ``tokens`` at ``updated_at``, as of ``now``."""
    elapsed = max(0.0, now - updated_at)
    return min(float(spec.capacity), tokens + elapsed * spec.rate)


def decide(specs: Sequence[Spec], current: Sequence[float]) -> tuple[bool, list[float]]:
    """Take one token from each bucket (given their refilled levels), or from none if any is empty."""
    allowed = all(level >= 1 for level in current)
    after = [level - 1 for level in current] if allowed else list(current)
    return allowed, after
