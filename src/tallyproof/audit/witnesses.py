"""The audit's witness checks: which witnesses cosigned each checkpoint of a bundle and
whether the reader's quorum holds; and forks — two checkpoints the log signed for the same
size with different roots, or one that no prefix of the bundle's ledger has — named with
both signed notes as the evidence."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tallyproof.audit.replay import Issue
from tallyproof.audit.words import text
from tallyproof.ledger.cosignature import (
    AddCheckpoint,
    PolicyError,
    Witnessed,
    WitnessPolicy,
    WitnessRefusal,
    with_cosignatures,
)
from tallyproof.ledger.keys import PublicKey
from tallyproof.ledger.merkle import MerkleTree
from tallyproof.ledger.note import Checkpoint, NoteError


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint the log's key signed, the note as found, and where it was found."""

    checkpoint: Checkpoint
    note: str
    where: str


@dataclass
class WitnessReport:
    """What the audit found of witnesses: the policy it used and where it came from, each
    witnessed checkpoint, and the newest one."""

    policy: WitnessPolicy
    source: str
    witnessed: list[Witnessed] = field(default_factory=list)
    checked: int = 0

    @property
    def newest(self) -> Witnessed | None:
        found = [w for w in self.witnessed if w.holds]
        return found[-1] if found else None

    def as_dict(self, tree_size: int) -> dict[str, Any]:
        newest = self.newest
        return {
            "policy": self.policy.as_dict(),
            "policy_from": self.source,
            "checkpoints_checked": self.checked,
            "checkpoints_witnessed": sum(w.holds for w in self.witnessed),
            "newest_witnessed": newest.as_dict() if newest else None,
            "entries_after_newest_witnessed": tree_size - (newest.size if newest else 0),
            "cosigned": [w.as_dict() for w in self.witnessed if w.cosigned],
        }


def read_policy_file(path: Path) -> WitnessPolicy:
    """A witness policy file (`{"quorum": k, "witnesses": [...]}`), naming what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as error:
        raise PolicyError(str(path), f"cannot be read: {error}") from None
    return WitnessPolicy.from_json(text, str(path))


def check_witnessed(
    records: Sequence[tuple[SignedCheckpoint, Sequence[str]]],
    report: WitnessReport,
    require: bool,
    tree_size: int,
) -> list[Issue]:
    """Verify the policy's witnesses' cosignatures on every checkpoint (a line that claims a
    witness's key but does not verify is an issue); with `require`, the bundle's newest
    checkpoint must be cosigned by the quorum."""
    issues = []
    for signed, lines in records:
        report.checked += 1
        try:
            report.witnessed.append(report.policy.check(with_cosignatures(signed.note, lines)))
        except NoteError as error:
            issues.append(Issue("audit.cosignature", signed.where, text(str(error))))
    if require:
        newest = records[-1][0].checkpoint.size if records else 0
        held = report.newest
        if not report.policy.witnesses:
            issues.append(
                Issue(
                    "audit.unwitnessed", "witnesses", "no witness policy: nothing can be witnessed"
                )
            )
        elif held is None or held.size != newest or newest != tree_size:
            said = f"size {held.size:,}" if held else "none"
            issues.append(
                Issue(
                    "audit.unwitnessed",
                    f"checkpoint {newest}",
                    f"the newest checkpoint is not cosigned by {report.policy.quorum} of the "
                    f"{len(report.policy.witnesses)} witnesses (newest witnessed: {said})",
                )
            )
    return issues


def notes_in(path: Path) -> list[tuple[str, str]]:
    """Signed notes from a file someone kept: one note, or JSON Lines of a witness's refusals
    (`tallyproof witness refusals`: the request's note and the note it had cosigned), or of
    receipts (their checkpoint). Each with where it came from; ValueError names a line
    that is not JSON."""
    text = path.read_text(encoding="utf-8")
    if not text.lstrip().startswith("{"):
        return [(text, str(path))]
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}: line {number}"
        try:
            record = json.loads(line)
        except ValueError:
            raise ValueError(f"{where} is not JSON") from None
        if not isinstance(record, dict):
            raise ValueError(f"{where} is not a JSON object")
        if isinstance(record.get("request"), str):  # the add-checkpoint body as it was sent
            try:
                note = AddCheckpoint.parse(record["request"].encode()).note
            except WitnessRefusal as error:
                raise ValueError(
                    f"{where}: the request is not an add-checkpoint: {error}"
                ) from None
            found.append((note, f"{where} (refused)"))
        for name in ("cosigned_note", "checkpoint", "note"):
            if isinstance(record.get(name), str):
                found.append((record[name], f"{where} ({name})"))
    return found


def signed_by_log(notes: Iterable[tuple[str, str]], log_key: PublicKey) -> list[SignedCheckpoint]:
    """The notes the log's key signed; another key's note is no evidence against this log."""
    found = []
    for note, where in notes:
        try:
            found.append(SignedCheckpoint(Checkpoint.open(note, log_key), note, where))
        except NoteError:
            continue
    return found


def find_forks(
    bundle: Sequence[SignedCheckpoint], others: Sequence[SignedCheckpoint], tree: MerkleTree
) -> list[Issue]:
    """Two signed notes of one size with different roots is a fork, whoever holds them; a
    note of a size the bundle's ledger reaches is checked against the ledger's own root
    there (and the bundle's note of that size, or the first after it, cited)."""
    issues = []
    by_size: dict[int, SignedCheckpoint] = {s.checkpoint.size: s for s in bundle}
    for other in others:
        size, root = other.checkpoint.size, other.checkpoint.root
        ours = by_size.get(size)
        if ours is not None and ours.checkpoint.root != root:
            issues.append(_fork(size, ours, other))
        elif ours is None and size <= tree.size and tree.root(size) != root:
            after = next((s for s in bundle if s.checkpoint.size >= size), None)
            issues.append(_fork(size, after, other))
        if ours is None:
            by_size[size] = other  # two given notes may disagree with each other too
    return issues


def _fork(size: int, ours: SignedCheckpoint | None, other: SignedCheckpoint) -> Issue:
    """The first line says in words what was found and where; the signed notes follow it,
    whole, as the evidence."""
    if ours is None:
        said = (
            f"the log signed a tree of size {size:,} ({other.where}) that is not the bundle's "
            "ledger's at that size; the signed note follows"
        )
        cited = ""
    elif ours.checkpoint.size == size:
        said = (
            f"the log signed two different trees of size {size:,}: {ours.where} and "
            f"{other.where}; both signed notes follow"
        )
        cited = f"{ours.where} signed:\n{ours.note}\nand "
    else:
        said = (
            f"the log signed a tree of size {size:,} ({other.where}) that is not the bundle's "
            f"ledger's at that size (which {ours.where} extends); both signed notes follow"
        )
        cited = f"{ours.where} signed:\n{ours.note}\nand "
    return Issue(
        "audit.fork",
        f"checkpoint {size}",
        f"{said}\n{cited}{other.where} signed:\n{other.note}",
        expected=ours.note if ours else None,
        found=other.note,
    )
