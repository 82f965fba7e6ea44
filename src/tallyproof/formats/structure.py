"""The election structure as one JSON file or as a documented set of CSV files."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tallyproof.domain.problems import Problem, Rejected
from tallyproof.domain.structure import parse_structure
from tallyproof.formats.places import Place, Places
from tallyproof.ledger.intake import (
    MAX_FILE_BYTES,
    MAX_STRUCTURE_BYTES,
    InputError,
    decode,
    load_json,
)

CSV_FILES = {
    "election.csv": ["id", "name", "kind", "date", "phase"],
    "parties.csv": ["code", "name"],
    "assemblies.csv": ["code", "name", "level"],
    "contests.csv": ["code", "assembly", "name"],
    "candidates.csv": ["contest", "id", "name", "party", "backed_by", "joined"],
    "stations.csv": ["id", "name", "registered_voters", "contests", "region"],
}
_LIST_SEPARATOR = ";"


class FileFormatError(ValueError):
    """A file that cannot be read at all, with the file, the line and the rule's code."""

    def __init__(self, message: str, code: str = "input.unreadable") -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def read_structure(path: Path) -> dict[str, Any]:
    """A .json file, or a directory holding the CSV set (see docs/formats.md). A file that
    breaks the input rules (docs/rules.md) raises Rejected; one that cannot be read at all,
    FileFormatError. A CSV set is checked against the structure rules here, so that each
    problem names the file, line and column it came from (see `read_structure_places`)."""
    return read_structure_places(path)[0]


def read_structure_places(path: Path) -> tuple[dict[str, Any], Places | None]:
    """`read_structure`, and for a CSV set the places its JSON paths came from, to name the
    cells of any problem found in the document later (None for a JSON file: its paths are
    the file's own)."""
    if path.is_dir():
        return read_structure_csv(path)
    data = read_bytes(path, MAX_STRUCTURE_BYTES)
    if not data.removeprefix(b"\xef\xbb\xbf").strip():
        raise FileFormatError(f"{path}: holds no structure", "input.empty")
    try:
        doc = load_json(data, max_bytes=MAX_STRUCTURE_BYTES)
    except InputError as err:
        raise Rejected([err.problem]) from None
    if not isinstance(doc, dict):
        raise FileFormatError(f"{path}: the structure must be a JSON object", "schema.type")
    return doc, None


def read_bytes(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """A file's bytes, its size checked before it is read."""
    try:
        size = path.stat().st_size
        if size > limit:
            raise FileFormatError(
                f"{path}: {size:,} bytes; the limit is {limit:,}", "input.file_too_large"
            )
        return path.read_bytes()
    except OSError as err:
        raise FileFormatError(f"{path}: {err.strerror or err}") from None


def decode_csv(path: Path, data: bytes) -> str:
    """UTF-8 text (a leading byte-order mark dropped), or input.encoding naming the line."""
    try:
        return decode(data)
    except InputError as err:
        body = data.removeprefix(b"\xef\xbb\xbf")
        try:
            body.decode("utf-8")
            line = 1
        except UnicodeDecodeError as bad:
            line = body[: bad.start].count(b"\n") + 1
        raise FileFormatError(
            f"{path} line {line}: {err.problem.message}", "input.encoding"
        ) from None


def csv_lines(path: Path, text: str) -> Iterator[tuple[int, list[str]]]:
    """Each row of a CSV text with the line it starts on (the header's is 1; a quoted cell
    may span lines); a syntax error names the file and the line."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        while True:
            line = reader.line_num + 1
            row = next(reader, None)
            if row is None:
                return
            yield line, row
    except csv.Error as err:
        code = "csv.field_too_long" if "field larger" in str(err) else "csv.syntax"
        raise FileFormatError(f"{path} line {reader.line_num}: {err}", code) from None


def extra_cells(line: int, row: list[str], header: list[str]) -> tuple[str, str] | None:
    """A row longer than its header: where (its line, and its first cell beyond the header)
    and what; None for a row that is not."""
    if len(row) <= len(header):
        return None
    where = f"line {line}, column {len(header) + 1} (the header has {len(header)})"
    return where, f"{len(row)} cells under {len(header)} columns"


_OPTIONAL = {"phase", "joined", "region"}
_OPTIONAL_FILES = {"parties.csv"}  # an election without parties: every candidate independent


@dataclass(frozen=True, slots=True)
class _Row:
    """A row of a file of the set: the line it starts on, and its cells by column."""

    line: int
    cells: dict[str, str]
    header: tuple[str, ...]

    def __getitem__(self, column: str) -> str:
        return self.cells[column]

    def get(self, column: str) -> str | None:
        return self.cells.get(column)


def _rows(directory: Path, name: str) -> list[_Row]:
    """The rows of one file of the set: every column known, none twice, none missing, no
    row longer than the header. An optional file that is absent has no rows."""
    path = directory / name
    if not path.exists():
        if name in _OPTIONAL_FILES:
            return []
        needed = ", ".join(n for n in CSV_FILES if n not in _OPTIONAL_FILES)
        raise FileFormatError(
            f"{path}: missing (the CSV set has {needed}; parties.csv where there are parties)"
        )
    lines = csv_lines(path, decode_csv(path, read_bytes(path, MAX_STRUCTURE_BYTES)))
    header = [c.strip() for c in next(lines, (1, []))[1]]
    _check_columns(path, header, CSV_FILES[name])
    rows = []
    columns = tuple(header)
    for line, row in lines:
        if extra := extra_cells(line, row, header):
            raise FileFormatError(f"{path} {extra[0]}: {extra[1]}", "csv.extra_cells")
        if any(cell.strip() for cell in row):
            cells = row + [""] * (len(header) - len(row))
            values = {k: v.strip() for k, v in zip(header, cells, strict=True)}
            rows.append(_Row(line, values, columns))
    return rows


def _check_columns(path: Path, header: list[str], known: list[str]) -> None:
    for i, column in enumerate(header, 1):
        name = column or f"{i} (it has no name)"
        if header.count(column) > 1:
            raise FileFormatError(
                f"{path} line 1, column {name}: appears twice", "csv.duplicate_column"
            )
        if column not in known:
            raise FileFormatError(
                f"{path} line 1, column {name}: unknown column; the columns are {', '.join(known)}",
                "csv.unknown_column",
            )
    missing = set(known) - set(header) - _OPTIONAL
    if missing:
        raise FileFormatError(
            f"{path} line 1: missing columns {', '.join(sorted(missing))}", "csv.missing_column"
        )


def _count(value: str) -> int | str:
    """Plain ASCII digits are a number; anything else is passed on for the rules to name."""
    return int(value) if _DIGITS.fullmatch(value) else value


_DIGITS = re.compile(r"[0-9]{1,17}")


def _cells(rows: list[_Row], keys: Iterable[str]) -> dict[str, str]:
    """The column of each JSON key the rows of a file have (a key and its column share a
    name in the set), one mapping for all of the file's rows."""
    header = rows[0].header if rows else ()
    return {k: k for k in keys if k in header}


def read_structure_csv(directory: Path) -> tuple[dict[str, Any], Places]:
    """The CSV set as a structure document, with the place each of its paths came from.
    The document is checked against the structure rules (docs/rules.md) here: a refusal
    (Rejected) names the file, line and column of each problem; nothing is returned."""
    places = Places()
    problems: list[Problem] = []
    election_path = directory / "election.csv"
    elections = _rows(directory, "election.csv")
    if not elections:
        raise FileFormatError(f"{election_path} line 2: no election; the file holds one row")
    if len(elections) > 1:
        raise FileFormatError(
            f"{election_path} line {elections[1].line}: a second election; the file holds one row"
        )
    e = elections[0]
    election: dict[str, Any] = {
        "id": e["id"],
        "name": e["name"],
        "kind": e["kind"],
        "date": e["date"],
    }
    if e.get("phase"):
        election["phase"] = _count(e["phase"])
    places.row("election", "election.csv", e.line, _cells(elections, CSV_FILES["election.csv"]))
    candidate_rows = _rows(directory, "candidates.csv")
    keys = ("id", "name", "party", "backed_by", "joined")
    candidate_cells = _cells(candidate_rows, keys)
    candidates: dict[str, list[_Row]] = {}
    for row in candidate_rows:
        candidates.setdefault(row["contest"], []).append(row)
    contest_rows = _rows(directory, "contests.csv")
    contest_cells = _cells(contest_rows, ("code", "assembly", "name"))
    contests: list[dict[str, Any]] = []
    for i, r in enumerate(contest_rows):
        path = f"contests[{i}]"
        places.row(path, "contests.csv", r.line, contest_cells)
        rows = candidates.pop(r["code"], [])
        for j, k in enumerate(rows):
            places.row(f"{path}.candidates[{j}]", "candidates.csv", k.line, candidate_cells)
        contests.append(
            {
                "code": r["code"],
                "assembly": r["assembly"],
                "name": r["name"],
                "candidates": [{key: k[key] for key in keys if k.get(key)} for k in rows],
            }
        )
    for code, rows in candidates.items():
        for k in rows:
            place = str(Place("candidates.csv", k.line, "contest"))
            if code:
                message = f"no contest {code!r} in contests.csv"
                problems.append(Problem("structure.unknown_contest", place, message))
            else:
                problems.append(Problem("schema.missing", place, "is required"))
    station_rows = _rows(directory, "stations.csv")
    station_cells = _cells(station_rows, CSV_FILES["stations.csv"])
    stations = []
    for i, r in enumerate(station_rows):
        places.row(f"stations[{i}]", "stations.csv", r.line, station_cells)
        stations.append(
            {
                "id": r["id"],
                "name": r["name"],
                "registered_voters": _count(r["registered_voters"]),
                "contests": [c for c in r["contests"].split(_LIST_SEPARATOR) if c],
            }
            | ({"region": r["region"]} if r.get("region") else {})
        )
    party_rows = _rows(directory, "parties.csv")
    party_cells = _cells(party_rows, ("code", "name"))
    parties = []
    for i, r in enumerate(party_rows):
        places.row(f"parties[{i}]", "parties.csv", r.line, party_cells)
        parties.append({"code": r["code"], "name": r["name"]})
    assembly_rows = _rows(directory, "assemblies.csv")
    assembly_cells = _cells(assembly_rows, ("code", "name", "level"))
    assemblies = []
    for i, r in enumerate(assembly_rows):
        places.row(f"assemblies[{i}]", "assemblies.csv", r.line, assembly_cells)
        assemblies.append({"code": r["code"], "name": r["name"], "level": r["level"]})
    doc: dict[str, Any] = {
        "election": election,
        "parties": parties,
        "assemblies": assemblies,
        "contests": contests,
        "stations": stations,
    }
    admin = directory / "admin_key.txt"
    if admin.exists():
        try:
            doc["admin_key"] = decode(read_bytes(admin, 1024), str(admin)).strip()
        except InputError as err:
            raise FileFormatError(f"{admin}: {err.problem.message}", "input.encoding") from None
        places.row("admin_key", "admin_key.txt", 1, {})
    _check(doc, places, problems, has_parties=(directory / "parties.csv").exists())
    return doc, places


def _check(
    doc: dict[str, Any], places: Places, problems: list[Problem], *, has_parties: bool
) -> None:
    """Refuse the set (Rejected) with every problem named by its cell."""
    try:
        parse_structure(doc)
    except Rejected as refused:
        problems += places.locate_all(refused.problems)
    if not problems:
        return
    if not has_parties:
        problems = [
            Problem(p.code, p.field, f"{p.message}: the set has no parties.csv")
            if p.code == "structure.unknown_party"
            else p
            for p in problems
        ]
    raise Rejected(problems)


def write_structure(doc: dict[str, Any], path: Path, fmt: str) -> None:
    """Write as "json" (one file) or "csv" (a directory of the CSV set)."""
    if fmt == "json":
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", "utf-8")
        return
    path.mkdir(parents=True, exist_ok=True)
    e = doc["election"]
    tables: dict[str, list[dict[str, Any]]] = {
        "election.csv": [{**e, "phase": e.get("phase", "")}],
        "parties.csv": doc.get("parties", []),
        "assemblies.csv": doc["assemblies"],
        "contests.csv": [{k: c[k] for k in ("code", "assembly", "name")} for c in doc["contests"]],
        "candidates.csv": [
            {"contest": c["code"], **k} for c in doc["contests"] for k in c.get("candidates", [])
        ],
        "stations.csv": [
            {**s, "contests": _LIST_SEPARATOR.join(s["contests"]), "region": s.get("region", "")}
            for s in doc.get("stations", [])
        ],
    }
    for name, rows in tables.items():
        with (path / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, CSV_FILES[name], extrasaction="raise")
            writer.writeheader()
            writer.writerows(rows)
    if "admin_key" in doc:
        (path / "admin_key.txt").write_text(doc["admin_key"] + "\n")
