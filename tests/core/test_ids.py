"""Public ids: prefixed, sortable, round-trip to the UUID; a bare UUID resolves; anything else is InvalidId."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadhub.core import ids
from leadhub.core.errors import NotFound


@settings(max_examples=200, deadline=None)
@given(st.uuids())
def test_encode_decode_round_trips_any_uuid(value: uuid.UUID) -> None:
    public = ids.encode(ids.CONTACT, value)
    assert public.startswith("con_") and len(public) == len("con_") + 26
    assert ids.decode(ids.CONTACT, public) == value
    # Case does not matter, and the bare UUID names the same row.
    assert ids.decode(ids.CONTACT, public.upper().replace("CON_", "con_")) == value
    assert ids.decode(ids.CONTACT, str(value)) == value


def test_encoding_is_typeids_base32() -> None:
    # The TypeID specification's own example, and the extremes: the layout is a public contract.
    assert ids.encode("x", uuid.UUID("01890a5d-ac96-774b-bcce-b302099a8057")) == "x_01h455vb4pex5vsknk084sn02q"
    assert ids.encode("x", uuid.UUID(int=0)) == "x_" + "0" * 26
    assert ids.encode("x", uuid.UUID(int=2**128 - 1)) == "x_7" + "z" * 25


def test_new_ids_sort_by_creation_time() -> None:
    made = [ids.new(ids.EVENT)[1] for _ in range(50)]
    assert made == sorted(made)
    assert all(uuid.UUID(str(ids.decode(ids.EVENT, m))).version == 7 for m in made)


def test_crockford_look_alikes_read_as_digits() -> None:
    value = uuid.UUID(int=1)
    assert ids.decode(ids.CONTACT, "con_" + "O" * 25 + "l") == value
    assert ids.decode(ids.CONTACT, "con_" + "o" * 25 + "I") == value


@pytest.mark.parametrize(
    "text",
    [
        "",
        "con_",
        "cmp_00000000000000000000000000",  # another type's prefix
        "ws_00000000000000000000000000",
        "con_0000000000000000000000000",  # 25 characters
        "con_000000000000000000000000000",  # 27 characters
        "con_8zzzzzzzzzzzzzzzzzzzzzzzzz",  # beyond 128 bits
        "con_0000000000000000000000000u",  # not in the alphabet
        "con_00000000-0000-0000-0000-00",
        "not-a-uuid",
        "12345",
        "x" * 65,
        "con_" + "0" * 60,
    ],
)
def test_wrong_prefix_or_garbage_is_invalid_id(text: str) -> None:
    with pytest.raises(ids.InvalidId):
        ids.decode(ids.CONTACT, text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_decode_of_arbitrary_text_returns_a_uuid_or_raises_invalid_id(text: str) -> None:
    try:
        result = ids.decode(ids.CONTACT, text)
    except ids.InvalidId:
        return
    assert isinstance(result, uuid.UUID)
    assert ids.decode(ids.CONTACT, ids.encode(ids.CONTACT, result)) == result


def test_resolve_answers_not_found_for_an_id_that_cannot_be_of_the_resource() -> None:
    value, public = ids.new(ids.DEAL)
    assert ids.resolve(ids.DEAL, public, "deal") == value
    assert ids.resolve(ids.DEAL, str(value), "deal") == value
    for wrong in (ids.encode(ids.TASK, value), "deal_garbage", ""):
        with pytest.raises(NotFound) as caught:
            ids.resolve(ids.DEAL, wrong, "deal")
        assert caught.value.resource == "deal" and caught.value.detail == "deal not found"
