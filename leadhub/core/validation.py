"""Identity normalization: the only place that knows the formats of emails, phones, countries,
time zones and dates. Every normalizer is idempotent and raises only ``ValidationFailure``."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from typing import Annotated, Any
from zoneinfo import available_timezones

import email_validator
import phonenumbers
import pycountry
from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

MAX_EMAIL_LENGTH = 254
MAX_PHONE_INPUT_LENGTH = 40

# Dates of seed 004 (LeadConnector's dateOfBirth), besides ISO 8601.
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%m-%d-%Y", "%Y.%m.%d", "%m.%d.%Y")
_DATE_SHAPE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}$")
# An ISO 8601 date-time (what JavaScript's toISOString sends for a date); its calendar date is kept as written.
_DATETIME_SHAPE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")

# Names people write that ISO 3166 does not list.
_COUNTRY_ALIASES = {
    "uk": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "great britain": "GB",
    "america": "US",
    "united states of america": "US",
    "south korea": "KR",
    "north korea": "KP",
    "russia": "RU",
    "vietnam": "VN",
    "iran": "IR",
    "syria": "SY",
    "laos": "LA",
    "bolivia": "BO",
    "venezuela": "VE",
    "tanzania": "TZ",
    "moldova": "MD",
    "czech republic": "CZ",
    "ivory coast": "CI",
    "turkey": "TR",
}


class ValidationFailure(ValueError):
    """A value broke a rule. ``rule`` is machine-readable; ``message`` never repeats the value."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


def kind_of(value: Any) -> str:
    """The JSON kind of a value, for error reports that must not echo personal data."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


# The canonical-form fast paths below answer only when they can prove the full check answers the same;
# anything else (including every failure) goes through the library, so errors stay exactly the library's.
# An ASCII dot-atom local part (a strict subset of RFC 5322's atext: no quotes, no comments, no leading,
# trailing or doubled dot, at most 64 characters) at a plain ASCII host name (LDH labels, no trailing dot,
# no punycode). email-validator keeps such a local part as written and checks the domain on its own, so
# the address is valid iff the domain is, and its normalized form is the address lower-cased.
_FAST_EMAIL = re.compile(
    r"(?P<local>[A-Za-z0-9_+\-]+(?:\.[A-Za-z0-9_+\-]+)*)@"
    r"(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)",
    re.ASCII,
)
_LOCAL_MAX = 64
_VALUE_CACHE = 65536  # distinct values remembered per normalizer (an import repeats few; the API many)


@lru_cache(maxsize=16384)
def _domain_ok(domain: str) -> bool:
    """Whether email-validator accepts this (lower-case, ASCII, non-punycode) domain with a plain local
    part: one library call per distinct domain."""
    if "xn--" in domain:
        return False  # punycode is decoded and re-checked by the library: not canonical for this cache
    try:
        result = email_validator.validate_email("a@" + domain, check_deliverability=False)
    except email_validator.EmailNotValidError:
        return False
    return bool(result.ascii_domain == domain and result.domain == domain)


def _fast_email(text: str) -> str | None:
    """The normalized form of an already-canonical address, or None when only the full check can tell."""
    match = _FAST_EMAIL.fullmatch(text)
    if match is None or len(match.group("local")) > _LOCAL_MAX:
        return None
    if not _domain_ok(match.group("domain").lower()):
        return None
    return text.lower()


def normalize_email(value: str) -> str:
    """Lower-cased, syntax-checked address (no DNS look-up)."""
    if not isinstance(value, str):
        raise ValidationFailure("type", "must be a string")
    text = value.strip()
    if not text:
        raise ValidationFailure("required", "must not be empty")
    if len(text) > MAX_EMAIL_LENGTH:
        raise ValidationFailure("max_length", f"must be at most {MAX_EMAIL_LENGTH} characters")
    fast = _fast_email(text)
    if fast is not None:
        return fast
    return _full_email(text)


@lru_cache(maxsize=_VALUE_CACHE)
def _full_email(text: str) -> str:
    """email-validator's verdict on a stripped address of bounded length (failures are not cached)."""
    try:
        result = email_validator.validate_email(text, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        raise ValidationFailure("email", f"is not a valid email address: {exc}") from None
    normalized = result.normalized.lower()
    if len(normalized) > MAX_EMAIL_LENGTH:
        raise ValidationFailure("max_length", f"must be at most {MAX_EMAIL_LENGTH} characters")
    return normalized


_E164 = re.compile(r"\+[1-9][0-9]{1,16}", re.ASCII)


@cache
def _plain_prefix(country_code: int) -> str | None:
    """The national prefix of a calling code when it is a plain digit string ("" when it has none), or
    None when it is a pattern (then only the full parse can tell what it strips)."""
    region = phonenumbers.region_code_for_country_code(country_code)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    if metadata is None:
        return None
    prefix = metadata.national_prefix_for_parsing
    if not prefix:
        return ""
    return prefix if prefix.isdigit() and prefix.isascii() else None


@lru_cache(maxsize=4096)
def _possible_length(country_code: int, length: int) -> bool:
    """phonenumbers' possibility test, which depends only on the calling code and the length of the
    national significant number (``_test_number_length`` against the code's main region)."""
    sample = phonenumbers.PhoneNumber(country_code=country_code, national_number=int("1" + "0" * (length - 1)))
    return bool(phonenumbers.is_possible_number(sample))


def _fast_phone(text: str) -> str | None:
    """``text`` itself when it is already E.164 and the full parse provably gives it back unchanged: the
    calling code is read as phonenumbers reads it (shortest known prefix), the national part has no
    leading zero (which the library keeps as a flag), its national prefix is a plain string the number
    does not start with (so nothing is stripped), and the length is possible for the code."""
    if _E164.fullmatch(text) is None:
        return None
    digits = text[1:]
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    national = digits[size:]
    if len(national) < 2 or national[0] == "0":
        return None
    prefix = _plain_prefix(code)
    if prefix is None or (prefix and national.startswith(prefix)):
        return None
    return text if _possible_length(code, len(national)) else None


# A ten-digit North American number as people write it: (212) 555-1234, 212-555-1234, 212.555.1234, 2125551234.
_NANP_NATIONAL = re.compile(r"(?:\(([2-9][0-9]{2})\) ?|([2-9][0-9]{2})[ .-]?)([0-9]{3})[ .-]?([0-9]{4})", re.ASCII)


@cache
def _nanp_plain(region: str) -> bool:
    """Whether ``region`` reads a national number as +1 with nothing rewritten: it dials +1, its international
    prefix is 011 and its national prefix for parsing is a plain 1 (the Caribbean's patterns, which prepend
    their area code to seven digits, are left to the full parse)."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    return (
        metadata is not None
        and metadata.country_code == 1
        and metadata.international_prefix == "011"
        and metadata.national_prefix_for_parsing == "1"
        and metadata.national_prefix_transform_rule is None
    )


def _fast_national(text: str, default_region: str | None) -> str | None:
    """+1 and the ten digits of a North American national number, when the full parse provably gives just
    that: a region of ``_nanp_plain``; the number does not start with 0 or 1, so no international or
    national prefix is stripped and no country code read; ten digits are a possible length for +1."""
    if default_region is None or not _nanp_plain(default_region):
        return None
    match = _NANP_NATIONAL.fullmatch(text)
    if match is None:
        return None
    area = match.group(1) or match.group(2)
    return f"+1{area}{match.group(3)}{match.group(4)}"


def normalize_phone(value: str, default_region: str | None = None) -> str:
    """E.164 form. A national number (no ``+``) is read in ``default_region``."""
    if not isinstance(value, str):
        raise ValidationFailure("type", "must be a string")
    text = value.strip()
    if not text:
        raise ValidationFailure("required", "must not be empty")
    if len(text) > MAX_PHONE_INPUT_LENGTH:
        raise ValidationFailure("max_length", f"must be at most {MAX_PHONE_INPUT_LENGTH} characters")
    if text.startswith("00"):
        text = "+" + text[2:]
    fast = _fast_phone(text) if text.startswith("+") else _fast_national(text, default_region)
    if fast is not None:
        return fast
    return _full_phone(text, default_region)


@lru_cache(maxsize=_VALUE_CACHE)
def _full_phone(text: str, default_region: str | None) -> str:
    """phonenumbers' verdict on a stripped number of bounded length (failures are not cached)."""
    if not text.startswith("+") and not default_region:
        raise ValidationFailure("phone_region", "a national number needs a +country code or a default region")
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else default_region)
    except phonenumbers.NumberParseException:
        raise ValidationFailure("phone", "is not a phone number (E.164 expected, e.g. +15551234567)") from None
    if parsed.extension:
        raise ValidationFailure("phone", "extensions are not supported")
    if not phonenumbers.is_possible_number(parsed):
        raise ValidationFailure("phone", "is not a possible phone number for its country")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def trim_value_caches(limit: int) -> None:
    """Forget the full checks' verdicts by distinct value once they hold more than ``limit`` each. A process
    that only normalizes a big file (an import's worker) meets each value about once, so its caches would
    fill to their ceiling (~50 MB) for almost no hits."""
    for verdicts in (_full_email, _full_phone):
        if verdicts.cache_info().currsize > limit:
            verdicts.cache_clear()


def phone_region(e164: str) -> str | None:
    """ISO country of an E.164 number, when the numbering plan tells."""
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None
    return region if region and region != "ZZ" else None


@lru_cache(maxsize=4096)
def normalize_country(value: str) -> str:
    """ISO 3166-1 alpha-2 from an alpha-2, alpha-3 or English name."""
    if not isinstance(value, str):
        raise ValidationFailure("type", "must be a string")
    text = " ".join(value.split())
    if not text:
        raise ValidationFailure("required", "must not be empty")
    if len(text) > 100:
        raise ValidationFailure("country", "is not an ISO 3166-1 country")
    alias = _COUNTRY_ALIASES.get(text.lower())
    if alias:
        return alias
    country = None
    if len(text) == 2:
        country = pycountry.countries.get(alpha_2=text.upper())
    elif len(text) == 3:
        country = pycountry.countries.get(alpha_3=text.upper())
    if country is None:
        try:
            country = pycountry.countries.lookup(text)
        except LookupError:
            country = None
    if country is None:
        raise ValidationFailure("country", "is not an ISO 3166-1 country (alpha-2 code expected, e.g. US)")
    return str(country.alpha_2)


@lru_cache(maxsize=1)
def _timezones() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def normalize_timezone(value: str) -> str:
    """Canonical IANA name, matched case-insensitively."""
    if not isinstance(value, str):
        raise ValidationFailure("type", "must be a string")
    text = value.strip()
    name = _timezones().get(text.lower()) if len(text) <= 64 else None
    if name is None:
        raise ValidationFailure("timezone", "is not an IANA time zone (e.g. America/Chicago)")
    return name


def parse_date(value: str | date) -> date:
    """A calendar date from ISO 8601 or one of the six formats of seed 004."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValidationFailure("type", "must be a string")
    text = value.strip()
    if _DATE_SHAPE.match(text):
        for fmt in DATE_FORMATS:
            try:
                return datetime.strptime(text, fmt).date()
            except ValueError:
                continue
    if len(text) <= 40 and _DATETIME_SHAPE.match(text):
        try:
            return datetime.fromisoformat(text).date()
        except ValueError:
            pass
    raise ValidationFailure(
        "date", "must be a date: YYYY-MM-DD, YYYY/MM/DD, MM/DD/YYYY, MM-DD-YYYY, YYYY.MM.DD or MM.DD.YYYY"
    )


def to_utc(value: datetime) -> datetime:
    """The same instant in UTC (a time without an offset is read as UTC), so an answer shows what a
    later read shows."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def has_nul(value: Any) -> bool:
    """True when a string anywhere in ``value`` (object keys included) holds U+0000."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(v) for v in value)
    return False


def reject_nul(value: Any) -> Any:
    """Refuse U+0000 in any string: PostgreSQL text and jsonb cannot hold it, so both engines refuse it."""
    if has_nul(value):
        raise PydanticCustomError("nul_character", "must not contain the NUL character (U+0000)")
    return value


def _pydantic(fn: Any) -> Any:
    """Wrap a normalizer so pydantic reports its rule as the error type."""

    def run(value: Any) -> Any:
        try:
            return fn(value)
        except ValidationFailure as exc:
            raise PydanticCustomError(exc.rule, exc.message) from None

    return run


Email = Annotated[str, AfterValidator(_pydantic(normalize_email))]
Country = Annotated[str, AfterValidator(_pydantic(normalize_country))]
TimeZone = Annotated[str, AfterValidator(_pydantic(normalize_timezone))]
FlexibleDate = Annotated[date, BeforeValidator(_pydantic(parse_date))]
UtcDateTime = Annotated[datetime, AfterValidator(to_utc)]


def _trimmed_not_blank(value: str) -> str:
    trimmed = value.strip()
    if not trimmed:
        raise PydanticCustomError("string_too_short", "String should have at least 1 character", {"min_length": 1})
    return trimmed


# Surrounding whitespace removed *after* the length limits were checked on the value as sent (as the OpenAPI
# document states them), then refused when nothing is left: ``Annotated[str, StringConstraints(min_length=1,
# max_length=N), TRIMMED_NOT_BLANK]``. (``strip_whitespace=True`` strips first, so a value over the documented
# maximum that ends in whitespace would be accepted.)
TRIMMED_NOT_BLANK = AfterValidator(_trimmed_not_blank)


def _trimmed(value: str) -> str:
    return value.strip()


# The same for a field that may be blank: ``Annotated[str, StringConstraints(max_length=N), TRIMMED]`` checks
# the limits (and any pattern) on the value as sent, then stores it trimmed ("   " becomes ""). Use this, never
# ``strip_whitespace=True`` or a model's ``str_strip_whitespace``, on a field whose limits the OpenAPI states.
TRIMMED = AfterValidator(_trimmed)
Trimmed = Annotated[str, TRIMMED]

# One word (a URL, say) that may arrive padded, as values from files and other vendors' payloads often do: the
# documented pattern admits the padding (it is checked as sent, like the lengths), then TRIMMED drops it.
PADDED_WORD = r"^\s*\S+\s*$"
