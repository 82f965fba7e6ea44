"""The CSV exports: the long shape's rows add up to the read model's consolidation, hold every
form from every source with the superseded ones flagged, and stay at the tree size they were
asked at; the contest results put the declared result beside the computed one."""

from __future__ import annotations

import csv
import io
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tallyproof.export.results_csv import (
    RESULT_COLUMNS,
    STATION_COLUMNS,
    Table,
    csv_chunks,
    csv_lines,
    results_table,
    stations_table,
)
from tallyproof.importers.plan import run_plan
from tallyproof.sample.generator import build_sample
from tallyproof.service.queries import UnknownElection
from tallyproof.service.reading import ReadModel
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter
from tests.helpers import CANDIDATES, ELECTION, cli, form_doc, make_election

SAMPLE = ("pk-ge-2024", "kp-lg-2021-phase1")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReadModel]:
    writer = LedgerWriter.initialise(Settings.at(tmp_path_factory.mktemp("sample")))
    run_plan(writer, build_sample())
    model = ReadModel.open(writer.settings)
    yield model
    model.close()
    writer.close()


def read(table: Table) -> list[dict[str, str]]:
    text = "".join(csv_chunks(table))
    return list(csv.DictReader(io.StringIO(text)))


def counted(rows: list[dict[str, str]]) -> tuple[Counter, dict[str, tuple[int, int]]]:
    """The votes of the current official forms per (contest, candidate), and each form's
    rejected and polled (once a form, not once a row)."""
    votes: Counter = Counter()
    ballots: dict[str, tuple[int, int]] = {}
    for r in rows:
        if r["official"] == "1" and r["current"] == "1":
            votes[(r["contest"], r["candidate"])] += int(r["votes"])
            ballots[r["form_id"]] = (int(r["rejected"]), int(r["polled"]))
    return votes, ballots


def assert_rows_sum_to_the_consolidation(model: ReadModel, election: str) -> None:
    answer = stations_table(model, election)
    rows = read(answer.value)
    votes, ballots = counted(rows)
    contest_of = {r["form_id"]: r["contest"] for r in rows}
    for view in model.results(election, answer.tree_size).value:
        c = view.computed
        assert {k: votes[(c.contest, k)] for k in c.votes} == dict(c.votes)
        forms = [b for form, b in ballots.items() if contest_of[form] == c.contest]
        assert len(forms) == c.stations_reported
        assert sum(r for r, _ in forms) == c.rejected
        assert sum(p for _, p in forms) == c.polled


@pytest.mark.parametrize("election", SAMPLE)
def test_current_official_rows_sum_to_the_computed_totals(sample, election):
    assert_rows_sum_to_the_consolidation(sample, election)


@pytest.mark.parametrize("election", SAMPLE)
def test_every_form_from_every_source_is_there_with_its_place_in_the_log(sample, election):
    answer = stations_table(sample, election)
    rows = read(answer.value)
    assert tuple(rows[0]) == STATION_COLUMNS
    structure = sample.structure(election, answer.tree_size).value
    logged = [
        entry
        for c in structure.contests
        for entry in sample.forms(election, contest=c.code, as_of=answer.tree_size).value
    ]
    first = {}
    for r in rows:
        first.setdefault(r["form_id"], r)
    assert first.keys() == {e.record.form_id for e in logged}
    for e in logged:
        row = first[e.record.form_id]
        assert (row["source"], row["leaf_index"], row["current"]) == (
            e.record.source,
            str(e.record.seq),
            str(int(e.current)),
        )
        named = [r["candidate"] for r in rows if r["form_id"] == e.record.form_id]
        assert sorted(named) == sorted(e.record.votes)
    for c in structure.contests:  # station by station, as the structure lists them
        seen = [r["station"] for r in rows if r["contest"] == c.code]
        place = {s: n for n, s in enumerate(structure.stations_of(c.code))}
        assert seen == sorted(seen, key=place.__getitem__)


def test_superseded_forms_and_every_source_are_flagged(sample):
    rows = [r for election in SAMPLE for r in read(stations_table(sample, election).value)]
    assert {"presiding_officer", "agent:PML-N"} <= {r["source"] for r in rows}
    assert {r["official"] for r in rows if r["source"].startswith("agent:")} == {"0"}
    replaced = {r["supersedes"]: r["reason"] for r in rows if r["supersedes"]}
    assert "re_poll" in replaced.values()
    for r in rows:
        assert (r["current"] == "0") == (r["form_id"] in replaced)


def test_an_independent_is_named_with_the_party_that_backed_them(sample):
    rows = read(stations_table(sample, "pk-ge-2024", contest="PS-129").value)
    assert {r["contest"] for r in rows} == {"PS-129"}
    bari = next(r for r in rows if r["candidate"] == "PS-129/saif-bari")
    assert (bari["party"], bari["backed_by"], bari["side"]) == ("", "PTI", "IND (PTI-backed)")


def test_unknown_names_are_refused_before_any_row(sample):
    with pytest.raises(UnknownElection, match=r"form\.unknown_contest"):
        stations_table(sample, "pk-ge-2024", contest="NA-999")
    with pytest.raises(UnknownElection, match=r"form\.unknown_election"):
        stations_table(sample, "no-such-election")


def test_the_rows_are_those_of_the_size_asked_however_late_they_are_read(tmp_path, store_url):
    e = make_election(tmp_path / "h", store_url)
    e.submit(form_doc(station="S1"))
    model = ReadModel.open(e.ctx.settings)
    answer = stations_table(model, ELECTION)
    e.submit(form_doc(station="S2", votes=(1, 2, 3)))  # logged before the rows are read
    assert model.structure(ELECTION).tree_size > answer.tree_size
    assert {r["station"] for r in read(answer.value)} == {"S1"}
    model.close()


def test_chunks_end_at_line_boundaries_and_awkward_cells_are_quoted():
    cells = [[n, f"line\n{n}", f"cr\r{n}", 'say "x", then y'] for n in range(10)]
    chunks = list(csv_chunks(Table(("a", "b", "c", "d"), csv_lines(cells)), chunk_chars=80))
    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.endswith("\n") and chunk.count('"') % 2 == 0
    back = list(csv.reader(io.StringIO("".join(chunks), newline="")))
    assert back[1:] == [[str(c) for c in row] for row in cells]


def test_contest_results_put_declared_beside_computed(sample):
    answer = results_table(sample, "pk-ge-2024")
    rows = read(answer.value)
    assert tuple(rows[0]) == RESULT_COLUMNS
    assert RESULT_COLUMNS[:11] == (  # `results --csv` (docs/formats.md)
        "contest",
        "candidate",
        "name",
        "side",
        "declared",
        "computed",
        "difference",
        "status",
        "stations_reported",
        "stations_total",
        "winner_differs",
    )
    bari = next(r for r in rows if r["candidate"] == "PS-129/saif-bari")
    assert (bari["declared"], bari["computed"], bari["difference"]) == ("11000", "31000", "-20000")
    assert (bari["official"], bari["basis"], bari["winner_differs"]) == ("11000", "declared", "1")
    by_row = {(r["contest"], r["candidate"]): r for r in rows}
    for view in sample.results("pk-ge-2024", answer.tree_size).value:
        for candidate, votes in view.official.votes.items():
            row = by_row[(view.official.contest, candidate)]
            assert int(row["official"]) == votes
            assert int(row["computed"]) == view.computed.votes[candidate]
            assert row["declared"] == ("" if view.declared is None else row["official"])
            winner = view.official.winner
            assert row["winner"] == str(int(winner is not None and winner.candidate == candidate))


counts = st.tuples(*(st.integers(0, 250) for _ in CANDIDATES))
station_plans = st.lists(
    st.tuples(st.lists(counts, min_size=1, max_size=3), st.one_of(st.none(), counts)),
    min_size=1,
    max_size=4,
)


@given(station_plans)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_forms_and_corrections_sum_to_the_consolidation(plans):
    """Each station's chain of official forms (each correcting the last) and, perhaps, an
    agent's copy: the long rows of current official forms sum to the consolidation."""
    with tempfile.TemporaryDirectory() as home:
        e = make_election(Path(home))
        for i, (chain, copy) in enumerate(plans, start=1):
            previous = None
            for votes in chain:
                extra = {"supersedes": previous, "reason": "correction"} if previous else {}
                outcome = e.submit_one(form_doc(station=f"S{i}", votes=votes, **extra))
                assert outcome.accepted, outcome.problems
                previous = outcome.entry_id
            if copy is not None:
                doc = form_doc(station=f"S{i}", votes=copy, source="agent:PTI")
                assert e.submit_one(doc, key=e.agent).accepted
        model = ReadModel.open(e.ctx.settings)
        try:
            assert_rows_sum_to_the_consolidation(model, ELECTION)
            rows = read(stations_table(model, ELECTION).value)
            expected = sum(len(chain) + (copy is not None) for chain, copy in plans)
            assert len({r["form_id"] for r in rows}) == expected
        finally:
            model.close()
            e.ctx.close()


def test_the_command_writes_the_csvs_and_names_the_tree_size(tmp_path):
    home = tmp_path / "h"
    e = make_election(home)
    e.submit(form_doc(station="S1"), form_doc(station="S2", votes=(5, 6, 7)))
    size = e.ctx.state.size
    e.ctx.close()
    done = cli(home, "export", "stations-csv")
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert {r["station"] for r in rows} == {"S1", "S2"} and len(rows) == 6
    assert f"tree size {size}" in done.stderr
    target = tmp_path / "results.csv"
    done = cli(home, "export", "results-csv", "--out", str(target), "--as-of", str(size))
    assert done.stdout == "" and f"tree size {size}" in done.stderr
    rows = list(csv.DictReader(target.open(newline="")))
    assert {r["candidate"]: r["computed"] for r in rows if r["contest"] == "NA-1"} == {
        "NA-1/a": "305",
        "NA-1/b": "206",
        "NA-1/c": "107",
    }
