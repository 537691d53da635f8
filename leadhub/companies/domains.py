"""A company's domain, normalized once: from a bare domain, a URL or an email address to the lower-case
host without ``www.``, IDNA-encoded, so the same company is always found under the same key."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from leadhub.core.validation import ValidationFailure

MAX_DOMAIN_LENGTH = 253
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalize_domain(value: str) -> str:
    """``https://www.Acme.com/about`` / ``jane@acme.com`` / ``ACME.com.`` → ``acme.com``."""
    if not isinstance(value, str):
        raise ValidationFailure("type", "must be a string")
    text = value.strip()
    if not text:
        raise ValidationFailure("required", "must not be empty")
    if len(text) > 2048:
        raise ValidationFailure("max_length", "must be at most 2048 characters")
    if "@" in text and "/" not in text:
        text = text.rsplit("@", 1)[1]
    else:
        if "://" not in text:
            text = "//" + text
        try:
            host = urlsplit(text).hostname
        except ValueError:
            host = None
        text = host or ""
    text = text.lower().rstrip(".")
    text = text.removeprefix("www.")
    try:
        text = text.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationFailure("domain", "is not a domain name (e.g. acme.com)") from None
    labels = text.split(".")
    if len(text) > MAX_DOMAIN_LENGTH or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise ValidationFailure("domain", "is not a domain name (e.g. acme.com)")
    if labels[-1].isdigit():
        raise ValidationFailure("domain", "is not a domain name (e.g. acme.com)")
    return text


def _domain_field(value: str) -> str:
    try:
        return normalize_domain(value)
    except ValidationFailure as exc:
        raise PydanticCustomError(exc.rule, exc.message) from None


Domain = Annotated[str, AfterValidator(_domain_field)]
