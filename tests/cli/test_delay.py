"""`tallyproof delay` in a fresh process on a real store: the slowest table, the text curves,
one contest as of a past size, JSON, and refusals with their rule codes and exit codes."""

from __future__ import annotations

import json

import pytest

from tests.delaying import HOUR, build_night
from tests.helpers import cli


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("delay-cli") / "home"
    return home, build_night(home)


def test_the_slowest_contests_and_the_curves(home):
    done = cli(home[0], "delay", "--slowest", "5")
    lines = done.stdout.splitlines()
    assert "8h 00m after the close" in lines[0]
    rows = [line for line in lines if line.startswith("│")]
    assert rows[0].split("│")[1].strip() == "PP-1"  # unfinished: ranked by the time so far
    assert "not yet (8h 00m so far)" in rows[0]
    assert [c.strip() for c in rows[1].split("│")[1:-1]] == [
        "NA-1", "NA", "4/4", "1h 30m", "6h 00m", "8h 00m"
    ]  # fmt: skip
    assert "national: stations reported, of 4" in done.stdout
    assert any(line.startswith("  +  7h ") and line.endswith(" 100.0%         4") for line in lines)
    assert "PP: stations reported, of 4" in done.stdout


def test_one_contest_as_of_a_past_size_in_json(home):
    path, before_s4 = home
    done = cli(path, "delay", "--contest", "NA-1", "--as-of", str(before_s4), "--json")
    doc = json.loads(done.stdout)
    assert doc["tree_size"] == before_s4
    assert (doc["delay"]["reported"], doc["delay"]["to_all_forms"]) == (3, None)
    assert doc["delay"]["to_first_form"] == 1.5 * HOUR
    whole = json.loads(cli(path, "delay", "--json", "--by", "declared", "--slowest", "1").stdout)
    assert whole["delay"]["slowest"] == ["PP-1"]


@pytest.mark.parametrize(
    ("args", "code", "rule"),
    [
        (("--close", "17:00"), 1, "delay.bad_close"),
        (("--contest", "NA-9"), 3, "form.unknown_contest"),
    ],
)
def test_bad_questions_are_refused(home, args, code, rule):
    done = cli(home[0], "delay", *args, check=code)
    assert rule in done.stderr
