"""What must hold of a home after any fault (a SIGKILL, a full disk, a read-only store), as
seen from outside: every form acknowledged is logged at the leaf its receipt names and the
receipt still verifies; nothing is half-written; every checkpoint published before the fault
is a prefix of the tree now; an exported bundle audits clean. The bounded crash test's own
check (tests/service/test_crash.py) runs first; these add what a receipt holder can check."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from tallyproof.audit.run import audit_bundle
from tallyproof.export.bundle import export_bundle
from tallyproof.importers.plan import run_plan
from tallyproof.ledger.entries import EntryKind, read_envelope
from tallyproof.ledger.keys import PublicKey
from tallyproof.ledger.merkle import MerkleTree, verify_consistency, verify_inclusion
from tallyproof.ledger.note import Checkpoint
from tallyproof.ledger.receipts import Receipt
from tallyproof.sample.synthetic import SyntheticSpec, synthetic_plan
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter
from tallyproof.store import schema
from tallyproof.store.database import Reader
from tests.service.test_crash import SPEC, check_after_crash

# Smaller than the bounded test's night (so a run and its audit take seconds) but the same
# election id, which check_after_crash reads its forms and results under.
HEAVY_SPEC = SyntheticSpec(stations=2000, na_contests=3, pa_contests=6, candidates=5, seed=23)
assert HEAVY_SPEC.election_id == SPEC.election_id
# where each kind of entry keeps its index row: one row per entry, at the entry's leaf
INDEXED = {
    "structure": schema.elections,
    "key_registration": schema.keys,
    "key_revocation": schema.key_revocations,
    "form": schema.forms,
    "declaration": schema.declarations,
    "status": schema.status_orders,
}


@dataclass
class Acknowledged:
    """What the clients of one home were promised: each acknowledged form's envelope and,
    when one was handed out, its receipt; and every signed checkpoint they saw."""

    forms: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = field(default_factory=dict)
    checkpoints: set[str] = field(default_factory=set)

    def add(self, entry_id: str, envelope: dict[str, Any], receipt: dict[str, Any] | None) -> None:
        self.forms[entry_id] = (envelope, receipt)
        if receipt is not None:
            self.checkpoints.add(receipt["checkpoint"])


def night(spec: SyntheticSpec = HEAVY_SPEC) -> tuple[Any, list[dict[str, Any]], list[str]]:
    """The set-up plan, the signed forms, and each form's entry id (what receipts name)."""
    plan, envelopes = synthetic_plan(spec)
    ids = [read_envelope(e, EntryKind.FORM).body_id for e in envelopes]
    return plan, envelopes, ids


def initialised(home: Path, url: str | None, plan: Any) -> Settings:
    """A home initialised on `url` (SQLite in the home when None) with `plan` run into it:
    the state every heavy run starts from."""
    settings = Settings.at(home, url, verify_workers=1)
    writer = LedgerWriter.initialise(settings)
    try:
        run_plan(writer, plan)
    finally:
        writer.close()
    return settings


def kept_notes(home: Path) -> list[str]:
    """The checkpoints the log kept beside its key: each was published (in a receipt) when
    it was written, so each must stay a prefix of the log whatever happens after."""
    path = home / "checkpoints.log"
    if not path.exists():
        return []
    return [json.loads(line)["note"] for line in path.read_text().splitlines()]


def check_home(
    settings: Settings, acked: Acknowledged, last: Checkpoint | None, audit: bool = True
) -> Checkpoint:
    """Everything that must hold after a restart; returns the new checkpoint to hold the
    next restart to. check_after_crash (the bounded test's) checks ids stored, the leaves'
    hashes, every stored checkpoint and the results; the rest is checked here."""
    newest = check_after_crash(settings, set(acked.forms), last)
    writer = LedgerWriter.open(settings)
    try:
        with writer.read() as reader:
            tree = check_not_half_written(reader)
        check_receipts(writer.log_key, tree, acked.forms)
        check_published(writer.log_key, tree, [*acked.checkpoints, *kept_notes(settings.home)])
        if audit:
            check_audit(writer, tree)
    finally:
        writer.close()
    return newest


def check_not_half_written(reader: Reader) -> MerkleTree:
    """Leaves are 0..n-1; every entry's index row is there, at its leaf, and no index row
    lacks its entry; every entry's commit signed the checkpoint of the size it records."""
    rows = reader.entries(with_data=False)
    assert [r.seq for r in rows] == list(range(len(rows))), "the log has a gap"
    tree = MerkleTree(r.leaf_hash for r in rows)
    signed = {r.tree_size for r in reader.checkpoints()}
    for row in rows:
        assert row.seq < row.tree_size <= len(rows), f"entry {row.seq} records {row.tree_size}"
    missing = {r.tree_size for r in rows} - signed
    assert not missing, f"commits with no checkpoint signed: sizes {sorted(missing)[:5]}"
    for kind, table in INDEXED.items():
        logged = {r.seq for r in rows if r.kind == kind}
        indexed = set(reader.conn.execute(select(table.c.seq)).scalars())
        assert indexed == logged, f"{table.name}: {len(indexed)} rows for {len(logged)} {kind}"
    forms = dict(reader.conn.execute(select(schema.forms.c.seq, schema.forms.c.form_id)).all())
    assert forms == {r.seq: r.entry_id for r in rows if r.kind == "form"}
    counted = reader.conn.execute(select(func.count()).select_from(schema.ledger_entries))
    assert counted.scalar() == len(rows) == tree.size
    return tree


def check_receipts(
    key: PublicKey,
    tree: MerkleTree,
    forms: Mapping[str, tuple[dict[str, Any], dict[str, Any] | None]],
) -> int:
    """Each receipt handed out verifies against the log key and the envelope sent, its leaf
    is the log's leaf at that index, and the log proves it included at its tree size now."""
    checked = 0
    for entry_id, (envelope, doc) in forms.items():
        if doc is None:
            continue
        receipt = Receipt.from_dict(doc)
        assert receipt.entry_id == entry_id
        checkpoint = receipt.verify(key, read_envelope(envelope, EntryKind.FORM))
        assert receipt.tree_size <= tree.size, f"{entry_id}: its tree is gone"
        assert tree.leaf(receipt.leaf_index) == receipt.leaf_hash, f"{entry_id} moved"
        proof = tree.inclusion_proof(receipt.leaf_index, receipt.tree_size)
        root = tree.root(receipt.tree_size)
        assert root == checkpoint.root, f"{entry_id}: its checkpoint is not the log's"
        verify_inclusion(receipt.leaf_index, receipt.tree_size, receipt.leaf_hash, proof, root)
        checked += 1
    return checked


def check_published(key: PublicKey, tree: MerkleTree, notes: Iterable[str]) -> None:
    """Every checkpoint published before the fault is consistent with the tree now."""
    for note in set(notes):
        old = Checkpoint.open(note, key)
        assert old.size <= tree.size, f"a checkpoint of {old.size} but the log has {tree.size}"
        proof = tree.consistency_proof(old.size, tree.size) if old.size else []
        verify_consistency(old.size, tree.size, proof, old.root, tree.root())


def check_audit(writer: LedgerWriter, tree: MerkleTree) -> None:
    """The bundle exported now audits clean (signatures, rules, root, checkpoints, results)."""
    with tempfile.TemporaryDirectory(prefix="tallyproof-audit-") as where:
        manifest = export_bundle(writer, Path(where))
        report = audit_bundle(Path(where), workers=1)
    assert report.ok, [i.as_dict() for i in report.issues[:5]]
    assert manifest["tree_size"] == report.tree_size >= tree.size
