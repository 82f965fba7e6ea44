"""The auditor on real bundles: a clean one checks out; one altered digit, one flipped hash
byte, one dropped entry and two swapped entries are each found and named."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from tallyproof.audit.run import audit_bundle
from tallyproof.export.bundle import export_bundle
from tallyproof.importers.plan import run_plan
from tallyproof.ledger.keys import Signer
from tallyproof.sample.generator import build_sample
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter


@pytest.fixture(scope="module")
def clean_bundle(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("home")
    ctx = LedgerWriter.initialise(Settings.at(home))
    run_plan(ctx, build_sample())
    directory = tmp_path_factory.mktemp("bundle")
    export_bundle(ctx, directory)
    ctx.close()
    return directory


@pytest.fixture
def bundle(clean_bundle: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "bundle"
    shutil.copytree(clean_bundle, copy)
    return copy


def reseal(directory: Path) -> None:
    """What a careful tamperer does: make the manifest's file hashes match again."""
    manifest = json.loads((directory / "manifest.json").read_text())
    for name in manifest["files"]:
        manifest["files"][name] = hashlib.sha256((directory / name).read_bytes()).hexdigest()
    (directory / "manifest.json").write_text(json.dumps(manifest))


def lines(directory: Path) -> list[bytes]:
    return (directory / "ledger.jsonl").read_bytes().splitlines(keepends=True)


def write_lines(directory: Path, rows: list[bytes]) -> None:
    (directory / "ledger.jsonl").write_bytes(b"".join(rows))
    reseal(directory)


def issues(directory: Path) -> set[tuple[str, str]]:
    report = audit_bundle(directory, workers=1)
    assert not report.ok
    return {(i.code, i.where) for i in report.issues}


def first_form(directory: Path, after: int = 100) -> int:
    return next(
        i for i, line in enumerate(lines(directory)) if i > after and b'"kind":"form"' in line
    )


def test_a_clean_bundle_checks_out(clean_bundle):
    report = audit_bundle(clean_bundle, workers=2)
    assert report.ok, report.issues
    assert report.tree_size == 486 and report.signatures_checked == 486
    assert report.entries["form"] == 227  # with the KP phase's re-polls in four districts
    assert report.entries["claim"] == 4  # the sample's four news reports
    published = (clean_bundle / "checkpoints.jsonl").read_text().splitlines()
    assert report.checkpoints_checked == len(published) >= 5  # every 50 entries, and at export
    assert report.contests_retallied == 12


def test_an_altered_claim_is_named(bundle):
    """Claims never enter the tally, but a logged claim is signed and must point at a
    contest the election has."""
    rows = lines(bundle)
    n = next(i for i, line in enumerate(rows) if b'"kind":"claim"' in line)
    record = json.loads(rows[n])
    record["leaf"]["body"]["claims"][0]["contest_code"] = "NA-999"
    rows[n] = (json.dumps(record, separators=(",", ":")) + "\n").encode()
    write_lines(bundle, rows)
    report = audit_bundle(bundle, workers=1)
    assert not report.ok
    assert ("audit.signature", f"entry {n}") in {(i.code, i.where) for i in report.issues}
    assert any(i.code == "audit.rule" and "NA-999" in i.message for i in report.issues)


def test_one_altered_digit_is_named(bundle):
    n = first_form(bundle)
    rows = lines(bundle)
    record = json.loads(rows[n])
    votes = record["leaf"]["body"]["votes"]
    candidate = next(iter(votes))
    votes[candidate] += 10  # one digit of one count
    record["leaf"]["body"]["polled"] += 10
    rows[n] = (json.dumps(record, separators=(",", ":")) + "\n").encode()
    write_lines(bundle, rows)
    found = issues(bundle)
    assert ("audit.signature", f"entry {n}") in found
    assert any(code == "audit.checkpoint_root" for code, _ in found)
    contest = record["leaf"]["body"]["contest"]
    assert any(code == "audit.results" and contest in where for code, where in found)


@pytest.mark.parametrize("target", ["checkpoint_root", "consistency_proof", "manifest_root"])
def test_one_flipped_hash_byte_is_named(bundle, target):
    def flip(b64: str) -> str:
        raw = bytearray(base64.b64decode(b64))
        raw[7] ^= 0x01
        return base64.b64encode(bytes(raw)).decode()

    records = [json.loads(x) for x in (bundle / "checkpoints.jsonl").read_text().splitlines()]
    if target == "manifest_root":
        manifest = json.loads((bundle / "manifest.json").read_text())
        manifest["root"] = flip(manifest["root"])
        (bundle / "manifest.json").write_text(json.dumps(manifest))
        assert ("audit.tree", "manifest.json") in issues(bundle)
        return
    record = records[3]
    if target == "checkpoint_root":
        text, sig = record["note"].split("\n\n")
        origin, size, root = text.split("\n")
        record["note"] = f"{origin}\n{size}\n{flip(root)}\n\n{sig}"
        expected = ("audit.checkpoint_signature", f"checkpoint {record['tree_size']}")
    else:
        record["consistency_proof"][0] = flip(record["consistency_proof"][0])
        expected = ("audit.consistency", f"checkpoint {record['tree_size']}")
    (bundle / "checkpoints.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    reseal(bundle)
    assert expected in issues(bundle)


def test_a_dropped_entry_is_named(bundle):
    rows = lines(bundle)
    n = first_form(bundle)
    write_lines(bundle, rows[:n] + rows[n + 1 :])
    found = issues(bundle)
    assert ("audit.entry_order", f"entry {n}") in found
    assert any(code == "audit.checkpoint_root" for code, _ in found)


def test_two_swapped_entries_are_named(bundle):
    rows = lines(bundle)
    n = first_form(bundle)
    rows[n], rows[n + 1] = rows[n + 1], rows[n]
    write_lines(bundle, rows)
    assert ("audit.entry_order", f"entry {n}") in issues(bundle)


def test_swapped_and_renumbered_entries_are_still_caught_by_the_checkpoints(bundle):
    rows = lines(bundle)
    n = first_form(bundle, after=120)
    a, b = json.loads(rows[n]), json.loads(rows[n + 1])
    a["index"], b["index"] = n + 1, n
    rows[n], rows[n + 1] = (
        (json.dumps(b, separators=(",", ":")) + "\n").encode(),
        (json.dumps(a, separators=(",", ":")) + "\n").encode(),
    )
    write_lines(bundle, rows)
    found = issues(bundle)
    sizes = [
        json.loads(x)["tree_size"] for x in (bundle / "checkpoints.jsonl").read_text().splitlines()
    ]
    flagged = sorted(int(w.split()[1]) for c, w in found if c == "audit.checkpoint_root")
    assert flagged == [s for s in sizes if s > n]  # localised: every checkpoint after the swap


def test_a_published_number_that_was_changed_is_named(bundle):
    results = json.loads((bundle / "results.json").read_text())
    record = next(r for r in results["elections"]["pk-ge-2024"] if r["contest"] == "PS-129")
    assert record["computed"]["votes"]["PS-129/saif-bari"] > 30000  # the forms' sum
    record["computed"]["votes"]["PS-129/saif-bari"] = 11000  # the seeds' 31,000 to 11,000
    (bundle / "results.json").write_text(json.dumps(results))
    reseal(bundle)
    assert ("audit.results", "results pk-ge-2024 PS-129") in issues(bundle)


def test_the_audit_shares_no_code_with_ingest():
    """Only the pure ledger encoding and hashing may be shared (docs/architecture.md)."""
    import ast

    package = Path(__file__).resolve().parents[2] / "src" / "tallyproof" / "audit"
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("tallyproof")
            ):
                assert node.module.startswith(("tallyproof.audit", "tallyproof.ledger")), (
                    path.name,
                    node.module,
                )


def test_keys_json_says_what_the_log_registered(bundle):
    """A clean bundle's keys.json passes; widening a key's scope in it (the reader-friendly
    file) is named, though no leaf changed."""
    assert audit_bundle(bundle, workers=1).ok
    keys = json.loads((bundle / "keys.json").read_text())
    scoped = next(k for k in keys["keys"] if k["stations"] is not None)
    assert set(scoped) >= {"key_id", "election", "source", "registered_at", "revoked"}
    scoped["stations"] = None  # now says the key may sign for every station
    (bundle / "keys.json").write_text(json.dumps(keys))
    reseal(bundle)
    assert ("audit.keys", f"keys.json {scoped['key_id']}") in issues(bundle)


@pytest.mark.parametrize("field", ["admins", "admin_key_ids"])
def test_keys_json_names_the_admin_key_each_structure_names(bundle, field):
    """The admin keys keys.json lists, and their ids, are checked against each election's
    structure in the log: swapping one for another key is named, election and field."""
    keys = json.loads((bundle / "keys.json").read_text())
    election = sorted(keys[field])[0]
    other = Signer.from_seed_text("someone/admin", "not the admin").public
    keys[field][election] = other.b64 if field == "admins" else other.key_id
    (bundle / "keys.json").write_text(json.dumps(keys))
    reseal(bundle)
    assert issues(bundle) == {("audit.keys", f"keys.json {field} {election}")}


def test_the_bundle_publishes_the_declared_result_beside_the_forms(bundle):
    """PS-129: Form 47 declares one winner, the polling-station forms give another. The
    bundle publishes both, and hiding the difference is named."""
    results = json.loads((bundle / "results.json").read_text())
    record = next(r for r in results["elections"]["pk-ge-2024"] if r["contest"] == "PS-129")
    assert record["basis"] == "declared" and record["declared"]["source"] == "returning_officer"
    assert record["computed"]["basis"] == "stations"
    assert record["status"] == "vacated" and record["winner"] is None  # its winner renounced
    assert record["winner_differs"]
    record["winner_differs"] = False
    (bundle / "results.json").write_text(json.dumps(results))
    reseal(bundle)
    assert ("audit.results", "results pk-ge-2024 PS-129") in issues(bundle)
