"""The Pakistan checks on a real store: the read model's findings (what the API, the static
files and the feed serve) and the writer's queries both report them, with their life."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.ledger.keys import Signer
from tallyproof.service import admin, queries
from tallyproof.service.reading import ReadModel
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter
from tests.helpers import (
    ELECTION,
    ElectionFixture,
    counter_clock,
    form_doc,
    make_election,
    structure_doc,
)


@pytest.fixture
def election(tmp_path) -> Iterator[ElectionFixture]:
    e = make_election(tmp_path)
    yield e
    e.ctx.close()


def open_codes(model: ReadModel, contest: str | None = None) -> dict[str, list]:
    lives = model.findings(ELECTION, contest).value
    found: dict[str, list] = {}
    for life in lives:
        if life.open:
            found.setdefault(life.finding.code, []).append(life.finding)
    return found


def test_na_and_pa_polled_apart_at_a_station_is_a_finding_until_corrected(election):
    na = election.submit_one(form_doc("S1", votes=(300, 200, 100)))  # polled 610
    pp = election.submit_one(form_doc("S1", votes=(300, 250), contest="PP-1"))  # polled 560
    assert na.accepted and pp.accepted
    election.submit(form_doc("S2"), form_doc("S2", votes=(350, 245), contest="PP-1"))  # 605
    model = ReadModel(election.ctx.store)
    try:
        (found,) = open_codes(model)["station.na_pa_polled_differ"]
        assert (found.contest, found.station) == ("NA-1", "S1")
        assert found.evidence["forms"] == [na.entry_id, pp.entry_id]
        assert found.evidence["polled"] == [610, 560]
        assert open_codes(model, "NA-1")["station.na_pa_polled_differ"] == [found]
        assert [f.station for f in queries.findings(election.ctx, ELECTION)] == ["S1"]
        assert [f.code for f in queries.findings(election.ctx, ELECTION, "PP-1")] == [
            "station.na_pa_polled_differ"
        ]  # asked about the PA contest, the finding naming it

        fixed = form_doc("S1", votes=(300, 300), contest="PP-1")  # polled 610
        fixed |= {"supersedes": pp.entry_id, "reason": "correction"}
        correction = election.submit_one(fixed)
        assert correction.accepted, correction.problems
        lives = [
            x for x in model.findings(ELECTION).value if x.finding.code.startswith("station.na_pa")
        ]
        (life,) = lives
        history = model.history(ELECTION, "NA-1").value
        assert history[-1].entry_id == correction.entry_id  # the PA form, on NA-1's history
        assert not life.open and life.resolved_by == history[-1].seq
        assert history[-1].resolved == (found,)
        assert queries.findings(election.ctx, ELECTION) == []
    finally:
        model.close()


def test_counts_within_the_rules_tolerance_raise_nothing(election):
    # NA polled 610; PP polled 300 + 290 + 10 = 600: 10 ballots apart (1.6 %), not beyond both
    election.submit(form_doc("S1"), form_doc("S1", votes=(300, 290), contest="PP-1"))
    model = ReadModel(election.ctx.store)
    try:
        assert "station.na_pa_polled_differ" not in open_codes(model)
        assert queries.findings(election.ctx, ELECTION) == []
    finally:
        model.close()


def test_rejected_votes_over_the_margin_on_the_count_and_on_the_declared_result(election):
    docs = [form_doc(f"S{i}", votes=(300, 290, 10), rejected=15) for i in range(1, 4)]
    election.submit(*docs)
    model = ReadModel(election.ctx.store)
    try:
        assert "contest.rejected_exceed_margin" not in open_codes(model)  # S4 still to report
        election.submit(form_doc("S4", votes=(300, 290, 10), rejected=15))
        (counted,) = open_codes(model)["contest.rejected_exceed_margin"]
        assert counted.evidence == {"basis": "stations", "rejected": 60, "margin": 40, "excess": 20}
        declared = {
            "election": ELECTION,
            "contest": "NA-1",
            "source": "returning_officer",
            "votes": {"NA-1/a": 1200, "NA-1/b": 1160, "NA-1/c": 40},
            "rejected": 60,
            "polled": 2460,
            "time": "2024-02-09T10:00:00+05:00",
        }
        decl = election.declare(declared)
        assert decl.accepted, decl.problems
        found = open_codes(model, "NA-1")["contest.rejected_exceed_margin"]
        assert sorted(f.evidence["basis"] for f in found) == ["declared", "stations"]
        (on_declared,) = [f for f in found if f.evidence["basis"] == "declared"]
        assert on_declared.evidence["declaration"] == decl.entry_id
        by_writer = [
            f for f in queries.findings(election.ctx, ELECTION) if f.code.startswith("contest.")
        ]
        assert sorted(f.id for f in by_writer) == sorted(f.id for f in found)
    finally:
        model.close()


def test_a_station_reporting_for_a_contest_it_does_not_serve_is_refused_naming_the_rule(tmp_path):
    """Today every source's form is checked against the structure, an observer's copy as
    much as the presiding officer's: refused with the field and the rule, nothing logged."""
    ctx = LedgerWriter.initialise(Settings.at(tmp_path), clock=counter_clock())
    admin_key = Signer.from_seed_text("test/admin", "test:admin")
    doc = structure_doc(admin_key.public.b64)
    doc["stations"][0]["contests"] = ["PP-1"]  # S1 votes only for the Punjab seat
    assert admin.import_structure(
        ctx, sign(EntryKind.STRUCTURE, doc, admin_key).envelope()
    ).accepted
    e = ElectionFixture(ctx, admin_key)
    try:
        observer = e.register("observer", "observer:FAFEN")
        po = e.register("po/S1", "presiding_officer", stations=["S1"])
        size = ctx.state.size
        for key, source in ((observer, "observer:FAFEN"), (po, "presiding_officer")):
            outcome = e.submit_one(form_doc("S1", source=source), key=key)
            assert [(p.code, p.field) for p in outcome.problems] == [
                ("form.station_not_serving_contest", "station")
            ]
        assert ctx.state.size == size
    finally:
        ctx.close()
