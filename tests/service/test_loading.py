"""Loading runs of several kinds in one transaction (service/loading.py): the same outcomes,
in the same ledger order, as submitting each run alone; one commit and one checkpoint;
receipts only after it; a registration the workers read is judged as one the writer reads;
and a failure anywhere leaves nothing of the bulk behind."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.ledger.keys import Signer
from tallyproof.service import admin, loading, submission
from tallyproof.service.loading import Run, submit_runs
from tallyproof.service.outcomes import Outcome
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter
from tests.helpers import ELECTION, counter_clock, form_doc, structure_doc

ADMIN = Signer.from_seed_text("test/admin", "test:admin")
STATIONS = 300  # over the 256 below which a writer would read registrations itself


def fresh(home: Path, stations: int = STATIONS, workers: int = 2) -> LedgerWriter:
    writer = LedgerWriter.initialise(
        Settings.at(home, verify_workers=workers), clock=counter_clock()
    )
    doc = structure_doc(ADMIN.public.b64, stations)
    assert admin.import_structure(writer, sign(EntryKind.STRUCTURE, doc, ADMIN).envelope()).accepted
    return writer


def po(i: int) -> Signer:
    return Signer.from_seed_text(f"po/S{i}", f"test:po/S{i}")


def registration(i: int, signer: Signer = ADMIN) -> dict[str, Any]:
    body = {
        "election": ELECTION,
        "key": {"name": f"po/S{i}", "public_key": po(i).public.b64},
        "source": "presiding_officer",
        "time": "2024-02-08T06:00:00Z",
        "stations": [f"S{i}"],
    }
    return sign(EntryKind.KEY_REGISTRATION, body, signer).envelope()


def form(i: int, contest: str = "NA-1", signer: Signer | None = None) -> dict[str, Any]:
    votes = (300 + i, 200, 100) if contest == "NA-1" else (40, 50 + i)
    doc = form_doc(station=f"S{i}", contest=contest, votes=votes)
    return sign(EntryKind.FORM, doc, signer or po(i)).envelope()


def status(target: str, value: str) -> dict[str, Any]:
    body = {
        "election": ELECTION,
        "scope": "station",
        "target": target,
        "status": value,
        "reason": "law and order",
        "time": "2024-02-08T19:00:00Z",
    }
    return sign(EntryKind.STATUS, body, ADMIN).envelope()


def night(stations: int) -> list[tuple[EntryKind, dict[str, Any]]]:
    """A small night in ledger order: the roll (one forged, one signed by a non-admin),
    forms, a suspension between them, a form from the suspended station, a copy sent twice,
    a form signed by a key registered later in the night, and that key's registration."""
    roll = [registration(i) for i in range(1, stations)]
    roll[3] = registration(4, signer=po(9))  # not the admin's key
    roll[5]["signature"] = roll[6]["signature"]  # forged
    docs = [(EntryKind.KEY_REGISTRATION, r) for r in roll]
    docs += [(EntryKind.FORM, form(i)) for i in range(1, stations // 2)]
    docs += [(EntryKind.STATUS, status("S2", "suspended"))]
    docs += [(EntryKind.FORM, form(i, "PP-1")) for i in range(1, stations // 2)]
    docs += [(EntryKind.FORM, form(1))]  # sent twice
    docs += [(EntryKind.FORM, form(stations))]  # its key is registered only below
    docs += [(EntryKind.KEY_REGISTRATION, registration(stations))]
    docs += [(EntryKind.FORM, form(stations, "PP-1"))]
    return docs


# what `night` is meant to cause: S4's registration is signed by a presiding officer, S6's
# is forged, so both stations' two forms have no key; the form of the last station comes
# before its key's registration (the one after it is accepted); S2's second form comes after
# its suspension
EXPECTED_REFUSALS = sorted(
    ["signature.not_admin", "signature.invalid", "station.suspended"]
    + ["signature.unknown_key"] * 5
)


def runs_of(docs: list[tuple[EntryKind, dict[str, Any]]], cuts: set[int]) -> list[Run]:
    """Consecutive documents of one kind, cut also at `cuts`."""
    runs: list[Run] = []
    for at, (kind, envelope) in enumerate(docs):
        if runs and runs[-1].kind is kind and at not in cuts:
            runs[-1].envelopes.append(envelope)  # type: ignore[attr-defined]
        else:
            runs.append(Run(kind, [envelope]))
    return runs


def alone(writer: LedgerWriter, run: Run) -> list[Outcome]:
    """A run submitted by itself, one transaction (a status order: one each)."""
    if run.kind is EntryKind.FORM:
        return submission.submit_forms(writer, run.envelopes)
    if run.kind is EntryKind.KEY_REGISTRATION:
        return admin.register_keys(writer, run.envelopes)
    return [admin.order_status(writer, e) for e in run.envelopes]


def verdicts(outcomes: list[list[Outcome]]) -> list[tuple[Any, ...]]:
    return [
        (o.accepted, o.duplicate, o.entry_id, tuple(p.code for p in o.problems))
        for run in outcomes
        for o in run
    ]


def ledger_order(writer: LedgerWriter) -> list[tuple[str, str]]:
    with writer.read() as reader:
        return [(r.kind, r.entry_id) for r in reader.entries(0, with_data=False)]


def checkpoints(writer: LedgerWriter) -> int:
    with writer.read() as reader:
        return len(reader.checkpoints())


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The night loaded in one bulk, and alone run by run, in two fresh stores."""
    base = tmp_path_factory.mktemp("loading")
    docs = night(STATIONS)
    runs = runs_of(docs, set())
    bulk, single = fresh(base / "bulk"), fresh(base / "single")
    before = checkpoints(bulk)
    together = submit_runs(bulk, runs)
    separate = [alone(single, run) for run in runs]
    yield bulk, single, runs, together, separate, before
    bulk.close()
    single.close()


def test_a_bulk_gives_each_run_the_outcomes_it_gets_alone(loaded):
    bulk, single, runs, together, separate, _ = loaded
    assert [len(o) for o in together] == [len(r.envelopes) for r in runs]
    assert verdicts(together) == verdicts(separate)
    assert ledger_order(bulk) == ledger_order(single)
    codes = sorted(p.code for run in together for o in run for p in o.problems)
    assert codes == EXPECTED_REFUSALS
    assert sum(o.duplicate for run in together for o in run) == 1


def test_a_bulk_commits_once_under_one_checkpoint_and_receipts_verify(loaded):
    bulk, _, _, together, _, before = loaded
    assert checkpoints(bulk) == before + 1
    size = bulk.state.size
    for outcome in (o for run in together for o in run if o.accepted and not o.duplicate):
        receipt = outcome.receipt
        assert receipt is not None and receipt.tree_size == size
        assert receipt.verify(bulk.log_key).size == size  # raises if the proof is wrong


def test_no_receipt_is_built_before_the_bulk_commits(tmp_path):
    writer = fresh(tmp_path / "home", stations=4)
    try:
        with writer.bulk():
            outcome = admin.register_keys(writer, [registration(1)])[0]
            assert outcome.accepted
            with pytest.raises(RuntimeError, match="not committed"):
                _ = outcome.receipt
        assert outcome.receipt is not None
    finally:
        writer.close()


def test_a_failure_in_a_bulk_leaves_nothing_of_it(tmp_path, monkeypatch):
    writer = fresh(tmp_path / "home", stations=8)
    size, kept = writer.state.size, checkpoints(writer)

    def broken(writer: LedgerWriter, envelope: object) -> Outcome:
        raise OSError("the disk went away")

    monkeypatch.setitem(loading._ADMIN, EntryKind.STATUS, broken)
    runs = [Run(EntryKind.KEY_REGISTRATION, [registration(i) for i in range(1, 8)])]
    runs += [
        Run(EntryKind.FORM, [form(1), form(2)]),
        Run(EntryKind.STATUS, [status("S3", "suspended")]),
    ]
    with pytest.raises(OSError, match="disk went away"):
        submit_runs(writer, runs)
    assert writer.refresh().size == size  # the state is rebuilt from the store: none of it
    writer.close()
    writer = LedgerWriter.open(Settings.at(tmp_path / "home"))
    try:
        assert writer.refresh().size == size
        assert checkpoints(writer) == kept
        assert not writer.state.keys
    finally:
        writer.close()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cuts=st.sets(st.integers(min_value=1, max_value=60), max_size=12))
def test_any_cutting_of_the_night_into_runs_gives_the_same_ledger(cuts):
    """However the stream is cut into runs (a batch boundary anywhere), one bulk gives the
    outcomes and the ledger order of the runs submitted one by one."""
    docs = night(24)
    runs = runs_of(docs, cuts)
    with tempfile.TemporaryDirectory() as base:
        bulk, single = fresh(Path(base) / "bulk", 24), fresh(Path(base) / "single", 24)
        try:
            assert verdicts(submit_runs(bulk, runs)) == verdicts([alone(single, r) for r in runs])
            assert ledger_order(bulk) == ledger_order(single)
        finally:
            bulk.close()
            single.close()
