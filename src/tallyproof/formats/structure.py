"""The election structure as one JSON file or as a documented set of CSV files."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

from tallyproof.domain.problems import Rejected
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
    FileFormatError."""
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
    return doc


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


_OPTIONAL = {"phase", "joined", "region"}


def _rows(directory: Path, name: str) -> list[dict[str, str]]:
    """The rows of one file of the set: every column known, none twice, none missing, no
    row longer than the header."""
    path = directory / name
    if not path.exists():
        raise FileFormatError(f"{path}: missing (the CSV set has {', '.join(CSV_FILES)})")
    try:
        text = decode(read_bytes(path, MAX_STRUCTURE_BYTES))
    except InputError as err:
        raise FileFormatError(f"{path}: {err.problem.message}", "input.encoding") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [c.strip() for c in next(reader, [])]
        _check_columns(path, header, CSV_FILES[name])
        rows = []
        for row in reader:
            if len(row) > len(header):
                raise FileFormatError(
                    f"{path}:{reader.line_num}: {len(row)} cells under {len(header)} columns",
                    "csv.extra_cells",
                )
            if any(cell.strip() for cell in row):
                cells = row + [""] * (len(header) - len(row))
                rows.append({k: v.strip() for k, v in zip(header, cells, strict=True)})
        return rows
    except csv.Error as err:
        code = "csv.field_too_long" if "field larger" in str(err) else "csv.syntax"
        raise FileFormatError(f"{path}:{reader.line_num}: {err}", code) from None


def _check_columns(path: Path, header: list[str], known: list[str]) -> None:
    for column in header:
        if header.count(column) > 1:
            raise FileFormatError(
                f"{path}: column {column!r} appears twice", "csv.duplicate_column"
            )
        if column not in known:
            raise FileFormatError(
                f"{path}: unknown column {column!r}; the columns are {', '.join(known)}",
                "csv.unknown_column",
            )
    missing = set(known) - set(header) - _OPTIONAL
    if missing:
        raise FileFormatError(
            f"{path}: missing columns {', '.join(sorted(missing))}", "csv.missing_column"
        )


def _count(value: str) -> int | str:
    """Plain ASCII digits are a number; anything else is passed on for the rules to name."""
    return int(value) if _DIGITS.fullmatch(value) else value


_DIGITS = re.compile(r"[0-9]{1,17}")


def read_structure_csv(directory: Path) -> dict[str, Any]:
    elections = _rows(directory, "election.csv")
    if len(elections) != 1:
        raise FileFormatError(f"{directory / 'election.csv'}: needs exactly one row")
    e = elections[0]
    election: dict[str, Any] = {
        "id": e["id"],
        "name": e["name"],
        "kind": e["kind"],
        "date": e["date"],
    }
    if e.get("phase"):
        election["phase"] = _count(e["phase"])
    candidates: dict[str, list[dict[str, Any]]] = {}
    for row in _rows(directory, "candidates.csv"):
        cand = {k: row[k] for k in ("id", "name") if row.get(k)}
        cand |= {k: row[k] for k in ("party", "backed_by", "joined") if row.get(k)}
        candidates.setdefault(row["contest"], []).append(cand)
    contests = [
        {
            "code": r["code"],
            "assembly": r["assembly"],
            "name": r["name"],
            "candidates": candidates.pop(r["code"], []),
        }
        for r in _rows(directory, "contests.csv")
    ]
    if candidates:
        raise FileFormatError(
            f"{directory / 'candidates.csv'}: contests not in contests.csv: {', '.join(candidates)}"
        )
    stations = [
        {
            "id": r["id"],
            "name": r["name"],
            "registered_voters": _count(r["registered_voters"]),
            "contests": [c for c in r["contests"].split(_LIST_SEPARATOR) if c],
        }
        | ({"region": r["region"]} if r.get("region") else {})
        for r in _rows(directory, "stations.csv")
    ]
    doc: dict[str, Any] = {
        "election": election,
        "parties": [
            {"code": r["code"], "name": r["name"]} for r in _rows(directory, "parties.csv")
        ],
        "assemblies": [
            {"code": r["code"], "name": r["name"], "level": r["level"]}
            for r in _rows(directory, "assemblies.csv")
        ],
        "contests": contests,
        "stations": stations,
    }
    admin = directory / "admin_key.txt"
    if admin.exists():
        try:
            doc["admin_key"] = decode(read_bytes(admin, 1024), str(admin)).strip()
        except InputError as err:
            raise FileFormatError(f"{admin}: {err.problem.message}", "input.encoding") from None
    return doc


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
