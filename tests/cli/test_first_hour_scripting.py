"""Scripting: `findings --fail-on SEVERITY` exits 1 after printing when an open finding that
severe or worse exists; a read command with nothing to list says why instead of printing an
empty table; a refused time suggests the value written with the election's offset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tallyproof.ledger.keys import Signer
from tests.helpers import cli, form_doc, make_election


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    """The test election with its keys registered and nothing submitted."""
    home = tmp_path / "empty"
    make_election(home).ctx.close()
    return home


@pytest.fixture
def conflict(tmp_path: Path) -> Path:
    """S1's presiding officer and PTI's agent disagree: one open high finding."""
    home = tmp_path / "home"
    election = make_election(home)
    assert election.submit_one(form_doc("S1", (300, 200, 100))).accepted
    agent_copy = form_doc("S1", (300, 250, 100), source="agent:PTI")
    assert election.submit_one(agent_copy, key=election.agent).accepted
    election.ctx.close()
    return home


def test_fail_on_exits_1_after_printing_when_a_finding_that_severe_is_open(conflict):
    done = cli(conflict, "findings", "--fail-on", "high", check=1)
    assert "station.source_conflict" in done.stdout  # printed first
    assert "--fail-on high: 1 open finding high or worse" in done.stderr
    done = cli(conflict, "findings", "--fail-on", "medium", "--json", check=1)
    assert [f["code"] for f in json.loads(done.stdout)["findings"]] == ["station.source_conflict"]
    cli(conflict, "findings", "--fail-on", "high", "--csv", check=1)


def test_fail_on_exits_0_when_nothing_that_severe_is_open(conflict, empty):
    done = cli(conflict, "findings", "--fail-on", "critical")
    assert "station.source_conflict" in done.stdout and not done.stderr
    cli(empty, "findings", "--fail-on", "info")


def test_fail_on_counts_open_findings_whatever_is_shown(conflict):
    """--min-severity narrows what is printed, not what --fail-on looks at."""
    done = cli(conflict, "findings", "--min-severity", "critical", "--fail-on", "high", check=1)
    assert "station.source_conflict" not in done.stdout


def test_fail_on_names_the_severities(conflict):
    done = cli(conflict, "findings", "--fail-on", "severe", check=2)
    assert "critical, high, medium, low, info" in done.stderr


def test_empty_read_commands_say_why(empty):
    size = json.loads(cli(empty, "findings", "--json").stdout)["tree_size"]
    said = {
        ("findings",): f"no findings open at tree size {size}.",
        ("findings", "--all", "--contest", "NA-1"): f"no findings in NA-1 at tree size {size}.",
        ("forms", "S1"): f"no forms yet for station S1 at tree size {size}.",
        ("forms", "--contest", "NA-1"): f"no forms yet for NA-1 at tree size {size}.",
        ("history", "NA-1"): (
            f"no changes to NA-1 yet at tree size {size}: no form, declaration or status "
            "order for it is logged."
        ),
        ("standings",): (
            f"no seats won or led yet in test-2024 at tree size {size}: no contest has a "
            "declared result or a form with votes."
        ),
    }
    for args, sentence in said.items():
        done = cli(empty, *args)
        assert done.stdout == sentence + "\n", args
    results = cli(empty, "results").stdout
    assert results.endswith(
        f"no forms or declared results yet in test-2024 at tree size {size}: nothing is counted.\n"
    )


def test_findings_says_what_it_leaves_out(conflict):
    done = cli(conflict, "findings", "--min-severity", "critical")
    assert done.stdout.startswith("no findings open critical or worse at tree size ")
    assert "(1 less severe: --min-severity info shows them)" in done.stdout
    done = cli(conflict, "findings", "--contest", "PP-1")
    assert done.stdout.startswith("no findings open in PP-1 at tree size ")


def test_the_empty_sentences_leave_json_and_csv_as_they_were(empty):
    assert json.loads(cli(empty, "findings", "--json").stdout)["findings"] == []
    assert cli(empty, "forms", "S1", "--csv").stdout.startswith("station,contest,source,")
    assert json.loads(cli(empty, "history", "NA-1", "--json").stdout)["history"] == []


@pytest.mark.parametrize(
    ("time", "suggested"),
    [
        (
            "2024-02-08T18:00:00",
            "has no UTC offset: write the election's, as in 2024-02-08T18:00:00+05:00",
        ),
        ("2024-02-08 18:00", "as in 2024-02-08T18:00:00+05:00"),
        ("2024-02-08 18:00:00 +0500", "write it as 2024-02-08T18:00:00+05:00"),
    ],
)
def test_a_refused_time_suggests_the_election_offset(tmp_path, empty, time, suggested):
    forms = tmp_path / "forms.jsonl"
    forms.write_text(json.dumps(form_doc("S1", time=time)) + "\n")
    key = tmp_path / "po.key"
    key.write_text(Signer.from_seed_text("po/S1", "test:po/S1").private_text())
    done = cli(empty, "submit", str(forms), "--key", str(key), "--json", check=1)
    (problem,) = json.loads(done.stdout)["problems"]
    assert (problem["code"], problem["field"]) == ("schema.timestamp", "time")
    assert suggested in problem["message"]
    assert "+05:00" in problem["message"]
