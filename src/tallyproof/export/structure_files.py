"""The election structure as one JSON file or as a documented set of CSV files."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

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
    """A file that cannot be read, with the file and line."""


def read_structure(path: Path) -> dict[str, Any]:
    """A .json file, or a directory holding the CSV set (see docs/formats.md)."""
    if path.is_dir():
        return read_structure_csv(path)
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FileFormatError(f"{path}: {err}") from err
    if not isinstance(doc, dict):
        raise FileFormatError(f"{path}: the structure must be a JSON object")
    return doc


def _rows(directory: Path, name: str) -> list[dict[str, str]]:
    path = directory / name
    if not path.exists():
        raise FileFormatError(f"{path}: missing (the CSV set has {', '.join(CSV_FILES)})")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = (
            set(CSV_FILES[name]) - set(reader.fieldnames or []) - {"phase", "joined", "region"}
        )
        if missing:
            raise FileFormatError(f"{path}: missing columns {', '.join(sorted(missing))}")
        return [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]


def _count(value: str, where: str) -> int | str:
    """Numbers stay numbers; anything else is passed on for the rules to name."""
    try:
        return int(value)
    except ValueError:
        return value if value else where


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
        election["phase"] = _count(e["phase"], "")
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
            "registered_voters": _count(r["registered_voters"], ""),
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
        doc["admin_key"] = admin.read_text().strip()
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
