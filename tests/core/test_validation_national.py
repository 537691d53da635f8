"""The North American national fast path of phone normalization answers exactly what phonenumbers answers,
for every region that dials +1 (those it does not cover fall through to the full parse)."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from leadhub.core import validation
from leadhub.core.validation import normalize_phone
from tests.core.test_validation_fast import EQUIVALENCE, library_phone, verdict

NANP_REGIONS = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1])
REGIONS = [*NANP_REGIONS, "GB", "DE", "AR", "MX", "BR", None]

# Ten digits (any first digit, so 0 and 1 are on both sides of the edge) in the shapes people write, and
# near misses: a leading 1, an unbalanced parenthesis, doubled separators, eleven or nine digits.
national = st.builds(
    lambda shape, digits: shape.format(a=digits[:3], b=digits[3:6], c=digits[6:]),
    st.sampled_from(
        [
            "({a}) {b}-{c}",
            "({a}){b}-{c}",
            "({a}) {b} {c}",
            "{a}-{b}-{c}",
            "{a}.{b}.{c}",
            "{a} {b} {c}",
            "{a}{b}{c}",
            "{a}{b}-{c}",
            "1 ({a}) {b}-{c}",
            "1-{a}-{b}-{c}",
            "({a} {b}-{c}",
            "{a})-{b}-{c}",
            "{a}--{b}-{c}",
            "({a})  {b}-{c}",
            "{a}-{b}-{c}0",
            "{a}-{b}-{c}x12",
        ]
    ),
    st.from_regex(r"\A[0-9]{10}\Z"),
)


@EQUIVALENCE
@given(national, st.sampled_from(REGIONS))
@example("(212) 345-6789", "US")
@example("(212) 045-6789", "US")
@example("(112) 345-6789", "US")
@example("(012) 345-6789", "US")
@example("(268) 345-6789", "AG")
@example("416.555.0100", "CA")
@example("(212) 345-6789", "GB")
def test_national_fast_path_answers_what_the_library_answers(number: str, region: str | None) -> None:
    assert verdict(normalize_phone, number, region) == verdict(library_phone, number, region)
    fast = validation._fast_national(number, region)
    if fast is not None:
        assert verdict(library_phone, number, region) == ("ok", fast)


@pytest.mark.parametrize("number", ["(212) 345-6789", "212-345-6789", "212.345.6789", "2123456789"])
def test_national_fast_path_is_taken_for_us_numbers(number: str) -> None:
    assert validation._fast_national(number, "US") == "+12123456789" == library_phone(number, "US")


@pytest.mark.parametrize("region", ["AG", "BS", "GB", "DE"])
def test_national_fast_path_leaves_other_readings_to_the_library(region: str) -> None:
    assert validation._fast_national("(212) 345-6789", region) is None
