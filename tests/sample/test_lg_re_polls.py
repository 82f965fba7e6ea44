"""The KP local-government phase of the sample, from structure to results: polls suspended by
riots in several districts, re-polls ordered at single stations, the polling-day forms kept
but no longer counted, the re-poll forms counted, results before and after, and the audit."""

from __future__ import annotations

from pathlib import Path

import pytest

from tallyproof.audit.run import audit_bundle
from tallyproof.export.bundle import export_bundle
from tallyproof.importers.plan import run_plan
from tallyproof.ledger.entries import leaf_body
from tallyproof.sample.generator import build_sample, load_stories
from tallyproof.service.reading import ReadModel
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter

LG = "kp-lg-2021-phase1"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> LedgerWriter:
    ctx = LedgerWriter.initialise(Settings.at(tmp_path_factory.mktemp("lg")))
    run_plan(ctx, build_sample())
    yield ctx
    ctx.close()


def re_polled() -> list[dict]:
    story = next(e for e in load_stories()["elections"] if e["election"]["id"] == LG)
    return [c for c in story["contests"] if "re_poll" in c]


def test_the_re_polls_span_several_districts():
    assert len({c["district"] for c in re_polled()}) >= 4


def test_each_re_polled_contest_counts_the_re_poll_and_shows_the_polling_day_beside_it(loaded):
    model = ReadModel.open(loaded.settings)
    structure = loaded.state.elections[LG]
    for c in re_polled():
        view = model.contest(LG, c["code"]).value
        reported = {k["id"]: k["votes"] for k in c["candidates"]}
        assert dict(view.computed.votes) == reported  # after the re-poll: the reported totals
        r = view.re_polls
        assert r is not None and r.after == reported
        plan = c["re_poll"]
        assert len(r.stations) == plan["suspended"] + plan["recounted"]
        never = [s for s in r.stations if not s.before]  # suspended before they reported
        assert len(never) == plan["suspended"]
        recounted = [s for s in r.stations if s.before]
        # the polling-day count the re-poll replaced gave the leader 150 votes too many
        leader = max(reported, key=reported.get)
        expected_before = dict(reported)
        for s in r.stations:
            for k in reported:
                expected_before[k] += s.before.get(k, 0) - (s.after or {}).get(k, 0)
        assert r.before == expected_before
        assert sum(s.before[leader] - s.after[leader] for s in recounted) == 150 * len(recounted)
        districts = {structure.station(s.station).region for s in r.stations}
        assert districts == {c["district"]}
        lives = model.findings(LG, c["code"]).value
        pending = [life for life in lives if life.finding.code == "station.re_poll_pending"]
        assert all(not life.open for life in pending)  # every re-poll form came
        assert len(pending) == plan["recounted"]  # opened at the order, resolved by the form


def test_the_station_orders_name_the_re_poll_day(loaded):
    with loaded.read() as reader:
        orders = reader.document_rows("status", LG, loaded.state.size)
    bodies = [leaf_body(d.leaf_data) for d in orders]
    re_polls = [b for b in bodies if b["status"] == "re_poll_ordered"]
    assert re_polls and all(b["re_poll_date"] == "2022-02-13" for b in re_polls)
    suspended = {b["target"] for b in bodies if b["status"] == "suspended"}
    assert suspended <= {b["target"] for b in re_polls}  # suspended, then re-polled


def test_the_audit_re_derives_the_lg_results(loaded, tmp_path: Path):
    export_bundle(loaded, tmp_path / "bundle")
    report = audit_bundle(tmp_path / "bundle", workers=1)
    assert report.ok, report.issues
