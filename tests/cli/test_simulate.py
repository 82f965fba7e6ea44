"""`tallyproof simulate`: the night written as JSON Lines, loaded into a home's store, and
sent to a real server, each time holding the log to what every document was meant to do."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import tallyproof.cli.simulating  # noqa: F401 - registers `simulate` until cli/__init__ does
from tallyproof.cli import app
from tallyproof.cli.simulating import UNJUDGED, batches
from tallyproof.sample.night import Event
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter
from tests.serving import Server

RUNNER = CliRunner()
SMALL = ["--stations", "600", "--seed", "4"]
FAULTS = ["--forged", "0.01", "--wrong-station", "0.01", "--duplicate", "0.02",
          "--declaration-flip", "0.03", "--agent-conflict", "0.3", "--re-poll", "0.01"]  # fmt: skip


def judged(found: dict[str, int]) -> dict[str, int]:
    """The findings the night has an expectation of: not the Pakistan checks'."""
    return {code: n for code, n in found.items() if code not in UNJUDGED}


def simulate(home: Path, *args: str, code: int = 0):
    result = RUNNER.invoke(app, ["--home", str(home), "simulate", *args])
    assert result.exit_code == code, result.output
    return result


def initialised(home: Path) -> Path:
    LedgerWriter.initialise(Settings.at(home)).close()
    return home


def summary(result) -> dict:
    return json.loads(result.stdout)


def test_out_writes_the_night_as_json_lines_the_same_for_the_same_seed(tmp_path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    result = simulate(tmp_path / "home", *SMALL, "--out", str(first))
    simulate(tmp_path / "home", *SMALL, "--out", str(second))
    assert first.read_bytes() == second.read_bytes()
    events = [json.loads(line) for line in first.read_text("utf-8").splitlines()]
    assert events[0]["kind"] == "structure" and events[0]["route"] == "/v1/elections"
    assert [e["time"] for e in events] == sorted(e["time"] for e in events)
    assert {"accepted", "duplicate", "refused"} >= {e["expect"]["outcome"] for e in events}
    assert "documents sent" in result.stdout and f"{len(events):,}" in result.stdout
    assert not (tmp_path / "home").exists()  # --out needs no home


def test_one_sink_and_only_one(tmp_path):
    assert "give one of" in simulate(tmp_path, *SMALL, code=2).output
    out = str(tmp_path / "n.jsonl")
    simulate(tmp_path, *SMALL, "--out", out, "--into-store", code=2)
    simulate(tmp_path, *SMALL, "--out", out, "--speed", "600", code=2)
    simulate(tmp_path, "--stations", "100", "--out", out, code=2)


def test_into_a_home_that_was_never_initialised(tmp_path):
    result = simulate(tmp_path / "none", *SMALL, "--into-store", code=3)
    assert "tallyproof init" in result.output


def test_into_the_store_every_document_and_finding_as_meant(tmp_path):
    home = initialised(tmp_path / "home")
    done = summary(simulate(home, *SMALL, *FAULTS, "--into-store", "--json"))
    assert done["as_meant"] == done["sent"] and done["unexpected"] == []
    assert done["outcomes"] == done["expected"]
    assert done["outcomes"]["refused:signature.invalid"] >= 5
    assert done["outcomes"]["refused:signature.out_of_scope"] >= 5
    assert done["outcomes"]["duplicate"] >= 10
    assert judged(done["findings_found"]) == done["findings_expected"]
    assert done["findings_expected"]["consolidation.winner_differs"] >= 5
    other = simulate(home, "--stations", "600", "--seed", "5", "--into-store", code=1)
    assert "election.exists" in other.output and "nothing else was sent" in other.output


def test_into_a_running_server(tmp_path):
    home = initialised(tmp_path / "home")
    server = Server(home).start()
    try:
        done = summary(simulate(home, *SMALL, *FAULTS, "--server", server.url, "--json"))
    finally:
        server.stop()
    assert done["as_meant"] == done["sent"] and done["unexpected"] == []
    assert done["outcomes"]["refused:signature.invalid"] >= 5
    assert done["outcomes"]["duplicate"] >= 10
    assert judged(done["findings_found"]) == done["findings_expected"]


def test_a_server_that_is_not_there(tmp_path):
    result = RUNNER.invoke(
        app, ["--home", str(tmp_path), "simulate", *SMALL, "--server", "http://127.0.0.1:9"]
    )
    assert result.exit_code == 3, result.output
    assert "no answer" in result.output


def event(minutes: float, kind: str = "form") -> Event:
    return Event(0, minutes, kind, kind, {})


def test_speed_paces_the_night_from_polls_closing():
    """600 simulated seconds a second: the set-up at once; events due five minutes (half a
    second) apart leave apart, those due together leave together; a change of kind cuts."""
    night = [event(-600, "key_registration"), event(0), event(0.01), event(5), event(5, "status")]
    began = time.monotonic()
    sent = [
        (time.monotonic() - began, [e.minutes for e in b]) for b in batches(iter(night), 2000, 600)
    ]
    assert [m for _, m in sent] == [[-600], [0, 0.01], [5], [5]]
    assert sent[1][0] < 0.2 <= 0.45 <= sent[2][0]
    assert list(batches(iter(night), 2000, 0)) == [night[:1], night[1:4], night[4:]]


@pytest.mark.parametrize("size", [1, 2])
def test_batches_never_exceed_their_size(size):
    night = [event(i) for i in range(5)]
    assert all(len(b) <= size for b in batches(iter(night), size, 0))
