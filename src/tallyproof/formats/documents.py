"""Documents to submit, from JSON, JSON Lines or CSV files; each keeps its line number.
A document that cannot be read stands in its place as `Unreadable`, refused with the rule
it broke; a file that cannot be read at all is a FileFormatError and nothing is submitted."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tallyproof.domain.problems import Problem
from tallyproof.formats.places import CsvRow
from tallyproof.formats.structure import (
    FileFormatError,
    csv_lines,
    decode_csv,
    extra_cells,
    read_bytes,
)
from tallyproof.ledger.intake import (
    MAX_FILE_BYTES,
    MAX_STRING,
    InputError,
    Unreadable,
    load_json,
)

_COUNT_COLUMNS = {"rejected", "polled", "valid", "issued"}
_FORM_COLUMNS = {"election", "station", "contest", "source", "time", "remarks", "supersedes"}
_FORM_COLUMNS |= {"reason"} | _COUNT_COLUMNS
VOTES_PREFIX = "votes."
_DIGITS = re.compile(r"[0-9]{1,17}")  # ASCII only: no '+300', '3_00' or Arabic-Indic digits
csv.field_size_limit(MAX_STRING)


def read_documents(path: Path) -> Iterator[tuple[int, Any]]:
    """Yield (line, document or Unreadable). `.csv` rows become form documents
    (docs/formats.md); `.jsonl` has one document a line; `.json` holds one or a list."""
    for line, doc, _ in read_placed_documents(path):
        yield line, doc


def read_placed_documents(path: Path) -> Iterator[tuple[int, Any, CsvRow | None]]:
    """`read_documents`, each document with the CSV row it was (None from JSON), to name a
    problem found in it later by its file, line and column (`CsvRow.locate`)."""
    data = read_bytes(path)
    suffix = path.suffix.lower()
    found: Iterator[tuple[int, Any, CsvRow | None]]
    if suffix == ".csv":
        found = _csv_forms(path, data)
    elif suffix in (".jsonl", ".ndjson"):
        found = ((line, doc, None) for line, doc in _json_lines(data))
    else:
        found = ((line, doc, None) for line, doc in _json(data))
    empty = True
    for item in found:
        empty = False
        yield item
    if empty:
        raise FileFormatError(f"{path}: holds no documents", "input.empty")


def where_read(path: Path, line: int) -> str:
    """How an input names a document of a file: `forms.csv line 3` for a CSV row (the
    header is line 1), `forms.jsonl:3` for a line of JSON."""
    return f"{path.name} line {line}" if path.suffix.lower() == ".csv" else f"{path.name}:{line}"


def _json(data: bytes) -> Iterator[tuple[int, Any]]:
    if not data.removeprefix(b"\xef\xbb\xbf").strip():
        return
    try:
        doc = load_json(data, max_bytes=MAX_FILE_BYTES)
    except InputError as err:
        yield 1, Unreadable((err.problem,))
        return
    for i, item in enumerate(doc if isinstance(doc, list) else [doc]):
        yield i + 1, item


def _json_lines(data: bytes) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(data.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            yield number, load_json(line, where=f"line {number}")
        except InputError as err:
            yield number, Unreadable((err.problem,))


def _cell(value: str) -> Any:
    """Counts are read as integers when written as plain digits; otherwise left as text,
    for the rules to refuse by name."""
    return int(value) if _DIGITS.fullmatch(value) else value


def _csv_forms(path: Path, data: bytes) -> Iterator[tuple[int, Any, CsvRow | None]]:
    lines = csv_lines(path, decode_csv(path, data))
    first = next(lines, None)
    if first is None:
        return
    header = [column.strip() for column in first[1]]
    _check_header(path, header)
    columns = frozenset(header)
    for line, row in lines:
        if not any(cell.strip(" \t") for cell in row):
            continue
        if extra := extra_cells(line, row, header):
            problem = Problem("csv.extra_cells", f"{path.name} {extra[0]}", extra[1])
            yield line, Unreadable((problem,)), None
            continue
        yield line, _form_row(header, row), CsvRow(path.name, line, columns)


def _check_header(path: Path, header: list[str]) -> None:
    seen: set[str] = set()
    for i, column in enumerate(header, 1):
        if not column.strip():
            raise FileFormatError(
                f"{path} line 1, column {i}: the column has no name", "csv.empty_column"
            )
        if column in seen:
            raise FileFormatError(
                f"{path} line 1, column {column}: appears twice", "csv.duplicate_column"
            )
        seen.add(column)
        if column not in _FORM_COLUMNS and not column.startswith(VOTES_PREFIX):
            raise FileFormatError(
                f"{path} line 1, column {column}: unknown column (docs/formats.md lists the "
                "columns)",
                "csv.unknown_column",
            )


def _form_row(header: list[str], row: list[str]) -> Any:
    doc: dict[str, Any] = {"votes": {}}
    for column, raw in zip(header, row, strict=False):
        value = raw.strip(" \t")  # not str.strip: a control character is refused, not dropped
        if value == "":
            continue
        if column.startswith(VOTES_PREFIX):
            doc["votes"][column[len(VOTES_PREFIX) :]] = _cell(value)
        else:
            doc[column] = _cell(value) if column in _COUNT_COLUMNS else value
    return doc


def form_csv_header(candidates: list[str]) -> list[str]:
    """The CSV columns of a form file for a contest with these candidate ids."""
    base = ["election", "station", "contest", "source", "time", "rejected", "polled", "valid"]
    return base + [VOTES_PREFIX + c for c in candidates] + ["remarks", "supersedes", "reason"]
