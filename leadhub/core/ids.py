"""Public identifiers: a type prefix over a UUIDv7 key, e.g. ``con_01jd6x0c9q8f1t3m4n5p6r7s8v``.

The 26-character tail is the UUID in Crockford base32 (the TypeID layout), so ids sort by creation
time and a bare UUID of the same row resolves too (for dialects whose vendors use bare UUIDs).
"""

from __future__ import annotations

import uuid

import uuid_utils.compat as uuid_compat

from leadhub.core.errors import NotFound

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_DECODE = {c: i for i, c in enumerate(_ALPHABET)}
# Crockford base32 reads I/L as 1 and O as 0 on input.
_DECODE.update({"i": 1, "l": 1, "o": 0})

ORGANIZATION = "org"
WORKSPACE = "ws"
API_KEY = "key"
CONTACT = "con"
COMPANY = "cmp"
PIPELINE = "pipe"
DEAL = "deal"
TASK = "task"
CAMPAIGN = "cpg"
PROSPECT = "prs"
WEBHOOK = "whk"
DELIVERY = "dlv"
ATTEMPT = "att"
EVENT = "evt"
CUSTOM_FIELD = "cf"
USER = "usr"
SAVED_VIEW = "view"
IMPORT = "imp"
# Leads v1 (seed 001) presents contacts as `lead_…` over the same UUID; `con_…` resolves there too.
LEAD = "lead"


class InvalidId(ValueError):
    """The string is not an id of the expected type; doors answer it as 'not found'."""


def new_uuid() -> uuid.UUID:
    """A fresh time-ordered UUIDv7."""
    return uuid_compat.uuid7()


# Every pair of digits (10 bits), so an id is 13 lookups rather than 26 steps: ids are encoded for every
# row of every answer, and the loop was a visible share of a list page's CPU.
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]


def encode(prefix: str, value: uuid.UUID) -> str:
    n, p = value.int, _PAIRS
    return (
        f"{prefix}_{p[n >> 120]}{p[(n >> 110) & 1023]}{p[(n >> 100) & 1023]}{p[(n >> 90) & 1023]}"
        f"{p[(n >> 80) & 1023]}{p[(n >> 70) & 1023]}{p[(n >> 60) & 1023]}{p[(n >> 50) & 1023]}"
        f"{p[(n >> 40) & 1023]}{p[(n >> 30) & 1023]}{p[(n >> 20) & 1023]}{p[(n >> 10) & 1023]}{p[n & 1023]}"
    )


def decode(prefix: str, text: str) -> uuid.UUID:
    """Accept ``prefix_<base32>`` or a canonical UUID string; raise InvalidId otherwise."""
    if not isinstance(text, str) or len(text) > 64:
        raise InvalidId(prefix)
    head = f"{prefix}_"
    if text.startswith(head):
        tail = text[len(head) :].lower()
        # 26 base32 digits carry 130 bits: the first may only hold the top 3 of the 128.
        if len(tail) != 26 or _DECODE.get(tail[0], 32) > 7:
            raise InvalidId(prefix)
        n = 0
        for c in tail:
            digit = _DECODE.get(c)
            if digit is None:
                raise InvalidId(prefix)
            n = (n << 5) | digit
        return uuid.UUID(int=n)
    try:
        return uuid.UUID(text)
    except ValueError as exc:
        raise InvalidId(prefix) from exc


def resolve(prefix: str, text: str, resource: str) -> uuid.UUID:
    """``decode`` for doors and services: an id that cannot be one of ``resource`` answers NotFound, exactly
    like an id that does not exist (so a malformed id reveals nothing either)."""
    try:
        return decode(prefix, text)
    except InvalidId:
        raise NotFound(resource) from None


def new(prefix: str) -> tuple[uuid.UUID, str]:
    value = new_uuid()
    return value, encode(prefix, value)
