"""Rollback and deletion: the log never forgets what it signed.

Every checkpoint the log signs (a receipt's too) is kept, in the `checkpoints` table and in
the append-only `checkpoints.log` of the home. Before any command opens the writer, the
stored ledger is checked against every kept checkpoint; a store that no longer holds what
they commit to is refused with exit 4 and the rule's code (`ledger.truncated`,
`ledger.gap`, `ledger.inconsistent`), and nothing is written. The audit, likewise, holds a
bundle to every checkpoint it ships and to the receipts a submitter kept.

One home is built once through the real CLI; each test copies it, tampers with the SQLite
file directly (as anyone holding the file could), and runs the real CLI on the copy.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tallyproof.ledger.keys import Signer
from tallyproof.ledger.merkle import MerkleTree, leaf_hash
from tallyproof.ledger.note import Checkpoint
from tests.helpers import ELECTION, cli, form_doc, structure_doc

ORIGIN = "test.example/log"
FULL_SIZE = 7  # structure, two key registrations, four forms
EARLY_SIZE = 6  # the log before the fourth form


@dataclass(frozen=True)
class Case:
    """A copy of the built home and the files around it."""

    root: Path

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def db(self) -> Path:
        return self.home / "tallyproof.sqlite"

    @property
    def checkpoint_log(self) -> Path:
        return self.home / "checkpoints.log"

    @property
    def receipts(self) -> Path:
        return self.root / "receipts.jsonl"

    @property
    def bundle(self) -> Path:
        """Exported at the log's full size, after the last checkpoint."""
        return self.root / "bundle"

    @property
    def early_bundle(self) -> Path:
        """Exported before the fourth form: the log an operator who deleted that form (and
        every checkpoint covering it) would publish."""
        return self.root / "early-bundle"

    def key(self, name: str) -> str:
        return str(self.root / f"{name}.key")

    def file(self, name: str) -> str:
        return str(self.root / name)


def _write_key(path: Path, name: str) -> None:
    path.write_text(Signer.from_seed_text(name, "rollback:" + name).private_text() + "\n")


def _build(root: Path) -> None:
    case = Case(root)
    cli(case.home, "init", "--origin", ORIGIN)
    for file, name in (
        ("admin", "test/admin"),
        ("po", "po/all"),
        ("ro", "ro/all"),
        ("agent", "agent/PTI"),
    ):
        _write_key(root / f"{file}.key", name)
    (root / "structure.json").write_text(json.dumps(structure_doc()))
    cli(
        case.home, "import-structure", case.file("structure.json"), "--admin-key", case.key("admin")
    )
    cli(
        case.home,
        "register-key",
        "--source",
        "presiding_officer",
        "--admin-key",
        case.key("admin"),
        "--key-file",
        case.key("po"),
        *[a for s in ("S1", "S2", "S3", "S4") for a in ("--station", s)],
    )
    cli(
        case.home,
        "register-key",
        "--source",
        "returning_officer",
        "--admin-key",
        case.key("admin"),
        "--key-file",
        case.key("ro"),
        "--contest",
        "NA-1",
        "--contest",
        "PP-1",
    )
    for i in range(1, 5):
        (root / f"S{i}.json").write_text(
            json.dumps(form_doc(station=f"S{i}", votes=(300, 100 * i, 5)))
        )
    # the writer's next inputs, for the tests: all valid on an untouched home
    (root / "next-form.json").write_text(
        json.dumps(form_doc(station="S1", contest="PP-1", votes=(400, 300)))
    )
    declaration = {
        "election": ELECTION,
        "contest": "PP-1",
        "source": "returning_officer",
        "votes": {"PP-1/x": 900, "PP-1/y": 1200},
        "time": "2024-02-09T09:00:00Z",
    }
    (root / "declaration.json").write_text(json.dumps(declaration))

    def submit(station: str) -> None:  # one batch, one receipt checkpoint, per form
        cli(
            case.home,
            "submit",
            case.file(f"{station}.json"),
            "--key",
            case.key("po"),
            "--receipts",
            str(case.receipts),
        )

    for station in ("S1", "S2", "S3"):
        submit(station)
    cli(case.home, "export-bundle", str(case.early_bundle))
    submit("S4")
    cli(case.home, "checkpoint")
    cli(case.home, "export-bundle", str(case.bundle))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("rollback") / "built"
    root.mkdir()
    _build(root)
    return root


@pytest.fixture
def case(built: Path, tmp_path: Path) -> Case:
    """A fresh copy of the built home, for this test to tamper with."""
    root = tmp_path / "case"
    shutil.copytree(built, root)
    return Case(root)


@contextmanager
def _db(case: Case) -> Iterator[sqlite3.Connection]:
    """The SQLite file itself, as an attacker with the file sees it (committed on exit)."""
    with closing(sqlite3.connect(case.db)) as conn, conn:
        yield conn


def _seqs(case: Case) -> list[int]:
    with _db(case) as conn:
        return [r[0] for r in conn.execute("SELECT seq FROM ledger_entries ORDER BY seq")]


def _delete_entry(case: Case, seq: int) -> None:
    """Delete a ledger entry and its index row (every entry here is a form)."""
    with _db(case) as conn:
        kind = conn.execute("SELECT kind FROM ledger_entries WHERE seq = ?", (seq,)).fetchone()
        assert kind == ("form",)
        assert conn.execute("DELETE FROM forms WHERE seq = ?", (seq,)).rowcount == 1
        assert conn.execute("DELETE FROM ledger_entries WHERE seq = ?", (seq,)).rowcount == 1


def _kept_rows(case: Case) -> list[tuple[int, str]]:
    with _db(case) as conn:
        return list(conn.execute("SELECT tree_size, note FROM checkpoints ORDER BY tree_size"))


def _log_lines(case: Case) -> list[dict[str, Any]]:
    assert case.checkpoint_log.is_file(), f"no {case.checkpoint_log}"
    return [json.loads(line) for line in case.checkpoint_log.read_text("utf-8").splitlines()]


def _stored(case: Case) -> tuple[list[tuple[int, str]], bytes, list[int]]:
    """What a refused command must leave exactly as it was."""
    log = case.checkpoint_log.read_bytes() if case.checkpoint_log.exists() else b""
    return _kept_rows(case), log, _seqs(case)


def _writer_commands(case: Case) -> dict[str, tuple[str, ...]]:
    """Every command that opens the writer, each with input valid on an untouched home."""
    return {
        "submit": ("submit", case.file("next-form.json"), "--key", case.key("po")),
        "declare": ("declare", case.file("declaration.json"), "--key", case.key("ro")),
        "register-key": (
            "register-key",
            "--source",
            "agent:PTI",
            "--admin-key",
            case.key("admin"),
            "--key-file",
            case.key("agent"),
        ),
        "checkpoint": ("checkpoint",),
        "export-bundle": ("export-bundle", case.file("new-bundle")),
    }


def _assert_refused(case: Case, code: str, commands: list[str]) -> None:
    """Each command exits 4 naming `code`, and the store and checkpoint log are untouched."""
    before = _stored(case)
    args = _writer_commands(case)
    outcomes: dict[str, subprocess.CompletedProcess] = {
        name: cli(case.home, *args[name], check=None) for name in commands
    }
    wrong = {
        name: (done.returncode, done.stdout[-300:] + done.stderr[-600:])
        for name, done in outcomes.items()
        if done.returncode != 4 or code not in done.stderr
    }
    assert not wrong, f"expected exit 4 naming {code}: {wrong}"
    assert _stored(case) == before, "a refused command wrote to the store or checkpoints.log"
    assert not (case.root / "new-bundle" / "manifest.json").exists()


def _audit(case: Case, bundle: Path, *extra: str, check: int) -> dict[str, Any]:
    """`audit --json` on a bundle (it reads the bundle alone; the home is never opened)."""
    done = cli(
        case.home,
        "audit",
        str(bundle),
        "--workers",
        "1",
        "--json",
        *extra,
        check=check,
    )
    return json.loads(done.stdout)


def _codes(report: dict[str, Any]) -> set[str]:
    return {issue["code"] for issue in report["issues"]}


def _leaves(bundle: Path) -> list[bytes]:
    """The leaf hashes of a bundle's ledger, hashed from each line's exact leaf bytes."""
    hashes = []
    for line in (bundle / "ledger.jsonl").read_bytes().splitlines():
        _, _, rest = line.partition(b',"leaf":')
        hashes.append(leaf_hash(rest[:-1]))
    return hashes


def _rehash_manifest(bundle: Path, **fields: Any) -> None:
    """What a forger does after editing files: the manifest is not signed."""
    path = bundle / "manifest.json"
    manifest = json.loads(path.read_text("utf-8"))
    manifest.update(fields)
    manifest["files"] = {
        name: hashlib.sha256((bundle / name).read_bytes()).hexdigest() for name in manifest["files"]
    }
    path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


# --- the store -------------------------------------------------------------------------------


def test_every_signed_checkpoint_is_kept_in_the_store_and_the_log(case: Case) -> None:
    receipts = [json.loads(line) for line in case.receipts.read_text().splitlines()]
    assert [r["tree_size"] for r in receipts] == [4, 5, 6, 7]
    rows = dict(_kept_rows(case))
    logged = {(line["tree_size"], line["note"]) for line in _log_lines(case)}
    for receipt in receipts:
        assert rows.get(receipt["tree_size"]) == receipt["checkpoint"], (
            "receipt checkpoint not kept"
        )
        assert (receipt["tree_size"], receipt["checkpoint"]) in logged
    assert set(rows.items()) <= logged, "a stored checkpoint is missing from checkpoints.log"
    assert max(rows) == FULL_SIZE == len(_seqs(case))


def test_an_untouched_home_accepts_every_writer_command(case: Case) -> None:
    for name, args in _writer_commands(case).items():
        done = cli(case.home, *args, check=None)
        assert done.returncode == 0, (name, done.stdout + done.stderr)
    assert (case.root / "new-bundle" / "manifest.json").is_file()


def test_a_deleted_newest_entry_is_refused_as_truncated(case: Case) -> None:
    assert _seqs(case)[-1] == FULL_SIZE - 1 and max(dict(_kept_rows(case))) == FULL_SIZE
    _delete_entry(case, FULL_SIZE - 1)
    _assert_refused(case, "ledger.truncated", list(_writer_commands(case)))


def test_a_deleted_middle_entry_is_refused_as_a_gap(case: Case) -> None:
    _delete_entry(case, 4)
    assert _seqs(case) == [0, 1, 2, 3, 5, 6]
    _assert_refused(case, "ledger.gap", ["submit", "checkpoint"])


def test_a_swapped_pair_of_entries_is_refused_as_inconsistent(case: Case) -> None:
    with _db(case) as conn:
        rows = dict(
            (seq, (data, digest))
            for seq, data, digest in conn.execute(
                "SELECT seq, leaf_data, leaf_hash FROM ledger_entries WHERE seq IN (4, 5)"
            )
        )
        for seq, other in ((4, 5), (5, 4)):
            conn.execute(
                "UPDATE ledger_entries SET leaf_data = ?, leaf_hash = ? WHERE seq = ?",
                (*rows[other], seq),
            )
    assert _seqs(case) == list(range(FULL_SIZE))
    _assert_refused(case, "ledger.inconsistent", ["submit", "export-bundle"])


def test_checkpoints_log_catches_truncation_when_the_rows_are_deleted_too(case: Case) -> None:
    """The attacker deletes the newest entry and every checkpoint row that covers it: what is
    left in the database looks whole, and only checkpoints.log remembers the larger log."""
    assert FULL_SIZE in {line["tree_size"] for line in _log_lines(case)}
    _delete_entry(case, FULL_SIZE - 1)
    with _db(case) as conn:
        deleted = conn.execute(
            "DELETE FROM checkpoints WHERE tree_size > ?", (FULL_SIZE - 1,)
        ).rowcount
    assert deleted >= 1 and max(dict(_kept_rows(case))) == FULL_SIZE - 1
    _assert_refused(case, "ledger.truncated", ["checkpoint", "submit"])
    assert max(dict(_kept_rows(case))) == FULL_SIZE - 1  # nothing re-signed at the smaller size


# --- the bundle ------------------------------------------------------------------------------


def test_a_resigned_smaller_checkpoint_in_a_bundle_is_a_rollback(case: Case) -> None:
    report = _audit(case, case.bundle, check=0)
    assert report["ok"] is True and report["tree_size"] == FULL_SIZE
    size = FULL_SIZE - 2
    tree = MerkleTree(_leaves(case.bundle))
    signer = Signer.from_private_text((case.home / "log.key").read_text())
    note = Checkpoint(ORIGIN, size, tree.root(size)).sign(signer)  # genuine: the real key, root
    record = {
        "tree_size": size,
        "published_at": "2024-02-09T00:00:00.000Z",
        "note": note,
        "consistency_from": FULL_SIZE,
        "consistency_proof": [],
    }
    with (case.bundle / "checkpoints.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
    _rehash_manifest(case.bundle)
    report = _audit(case, case.bundle, check=4)
    assert "audit.checkpoint_rollback" in _codes(report), report["issues"]


def test_a_truncated_bundle_ledger_fails_against_its_larger_checkpoint(case: Case) -> None:
    lines = (case.bundle / "ledger.jsonl").read_bytes().splitlines(keepends=True)
    (case.bundle / "ledger.jsonl").write_bytes(b"".join(lines[:-1]))
    size = len(lines) - 1
    root = base64.b64encode(MerkleTree(_leaves(case.bundle)).root()).decode()
    _rehash_manifest(case.bundle, tree_size=size, root=root)
    report = _audit(case, case.bundle, check=4)
    assert _codes(report) & {"audit.checkpoint", "audit.tree"}, report["issues"]


def test_a_receipt_for_an_entry_the_bundle_lacks_fails_the_audit(case: Case) -> None:
    receipts = case.receipts.read_text().splitlines()
    assert [json.loads(r)["leaf_index"] for r in receipts] == [3, 4, 5, 6]
    kept = case.root / "kept-receipts.jsonl"
    kept.write_text("\n".join(receipts[:3]) + "\n")
    assert _audit(case, case.bundle, "--receipts", str(case.receipts), check=0)["ok"] is True
    assert _audit(case, case.early_bundle, "--receipts", str(kept), check=0)["ok"] is True
    report = _audit(case, case.early_bundle, "--receipts", str(case.receipts), check=4)
    assert report["tree_size"] == EARLY_SIZE
    assert "audit.receipt" in _codes(report), report["issues"]
