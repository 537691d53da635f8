"""``RateLimit`` / ``RateLimit-Policy`` (IETF draft-ietf-httpapi-ratelimit-headers, structured-field form):
one item per bucket the request was charged to, e.g. ``"key";q=190;w=10`` and ``"key";r=189;t=1``."""

from __future__ import annotations

from leadhub.ratelimit.bucket import Decision


def policy_header(decision: Decision) -> str:
    return ", ".join(f'"{s.spec.policy}";q={s.spec.capacity};w={s.spec.window}' for s in decision.states)


def limit_header(decision: Decision) -> str:
    return ", ".join(f'"{s.spec.policy}";r={s.remaining};t={s.reset}' for s in decision.states)


def pairs(decision: Decision, status: int) -> list[tuple[bytes, bytes]]:
    """The header lines for an answer with this ``status``; a refusal adds ``Retry-After``."""
    out = [(b"ratelimit-policy", policy_header(decision).encode()), (b"ratelimit", limit_header(decision).encode())]
    if status == 429 and not decision.allowed:
        out.append((b"retry-after", str(decision.retry_after).encode()))
    return out
