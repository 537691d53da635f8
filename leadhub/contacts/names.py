"""Display names: split a full name into parts, or make one from an email's local part."""

from __future__ import annotations

import re

from nameparser import HumanName

_SEPARATORS = re.compile(r"[._\-+]+")
_DIGITS = re.compile(r"\d+")


def split_name(full: str) -> tuple[str | None, str | None, str | None]:
    """First, middle and last parts of a full name (titles and suffixes stay only in the full name)."""
    parsed = HumanName(full)
    return parsed.first or None, parsed.middle or None, parsed.last or None


def join_parts(first: str | None, middle: str | None, last: str | None) -> str | None:
    joined = " ".join(p for p in (first, middle, last) if p)
    return joined or None


def name_from_email(address: str | None) -> str | None:
    """``johan.greg+news@x.com`` → ``Johan Greg``; None when the local part holds no name."""
    if not address:
        return None
    local = address.split("@", 1)[0].split("+", 1)[0]
    tokens = " ".join(_SEPARATORS.split(_DIGITS.sub(" ", local))).split()
    if not tokens:
        return None
    capitalizer = HumanName()
    # Capitalize word by word with the parser's rules (McDonald); its expansions of titles and suffixes
    # ("phd" → "Ph.D.") are punctuation a local part never had, so they are dropped again.
    words = [capitalizer.cap_word(token, "last").replace(".", "") for token in tokens]
    return " ".join(w for w in words if w) or None
