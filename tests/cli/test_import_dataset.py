"""`import-dataset` on the real Pakistani data sets beside the repository, and the errors
for an unknown data set, a wrong directory, and an unknown station mapping."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from tallyproof.importers.stations import SHIPPED
from tests.conftest import SHARED_DATA, shared_data
from tests.helpers import cli

pytestmark = pytest.mark.realdata


def test_pk_2018_loads_every_seat_and_reports_what_the_rules_found(tmp_path):
    folder = shared_data("pk2018-na-pa-candidates")
    home = tmp_path / "home"
    cli(home, "init")
    done = cli(home, "import-dataset", "pk-2018", "--data", str(folder), "--json")
    summary = json.loads(done.stdout)
    assert summary["election"] == "pk-ge-2018"
    assert summary["contests"] == 840
    assert [s["documents"] for s in summary["steps"]] == [1, 1, 840]
    assert summary["tree_size"] == 842
    assert summary["findings"] == {
        "ballots.accounting_mismatch": 56,
        "contest.rejected_exceed_margin": 170,
        "votes.sum_mismatch": 149,
    }
    assert (home / "keys" / "pk-ge-2018_returning_officer.key").exists()
    seat = json.loads(cli(home, "results", "NA-131", "--json").stdout)
    assert "Imran" in json.dumps(seat)  # the declared winner of Lahore's NA-131

    again = cli(home, "import-dataset", "pk-2018", "--data", str(folder), check=1)
    assert "election.exists" in again.stderr  # imported once; the second run logs nothing


def test_pk_2024_from_the_directory_holding_the_data_sets(tmp_path):
    shared_data("pk2024-na-form45-vs-form47")
    home = tmp_path / "home"
    cli(home, "init")
    done = cli(home, "import-dataset", "pk-2024-form45-vs-47", "--data", str(SHARED_DATA))
    assert "pk-ge-2024-na" in done.stdout
    assert "declaration.source_conflict" in done.stdout
    assert "58" in done.stdout  # the seats whose Form 45 and Form 47 totals differ
    assert "loading pk-2024-form45-vs-47" in done.stderr  # the progress bar


def test_an_unknown_data_set_lists_the_known_ones(tmp_path):
    home = tmp_path / "home"
    cli(home, "init")
    done = cli(home, "import-dataset", "pk-2013", "--data", str(tmp_path), check=3)
    assert "dataset.invalid" in done.stderr
    assert "pk-2024-form45-vs-47, pk-2018" in done.stderr


def test_a_directory_without_the_files_says_which_are_missing(tmp_path):
    home = tmp_path / "home"
    cli(home, "init")
    done = cli(home, "import-dataset", "pk-2018", "--data", str(tmp_path), check=3)
    assert "na2018_election_2018_ann.json" in done.stderr
    assert "pk2018-na-pa-candidates" in done.stderr
    gone = cli(home, "import-dataset", "pk-2018", "--data", str(tmp_path / "nowhere"), check=3)
    assert "no such directory" in gone.stderr
    (tmp_path / "pk2018-na-pa-candidates").mkdir()
    for name in ("na2018_election_2018_ann.json", "pa2018_prov2018.json"):
        (tmp_path / "pk2018-na-pa-candidates" / name).write_text("[{}]")
    broken = cli(home, "import-dataset", "pk-2018", "--data", str(tmp_path), check=3)
    assert "not the pk-2018 data set" in broken.stderr
    assert "ledger now" not in broken.stdout


def test_import_stations_lists_the_shipped_mappings_for_an_unknown_one(tmp_path):
    home = tmp_path / "home"
    cli(home, "init")
    done = cli(home, "import-stations", "russia", "--data", str(tmp_path), check=3)
    assert "mapping.invalid" in done.stderr
    assert "shipped mappings: " + ", ".join(SHIPPED) in done.stderr


def test_the_shipped_list_is_the_mappings_shipped():
    folder = resources.files("tallyproof.importers.mappings")
    names = sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )
    assert list(SHIPPED) == names
