"""The generational suffix of a profile ("Jr", "III") is found without parsing names that cannot hold one."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from nameparser import HumanName

from leadhub.contacts import dedupe

PIECES = ["Ada", "de la", "Jr", "jr.", "Sr", "Junior", "SENIOR", "II", "iii", "IV", "PhD", "Dr.", "Mrs", "O'Neil", "Ян"]
SEPARATORS = [" ", ", ", ",", "  ", " - "]


def _parsed_generation(name: str) -> str:
    # What the profile found before the pre-check: every name parsed.
    suffix = dedupe.plain(HumanName(name).suffix)
    return next((dedupe._GENERATIONAL[s] for s in suffix.split() if s in dedupe._GENERATIONAL), "")


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(PIECES) | st.text(min_size=1, max_size=8), min_size=1, max_size=5),
    st.lists(st.sampled_from(SEPARATORS), min_size=5, max_size=5),
)
def test_generation_equals_the_full_parse(pieces: list[str], separators: list[str]) -> None:
    name = "".join(p + s for p, s in zip(pieces, separators, strict=False)).strip()
    found = dedupe.profile("x", first_name=None, middle_name=None, last_name=None, name=name, emails=[], phones=[])
    assert found.generation == _parsed_generation(name)


def test_a_generation_is_found_and_a_plain_name_is_not_parsed() -> None:
    assert dedupe.profile("x", first_name="Ada", middle_name=None, last_name="King", name="Ada King Jr.", emails=[],
                          phones=[]).generation == "jr"  # fmt: skip
    assert not dedupe.may_name_a_generation("Ada Lovelace")
    assert dedupe.may_name_a_generation("Lovelace, Ada, III")
