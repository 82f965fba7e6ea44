"""Receipts against what the log published later, and against the envelopes a submitter kept:
the real `tallyproof` command on real SQLite homes."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tallyproof.ledger.merkle import MerkleTree, leaf_hash
from tests.helpers import ELECTION, cli, form_doc, structure_doc


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with the test election, a presiding officer's key for every station and a
    returning officer's for NA-1; built once, copied for each test (and for each fork)."""
    root = tmp_path_factory.mktemp("base")
    home = root / "home"
    admin, po, ro = root / "admin.key", root / "po.key", root / "ro.key"
    cli(home, "init", "--origin", "test.example/log")
    for name, path in (("test/admin", admin), ("po/all", po), ("ro/NA-1", ro)):
        cli(home, "keygen", name, "--out", str(path))
    (root / "structure.json").write_text(json.dumps(structure_doc()))
    cli(home, "import-structure", str(root / "structure.json"), "--admin-key", str(admin))
    stations = [a for s in ("S1", "S2", "S3", "S4") for a in ("--station", s)]
    register = ["register-key", "--admin-key", str(admin)]
    cli(home, *register, "--source", "presiding_officer", "--key-file", str(po), *stations)
    cli(home, *register, "--source", "returning_officer", "--key-file", str(ro), "--contest=NA-1")
    (root / "log.vkey").write_text(cli(home, "log-key").stdout.strip())
    return root


@pytest.fixture
def work(base: Path, tmp_path: Path) -> Path:
    shutil.copytree(base, tmp_path / "w")
    return tmp_path / "w"


def forms(path: Path, *stations: str, first: int = 300) -> Path:
    docs = [form_doc(station=s, votes=(first, 100 + i, 5)) for i, s in enumerate(stations)]
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    return path


def submit(work: Path, home: Path, path: Path, *more: str) -> subprocess.CompletedProcess:
    return cli(home, "submit", str(path), "--key", str(work / "po.key"), *more)


def verify(work: Path, receipts: Path, *more: str, check: int = 0) -> list[str]:
    """verify-receipt's lines, with the log key every copy of the base home shares."""
    log_key = (work / "log.vkey").read_text()
    done = cli(work, "verify-receipt", str(receipts), "--log-key", log_key, *more, check=check)
    return done.stdout.splitlines()


def receipt_of(path: Path, line: int = 0) -> dict:
    return json.loads(path.read_text().splitlines()[line])


def bundle_tree(bundle: Path) -> MerkleTree:
    """The bundle's tree, computed here independently of the command under test."""
    lines = (bundle / "ledger.jsonl").read_bytes().splitlines()
    return MerkleTree(leaf_hash(line[line.index(b',"leaf":') + 8 : -1]) for line in lines)


def write_proof(path: Path, proof: list[bytes]) -> Path:
    path.write_text(json.dumps([base64.b64encode(h).decode() for h in proof]))
    return path


def test_a_receipt_verifies_against_a_later_checkpoint_and_a_later_bundle(work):
    home, receipts = work / "home", work / "r.jsonl"
    submit(work, home, forms(work / "a.jsonl", "S1"), "--receipts", str(receipts))
    submit(work, home, forms(work / "b.jsonl", "S2", "S3"))
    (work / "later.note").write_text(cli(home, "checkpoint").stdout)
    bundle = work / "bundle"
    cli(home, "export-bundle", str(bundle))
    held = receipt_of(receipts)["tree_size"]
    published = json.loads((bundle / "manifest.json").read_text())["tree_size"]
    assert published == held + 2
    later = f"a prefix of the published tree of size {published}"

    (line,) = verify(work, receipts, "--bundle", str(bundle))
    assert line.startswith("ok: form ") and line.endswith(later)
    (line,) = verify(
        work, receipts, "--checkpoint", str(work / "later.note"), "--bundle", str(bundle)
    )
    assert line.endswith(later)
    proof = bundle_tree(bundle).consistency_proof(held, published)
    good = write_proof(work / "proof.json", proof)
    (line,) = verify(work, receipts, "--checkpoint", str(work / "later.note"), "--proof", str(good))
    assert line.endswith(later)

    flipped = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
    bad = write_proof(work / "bad.json", flipped)
    lines = verify(
        work, receipts, "--checkpoint", str(work / "later.note"), "--proof", str(bad), check=1
    )
    assert lines[0].startswith("FAILED: receipt.split_view: form ")
    unproved = cli(
        work, "verify-receipt", str(receipts), "--log-key", "x", "--checkpoint", "y", check=2
    )
    assert "--proof" in unproved.stderr


def test_a_receipt_whose_checkpoint_the_bundle_left_out_is_unpublished(work):
    home, receipts = work / "home", work / "r.jsonl"
    submit(work, home, forms(work / "a.jsonl", "S1"), "--receipts", str(receipts))
    submit(work, home, forms(work / "b.jsonl", "S2"))
    bundle = work / "bundle"
    cli(home, "export-bundle", str(bundle))
    note = receipt_of(receipts)["checkpoint"]
    records = (bundle / "checkpoints.jsonl").read_text().splitlines()
    kept = [r for r in records if json.loads(r)["note"] != note]
    assert len(kept) == len(records) - 1
    (bundle / "checkpoints.jsonl").write_text("".join(r + "\n" for r in kept))
    (line,) = verify(work, receipts, "--bundle", str(bundle), check=1)
    assert line.startswith("FAILED: receipt.unpublished_checkpoint: form ")

    ledger = (bundle / "ledger.jsonl").read_text()
    (bundle / "ledger.jsonl").write_text(ledger.replace('"NA-1/a":300', '"NA-1/a":299', 1))
    log_key = (work / "log.vkey").read_text()
    done = cli(
        work,
        "verify-receipt",
        str(receipts),
        "--log-key",
        log_key,
        "--bundle",
        str(bundle),
        check=1,
    )
    assert done.stdout == "" and "receipt.published_invalid" in done.stderr


def test_a_bundle_of_a_forked_home_with_the_same_log_key_is_a_split_view(work):
    home, fork, receipts = work / "home", work / "fork", work / "r.jsonl"
    shutil.copytree(home, fork)
    submit(work, home, forms(work / "a.jsonl", "S1"), "--receipts", str(receipts))
    submit(work, fork, forms(work / "b.jsonl", "S1", "S2", first=301))
    ours, theirs = work / "ours", work / "theirs"
    cli(home, "export-bundle", str(ours))
    cli(fork, "export-bundle", str(theirs))
    manifests = [json.loads((b / "manifest.json").read_text()) for b in (ours, theirs)]
    assert manifests[0]["log_key"] == manifests[1]["log_key"]
    assert manifests[0]["root"] != manifests[1]["root"]
    assert (
        receipt_of(receipts)["tree_size"]
        < json.loads((theirs / "manifest.json").read_text())["tree_size"]
    )

    (line,) = verify(work, receipts, "--bundle", str(ours))
    assert line.startswith("ok: ")
    (line,) = verify(work, receipts, "--bundle", str(theirs), check=1)
    assert line.startswith("FAILED: receipt.split_view: form ")
    assert "is not a prefix of the published tree" in line


def test_a_bundle_from_before_the_receipt_is_a_rollback(work):
    home, receipts = work / "home", work / "r.jsonl"
    early = work / "early"
    cli(home, "export-bundle", str(early))
    (work / "early.note").write_text(cli(home, "checkpoint").stdout)
    submit(work, home, forms(work / "a.jsonl", "S1", "S2"), "--receipts", str(receipts))

    lines = verify(work, receipts, "--bundle", str(early), check=1)
    assert len(lines) == 2
    assert all(line.startswith("FAILED: receipt.rollback: form ") for line in lines)
    empty = write_proof(work / "empty.json", [])
    args = ["--checkpoint", str(work / "early.note"), "--proof", str(empty)]
    lines = verify(work, receipts, *args, check=1)
    assert all(line.startswith("FAILED: receipt.rollback: ") for line in lines)


def test_signed_envelopes_kept_by_sign_and_submit_check_a_file_of_receipts(work):
    home, receipts = work / "home", work / "r.jsonl"
    unsigned = forms(work / "forms.jsonl", "S1", "S2", "S3")
    signed, kept = work / "signed.jsonl", work / "kept.jsonl"
    done = cli(
        home,
        "sign",
        str(unsigned),
        "--key",
        str(work / "po.key"),
        "--kind",
        "form",
        "--out",
        str(signed),
    )
    assert "signed 3 documents" in done.stdout
    submitted = submit(
        work, home, unsigned, "--write-signed", str(kept), "--receipts", str(receipts)
    )
    assert "accepted 3 new" in submitted.stdout
    assert kept.read_bytes() == signed.read_bytes()
    assert len(receipts.read_text().splitlines()) == 3

    lines = verify(work, receipts, "--entry", str(kept))
    assert len(lines) == 3 and all(line.startswith("ok: form ") for line in lines)
    backwards = work / "backwards.jsonl"
    backwards.write_text("".join(reversed(kept.read_text().splitlines(keepends=True))))
    assert len(verify(work, receipts, "--entry", str(backwards))) == 3

    envelopes = [json.loads(line) for line in kept.read_text().splitlines()]
    altered = [dict(e) for e in envelopes]
    altered[1] = {**envelopes[1], "form": {**envelopes[1]["form"], "rejected": 11}}
    (work / "altered.jsonl").write_text("".join(json.dumps(e) + "\n" for e in altered))
    lines = verify(work, receipts, "--entry", str(work / "altered.jsonl"), check=1)
    assert [line.split(":")[0] for line in lines] == ["ok", "FAILED", "ok"]
    assert lines[1].startswith("FAILED: receipt.no_entry: form ")

    resigned = [dict(e) for e in envelopes]
    resigned[1] = {**envelopes[1], "signature": envelopes[0]["signature"]}
    (work / "resigned.jsonl").write_text("".join(json.dumps(e) + "\n" for e in resigned))
    lines = verify(work, receipts, "--entry", str(work / "resigned.jsonl"), check=1)
    assert lines[1].startswith("FAILED: receipt.invalid: ")
    assert "not the document you submitted" in lines[1] and lines[0].startswith("ok: ")


def test_declare_keeps_what_it_signed_and_its_receipt_checks_against_it(work):
    home, receipts, kept = work / "home", work / "r.jsonl", work / "kept.jsonl"
    declaration = {
        "election": ELECTION,
        "contest": "NA-1",
        "source": "returning_officer",
        "votes": {"NA-1/a": 300, "NA-1/b": 200, "NA-1/c": 100},
        "time": "2024-02-09T10:00:00Z",
    }
    (work / "decl.json").write_text(json.dumps(declaration))
    args = ["--key", str(work / "ro.key"), "--write-signed", str(kept), "--receipts", str(receipts)]
    cli(home, "declare", str(work / "decl.json"), *args)
    (envelope,) = [json.loads(line) for line in kept.read_text().splitlines()]
    assert envelope["declaration"] == declaration and set(envelope["signature"]) == {"key", "value"}
    (line,) = verify(work, receipts, "--entry", str(kept))
    assert line.startswith("ok: declaration ")
    envelope["declaration"]["votes"]["NA-1/a"] = 301
    (work / "other.jsonl").write_text(json.dumps(envelope) + "\n")
    (line,) = verify(work, receipts, "--entry", str(work / "other.jsonl"), check=1)
    assert line.startswith("FAILED: receipt.invalid: ") and "not the document" in line


def test_sign_refuses_a_file_with_a_document_it_cannot_sign(work):
    bad = work / "bad.jsonl"
    bad.write_text(json.dumps(form_doc()) + "\n[1, 2]\n")
    out = work / "out.jsonl"
    args = ["--key", str(work / "po.key"), "--kind", "form", "--out", str(out)]
    done = cli(work / "home", "sign", str(bad), *args, check=1)
    assert "schema.type" in done.stderr and "bad.jsonl:2" in done.stderr
    assert not out.exists()
