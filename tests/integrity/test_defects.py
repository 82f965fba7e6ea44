"""The Integrity issue's defects, one test each, at the layer that owns the fix (the CLI-level
hostile inputs are in test_hostile.py, rollback in test_rollback.py, concurrent writers in
test_concurrency.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tallyproof.audit.run import audit_bundle
from tallyproof.cli import submitting as cli_submitting
from tallyproof.domain.declarations import parse_declaration
from tallyproof.domain.fields import MAX_COUNTS
from tallyproof.domain.forms import parse_form
from tallyproof.domain.problems import Rejected
from tallyproof.domain.structure import parse_structure
from tallyproof.export.bundle import export_bundle
from tallyproof.formats.documents import read_documents
from tallyproof.formats.structure import FileFormatError
from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.ledger.intake import MAX_DEPTH, InputError, Unreadable, load_json
from tallyproof.service import submission
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter
from tallyproof.store.database import Reader
from tests.helpers import ELECTION, form_doc, make_election, structure_doc


def _codes(err: Rejected) -> list[str]:
    return [p.code for p in err.problems]


def _refused(doc: Any, parse: Any = parse_form) -> list[str]:
    with pytest.raises(Rejected) as err:
        parse(doc)
    return _codes(err.value)


# 2. the time an entry is logged is assigned under the writer lock


def test_a_writer_whose_clock_is_behind_still_logs_in_time_order(tmp_path):
    e = make_election(tmp_path / "h")
    ahead = e.ctx
    behind = LedgerWriter.open(
        Settings.at(tmp_path / "h"), clock=lambda: "2024-02-08T10:00:00.000Z"
    )
    first = e.submit_one(form_doc(station="S1"))
    late = submission.submit_forms(
        behind, [sign(EntryKind.FORM, form_doc(station="S2"), e.po["S2"]).envelope()]
    )[0]
    assert late.accepted
    assert late.receipt.received_at == first.receipt.received_at  # not 10:00, before it
    next_one = e.submit_one(form_doc(station="S3"))
    assert next_one.receipt.received_at >= late.receipt.received_at
    with ahead.read() as reader:
        times = [row.received_at for row in reader.entries(with_data=False)]
    assert times == sorted(times)
    behind.close()


def test_a_prepared_batch_is_stamped_when_it_is_logged_not_when_it_arrived(tmp_path):
    """A batch prepared, then overtaken by another writer's commit, logs after it."""
    e = make_election(tmp_path / "h")
    started = submission._start(
        e.ctx, EntryKind.FORM, [sign(EntryKind.FORM, form_doc(), e.po["S1"]).envelope()]
    )
    other = LedgerWriter.open(Settings.at(tmp_path / "h"), clock=lambda: "2024-02-08T23:59:00.000Z")
    envelope = sign(EntryKind.FORM, form_doc(station="S2"), e.po["S2"]).envelope()
    assert submission.submit_forms(other, [envelope])[0].accepted
    (outcome,) = submission._finish(e.ctx, started, submission._FORM_RULES)
    assert outcome.accepted
    assert outcome.receipt.received_at == "2024-02-08T23:59:00.000Z"
    other.close()


# 4. one snapshot per export


def test_an_export_taken_while_another_writer_commits_audits_clean(tmp_path, monkeypatch):
    e = make_election(tmp_path / "h")
    assert e.submit_one(form_doc(station="S1")).accepted
    other = LedgerWriter.open(Settings.at(tmp_path / "h"))
    late = sign(EntryKind.FORM, form_doc(station="S2"), e.po["S2"]).envelope()
    original = Reader.keys

    def keys_then_commit(self: Reader) -> Any:
        rows = original(self)
        if not getattr(keys_then_commit, "done", False):
            keys_then_commit.done = True  # type: ignore[attr-defined]
            assert submission.submit_forms(other, [late])[0].accepted  # mid-export
        return rows

    monkeypatch.setattr(Reader, "keys", keys_then_commit)
    manifest = export_bundle(e.ctx, tmp_path / "bundle")
    report = audit_bundle(tmp_path / "bundle", workers=1)
    assert report.ok, report.issues
    results = json.loads((tmp_path / "bundle" / "results.json").read_text())
    (na1,) = [r for r in results["elections"][ELECTION] if r["contest"] == "NA-1"]
    assert na1["stations_reported"] == 1  # the snapshot's, not the store's after it
    assert manifest["tree_size"] < e.ctx.refresh().size
    other.close()


# 5-7. hostile JSON: refused by name before any parsing work


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('{"a": NaN}', "input.number"),
        ('{"a": Infinity}', "input.number"),
        ('{"a": -Infinity}', "input.number"),
        ('{"a": 1e400}', "input.number"),
        ('{"a": 9007199254740993}', "input.number_range"),
        ('{"a": -9007199254740993}', "input.number_range"),
        ('{"a": ' + "9" * 5000 + "}", "input.number_range"),
        ('{"a": "\\ud800"}', "input.text"),
        ('{"\\udfff": 1}', "input.text"),
        ("[" * 100_000 + "]" * 100_000, "input.too_deep"),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "input.too_deep"),
        ('{"a": "' + "x" * 70_000 + '"}', "input.string_too_long"),
        ('{"a": 1, "a": 2}', "input.duplicate_key"),
        ("{", "input.json"),
    ],
)
def test_hostile_json_is_refused_by_name(text, code):
    with pytest.raises(InputError) as err:
        load_json(text.encode())
    assert err.value.problem.code == code


def test_a_duplicate_key_is_named_and_never_resolved_silently():
    text = '{"votes": {"NA-1/a": 250, "NA-1/a": 300}}'
    with pytest.raises(InputError) as err:
        load_json(text)
    assert err.value.problem.code == "input.duplicate_key"
    assert "NA-1/a" in err.value.problem.message


def test_non_utf8_and_oversized_documents_are_refused_before_parsing():
    with pytest.raises(InputError, match=r"input\.encoding"):
        load_json(b'{"a": "\xff"}')
    started = time.perf_counter()
    with pytest.raises(InputError, match=r"input\.too_large"):
        load_json(b"{" + b'"a":1,' * 1_000_000 + b'"b":1}')
    assert time.perf_counter() - started < 1.0


def test_a_form_naming_200000_candidates_is_refused_quickly():
    votes = {f"X/{i}": 1 for i in range(200_000)}
    started = time.perf_counter()
    assert _refused(form_doc(votes=(1, 1, 1)) | {"votes": votes}) == ["votes.too_many"]
    assert time.perf_counter() - started < 2.0
    many = {f"NA-1/{i}": 1 for i in range(MAX_COUNTS + 1)}
    decl = {"election": ELECTION, "contest": "NA-1", "source": "returning_officer"}
    decl |= {"votes": many, "time": "2024-02-09T02:00:00Z"}
    assert _refused(decl, parse_declaration) == ["votes.too_many"]


# 9. declarations


def _declaration(**extra: Any) -> dict[str, Any]:
    return {
        "election": ELECTION,
        "contest": "NA-1",
        "source": "returning_officer",
        "votes": {"NA-1/a": 300, "NA-1/b": 200, "NA-1/c": 100},
        "time": "2024-02-09T02:00:00+05:00",
        **extra,
    }


def test_a_declaration_with_no_votes_is_refused():
    assert _refused(_declaration(votes={}), parse_declaration) == ["votes.empty"]


def test_an_official_declaration_must_give_every_candidate(tmp_path):
    e = make_election(tmp_path / "h")
    partial = e.declare(_declaration(votes={"NA-1/a": 300, "NA-1/b": 200}))
    assert [(p.code, p.field) for p in partial.problems] == [
        ("votes.missing_candidate", "votes.NA-1/c")
    ]
    assert e.declare(_declaration()).accepted


# 10. smaller


@pytest.mark.parametrize("field", ["election", "station", "contest"])
def test_identifiers_may_not_end_in_a_newline(field):
    assert "schema.identifier" in _refused(form_doc() | {field: form_doc()[field] + "\n"})


def test_a_candidate_id_with_a_trailing_newline_is_refused():
    doc = form_doc()
    doc["votes"] = {"NA-1/a\n": 300, "NA-1/b": 200, "NA-1/c": 100}
    assert "schema.identifier" in _refused(doc)


@pytest.mark.parametrize("date", ["banana", "2024-02-30", "2024-2-8", "20240208", "2024-02-08\n"])
def test_the_election_date_is_a_real_date(date):
    doc = structure_doc()
    doc["election"]["date"] = date
    assert "schema.date" in _refused(doc, parse_structure)


def test_a_real_election_date_is_accepted():
    assert parse_structure(structure_doc()).election.date == "2024-02-08"


def test_issued_is_checked_against_the_roll_and_kept_as_evidence_against_the_box(tmp_path):
    e = make_election(tmp_path / "h")
    too_many = e.submit_one(form_doc(issued=1001))
    assert [p.code for p in too_many.problems] == ["ballots.issued_exceeds_registered"]
    stuffed = e.submit_one(form_doc(issued=5))  # 610 in the box, 5 issued: kept, for forensics
    assert stuffed.accepted, stuffed.problems
    with e.ctx.read() as reader:
        assert reader.form(stuffed.entry_id).issued == 5


def _csv(tmp_path: Path, text: str | bytes, name: str = "forms.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


HEADER = "election,station,contest,source,time,rejected,polled,votes.NA-1/a\n"
ROW = "test-2024,S1,NA-1,presiding_officer,2024-02-08T18:00:00Z,{rejected},310,300\n"


@pytest.mark.parametrize("count", ["3_00", "+300", "٣٠٠", " 300 x", "0x10", "1e3"])
def test_csv_counts_are_plain_ascii_digits(tmp_path, count):
    path = _csv(tmp_path, HEADER + ROW.format(rejected=count))
    ((_, doc),) = list(read_documents(path))
    assert isinstance(doc["rejected"], str)  # left as text: the rules refuse it by name
    assert "votes.not_integer" in _refused(doc)


def test_a_csv_with_a_byte_order_mark_is_read(tmp_path):
    path = _csv(tmp_path, "\ufeff" + HEADER + ROW.format(rejected=10))
    ((_, doc),) = list(read_documents(path))
    assert doc["election"] == ELECTION and doc["rejected"] == 10


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (HEADER.replace("polled", "rejected"), "csv.duplicate_column"),
        (HEADER.replace("polled", "polld"), "csv.unknown_column"),
        (HEADER.replace(",polled", ",,polled"), "csv.empty_column"),
        ("", "input.empty"),
        (HEADER, "input.empty"),
        (HEADER + "\n\n", "input.empty"),
    ],
)
def test_a_csv_that_cannot_be_read_names_why(tmp_path, text, code):
    with pytest.raises(FileFormatError) as err:
        list(read_documents(_csv(tmp_path, text)))
    assert err.value.code == code


def test_csv_cells_beyond_the_header_and_fields_beyond_the_limit_are_refused(tmp_path):
    extra = _csv(tmp_path, HEADER + ROW.format(rejected=10).rstrip("\n") + ",999\n")
    ((_, doc),) = list(read_documents(extra))
    assert isinstance(doc, Unreadable) and doc.problems[0].code == "csv.extra_cells"
    long = _csv(tmp_path, HEADER + ROW.format(rejected="1" * 131_073), "long.csv")
    with pytest.raises(FileFormatError) as err:
        list(read_documents(long))
    assert err.value.code == "csv.field_too_long"
    bad = _csv(tmp_path, HEADER.encode() + b"\xff\xfe\n", "bad.csv")
    with pytest.raises(FileFormatError) as err:
        list(read_documents(bad))
    assert err.value.code == "input.encoding"


def test_jsonl_lines_are_refused_one_by_one(tmp_path):
    path = tmp_path / "forms.jsonl"
    good = json.dumps(form_doc())
    path.write_bytes(b"\n".join([good.encode(), b"\xff{", b'{"a": 1, "a": 2}', b"[" * 5000]))
    read = dict(read_documents(path))
    assert read[1] == form_doc()
    assert [read[n].problems[0].code for n in (2, 3, 4)] == [
        "input.encoding",
        "input.duplicate_key",
        "input.too_deep",
    ]
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n \n")
    with pytest.raises(FileFormatError, match=r"input\.empty"):
        list(read_documents(empty))


def test_submit_receipts_are_on_disk_after_each_committed_batch(tmp_path, monkeypatch):
    e = make_election(tmp_path / "h")
    envelopes = [
        sign(EntryKind.FORM, form_doc(station=s), e.po[s]).envelope() for s in ("S1", "S2", "S3")
    ]
    real = submission.ingest_forms

    def interrupted(ctx: LedgerWriter, batches: Any) -> Any:
        for i, done in enumerate(real(ctx, batches)):
            yield done
            if i == 0:
                raise KeyboardInterrupt  # the operator, or the power, after the first commit

    monkeypatch.setattr(submission, "ingest_forms", interrupted)
    receipts = tmp_path / "receipts.jsonl"
    with pytest.raises(KeyboardInterrupt):
        cli_submitting.submit_in_batches(e.ctx, envelopes, 2, receipts)
    kept = [json.loads(line) for line in receipts.read_text().splitlines()]
    assert [r["leaf_index"] for r in kept] == [e.ctx.refresh().size - 2, e.ctx.state.size - 1]


def test_a_national_structure_larger_than_a_document_audits(tmp_path):
    """A leaf may be as large as a structure: the audit reads it under the structure's limit."""
    from tallyproof.ledger.keys import Signer
    from tallyproof.service import admin

    ctx = LedgerWriter.initialise(Settings.at(tmp_path / "h"))
    key = Signer.from_seed_text("test/admin", "test:admin")
    doc = structure_doc(key.public.b64, stations=12_000)
    assert len(json.dumps(doc)) > (1 << 20)
    assert admin.import_structure(ctx, sign(EntryKind.STRUCTURE, doc, key).envelope()).accepted
    export_bundle(ctx, tmp_path / "bundle")
    ctx.close()
    report = audit_bundle(tmp_path / "bundle", workers=1)
    assert report.ok, report.issues
    assert report.tree_size == 1
