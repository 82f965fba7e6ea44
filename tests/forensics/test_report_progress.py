"""The analysis tells a progress bar every stage in order; p-values read as a reader needs
them; station names travel with the arrays; and, on Uganda 2011, the command writes the page
and the CSVs with the data set's own station names."""

from __future__ import annotations

import csv
import dataclasses
import json

import numpy as np
import pytest

from tallyproof.export.forensics_report import ALL_STAGES, CSV_FILES, FIGURES, write_contest
from tallyproof.forensics.report import STAGES, analyse, format_p
from tallyproof.forensics.simulate import honest_election
from tallyproof.service.forensics import READING
from tests.helpers import cli


def test_the_progress_callback_hears_every_stage_start_and_end_in_order(tmp_path):
    a = honest_election(2500, 10, np.random.default_rng(4))
    heard: list[tuple[str, int, int]] = []
    an = analyse(a, replicates=20, progress=lambda *told: heard.append(told))
    assert heard == [(stage, done, 1) for stage in STAGES for done in (0, 1)]
    assert list(an.seconds) == list(STAGES)  # the timings stay, for --json and the bench

    heard.clear()
    write_contest(tmp_path, "X-1", an, [], lambda *told: heard.append(told))
    assert [t for t in heard if t[0] == FIGURES] == [(FIGURES, k, 4) for k in range(5)]
    assert [t for t in heard if t[0] == CSV_FILES] == [(CSV_FILES, k, 2) for k in range(3)]
    assert [s for s, _, _ in heard] == sorted(
        (s for s, _, _ in heard), key=[FIGURES, CSV_FILES].index
    )
    assert (READING, *STAGES, FIGURES, CSV_FILES) == ALL_STAGES


@pytest.mark.parametrize(
    ("p", "replicates", "text"),
    [
        (0.0, 1000, "p < 0.001 (none of 1,000 replicates)"),
        (0.0, 5000, "p < 0.0002 (none of 5,000 replicates)"),
        (0.003, 1000, "p = 0.003"),
        (0.0234, 1000, "p = 0.02"),
        (0.5, None, "p = 0.50"),
        (3.2e-8, None, "p = 3.2\u00a0×\u00a010⁻⁸"),
        (0.0, None, "p < 10⁻³⁰⁰"),
    ],
)
def test_p_values_read_as_a_reader_needs_them(p, replicates, text):
    assert format_p(p, replicates) == text
    assert "e+" not in text and "e-" not in text


def test_station_names_follow_a_subset():
    a = honest_election(50, 3, np.random.default_rng(5))
    assert a.display_names is a.station  # no names: the ids stand in
    named = dataclasses.replace(a, station_names=np.array([f"УИК {i}" for i in range(50)]))
    mask = np.arange(50) % 7 == 0
    assert named.subset(mask).display_names.tolist() == [f"УИК {i}" for i in range(0, 50, 7)]
    assert named.subset(mask).station.tolist() == a.station[mask].tolist()


@pytest.mark.realdata
def test_uganda_2011_report_names_its_stations_and_shows_progress(tmp_path):
    from tests.conftest import shared_data

    data = shared_data("uganda-2011-pres-ps")
    home, report = tmp_path / "home", tmp_path / "report"
    cli(home, "init")
    cli(home, "import-stations", "uganda-2011", "--data", str(data))
    done = cli(home, "forensics", str(report), "--replicates", "100", "--json")
    for stage in ALL_STAGES:
        assert f"UG-PRES-2011: {stage}" in done.stderr, stage
    found = json.loads(done.stdout)
    assert not any(re_exp in f["message"] for f in found for re_exp in ("e+0", "e-0"))
    with (report / "UG-PRES-2011-flagged-stations.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) > 100
    assert all(r["station"] != r["station_id"] and " / " in r["station"] for r in rows)
    page = (report / "index.html").read_text("utf-8")
    assert f"{len(rows):,} rows" in page and "never prove fraud" in page
