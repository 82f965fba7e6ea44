"""The public bundle: everything anyone needs to re-derive every published number.

manifest.json      format, log origin and key, tree size and root, SHA-256 of each file
ledger.jsonl       every leaf in log order: {"index": n, "leaf": <the leaf's JSON>}
checkpoints.jsonl  every published checkpoint (signed note) with the consistency proof
                   from the one before it, and the witnesses' cosignatures collected on it
witnesses.json     the witnesses the log asked and its quorum (a reader may trust others)
results.json       the published results of every election, contest by contest
structure/<id>.json, keys.json   the same facts in reader-friendly files
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tallyproof.formats.answers import view_record
from tallyproof.ledger.merkle import MerkleTree, leaf_hash
from tallyproof.service.reading import ReadModel
from tallyproof.service.state import StoreInconsistent
from tallyproof.service.witnessing import read_policy
from tallyproof.service.writer import LedgerWriter
from tallyproof.store import witnesses
from tallyproof.store.records import KeyIndex, RevocationIndex

FORMAT = "tallyproof-bundle/1"


def key_record(key: KeyIndex, revoked: RevocationIndex | None) -> dict[str, Any]:
    """A registered key as keys.json publishes it (docs/formats.md): its id (the one every
    receipt and audit names), whose it is, what it may sign, and its revocation, if any."""
    return {
        "key_id": key.key_id,
        "election": key.election_id,
        "name": key.name,
        "public_key": key.public_key,
        "source": key.source,
        "stations": list(key.stations) if key.stations is not None else None,
        "contests": list(key.contests) if key.contests is not None else None,
        "registered_at": key.seq,
        "revoked": {"reason": revoked.reason, "at": revoked.seq} if revoked else None,
    }


def export_bundle(writer: LedgerWriter, directory: Path) -> dict[str, Any]:
    """Write the bundle of the log as one database snapshot holds it: its entries, every
    checkpoint up to its size (every commit signs one, so the newest is of exactly that
    size), keys and results, so no part can hold what another lacks. Each leaf is checked
    against the tree first: the log never publishes bytes it did not log."""
    directory.mkdir(parents=True, exist_ok=True)
    writer.publish_checkpoint()
    with writer.read() as reader:
        state = writer.state
        state.catch_up(reader)
        entries = reader.entries()
        checkpoints = reader.checkpoints()
        cosigned = witnesses.cosignatures_upto(reader, len(entries))
        keys = reader.keys()
        revoked = {r.key_id: r for r in reader.revocations()}
        elections = sorted(state.elections)
        size = len(entries)
    _check_leaves(entries, state.tree)
    views = ReadModel(writer.store)  # the store's, so not closed here
    results = {eid: [view_record(v) for v in views.results(eid, size).value] for eid in elections}
    with (directory / "ledger.jsonl").open("wb") as handle:
        for row in entries:
            handle.write(b'{"index":%d,"leaf":%s}\n' % (row.seq, row.leaf_data))
    lines: dict[int, list[str]] = {}
    for row in cosigned:
        lines.setdefault(row.tree_size, []).append(row.line)
    _write_checkpoints(
        writer,
        directory / "checkpoints.jsonl",
        [c for c in checkpoints if c.tree_size <= size],
        lines,
    )
    _write_json(directory / "witnesses.json", read_policy(writer.settings).as_dict())
    _write_json(directory / "results.json", {"elections": results})
    (directory / "structure").mkdir(exist_ok=True)
    for eid in elections:
        _write_json(directory / "structure" / f"{eid}.json", state.elections[eid].document())
    _write_json(
        directory / "keys.json",
        {
            "log": writer.log_key.vkey,
            "admins": {eid: state.admin_keys[eid].b64 for eid in elections},
            # the id the admin's leaves (structure, registrations, orders) are signed under
            "admin_key_ids": {eid: state.admin_keys[eid].key_id for eid in elections},
            "keys": [key_record(k, revoked.get(k.key_id)) for k in keys],
        },
    )
    files = ["ledger.jsonl", "checkpoints.jsonl", "results.json", "keys.json", "witnesses.json"]
    files += [f"structure/{eid}.json" for eid in elections]
    manifest = {
        "format": FORMAT,
        "origin": writer.origin,
        "log_key": writer.log_key.vkey,
        "tree_size": size,
        "root": base64.b64encode(state.tree.root(size)).decode(),
        "files": {
            name: hashlib.sha256((directory / name).read_bytes()).hexdigest() for name in files
        },
    }
    _write_json(directory / "manifest.json", manifest)
    return manifest


def _check_leaves(entries: Sequence[Any], tree: MerkleTree) -> None:
    """Every row's bytes hash to the leaf the log holds at its place, and the log ends with
    a checkpoint of its size."""
    if len(entries) != tree.size:
        raise StoreInconsistent(
            "ledger.truncated", f"the snapshot holds {len(entries)} of {tree.size} entries"
        )
    for row in entries:
        if leaf_hash(row.leaf_data) != tree.leaf(row.seq):
            raise StoreInconsistent(
                "ledger.inconsistent",
                f"entry {row.seq}'s bytes do not hash to the leaf the log holds there",
            )


def _write_checkpoints(
    writer: LedgerWriter, path: Path, rows: list[Any], cosignatures: dict[int, list[str]]
) -> None:
    previous = 0
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            proof = writer.state.tree.consistency_proof(previous, row.tree_size) if previous else []
            record = {
                "tree_size": row.tree_size,
                "published_at": row.published_at,
                "note": row.note,
                "consistency_from": previous,
                "consistency_proof": [base64.b64encode(p).decode() for p in proof],
                "cosignatures": cosignatures.get(row.tree_size, []),
            }
            handle.write(json.dumps(record) + "\n")
            previous = row.tree_size


def _write_json(path: Path, doc: Any) -> None:
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
