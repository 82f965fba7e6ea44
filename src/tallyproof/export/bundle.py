"""The public bundle: everything anyone needs to re-derive every published number.

manifest.json      format, log origin and key, tree size and root, SHA-256 of each file
ledger.jsonl       every leaf in log order: {"index": n, "leaf": <the leaf's JSON>}
checkpoints.jsonl  every published checkpoint (signed note) with the consistency proof
                   from the one before it
results.json       the published results of every election, contest by contest
structure/<id>.json, keys.json   the same facts in reader-friendly files
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from tallyproof.domain.tabulation import ContestResult
from tallyproof.service import queries
from tallyproof.service.context import Context

FORMAT = "tallyproof-bundle/1"


def result_record(r: ContestResult) -> dict[str, Any]:
    """A contest's published numbers, as the bundle (and `results --json`) carries them."""
    return {
        "contest": r.contest,
        "status": r.status.value,
        "basis": r.basis.value,
        "votes": {s.candidate: s.votes for s in r.ranking},
        "rejected": r.rejected,
        "polled": r.polled,
        "stations_reported": r.stations_reported,
        "stations_total": r.stations_total,
        "winner": r.winner.candidate if r.winner else None,
    }


def export_bundle(ctx: Context, directory: Path) -> dict[str, Any]:
    """Publish a checkpoint of the log as it is, then write the bundle for that size."""
    directory.mkdir(parents=True, exist_ok=True)
    ctx.publish_checkpoint()
    state = ctx.refresh()
    with ctx.read() as reader:
        entries = reader.entries()
        checkpoints = reader.checkpoints()
        keys = reader.keys()
    size = len(entries)
    with (directory / "ledger.jsonl").open("wb") as handle:
        for row in entries:
            handle.write(b'{"index":%d,"leaf":%s}\n' % (row.seq, row.leaf_data))
    _write_checkpoints(
        ctx, directory / "checkpoints.jsonl", [c for c in checkpoints if c.tree_size <= size]
    )
    elections = sorted(state.elections)
    results = {eid: [result_record(r) for r in queries.results(ctx, eid)] for eid in elections}
    _write_json(directory / "results.json", {"elections": results})
    (directory / "structure").mkdir(exist_ok=True)
    for eid in elections:
        _write_json(directory / "structure" / f"{eid}.json", state.elections[eid].document())
    _write_json(
        directory / "keys.json",
        {
            "log": ctx.log_key.vkey,
            "admins": {eid: state.admin_keys[eid].b64 for eid in elections},
            "keys": [dict(k._mapping) for k in keys],
        },
    )
    files = ["ledger.jsonl", "checkpoints.jsonl", "results.json", "keys.json"]
    files += [f"structure/{eid}.json" for eid in elections]
    manifest = {
        "format": FORMAT,
        "origin": ctx.origin,
        "log_key": ctx.log_key.vkey,
        "tree_size": size,
        "root": base64.b64encode(state.tree.root(size)).decode(),
        "files": {
            name: hashlib.sha256((directory / name).read_bytes()).hexdigest() for name in files
        },
    }
    _write_json(directory / "manifest.json", manifest)
    return manifest


def _write_checkpoints(ctx: Context, path: Path, rows: list[Any]) -> None:
    previous = 0
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            proof = ctx.state.tree.consistency_proof(previous, row.tree_size) if previous else []
            record = {
                "tree_size": row.tree_size,
                "published_at": row.published_at,
                "note": row.note,
                "consistency_from": previous,
                "consistency_proof": [base64.b64encode(p).decode() for p in proof],
            }
            handle.write(json.dumps(record) + "\n")
            previous = row.tree_size


def _write_json(path: Path, doc: Any) -> None:
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
