"""Property-based tests for normalization (the issue's named test): idempotent, and no input ever raises
anything but a validation error."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from zoneinfo import available_timezones

import phonenumbers
import pycountry
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadhub.core.validation import (
    DATE_FORMATS,
    ValidationFailure,
    normalize_country,
    normalize_email,
    normalize_phone,
    normalize_timezone,
    parse_date,
)

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
PHONE_TYPES = [
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.TOLL_FREE,
]

# Text that looks a little like the thing, besides arbitrary text.
phone_like = st.text(alphabet="+0123456789 ()-.x#*", max_size=45)
email_like = st.builds(
    lambda local, domain, tld: f"{local}@{domain}.{tld}",
    st.text(min_size=1, max_size=20),
    st.text(min_size=1, max_size=20),
    st.text(min_size=1, max_size=6),
)
date_like = st.from_regex(r"\A\s?\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}\s?\Z")
any_text = st.text(max_size=300)


def outcome(fn: Callable[..., Any], *args: Any) -> Any:
    """Call ``fn``: its result, or None when it refused the input with a ValidationFailure (anything
    else propagates and fails the test)."""
    try:
        return fn(*args)
    except ValidationFailure as failure:
        assert failure.rule and failure.message
        return None


@PROPERTY
@given(st.one_of(any_text, email_like, st.emails()))
def test_normalize_email_refuses_only_with_validation_failure_and_is_idempotent(value: str) -> None:
    result = outcome(normalize_email, value)
    if result is not None:
        assert result == result.lower().strip()
        assert normalize_email(result) == result


@PROPERTY
@given(st.emails())
def test_valid_emails_in_any_case_normalize_to_one_address(value: str) -> None:
    result = outcome(normalize_email, value)
    if result is not None:
        assert normalize_email(f"  {value.upper()} ") == result


@PROPERTY
@given(
    st.one_of(any_text, phone_like),
    st.one_of(st.none(), st.sampled_from(REGIONS), st.text(min_size=0, max_size=3)),
)
def test_normalize_phone_refuses_only_with_validation_failure_and_is_idempotent(value: str, region: str | None) -> None:
    result = outcome(normalize_phone, value, region)
    if result is not None:
        assert result.startswith("+") and result[1:].isdigit()
        assert normalize_phone(result) == result
        assert normalize_phone(result, region) == result


@st.composite
def example_numbers(draw: st.DrawFn) -> tuple[str, str, str]:
    """(region, a way of writing the number, its E.164) for example numbers of every region."""
    region = draw(st.sampled_from(REGIONS))
    number = phonenumbers.example_number_for_type(region, draw(st.sampled_from(PHONE_TYPES)))
    if number is None:
        number = phonenumbers.example_number(region)
    if number is None:  # a few regions publish no example
        number = phonenumbers.example_number("US")
        region = "US"
    fmt = draw(
        st.sampled_from(
            [
                phonenumbers.PhoneNumberFormat.NATIONAL,
                phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                phonenumbers.PhoneNumberFormat.E164,
            ]
        )
    )
    return (
        region,
        phonenumbers.format_number(number, fmt),
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
    )


@PROPERTY
@given(example_numbers())
def test_example_numbers_of_every_region_normalize_to_their_e164(case: tuple[str, str, str]) -> None:
    region, written, e164 = case
    result = normalize_phone(written, region)
    assert result == e164
    assert normalize_phone(result) == result
    assert normalize_phone(result, region) == result
    if written.startswith("+"):
        # International forms need no region, and any other region reads them the same.
        assert normalize_phone(written) == e164
        assert normalize_phone(written, "US" if region != "US" else "GB") == e164
        assert normalize_phone("00" + written[1:], region) == e164


def test_national_number_without_a_region_is_refused_naming_the_rule() -> None:
    with pytest.raises(ValidationFailure) as failure:
        normalize_phone("(415) 555-0142")
    assert failure.value.rule == "phone_region"
    assert normalize_phone("(415) 555-0142", "US") == "+14155550142"


COUNTRY_SPELLINGS = [
    *(c.alpha_2 for c in pycountry.countries),
    *(c.alpha_3.lower() for c in pycountry.countries),
    *(c.name for c in pycountry.countries),
    "uk",
    "United States of America",
]


@PROPERTY
@given(st.one_of(any_text, st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=3)))
def test_normalize_country_refuses_only_with_validation_failure_and_is_idempotent(value: str) -> None:
    result = outcome(normalize_country, value)
    if result is not None:
        assert len(result) == 2 and result.isupper()
        assert normalize_country(result) == result


@PROPERTY
@given(st.sampled_from(COUNTRY_SPELLINGS), st.sampled_from([str, str.upper, str.lower, lambda s: f"  {s} "]))
def test_known_country_spellings_normalize_to_their_alpha_2(value: str, spell: Callable[[str], str]) -> None:
    result = normalize_country(spell(value))
    assert pycountry.countries.get(alpha_2=result) is not None
    assert normalize_country(result) == result


TIMEZONES = sorted(available_timezones())


@PROPERTY
@given(st.one_of(any_text, st.sampled_from(TIMEZONES).map(str.lower)))
def test_normalize_timezone_refuses_only_with_validation_failure_and_is_idempotent(value: str) -> None:
    result = outcome(normalize_timezone, value)
    if result is not None:
        assert result in TIMEZONES
        assert normalize_timezone(result) == result


@PROPERTY
@given(st.sampled_from(TIMEZONES), st.sampled_from([str.upper, str.lower, lambda s: f" {s} "]))
def test_every_iana_zone_in_any_case_normalizes_to_its_name(name: str, spell: Callable[[str], str]) -> None:
    assert normalize_timezone(spell(name)) == name


@PROPERTY
@given(st.one_of(any_text, date_like))
def test_parse_date_refuses_only_with_validation_failure_and_is_idempotent(value: str) -> None:
    result = outcome(parse_date, value)
    if result is not None:
        assert isinstance(result, date)
        assert parse_date(result.isoformat()) == result
        assert parse_date(result) == result


@PROPERTY
@given(st.dates(min_value=date(1000, 1, 1)), st.sampled_from(DATE_FORMATS))
def test_every_accepted_date_format_round_trips(day: date, fmt: str) -> None:
    assert parse_date(day.strftime(fmt)) == day
