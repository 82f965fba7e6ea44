"""An error in a CSV file names the file, the line (the header is line 1) and the column, not
the JSON path the row became: for the structure's CSV set (`import-structure DIR`) and for a
form file (`submit forms.csv`). A refused file changes nothing in the log."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tallyproof.formats.structure import write_structure
from tests.helpers import ELECTION, cli, register_po_key, structure_doc


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    """An initialised home with no election yet, and an admin key."""
    home = tmp_path / "home"
    cli(home, "init", "--origin", "test.example/log")
    cli(home, "keygen", "test/admin", "--out", str(tmp_path / "admin.key"))
    return home


def log_size(home: Path) -> int:
    return int(cli(home, "checkpoint").stdout.split("\n")[1])


def csv_set(directory: Path) -> Path:
    """The test election as the documented CSV set (docs/formats.md)."""
    write_structure(structure_doc(), directory, "csv")
    return directory


def rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def write_rows(path: Path, table: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(table)


def import_set(home: Path, directory: Path, *extra: str, check: int = 0):
    admin = directory.parent / "admin.key"
    return cli(
        home, "import-structure", str(directory), "--admin-key", str(admin), *extra, check=check
    )


def problems(stdout: str) -> list[dict[str, str]]:
    return json.loads(stdout)["problems"]


def test_a_bad_party_in_candidates_csv_names_its_cell(bare, tmp_path):
    directory = csv_set(tmp_path / "set")
    table = rows(directory / "candidates.csv")
    assert table[2][:4] == ["NA-1", "NA-1/b", "Bushra", "PML-N"]  # line 3 of the file
    table[2][3] = "PMLX"
    write_rows(directory / "candidates.csv", table)
    before = log_size(bare)
    done = import_set(bare, directory, check=1)
    assert "structure.unknown_party" in done.stdout
    assert "candidates.csv line 3, column party" in done.stdout
    assert "contests[0]" not in done.stdout  # no JSON path the newcomer never wrote
    as_json = import_set(bare, directory, "--json", check=1)
    assert problems(as_json.stdout) == [
        {
            "code": "structure.unknown_party",
            "field": "candidates.csv line 3, column party",
            "message": "no party 'PMLX' in parties",
        }
    ]
    assert log_size(bare) == before


def test_a_duplicate_station_id_and_a_bad_count_name_their_lines_in_stations_csv(bare, tmp_path):
    directory = csv_set(tmp_path / "set")
    table = rows(directory / "stations.csv")
    table[2][2] = "many"  # line 3: S2's registered voters
    table.append(["S1", "Again", "100", "NA-1", ""])  # line 6
    write_rows(directory / "stations.csv", table)
    before = log_size(bare)
    done = import_set(bare, directory, "--json", check=1)
    assert problems(done.stdout) == [
        {
            "code": "votes.not_integer",
            "field": "stations.csv line 3, column registered_voters",
            "message": "'many' is not a whole number",
        },
        {
            "code": "structure.duplicate",
            "field": "stations.csv line 6, column id",
            "message": "'S1' appears twice",
        },
    ]
    text = import_set(bare, directory, check=1).stdout
    assert "structure.duplicate" in text and "stations.csv line 6, column id" in text
    assert log_size(bare) == before


def test_a_candidate_of_a_contest_not_in_contests_csv_names_its_cell(bare, tmp_path):
    directory = csv_set(tmp_path / "set")
    table = rows(directory / "candidates.csv")
    table.append(["NA-9", "NA-9/z", "Zafar", "", "", ""])  # line 7
    write_rows(directory / "candidates.csv", table)
    done = import_set(bare, directory, "--json", check=1)
    assert problems(done.stdout) == [
        {
            "code": "structure.unknown_contest",
            "field": "candidates.csv line 7, column contest",
            "message": "no contest 'NA-9' in contests.csv",
        }
    ]


def test_a_bad_header_names_the_file_line_1_and_the_column(bare, tmp_path):
    directory = csv_set(tmp_path / "set")
    table = rows(directory / "stations.csv")
    table[0][4] = "regoin"
    write_rows(directory / "stations.csv", table)
    before = log_size(bare)
    done = import_set(bare, directory, check=3)
    assert "csv.unknown_column" in done.stderr
    assert "stations.csv line 1, column regoin" in done.stderr
    table[0][4] = "region"
    table[3].append("extra")  # line 4
    write_rows(directory / "stations.csv", table)
    longer = import_set(bare, directory, check=3)
    assert "csv.extra_cells" in longer.stderr and "stations.csv line 4, column 6" in longer.stderr
    assert log_size(bare) == before


def test_a_set_without_parties_csv_imports_when_no_candidate_names_a_party(bare, tmp_path):
    directory = csv_set(tmp_path / "set")
    (directory / "parties.csv").unlink()
    table = rows(directory / "candidates.csv")
    for row in table[1:]:
        row[3:6] = ["", "", ""]  # every candidate independent
    write_rows(directory / "candidates.csv", table)
    import_set(bare, directory)
    exported = tmp_path / "out.json"
    cli(bare, "export-structure", str(exported))
    doc = json.loads(exported.read_text())
    assert doc["election"]["id"] == ELECTION and not doc.get("parties")
    assert all("party" not in k for c in doc["contests"] for k in c["candidates"])


def test_a_party_named_without_parties_csv_is_refused_at_its_cell(bare, tmp_path):
    directory = csv_set(tmp_path / "set")
    (directory / "parties.csv").unlink()
    table = rows(directory / "candidates.csv")
    for row in table[1:]:
        row[3:6] = ["", "", ""]
    table[4][3] = "PTI"  # line 5: PP-1/x
    write_rows(directory / "candidates.csv", table)
    before = log_size(bare)
    done = import_set(bare, directory, "--json", check=1)
    (problem,) = problems(done.stdout)
    assert problem["code"] == "structure.unknown_party"
    assert problem["field"] == "candidates.csv line 5, column party"
    assert "no parties.csv" in problem["message"]
    assert log_size(bare) == before


@pytest.fixture
def home(bare: Path, tmp_path: Path) -> Path:
    """The test election imported from its CSV set, with a presiding officer's key."""
    import_set(bare, csv_set(tmp_path / "set"))
    cli(bare, "keygen", "po/all", "--out", str(tmp_path / "po.key"))
    register_po_key(bare, tmp_path)
    return bare


FORM_HEADER = ["election", "station", "contest", "source", "time", "rejected", "polled"]
FORM_HEADER += ["votes.NA-1/a", "votes.NA-1/b", "votes.NA-1/c"]


def form_row(station: str, b: str = "20") -> list[str]:
    """A form for NA-1 at `station`: 10 + b + 30 valid votes, 5 rejected, 65 polled."""
    when = "2024-02-08T18:00:00Z"
    return [ELECTION, station, "NA-1", "presiding_officer", when, "5", "65", "10", b, "30"]


def outcomes(stdout: str) -> list[dict]:
    """The JSON documents `--json` prints, one an outcome."""
    found, at, decoder = [], 0, json.JSONDecoder()
    while at < len(stdout.rstrip()):
        doc, at = decoder.raw_decode(stdout, at)
        found.append(doc)
        while at < len(stdout) and stdout[at].isspace():
            at += 1
    return found


def test_a_non_number_in_a_form_csv_names_the_file_line_and_column(home, tmp_path):
    path = tmp_path / "forms.csv"
    write_rows(path, [FORM_HEADER, [], form_row("S2", b="twenty")])  # line 2 blank
    before = log_size(home)
    key = str(tmp_path / "po.key")
    done = cli(home, "submit", str(path), "--key", key, check=1)
    assert "votes.not_integer" in done.stdout
    assert "forms.csv line 3, column votes.NA-1/b" in done.stdout
    as_json = json.loads(cli(home, "submit", str(path), "--key", key, "--json", check=1).stdout)
    assert as_json["input"] == "forms.csv line 3"
    assert as_json["problems"] == [
        {
            "code": "votes.not_integer",
            "field": "forms.csv line 3, column votes.NA-1/b",
            "message": "'twenty' is not a whole number",
        }
    ]
    assert log_size(home) == before


def test_a_form_field_with_no_cell_names_its_row(home, tmp_path):
    path = tmp_path / "forms.csv"
    write_rows(path, [FORM_HEADER, form_row("S1")])
    done = cli(home, "submit", str(path), "--json", check=1)  # unsigned: no --key
    (problem,) = json.loads(done.stdout)["problems"]
    assert problem["code"] == "signature.missing"
    assert problem["field"] == "forms.csv line 2 (signature)"


def test_a_form_csv_that_cannot_be_read_names_the_line_and_column(home, tmp_path):
    path = tmp_path / "forms.csv"
    key = str(tmp_path / "po.key")
    before = log_size(home)
    write_rows(path, [[*FORM_HEADER[:-1], "votes.NA-1/b"], form_row("S1")])
    twice = cli(home, "submit", str(path), "--key", key, check=3)
    assert "csv.duplicate_column" in twice.stderr
    assert "forms.csv line 1, column votes.NA-1/b" in twice.stderr
    write_rows(path, [FORM_HEADER, form_row("S1"), [*form_row("S2"), "7"]])
    longer = outcomes(cli(home, "submit", str(path), "--key", key, "--json", check=1).stdout)
    refused = [o for o in longer if not o["accepted"]]
    assert [o["input"] for o in refused] == ["forms.csv line 3"]
    assert refused[0]["problems"][0]["code"] == "csv.extra_cells"
    assert refused[0]["problems"][0]["field"].startswith("forms.csv line 3, column 11")
    assert log_size(home) == before + 1  # the good row of line 2, and nothing else
