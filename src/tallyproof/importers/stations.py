"""Any station-level election from a CSV file (read straight from a .zip) and a small TOML
mapping that says which columns are the station, region, registered voters, ballots issued,
valid and invalid ballots, and the candidates. Every row becomes a signed result form that
goes through the ordinary ingest path; rows the rules refuse are reported with the rule."""

from __future__ import annotations

import csv
import io
import tomllib
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from tallyproof.forensics.arrays import StationArrays
from tallyproof.importers.plan import Plan
from tallyproof.ledger.entries import EntryKind, sign

SHIPPED = ("russia-2011", "russia-2012", "russia-2018", "russia-2024", "uganda-2011")


class MappingError(ValueError):
    """A mapping that does not fit its file."""


@dataclass(frozen=True)
class Mapping:
    name: str
    election: dict[str, Any]
    contest: dict[str, Any]
    file: dict[str, Any]
    columns: dict[str, Any]
    totals: dict[str, int]

    @classmethod
    def load(cls, name_or_path: str) -> Mapping:
        """A shipped mapping by name (`russia-2018`) or a .toml file of your own."""
        if name_or_path in SHIPPED:
            text = (
                resources.files("tallyproof.importers.mappings")
                .joinpath(f"{name_or_path}.toml")
                .read_text("utf-8")
            )
        elif Path(name_or_path).is_file() or name_or_path.endswith(".toml"):
            text = Path(name_or_path).read_text("utf-8")
        else:
            raise MappingError(
                f"no mapping {name_or_path!r}; shipped mappings: {', '.join(SHIPPED)} "
                "(or give a .toml file of your own)"
            )
        doc = tomllib.loads(text)
        missing = {"election", "contest", "file", "columns"} - set(doc)
        if missing:
            raise MappingError(f"{name_or_path}: missing sections {', '.join(sorted(missing))}")
        return cls(
            name_or_path,
            doc["election"],
            doc["contest"],
            doc["file"],
            doc["columns"],
            doc.get("totals", {}),
        )


@dataclass
class Row:
    number: int
    station: str
    region: str
    registered: int
    issued: int | None
    valid: int
    invalid: int
    votes: list[int]


@dataclass
class ReadReport:
    """What was read, before any rule: totals over every row with numbers (flagged rows too),
    to set against the data set's own."""

    rows: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    unreadable: list[tuple[int, str]] = field(default_factory=list)
    totals: Counter[str] = field(default_factory=Counter)


def _open_rows(directory: Path, spec: dict[str, Any]) -> Iterator[dict[str, str]]:
    path = directory / spec["path"]
    encoding, delimiter = spec.get("encoding", "utf-8"), spec.get("delimiter", ",")
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            member = spec.get("member") or archive.namelist()[0]
            with archive.open(member) as raw:
                yield from csv.DictReader(
                    io.TextIOWrapper(raw, encoding=encoding), delimiter=delimiter
                )
    else:
        with path.open(encoding=encoding, newline="") as handle:
            yield from csv.DictReader(handle, delimiter=delimiter)


def candidate_columns(mapping: Mapping, header: list[str]) -> list[str]:
    cols = mapping.columns
    if "candidates" in cols:
        names = list(cols["candidates"])
    elif "candidates_from" in cols:
        start = header.index(cols["candidates_from"])
        names = [h for h in header[start:] if h not in cols.get("not_candidates", [])]
    else:
        raise MappingError("the mapping names `candidates` or `candidates_from`")
    unknown = [n for n in names if n not in header]
    if unknown:
        raise MappingError(f"columns not in the file: {', '.join(unknown)}")
    return names


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def read_rows(mapping: Mapping, directory: Path, report: ReadReport) -> tuple[list[str], list[Row]]:
    """Parse the file; rows with empty counts (no data) or flagged by `skip_when_nonzero` are
    counted and skipped, as their reason says. Flagged rows still count in the totals, as they
    do in the data set's own."""
    cols = mapping.columns
    rows: list[Row] = []
    candidates: list[str] = []
    for number, record in enumerate(_open_rows(directory, mapping.file), start=2):
        if not candidates:
            candidates = candidate_columns(mapping, list(record))
        report.rows += 1
        try:
            row = _row(number, record, cols, candidates)
        except ValueError as err:
            report.unreadable.append((number, str(err)))
            continue
        if row is None:
            report.skipped["no data"] += 1
            continue
        _add_totals(report.totals, row, candidates)
        flagged = [
            c
            for c in cols.get("skip_when_nonzero", [])
            if (record.get(c) or "0").strip() not in ("0", "")
        ]
        if flagged:
            report.skipped[f"flagged {', '.join(flagged)}"] += 1
            continue
        rows.append(row)
    report.totals["stations"] = report.rows
    return candidates, rows


def _count(record: dict[str, str], column: str) -> int | None:
    value = (record.get(column) or "").strip()
    if value == "":
        return None
    number = float(value)
    if not number.is_integer():
        raise ValueError(f"{column} = {value!r} is not a whole number")
    return int(number)


def _row(
    number: int, record: dict[str, str], cols: dict[str, Any], candidates: list[str]
) -> Row | None:
    votes = [_count(record, c) for c in candidates]
    registered = _count(record, cols["registered"])
    valid, invalid = _count(record, cols["valid"]), _count(record, cols["invalid"])
    if registered is None or valid is None or invalid is None or None in votes:
        return None
    issued_parts = [_count(record, c) for c in _as_list(cols.get("issued", []))]
    issued = sum(p or 0 for p in issued_parts) if issued_parts else None
    station = " / ".join((record.get(c) or "").strip() for c in _as_list(cols["station"]))
    region = (record.get(cols.get("region", "")) or "").strip()
    return Row(number, station, region, registered, issued, valid, invalid, votes)  # type: ignore[arg-type]


def _add_totals(totals: Counter[str], row: Row, candidates: list[str]) -> None:
    totals["stations_with_data"] += 1
    totals["registered"] += row.registered
    totals["valid"] += row.valid
    totals["invalid"] += row.invalid
    if row.issued is not None:
        totals["issued"] += row.issued
    for name, n in zip(candidates, row.votes, strict=True):
        totals[name] += n


def build_plan(
    mapping: Mapping, directory: Path
) -> tuple[Plan, list[dict[str, Any]], list[Row], ReadReport]:
    """The structure and key registration as a plan; the signed forms apart (they are many),
    in row order, with the rows they came from."""
    report = ReadReport()
    candidates, rows = read_rows(mapping, directory, report)
    eid, code = mapping.election["id"], mapping.contest["code"]
    plan = Plan(elections=[eid])
    admin = plan.key(f"{eid}/admin")
    importer = plan.key(f"{eid}/returning_officer")
    structure = {
        "election": mapping.election,
        "parties": [],
        "assemblies": [mapping.contest["assembly"]],
        "contests": [
            {
                "code": code,
                "assembly": mapping.contest["assembly"]["code"],
                "name": mapping.contest["name"],
                "candidates": [
                    {"id": f"{code}/{i + 1}", "name": n} for i, n in enumerate(candidates)
                ],
            }
        ],
        "stations": [_station(i, row, code) for i, row in enumerate(rows)],
        "admin_key": admin.public.b64,
    }
    plan.add("structure", f"{eid}: structure ({len(rows):,} stations)", [structure], [admin])
    registration = {
        "election": eid,
        "key": {"name": importer.name, "public_key": importer.public.b64},
        "source": "returning_officer",
        "contests": [code],
        "time": f"{mapping.election['date']}T00:00:00Z",
    }
    plan.add("register_key", f"{eid}: the importer's key", [registration], [admin])
    time = f"{mapping.election['date']}T23:00:00Z"
    envelopes = [
        sign(EntryKind.FORM, _form(i, row, eid, code, time), importer).envelope()
        for i, row in enumerate(rows)
    ]
    return plan, envelopes, rows, report


def _station_id(index: int) -> str:
    return f"S{index + 1:06d}"


def _station(index: int, row: Row, code: str) -> dict[str, Any]:
    station = {
        "id": _station_id(index),
        "name": row.station[:200] or _station_id(index),
        "contests": [code],
        "registered_voters": row.registered,
    }
    if row.region:
        station["region"] = row.region[:200]
    return station


def _form(index: int, row: Row, eid: str, code: str, time: str) -> dict[str, Any]:
    form = {
        "election": eid,
        "station": _station_id(index),
        "contest": code,
        "source": "returning_officer",
        "votes": {f"{code}/{k + 1}": n for k, n in enumerate(row.votes)},
        "rejected": row.invalid,
        "polled": row.valid + row.invalid,
        "valid": row.valid,
        "time": time,
    }
    if row.issued is not None:
        form["issued"] = row.issued
    return form


def station_arrays(mapping: Mapping, candidates: list[str], rows: list[Row]) -> StationArrays:
    """The rows as forensic arrays, straight from the file: what the store gives back after
    an import (tests hold the two equal), without the ingest in between."""
    return StationArrays(
        station=np.array([_station_id(i) for i in range(len(rows))], dtype=object),
        region=np.array([r.region for r in rows], dtype=object),
        registered=np.array([r.registered for r in rows], dtype=np.int64),
        issued=np.array(
            [r.issued if r.issued is not None else r.valid + r.invalid for r in rows],
            dtype=np.int64,
        ),
        polled=np.array([r.valid + r.invalid for r in rows], dtype=np.int64),
        rejected=np.array([r.invalid for r in rows], dtype=np.int64),
        votes=np.array([r.votes for r in rows], dtype=np.int64).reshape(len(rows), -1),
        candidates=tuple(f"{mapping.contest['code']}/{i + 1}" for i in range(len(candidates))),
        names=tuple(candidates),
        station_names=np.array(
            [r.station[:200] or _station_id(i) for i, r in enumerate(rows)], dtype=object
        ),
    )
