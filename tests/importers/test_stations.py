"""Station-level imports from CSV and a mapping, through the ordinary ingest path."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tallyproof.importers.plan import run_plan
from tallyproof.importers.stations import (
    SHIPPED,
    Mapping,
    MappingError,
    ReadReport,
    build_plan,
    read_rows,
    station_arrays,
)
from tallyproof.service import forensics, queries, submission
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter

MAPPING = """
[election]
id = "tl-2025"
name = "Testland 2025"
kind = "general"
date = "2025-05-01"

[contest]
code = "TL-PRES"
name = "President"
assembly = {{ code = "TL-P", name = "Presidency", level = "national" }}

[file]
path = "{path}"

[columns]
station = ["district", "ps"]
region = "district"
registered = "registered"
issued = "issued"
valid = "valid"
invalid = "invalid"
candidates = ["Ada", "Bo"]
skip_when_nonzero = ["void"]

[totals]
stations = 6
registered = 3000
"""

ROWS = [
    # district, ps, registered, issued, valid, invalid, Ada, Bo, void
    ("North", "1", "500", "300", "290", "10", "200", "90", "0"),
    ("North", "2", "500", "", "", "", "", "", "0"),  # no data
    ("South", "3", "500", "0", "0", "0", "0", "0", "1"),  # voided by the commission
    ("South", "4", "500", "410", "400", "10", "150", "250", "0"),
    ("South", "5", "500", "260", "255.5", "5", "100", "155.5", "0"),  # not a whole number
    ("East", "6", "500", "600", "590", "10", "300", "290", "0"),  # more ballots than voters
]
HEADER = ["district", "ps", "registered", "issued", "valid", "invalid", "Ada", "Bo", "void"]


def write_data(directory: Path, zipped: bool = False) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "votes.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(ROWS)
    name = "votes.csv"
    if zipped:
        with zipfile.ZipFile(directory / "votes.zip", "w") as archive:
            archive.write(directory / "votes.csv", "votes.csv")
        name = "votes.zip"
    (directory / "testland.toml").write_text(MAPPING.format(path=name), "utf-8")
    return directory / "testland.toml"


@pytest.mark.parametrize("zipped", [False, True])
def test_rows_are_read_with_every_skip_and_error_counted(tmp_path, zipped):
    mapping = Mapping.load(str(write_data(tmp_path, zipped)))
    report = ReadReport()
    candidates, rows = read_rows(mapping, tmp_path, report)
    assert candidates == ["Ada", "Bo"]
    assert [r.station for r in rows] == ["North / 1", "South / 4", "East / 6"]
    assert report.rows == 6
    assert report.skipped == {"no data": 1, "flagged void": 1}
    assert report.unreadable == [(6, "Bo = '155.5' is not a whole number")]
    # flagged rows count in the totals, as in the data set's own
    assert report.totals["registered"] == 2000
    assert report.totals["Ada"] == 650


def test_import_goes_through_ingest_and_the_rules_refuse_the_impossible_row(tmp_path):
    mapping = Mapping.load(str(write_data(tmp_path / "data")))
    plan, envelopes, _, _ = build_plan(mapping, tmp_path / "data")
    ctx = LedgerWriter.initialise(Settings.at(tmp_path / "home"))
    try:
        run_plan(ctx, plan)
        outcomes = submission.submit_forms(ctx, envelopes)
        assert [o.accepted for o in outcomes] == [True, True, False]
        assert sorted(p.code for p in outcomes[2].problems) == [
            "ballots.exceeds_registered",
            "ballots.issued_exceeds_registered",
        ]
        (result,) = queries.results(ctx, contest="TL-PRES")
        assert {s.name: s.votes for s in result.ranking} == {"Ada": 350, "Bo": 340}
        arrays = forensics.station_arrays(ctx, None, "TL-PRES")
        assert arrays.issued.tolist() == [300, 410]
        assert arrays.polled.tolist() == [300, 410]
        assert arrays.region.tolist() == ["North", "South"]
        assert arrays.names == ("Ada", "Bo")
    finally:
        ctx.close()


def test_a_mapping_that_does_not_fit_its_file_names_what_is_wrong(tmp_path):
    path = write_data(tmp_path)
    path.write_text(path.read_text().replace('"Ada", "Bo"', '"Ada", "Cy"'))
    with pytest.raises(MappingError, match="columns not in the file: Cy"):
        read_rows(Mapping.load(str(path)), tmp_path, ReadReport())
    (tmp_path / "bad.toml").write_text('[election]\nid = "x"\n')
    with pytest.raises(MappingError, match="missing sections columns, contest, file"):
        Mapping.load(str(tmp_path / "bad.toml"))


def test_every_shipped_mapping_loads():
    for name in SHIPPED:
        mapping = Mapping.load(name)
        assert mapping.contest["code"] and mapping.file["path"] and mapping.totals["stations"]


@pytest.mark.realdata
def test_uganda_2011_imports_with_the_data_sets_totals_and_the_same_arrays(tmp_path):
    from tests.conftest import shared_data

    directory = shared_data("uganda-2011-pres-ps")
    mapping = Mapping.load("uganda-2011")
    plan, envelopes, rows, read = build_plan(mapping, directory)
    for key, value in mapping.totals.items():
        assert read.totals[key] == value, key
    assert read.skipped == {"flagged NULLIFIED": 76, "flagged NOT_RECEIVED": 65}
    ctx = LedgerWriter.initialise(Settings.at(tmp_path))
    try:
        run_plan(ctx, plan)
        accepted = sum(
            o.accepted for batch in submission.ingest_forms(ctx, [envelopes]) for o in batch
        )
        assert accepted == len(rows) == 23827
        stored = forensics.station_arrays(ctx, None, "UG-PRES-2011")
        direct = station_arrays(mapping, *read_rows(mapping, directory, ReadReport()))
        for field in ("registered", "issued", "polled", "rejected", "votes"):
            assert np.array_equal(getattr(stored, field), getattr(direct, field)), field
        assert stored.names[stored.leader] == "YOWERI MUSEVENI KAGUTA"
    finally:
        ctx.close()
