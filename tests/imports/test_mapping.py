"""Header detection and record → contact input, without a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadhub.core.errors import Invalid
from leadhub.imports import mapping, reader


@pytest.mark.parametrize(
    ("header", "target"),
    [
        ("First Name", "first_name"),
        ("first_name", "first_name"),
        ("FIRSTNAME", "first_name"),
        ("  first   name ", "first_name"),
        ("E-mail Address", "email"),
        ("Email", "email"),
        ("email_address", "email"),
        ("Phone Number", "phone"),
        ("phone-number", "phone"),
        ("Mobile", "phone"),
        ("Company", "company_name"),
        ("Company Name", "company_name"),
        ("Last Name", "last_name"),
        ("Surname", "last_name"),
        ("Job Title", "title"),
        ("Zip Code", "address.postal_code"),
        ("Tags", "tags"),
    ],
)
def test_common_headers_are_detected_in_any_case_and_spacing(header: str, target: str) -> None:
    assert mapping.detect([header]) == {header: target}


def test_the_first_column_claiming_a_field_wins_and_unknown_headers_stay_unmapped() -> None:
    detected = mapping.detect(["Email", "Work Email", "Shoe Size"])
    assert detected == {"Email": "email"}


def test_unmapped_columns_become_custom_fields_only_on_request() -> None:
    cells = {"Email": "a@example.com", "Shoe Size": "42", "Empty": ""}
    without, _ = mapping.to_contact(cells, {"Email": "email"}, False)
    assert without == {"email": "a@example.com"}
    with_custom, origin = mapping.to_contact(cells, {"Email": "email"}, True)
    assert with_custom == {"email": "a@example.com", "custom_fields": {"shoe_size": "42"}}
    assert origin["custom_fields.shoe_size"] == "Shoe Size"


def test_an_override_naming_an_unknown_field_is_refused_naming_the_column() -> None:
    with pytest.raises(Invalid) as caught:
        mapping.check({"Colour": "favourite_colour"})
    assert caught.value.errors[0].field == "mapping.Colour"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_delimiter_bom_and_quoted_fields_are_read(tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "f.csv"
    body = (
        delimiter.join(["Name", "Notes"])
        + "\r\n"
        + delimiter.join(['"Lovelace, Ada"', '"said ""hi""\nthen left"'])
        + "\r\n"
    )
    path.write_bytes(b"\xef\xbb\xbf" + body.encode())
    shape = reader.inspect(path, None, "f.csv")
    assert shape.headers == ["Name", "Notes"] and shape.delimiter == delimiter
    rows = list(reader.records(path, shape))
    assert [r.cells for r in rows] == [{"Name": "Lovelace, Ada", "Notes": 'said "hi"\nthen left'}]


def test_json_lines_take_their_header_from_the_keys_and_report_broken_lines(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_text('{"email": "a@example.com", "tags": ["x"]}\nnot json\n\n{"first_name": "B"}\n')
    shape = reader.inspect(path, None, "f.jsonl")
    assert shape.format == "jsonl" and shape.headers == ["email", "tags", "first_name"]
    rows = list(reader.records(path, shape))
    assert [(r.row, r.error is None) for r in rows] == [(1, True), (2, False), (3, True)]
    assert [r.cells for r in reader.records(path, shape, start_after=2)] == [{"first_name": "B"}]


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes("Name\nJosé\n".encode("latin-1"))
    with pytest.raises(Invalid) as caught:
        reader.inspect(path, None, "f.csv")
    assert caught.value.errors[0].rule == "encoding"
