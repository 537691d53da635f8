"""Display names: splitting a full name, and a name made from an email's local part (pure functions)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadhub.contacts.names import join_parts, name_from_email, split_name


@pytest.mark.parametrize(
    ("full", "parts"),
    [
        ("John Smith", ("John", None, "Smith")),
        ("Smith, John", ("John", None, "Smith")),
        ("Mary Ann Jones", ("Mary", "Ann", "Jones")),
        ("Madonna", ("Madonna", None, None)),
        ("Dr. Martin Luther King Jr.", ("Martin", "Luther", "King")),
        ("van der Berg, Anna", ("Anna", None, "van der Berg")),
        ("", (None, None, None)),
        ("   ", (None, None, None)),
    ],
)
def test_split_name_gives_first_middle_and_last(full: str, parts: tuple[str | None, ...]) -> None:
    assert split_name(full) == parts


@pytest.mark.parametrize(
    ("address", "name"),
    [
        ("johan.greg@x.com", "Johan Greg"),
        ("JOHAN_GREG+news@x.com", "Johan Greg"),
        ("mary-jane.o.neil@x.com", "Mary Jane O Neil"),
        ("john2smith@x.com", "John Smith"),
        ("info@x.com", "Info"),
        ("12345@x.com", None),
        ("...@x.com", None),
        ("", None),
        (None, None),
    ],
)
def test_name_from_email_uses_the_local_part(address: str | None, name: str | None) -> None:
    assert name_from_email(address) == name


def test_join_parts_skips_missing_parts() -> None:
    assert join_parts("Ann", None, "Lee") == "Ann Lee"
    assert join_parts(None, None, None) is None


@given(st.text(max_size=80))
def test_split_name_never_fails_and_gives_trimmed_parts_or_none(full: str) -> None:
    for part in split_name(full):
        assert part is None or (part.strip() == part and part)


@given(st.from_regex(r"[A-Za-z0-9._+\-]{1,40}", fullmatch=True))
def test_a_name_from_an_email_has_no_digits_or_separators(local: str) -> None:
    name = name_from_email(f"{local}@example.com")
    assert name is None or (name.strip() == name and not any(c.isdigit() or c in "._+-" for c in name))
