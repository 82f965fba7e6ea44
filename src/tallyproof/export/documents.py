"""Documents to submit, from JSON, JSON Lines or CSV files; each keeps its line number."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tallyproof.export.structure_files import FileFormatError

_COUNT_COLUMNS = {"rejected", "polled", "valid"}
VOTES_PREFIX = "votes."


def read_documents(path: Path) -> Iterator[tuple[int, Any]]:
    """Yield (line, document). `.csv` rows become form documents (docs/formats.md);
    `.jsonl` has one document a line; `.json` holds one document or a list."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        yield from _csv_forms(path)
    elif suffix in (".jsonl", ".ndjson"):
        yield from _json_lines(path)
    else:
        yield from _json(path)


def _json(path: Path) -> Iterator[tuple[int, Any]]:
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FileFormatError(f"{path}: {err}") from err
    for i, item in enumerate(doc if isinstance(doc, list) else [doc]):
        yield i + 1, item


def _json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as err:
                raise FileFormatError(f"{path}:{number}: {err.msg}") from err


def _cell(value: str) -> Any:
    """Counts are read as integers when they are; otherwise left as text for the rules."""
    try:
        return int(value)
    except ValueError:
        return value


def _csv_forms(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            doc: dict[str, Any] = {"votes": {}}
            for column, raw in row.items():
                value = (raw or "").strip()
                if not column or value == "":
                    continue
                if column.startswith(VOTES_PREFIX):
                    doc["votes"][column[len(VOTES_PREFIX) :]] = _cell(value)
                else:
                    doc[column] = _cell(value) if column in _COUNT_COLUMNS else value
            yield reader.line_num, doc


def form_csv_header(candidates: list[str]) -> list[str]:
    """The CSV columns of a form file for a contest with these candidate ids."""
    base = ["election", "station", "contest", "source", "time", "rejected", "polled", "valid"]
    return base + [VOTES_PREFIX + c for c in candidates] + ["remarks", "supersedes", "reason"]
