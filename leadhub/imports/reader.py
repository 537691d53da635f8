"""Streamed reading of an import file: CSV (delimiter sniffed, quoted fields, UTF-8 with or without BOM,
a header row) or JSON Lines, one record at a time; the file is never held in memory."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from leadhub.core.errors import FieldError, Invalid

FORMATS = ("csv", "jsonl")
_SNIFF_BYTES = 64 * 1024
_DELIMITERS = ",;\t|"
# JSON Lines carry no header row: the keys of the first lines stand for one.
_JSONL_HEADER_LINES = 200
# Text cells longer than any field's bound are refused by validation anyway; the CSV module's default
# (128 KiB) would raise mid-file instead of failing one row.
csv.field_size_limit(1 << 24)


@dataclass(frozen=True)
class Shape:
    format: str
    delimiter: str
    headers: list[str]


@dataclass(frozen=True)
class Record:
    """One data row: its 1-based number (the header row not counted), and its cells by header; ``error``
    says why a row could not be read at all (a broken JSON line)."""

    row: int
    cells: dict[str, Any]
    error: str | None = None


def guess_format(filename: str | None, head: bytes) -> str:
    name = (filename or "").lower()
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    return "jsonl" if head.lstrip(b"\xef\xbb\xbf \r\n\t").startswith(b"{") else "csv"


def _invalid(rule: str, message: str) -> Invalid:
    return Invalid([FieldError("file", rule, message, "string")])


def inspect(path: Path, format: str | None, filename: str | None = None) -> Shape:
    """The file's format, delimiter and header; Invalid when it is empty, not UTF-8, or has no header."""
    with path.open("rb") as raw:
        head = raw.read(_SNIFF_BYTES)
    if not head.strip():
        raise _invalid("required", "the file is empty")
    fmt = format or guess_format(filename, head)
    if fmt not in FORMATS:
        raise Invalid([FieldError("format", "enum", "must be csv or jsonl", "string")])
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if len(head) < _SNIFF_BYTES or exc.start < len(head) - 4:  # a full sample may end mid-character
            raise _invalid("encoding", "the file must be UTF-8") from None
        text = head[: exc.start].decode("utf-8-sig")
    if fmt == "jsonl":
        headers: dict[str, None] = {}
        for line in text.splitlines()[:_JSONL_HEADER_LINES]:
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(value, dict):
                headers.update(dict.fromkeys(value))
        if not headers:
            raise _invalid("format", "no JSON object found in the first lines")
        return Shape("jsonl", "", list(headers))
    sample = text[: text.rfind("\n") + 1] or text
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        delimiter = ","
    first = next(csv.reader(sample.splitlines() or [""], delimiter=delimiter), [])
    headers_list = [h.strip() for h in first]
    if not any(headers_list):
        raise _invalid("header", "the first row must name the columns")
    return Shape("csv", delimiter, headers_list)


def count_lines(path: Path) -> int:
    """A quick estimate of the data rows (newlines inside quoted cells count too): for the ETA only."""
    lines = 0
    last = b"\n"
    with path.open("rb") as raw:
        while block := raw.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        lines += 1
    return max(0, lines - 1) if lines else 0


def records(path: Path, shape: Shape, start_after: int = 0) -> Iterator[Record]:
    """Data rows after row ``start_after`` (a checkpoint), streamed."""
    if shape.format == "jsonl":
        yield from _jsonl(path, start_after)
    else:
        yield from _csv(path, shape, start_after)


def _csv(path: Path, shape: Shape, start_after: int) -> Iterator[Record]:
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as text:
        reader = csv.reader(text, delimiter=shape.delimiter)
        next(reader, None)
        headers = shape.headers
        width = len(headers)
        for number, cells in enumerate(reader, start=1):
            if number <= start_after:
                continue
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                yield Record(number, {})
                continue
            if len(cells) > width:
                yield Record(number, {}, error="has more cells than the header names")
                continue
            yield Record(number, {headers[i]: cells[i] for i in range(len(cells)) if headers[i]})


def _jsonl(path: Path, start_after: int) -> Iterator[Record]:
    with path.open("rb") as raw:
        number = 0
        for line in raw:
            if not line.strip():
                continue
            number += 1
            if number <= start_after:
                continue
            if number == 1:
                line = line.removeprefix(b"\xef\xbb\xbf")
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError:
                yield Record(number, {}, error="is not a JSON object")
                continue
            if not isinstance(value, dict):
                yield Record(number, {}, error="is not a JSON object")
                continue
            yield Record(number, value)
