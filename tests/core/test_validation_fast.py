"""The canonical-form fast paths of email and phone normalization answer exactly what the full library
check answers: compared on generated and tricky inputs (IDN, quoted local parts, upper case, trailing
dots, +tags, national numbers, extensions, national prefixes after the country code)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import email_validator
import phonenumbers
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from leadhub.core import validation
from leadhub.core.validation import ValidationFailure, normalize_email, normalize_phone

EQUIVALENCE = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def library_email(text: str) -> str:
    """What normalize_email answered before any fast path or cache: email-validator on every call."""
    text = text.strip()
    if not text:
        raise ValidationFailure("required", "must not be empty")
    if len(text) > validation.MAX_EMAIL_LENGTH:
        raise ValidationFailure("max_length", "too long")
    try:
        result = email_validator.validate_email(text, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        raise ValidationFailure("email", f"is not a valid email address: {exc}") from None
    normalized = result.normalized.lower()
    if len(normalized) > validation.MAX_EMAIL_LENGTH:
        raise ValidationFailure("max_length", "too long")
    return normalized


def library_phone(text: str, region: str | None) -> str:
    """What normalize_phone answered before any fast path or cache: phonenumbers on every call."""
    text = text.strip()
    if not text:
        raise ValidationFailure("required", "must not be empty")
    if len(text) > validation.MAX_PHONE_INPUT_LENGTH:
        raise ValidationFailure("max_length", "too long")
    if text.startswith("00"):
        text = "+" + text[2:]
    if not text.startswith("+") and not region:
        raise ValidationFailure("phone_region", "needs a region")
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException:
        raise ValidationFailure("phone", "not a number") from None
    if parsed.extension:
        raise ValidationFailure("phone", "extension")
    if not phonenumbers.is_possible_number(parsed):
        raise ValidationFailure("phone", "not possible")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def verdict(fn: Callable[..., str], *args: Any) -> tuple[str, str]:
    """("ok", value) or ("failed", rule): the outcome a caller can observe."""
    try:
        return "ok", fn(*args)
    except ValidationFailure as failure:
        return "failed", failure.rule


# Local parts and domains built from pieces that sit on both sides of the fast path's edges.
local_parts = st.one_of(
    st.from_regex(r"\A[A-Za-z0-9_+\-]{1,20}(\.[A-Za-z0-9_+\-]{1,10}){0,2}\Z"),
    st.sampled_from(
        [
            "Ada.Lovelace",
            "ada+news",
            "a..b",
            ".ada",
            "ada.",
            '"quoted"',
            '"a b"',
            "ünïcode",
            "o'neil",
            "a" * 64,
            "a" * 65,
            "x%y",
            "a!b",
            "ADA",
            "_",
            "-",
            "+",
            "a b",
            "(comment)a",
            "用户",
        ]
    ),
    st.text(min_size=1, max_size=12),
)
domains = st.one_of(
    st.from_regex(r"\A([A-Za-z0-9]([A-Za-z0-9\-]{0,8}[A-Za-z0-9])?\.){1,3}[A-Za-z]{2,6}\Z"),
    st.sampled_from(
        [
            "Example.COM",
            "example.com.",
            "ex--ample.com",
            "xn--bcher-kva.example",
            "bücher.example",
            "localhost",
            "a.test",
            "mail.local",
            "1.2.3.4",
            "[127.0.0.1]",
            "ex.123",
            "-ex.com",
            "ex-.com",
            "a" * 64 + ".com",
            "example.invalid",
            "sub.example.co.uk",
            "EXAMPLE.ONION",
            "münchen.de",
            "a.b",
            "x.y.z.w.com",
        ]
    ),
    st.text(min_size=1, max_size=12),
)
addresses = st.one_of(
    st.builds(lambda local, domain: f"{local}@{domain}", local_parts, domains),
    st.builds(lambda local, domain: f"  {local}@{domain} ", local_parts, domains),
    st.emails(),
    st.text(max_size=40),
)


@EQUIVALENCE
@given(addresses)
@example("Ada.Lovelace+News@Example.COM")
@example("ada@example.com.")
@example('"ada lovelace"@example.com')
@example("ada@bücher.example")
@example("ada@xn--bcher-kva.example")
@example("ADA@EXAMPLE.COM")
@example("a" * 64 + "@example.com")
@example("a" * 65 + "@example.com")
@example("ada@" + "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 50 + ".com")
def test_email_fast_path_answers_what_the_library_answers(address: str) -> None:
    assert verdict(normalize_email, address) == verdict(library_email, address)
    fast = validation._fast_email(address.strip())
    if fast is not None:  # when the fast path answers, the library agrees on the very value
        assert verdict(library_email, address) == ("ok", fast)


def test_email_fast_path_is_taken_for_plain_addresses() -> None:
    """A test that cannot fail is a defect: the fast path must really answer the common case."""
    assert validation._fast_email("Ada.Lovelace+tag@Example.com") == "ada.lovelace+tag@example.com"
    assert validation._fast_email("ada@bücher.example") is None
    assert validation._fast_email('"ada"@example.com') is None


REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
country_codes = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


@st.composite
def e164_like(draw: st.DrawFn) -> str:
    code = draw(st.sampled_from(country_codes))
    national = draw(st.from_regex(r"\A[0-9]{1,15}\Z"))
    lead = draw(st.sampled_from(["+", "+", "+", "00", "", "+0"]))
    return f"{lead}{code}{national}"


@st.composite
def real_numbers(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(REGIONS))
    kind = draw(st.sampled_from([phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]))
    number = phonenumbers.example_number_for_type(region, kind)
    if number is None:
        number = phonenumbers.example_number(region)
    assume_number = number or phonenumbers.parse("+12015550123")
    style = draw(
        st.sampled_from(
            [
                phonenumbers.PhoneNumberFormat.E164,
                phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                phonenumbers.PhoneNumberFormat.NATIONAL,
            ]
        )
    )
    text = phonenumbers.format_number(assume_number, style)
    return text + draw(st.sampled_from(["", "", " x12", " ext. 5", ";ext=9"]))


phones = st.one_of(
    e164_like(),
    real_numbers(),
    st.sampled_from(
        [
            "+12125551234",
            "+1 212 555 1234",
            "(212) 555-1234",
            "212.555.1234",
            "+11234567890",
            "+4407911123456",
            "+447911123456",
            "+390612345678",
            "+3906",
            "+0012125551234",
            "0012125551234",
            "+12125551234 x7",
            "+1212555123",
            "+121255512345",
            "+8613800138000",
            "+5491123456789",
            "+79161234567",
            "+88213",
        ]
    ),
    st.text(alphabet="+0123456789 ()-.x", max_size=22),
)


@EQUIVALENCE
@given(phones, st.sampled_from([None, "US", "GB", "DE", "IT", "AR", "RU", "FR"]))
@example("+12125551234", None)
@example("+4407911123456", "GB")
@example("+390612345678", None)
@example("+12125551234 ext. 9", "US")
@example("(212) 555-1234", "US")
@example("+1 212 555 1234", None)
def test_phone_fast_path_answers_what_the_library_answers(number: str, region: str | None) -> None:
    assert verdict(normalize_phone, number, region) == verdict(library_phone, number, region)
    fast = validation._fast_phone(number.strip())
    if fast is not None:
        assert verdict(library_phone, number, region) == ("ok", fast)


@pytest.mark.parametrize("number", ["+12125551234", "+4930123456", "+33612345678", "+34612345678"])
def test_phone_fast_path_is_taken_for_e164_numbers(number: str) -> None:
    assert validation._fast_phone(number) == number
    assert library_phone(number, None) == number


@pytest.mark.parametrize("number", ["+4407911123456", "+390612345678", "+5491123456789", "+11234567890"])
def test_phone_fast_path_leaves_rewritten_numbers_to_the_library(number: str) -> None:
    assert validation._fast_phone(number) is None
