"""Runs an audit of a bundle directory and reports, in full, what does not check out."""

from __future__ import annotations

import base64
import gc
import hashlib
import json
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import orjson
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from tallyproof.audit.replay import Entry, Issue, Replay, Signature
from tallyproof.audit.witnesses import (
    SignedCheckpoint,
    WitnessReport,
    check_witnessed,
    find_forks,
    read_policy_file,
    signed_by_log,
)
from tallyproof.audit.words import error_words, listing, named, text, words
from tallyproof.ledger.cosignature import WitnessPolicy
from tallyproof.ledger.intake import (
    MAX_DEPTH,
    MAX_STRING,
    MAX_STRUCTURE_BYTES,
    InputError,
    load_json,
)
from tallyproof.ledger.keys import KeyTextError, PublicKey
from tallyproof.ledger.merkle import MerkleTree, ProofError, leaf_hash, verify_consistency
from tallyproof.ledger.note import Checkpoint, NoteError
from tallyproof.ledger.receipts import Receipt, ReceiptError

FORMAT = "tallyproof-bundle/1"
T = TypeVar("T")


@dataclass
class AuditReport:
    bundle: str
    tree_size: int = 0
    root: str = ""
    entries: dict[str, int] = field(default_factory=dict)
    signatures_checked: int = 0
    checkpoints_checked: int = 0
    contests_retallied: int = 0
    issues: list[Issue] = field(default_factory=list)
    witnesses: dict[str, Any] | None = None  # which witnesses cosigned what (audit/witnesses)
    checkpoints_given: int = 0  # signed notes from elsewhere, checked for forks
    findings: list[dict[str, Any]] = field(default_factory=list)  # re-derived (audit/replay)

    @property
    def ok(self) -> bool:
        return not self.issues

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "bundle": self.bundle,
            "tree_size": self.tree_size,
            "root": self.root,
            "entries": self.entries,
            "signatures_checked": self.signatures_checked,
            "checkpoints_checked": self.checkpoints_checked,
            "contests_retallied": self.contests_retallied,
            "witnesses": self.witnesses,
            "checkpoints_given": self.checkpoints_given,
            "findings": self.findings,
            "issues": [i.as_dict() for i in self.issues],
        }


def audit_bundle(
    directory: Path,
    workers: int = 0,
    receipts: Sequence[Receipt] = (),
    witnessing: Witnessing | None = None,
) -> AuditReport:
    """Re-verify everything: files, entries, signatures, rules, Merkle root, checkpoints and
    their consistency, and every published result; and, given receipts submitters hold,
    that each is for an entry of this ledger under a checkpoint consistent with it. Which
    witnesses cosigned each checkpoint is reported against the reader's witness policy (else
    the bundle's own), and signed checkpoints from elsewhere are checked for a fork."""
    witnessing = witnessing or Witnessing()
    report = AuditReport(str(directory))
    manifest = _guarded(report, "manifest.json", _manifest, directory, report)
    if manifest is None:
        return report
    try:
        log_key = PublicKey.from_vkey(manifest["log_key"])
    except (KeyError, TypeError, AttributeError, KeyTextError) as err:
        report.issues.append(
            Issue(
                "audit.manifest",
                "manifest.json",
                f"its log key cannot be read: {error_words(err)}",
                field="log_key",
            )
        )
        return report
    replay = Replay()
    gc.freeze()  # the replay keeps every document for the re-tally; spare the collector's walks
    with _SignatureChecks(workers) as checks:
        path = directory / "ledger.jsonl"
        leaves = _guarded(report, path.name, _replay_ledger, path, replay, report, checks) or []
        report.issues += checks.failures(path)
    report.entries = dict(replay.counts)
    report.findings = replay.findings()
    report.signatures_checked = checks.count
    tree = MerkleTree(leaves)
    report.tree_size = tree.size
    report.root = base64.b64encode(tree.root()).decode()
    _check_tree(manifest, tree, report)
    path = directory / "checkpoints.jsonl"
    signed = _guarded(report, path.name, _check_checkpoints, path, tree, log_key, manifest, report)
    _guarded(
        report,
        "witnesses",
        _check_witnesses,
        directory,
        signed or [],
        witnessing,
        tree,
        log_key,
        report,
    )
    _guarded(report, "results.json", _check_results, directory / "results.json", replay, report)
    _guarded(report, "keys.json", _check_keys, directory / "keys.json", replay, report)
    _check_receipts(receipts, tree, log_key, report)
    _check_listed(manifest, replay, report)
    report.issues = report.issues + replay.issues
    report.issues.sort(key=_issue_order)
    return report


def _guarded(report: AuditReport, name: str, check: Callable[..., T], *args: Any) -> T | None:
    """Run one part of the audit; a file too malformed to read any further is an issue the
    report names, never a crash of the auditor."""
    try:
        return check(*args)
    except (
        OSError,
        InputError,
        KeyError,
        TypeError,
        ValueError,
        AttributeError,
        IndexError,
    ) as err:
        message = text(str(err)) if isinstance(err, InputError) else error_words(err)
        report.issues.append(Issue("audit.unreadable", name, f"cannot be read: {message}"))
        return None


def _issue_order(issue: Issue) -> tuple[int, str]:
    number = issue.where.rpartition(" ")[2]
    return (int(number) if _NUMBER.fullmatch(number) else -1, issue.where)


_NUMBER = re.compile(r"[0-9]{1,18}")
_BUNDLE_FILE = re.compile(
    r"(ledger\.jsonl|checkpoints\.jsonl|results\.json|keys\.json|witnesses\.json|"
    r"structure/[A-Za-z0-9][A-Za-z0-9._:-]{0,63}\.json)"
)


def _manifest(directory: Path, report: AuditReport) -> dict[str, Any] | None:
    try:
        manifest = load_json((directory / "manifest.json").read_bytes())
        if not isinstance(manifest, dict):
            raise ValueError("the manifest is a JSON object")
    except (OSError, ValueError, InputError) as err:
        said = error_words(err) if isinstance(err, OSError) else text(str(err))
        report.issues.append(Issue("audit.manifest", "manifest.json", f"cannot be read: {said}"))
        return None
    if manifest.get("format") != FORMAT:
        report.issues.append(
            Issue(
                "audit.manifest",
                "manifest.json",
                f"its format is {named(manifest.get('format'))}, not {FORMAT}",
                field="format",
                expected=FORMAT,
                found=manifest.get("format"),
            )
        )
        return None
    for name, digest in sorted(manifest.get("files", {}).items()):
        if not _BUNDLE_FILE.fullmatch(name):
            report.issues.append(
                Issue(
                    "audit.manifest",
                    "manifest.json",
                    f"lists a file that is no part of a bundle: {named(name)}",
                    field="files",
                    found=name,
                )
            )
            continue
        path = directory / name
        actual = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None
        if actual != digest:
            said = "differs from the manifest's SHA-256" if actual else "is missing"
            report.issues.append(
                Issue("audit.file_hash", name, said, expected=digest, found=actual)
            )
    return manifest


_LISTED = ("ledger.jsonl", "checkpoints.jsonl", "results.json", "keys.json")


def _check_listed(manifest: dict[str, Any], replay: Replay, report: AuditReport) -> None:
    """Every file of the bundle is under the manifest's hashes, each election's structure too:
    a file left out of the manifest is a file nobody vouches for."""
    files = manifest.get("files")
    listed = set(files) if isinstance(files, dict) else set()
    wanted = [*_LISTED, *(f"structure/{eid}.json" for eid in sorted(replay.elections))]
    for name in wanted:
        if name not in listed:
            report.issues.append(
                Issue("audit.manifest", "manifest.json", f"omits {name}", field="files")
            )


def _split_leaf(line: bytes) -> tuple[int, bytes, dict[str, Any], bytes]:
    """A bundle line is {"index":N,"leaf":LEAF}. Return the index, the leaf's bytes exactly as
    written (what was hashed into the log), the parsed leaf, and its body's bytes (what the
    submitter signed). The leaf must be canonical: '{"body":' BODY ',"kind":...' in RFC 8785
    member order, with BODY canonical too."""
    head, _, rest = line.rstrip(b"\n").partition(b',"leaf":')
    if not head.startswith(b'{"index":') or not rest.endswith(b"}"):
        raise ValueError('a line is {"index": n, "leaf": {...}}')
    index, raw = int(head[9:]), rest[:-1]
    leaf = _canonical_leaf(raw)
    if leaf is not None:
        cut = raw.rfind(b',"kind":')
        return index, raw, leaf, raw[8:cut]
    leaf = load_json(raw, max_bytes=MAX_STRUCTURE_BYTES)  # a structure is a leaf too
    if not isinstance(leaf, dict) or set(leaf) != {"body", "kind", "received_at", "signature"}:
        raise ValueError("a leaf has exactly body, kind, received_at and signature")
    text = raw.decode("utf-8")
    cut = text.rfind(',"kind":')
    body = text[8:cut]
    tail = _dumps({k: leaf[k] for k in ("kind", "received_at", "signature")})[1:]
    if not text.startswith('{"body":') or text[cut + 1 :] != tail or _dumps(leaf["body"]) != body:
        raise ValueError("the leaf is not in canonical (RFC 8785) form")
    return index, raw, leaf, body.encode("utf-8")


_LEAF_KEYS = {"body", "kind", "received_at", "signature"}
_ZEROED = bytes.maketrans(b"123456789", b"000000000")  # every digit as 0, to find runs
_LONG_NUMBER = b"0" * 16  # a number beyond 2^53 has 16 digits or more


def _canonical_leaf(raw: bytes) -> dict[str, Any] | None:
    """The leaf, when it is plainly what the log writes: parsed by orjson (strict UTF-8, no
    lone surrogates), written back byte for byte the same with sorted keys (so canonical,
    with no key given twice), with no run of 16 digits, and within the strict reader's
    limits on string length and depth (`_within_limits`). Anything else (None) goes through
    the strict reader, which says what is wrong: this path only ever accepts what it would."""
    if _LONG_NUMBER in raw.translate(_ZEROED):
        return None
    small = len(raw) <= MAX_STRING and raw.count(b"{") + raw.count(b"[") <= MAX_DEPTH
    try:
        leaf = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(leaf, dict) or leaf.keys() != _LEAF_KEYS or not raw.startswith(b'{"body":'):
        return None
    if orjson.dumps(leaf, option=orjson.OPT_SORT_KEYS) != raw:
        return None
    if not small and not _within_limits(raw, leaf):
        return None
    return leaf


def _within_limits(raw: bytes, leaf: Any) -> bool:
    """A large leaf (a declaration with every station's counts) holds no string longer than
    MAX_STRING and no container deeper than MAX_DEPTH: with no escaped quote in it, every
    string is one piece between quotes, whose bytes are at least its characters; the depth
    is walked on the parsed leaf's containers alone (a thousandth of its values)."""
    if len(raw) > MAX_STRUCTURE_BYTES or b'\\"' in raw:
        return False
    if max(map(len, raw.split(b'"'))) > MAX_STRING:
        return False
    stack: list[tuple[Any, int]] = [(leaf, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return False
        values = item.values() if isinstance(item, dict) else item
        stack.extend((v, depth + 1) for v in values if isinstance(v, dict | list))
    return True


def _dumps(doc: Any) -> str:
    """RFC 8785 for what a valid leaf holds (ASCII keys, integers, strings): a leaf written any
    other way is not the one the log hashed, and is reported."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _replay_ledger(
    path: Path, replay: Replay, report: AuditReport, checks: _SignatureChecks
) -> list[bytes]:
    leaves: list[bytes] = []
    last_time = ""
    with path.open("rb") as handle:
        for line_number, line in enumerate(handle, 1):
            position = len(leaves)
            try:
                index, raw, leaf, message = _split_leaf(line)
            except (ValueError, UnicodeDecodeError, InputError) as err:
                report.issues.append(
                    Issue("audit.entry_format", f"line {line_number}", f"unreadable: {err}")
                )
                continue
            leaves.append(leaf_hash(raw))
            replay.enter(position, leaf, message)
            if index != position:
                replay.fail(
                    position,
                    "audit.entry_order",
                    f"line {line_number} holds entry {index} where entry {position} "
                    "belongs: entries are missing or out of order",
                    field="index",
                    expected=position,
                    found=index,
                )
            if leaf["received_at"] < last_time:
                replay.fail(
                    position,
                    "audit.entry_order",
                    f"received at {text(leaf['received_at'])}, before the entry ahead of it "
                    f"({text(last_time)})",
                    field="received_at",
                    expected=f"{last_time} or later",
                    found=leaf["received_at"],
                )
            last_time = max(last_time, str(leaf["received_at"]))
            try:
                replay.apply(position, leaf, message)
            except (KeyError, TypeError, ValueError, AttributeError) as err:
                replay.fail(
                    position,
                    "audit.entry_format",
                    f"a malformed {named(leaf.get('kind'))} entry: {error_words(err)}",
                )
            checks.take(replay.signatures)
    checks.take(replay.signatures, flush=True)
    return leaves


def _verify_chunk(items: Sequence[Signature]) -> list[int]:
    """The entries whose signatures do not verify."""
    bad = []
    for seq, public, message, signature in items:
        try:
            VerifyKey(public).verify(message, signature)
        except (BadSignatureError, ValueError):
            bad.append(seq)
    return bad


class _SignatureChecks:
    """Checks signatures in worker processes while the replay goes on."""

    CHUNK = 2000

    def __init__(self, workers: int) -> None:
        self.workers = workers or (os.cpu_count() or 1)
        self.pool = ProcessPoolExecutor(self.workers) if self.workers > 1 else None
        self.futures: list[Future[list[int]]] = []
        self.inline: list[int] = []
        self.count = 0

    def __enter__(self) -> _SignatureChecks:
        return self

    def __exit__(self, *_: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def take(self, pending: list[Signature], flush: bool = False) -> None:
        """Send the replay's pending signatures off once a chunk has gathered."""
        if len(pending) < self.CHUNK and not flush:
            return
        self.count += len(pending)
        if self.pool is None:
            self.inline += _verify_chunk(pending)
        else:
            self.futures.append(self.pool.submit(_verify_chunk, list(pending)))
        pending.clear()

    def failures(self, path: Path) -> list[Issue]:
        """An issue for each entry whose signature does not verify, naming it as read
        again from the ledger file at `path` (rare, so not kept for every entry)."""
        bad = sorted(self.inline + [seq for f in self.futures for seq in f.result()])
        entries = _entries_at(path, set(bad)) if bad else {}
        message = "the signature does not verify: the entry was altered or forged"
        return [
            Issue("audit.signature", f"entry {seq}", message, **entries[seq].known()) for seq in bad
        ]


def _entries_at(path: Path, wanted: set[int]) -> dict[int, Entry]:
    """The entries at these positions, read as `_replay_ledger` numbers them (a line that
    cannot be read takes no position)."""
    found: dict[int, Entry] = {}
    position = 0
    with path.open("rb") as handle:
        for line in handle:
            try:
                _, _, leaf, message = _split_leaf(line)
            except (ValueError, UnicodeDecodeError, InputError):
                continue
            if position in wanted:
                found[position] = Entry.of(position, leaf, message)
                if len(found) == len(wanted):
                    break
            position += 1
    return found


def _check_tree(manifest: dict[str, Any], tree: MerkleTree, report: AuditReport) -> None:
    if manifest.get("tree_size") != tree.size:
        report.issues.append(
            Issue(
                "audit.tree",
                "manifest.json",
                f"the manifest says {words(manifest.get('tree_size'))} entries; "
                f"the ledger has {tree.size:,}",
                field="tree_size",
                expected=tree.size,
                found=manifest.get("tree_size"),
            )
        )
    elif manifest.get("root") != report.root:
        report.issues.append(
            Issue(
                "audit.tree",
                "manifest.json",
                "the manifest's root is not the root of the ledger",
                field="root",
                expected=report.root,
                found=manifest.get("root"),
            )
        )


@dataclass(frozen=True)
class Witnessing:
    """What the reader asks of witnesses: their policy (None: the bundle's witnesses.json),
    whether the newest checkpoint must be witnessed, and signed notes kept elsewhere."""

    policy: WitnessPolicy | None = None
    require: bool = False
    others: tuple[tuple[str, str], ...] = ()  # (note, where it was found)


def _check_witnesses(
    directory: Path,
    signed: Sequence[tuple[SignedCheckpoint, Sequence[str]]],
    witnessing: Witnessing,
    tree: MerkleTree,
    log_key: PublicKey,
    report: AuditReport,
) -> None:
    policy, source = witnessing.policy, "given"
    bundled = directory / "witnesses.json"
    if policy is None:
        policy, source = WitnessPolicy(), "none"
        if bundled.exists():
            policy = read_policy_file(bundled)
            source = "the bundle's witnesses.json (the log's own choice of witnesses)"
    found = WitnessReport(policy, source)
    report.issues += check_witnessed(signed, found, witnessing.require, tree.size)
    report.witnesses = found.as_dict(tree.size)
    others = signed_by_log(witnessing.others, log_key)
    report.checkpoints_given = len(witnessing.others)
    unsigned = len(witnessing.others) - len(others)
    if unsigned:
        report.issues.append(
            Issue(
                "audit.checkpoint_signature",
                "checkpoints given",
                f"{unsigned:,} of the notes given are not signed by the log's key: no evidence",
            )
        )
    report.issues += find_forks([s for s, _ in signed], others, tree)


def _check_checkpoints(
    path: Path, tree: MerkleTree, log_key: PublicKey, manifest: dict[str, Any], report: AuditReport
) -> list[tuple[SignedCheckpoint, list[str]]]:
    """Each checkpoint's signature, root and consistency with the one before; returns the
    ones the log signed with the cosignature lines the bundle carries for each."""
    previous: tuple[int, bytes] | None = None
    latest = 0
    signed: list[tuple[SignedCheckpoint, list[str]]] = []
    for line in path.read_bytes().splitlines():
        record = load_json(line)
        where = f"checkpoint {text(record.get('tree_size'))}"
        report.checkpoints_checked += 1
        try:
            checkpoint = Checkpoint.open(record["note"], log_key)
        except (NoteError, KeyError) as err:
            said = error_words(err) if isinstance(err, KeyError) else text(str(err))
            report.issues.append(Issue("audit.checkpoint_signature", where, said))
            continue
        lines = record.get("cosignatures", [])
        if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
            report.issues.append(Issue("audit.cosignature", where, "cosignatures is not a list"))
            lines = []
        signed.append((SignedCheckpoint(checkpoint, record["note"], f"bundle {where}"), lines))
        if checkpoint.origin != manifest.get("origin") or checkpoint.size != record["tree_size"]:
            report.issues.append(
                Issue(
                    "audit.checkpoint",
                    where,
                    f"the note is for {text(checkpoint.origin)} at {checkpoint.size:,} "
                    f"entries; the bundle says {named(manifest.get('origin'))} (its manifest) "
                    f"at {words(record['tree_size'])} entries (this checkpoint's record)",
                )
            )
        if checkpoint.size > tree.size:
            report.issues.append(
                Issue(
                    "audit.checkpoint_root",
                    where,
                    f"signed for {checkpoint.size:,} entries but the ledger has {tree.size:,}: "
                    "entries are missing",
                    expected=checkpoint.size,
                    found=tree.size,
                )
            )
        elif tree.root(checkpoint.size) != checkpoint.root:
            report.issues.append(
                Issue(
                    "audit.checkpoint_root",
                    where,
                    "the signed root differs from the root of the ledger's first "
                    f"{checkpoint.size:,} entries: an entry up to there was altered, dropped "
                    "or moved",
                )
            )
        if previous is not None and checkpoint.size < previous[0]:
            report.issues.append(
                Issue(
                    "audit.checkpoint_rollback",
                    where,
                    f"signed for {checkpoint.size:,} entries after a checkpoint of "
                    f"{previous[0]:,}: the log went back",
                )
            )
        elif previous is not None:
            try:
                proof = [base64.b64decode(p) for p in record["consistency_proof"]]
                verify_consistency(
                    previous[0], checkpoint.size, proof, previous[1], checkpoint.root
                )
            except (ProofError, KeyError, ValueError) as err:
                report.issues.append(
                    Issue(
                        "audit.consistency",
                        where,
                        f"not consistent with checkpoint {previous[0]}: "
                        + (error_words(err) if isinstance(err, KeyError) else text(str(err))),
                    )
                )
        previous = (checkpoint.size, checkpoint.root)
        latest = checkpoint.size
    if latest != tree.size:
        report.issues.append(
            Issue(
                "audit.checkpoint",
                "checkpoints.jsonl",
                f"the latest checkpoint covers {latest:,} of {tree.size:,} entries",
                expected=tree.size,
                found=latest,
            )
        )
    return signed


def _check_receipts(
    receipts: Sequence[Receipt], tree: MerkleTree, log_key: PublicKey, report: AuditReport
) -> None:
    """A receipt the log handed out binds it: the entry must be in this ledger, at its
    place, and the receipt's checkpoint must be a state of this ledger."""
    for receipt in receipts:
        where = f"receipt for {receipt.kind} {receipt.entry_id}"
        about = {"entry_id": receipt.entry_id, "kind": text(receipt.kind)}
        try:
            checkpoint = receipt.verify(log_key)
        except ReceiptError as err:
            report.issues.append(
                Issue("audit.receipt", where, f"does not verify: {text(str(err))}", **about)
            )
            continue
        if checkpoint.size > tree.size or tree.root(checkpoint.size) != checkpoint.root:
            report.issues.append(
                Issue(
                    "audit.receipt",
                    where,
                    f"its checkpoint of {checkpoint.size:,} entries is not a state of this "
                    f"ledger ({tree.size:,} entries): the log dropped or changed what it "
                    "received",
                    **about,
                )
            )
        elif tree.leaf(receipt.leaf_index) != receipt.leaf_hash:
            report.issues.append(
                Issue(
                    "audit.receipt",
                    where,
                    f"entry {receipt.leaf_index} of this ledger is another entry",
                    field="leaf_index",
                    expected=base64.b64encode(receipt.leaf_hash).decode(),
                    found=base64.b64encode(tree.leaf(receipt.leaf_index)).decode(),
                    **about,
                )
            )


def _check_keys(path: Path, replay: Replay, report: AuditReport) -> None:
    """keys.json says of each key what its registration and revocation in the log say."""
    doc = load_json(path.read_bytes(), max_bytes=MAX_STRUCTURE_BYTES)
    _check_admin_keys(doc, replay, report)
    keys = doc["keys"]  # one a station
    published = {k["key_id"]: k for k in keys}
    for kid in sorted(set(published) | set(replay.keys)):
        where = f"keys.json {kid}"
        key, theirs = replay.keys.get(kid), published.get(kid)
        if key is None or theirs is None:
            said = "the log registers no such key" if key is None else "the key is missing"
            report.issues.append(Issue("audit.keys", where, said))
            continue
        ours = {
            "public_key": base64.b64encode(key.public).decode(),
            "election": key.election,
            "source": key.source,
            "stations": sorted(key.stations) if key.stations is not None else None,
            "contests": sorted(key.contests) if key.contests is not None else None,
            "revoked": kid in replay.revoked,
        }
        stated = {name: theirs.get(name) for name in ours} | {
            "stations": sorted(theirs["stations"]) if theirs.get("stations") is not None else None,
            "contests": sorted(theirs["contests"]) if theirs.get("contests") is not None else None,
            "revoked": theirs.get("revoked") is not None,
        }
        for name, value in ours.items():
            if stated[name] != value:
                report.issues.append(
                    Issue(
                        "audit.keys",
                        where,
                        f"{name}: keys.json says {_key_words(name, stated[name])}; the log "
                        f"says {_key_words(name, value)}",
                        election=key.election,
                        field=name,
                        expected=value,
                        found=stated[name],
                    )
                )


def _check_admin_keys(doc: dict[str, Any], replay: Replay, report: AuditReport) -> None:
    """keys.json's admin keys (`admins`, and their ids in `admin_key_ids`) are the ones each
    election's structure names: a reader-friendly file nobody checked would be vouched for
    by no one."""
    for field_name, of in (("admins", _b64), ("admin_key_ids", _key_id)):
        stated = doc.get(field_name)
        if stated is None and field_name == "admin_key_ids":
            continue  # bundles written before keys.json listed the ids
        stated = stated if isinstance(stated, dict) else {}
        ours = {eid: of(e.admin) for eid, e in replay.elections.items()}
        for eid in sorted(set(stated) | set(ours)):
            if stated.get(eid) != ours.get(eid):
                said = stated.get(eid) or "nothing"
                log = ours.get(eid) or "no such election"
                report.issues.append(
                    Issue(
                        "audit.keys",
                        f"keys.json {field_name} {eid}",
                        f"keys.json says {said}; the election's structure in the log says {log}",
                        election=eid,
                        field=field_name,
                        expected=ours.get(eid),
                        found=stated.get(eid),
                    )
                )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _key_id(raw: bytes) -> str:
    return PublicKey("admin", raw).key_id


def _key_words(name: str, value: Any) -> str:
    """What a key's field says, in words."""
    if name in ("stations", "contests"):
        return f"every {name[:-1]}" if value is None else f"only {listing(value)}"
    if name == "revoked":
        return "revoked" if value else "not revoked"
    return named(value)


def _check_results(path: Path, replay: Replay, report: AuditReport) -> None:
    published = load_json(path.read_bytes(), max_bytes=MAX_STRUCTURE_BYTES)["elections"]
    derived = replay.tally()
    for eid in sorted(set(published) | set(derived)):
        ours = derived.get(eid, {})
        theirs = {r["contest"]: r for r in published.get(eid, [])}
        for code in sorted(set(ours) | set(theirs)):
            where = f"results {eid} {code}"
            about = {"election": text(eid), "contest": text(code)}
            if code not in theirs or code not in ours:
                said = (
                    "the election has no such contest, but a result is published for it"
                    if code not in ours
                    else "no result is published for this contest"
                )
                report.issues.append(Issue("audit.results", where, said, **about))
                continue
            report.contests_retallied += 1
            for difference in _differences(ours[code], theirs[code]):
                field, candidate, derived_value, stated, message = difference
                report.issues.append(
                    Issue(
                        "audit.results",
                        where,
                        message,
                        candidate=candidate,
                        field=field,
                        expected=derived_value,
                        found=stated,
                        **about,
                    )
                )


Difference = tuple[str, str | None, Any, Any, str]  # field, candidate, ours, theirs, words


def _differences(ours: dict[str, Any], theirs: dict[str, Any]) -> list[Difference]:
    """Each published number of a contest's record that is not the re-derived one, in words:
    the official result's fields, then the forms' sum's (where it says something the
    official result's differences have not) and the declaration it rests on."""
    found = _record_differences("", ours, theirs, _basis(ours))
    computed, stated = ours.get("computed"), theirs.get("computed")
    if isinstance(computed, dict) and isinstance(stated, dict):
        said = {(f, c, json.dumps(o), json.dumps(t)) for f, c, o, t, _ in found}
        for f, c, o, t, message in _record_differences(
            "computed", computed, stated, "the forms give"
        ):
            if (f.partition(".")[2], c, json.dumps(o), json.dumps(t)) not in said:
                found.append((f, c, o, t, message))
    elif computed != stated:
        found.append(_difference("computed", None, computed, stated, "re-derived"))
    declared, claimed = ours.get("declared"), theirs.get("declared")
    if isinstance(declared, dict) and isinstance(claimed, dict):
        for name, value in declared.items():
            if claimed.get(name) != value:
                found.append(
                    _difference(f"declared.{name}", None, value, claimed.get(name), "the log has")
                )
    elif declared != claimed:
        ours_words = "a declaration" if declared else "no declaration"
        theirs_words = "a declaration" if claimed else "no declaration"
        found.append(
            (
                "declared",
                None,
                declared,
                claimed,
                f"declared: published {theirs_words}, the log has {ours_words}",
            )
        )
    differs, stated = ours.get("winner_differs"), theirs.get("winner_differs")
    if differs != stated:
        if differs is True and stated is False:
            said = (
                "the declared winner is not the forms' winner, but the result published says it is"
            )
        elif differs is False and stated is True:
            said = (
                "the result published says the declared winner is not the forms' winner, but it is"
            )
        else:
            said = f"winner differs: published {_value_words(stated)}, re-derived {words(differs)}"
        found.append(("winner_differs", None, differs, stated, said))
    return found


def _record_differences(
    prefix: str, ours: dict[str, Any], theirs: dict[str, Any], gives: str
) -> list[Difference]:
    found: list[Difference] = []
    for name, value in ours.items():
        if name in ("computed", "declared", "winner_differs"):
            continue
        path = f"{prefix}.{name}" if prefix else name
        stated = theirs.get(name)
        if stated == value:
            continue
        if name == "votes" and isinstance(value, dict) and isinstance(stated, dict):
            for candidate in [*value, *(c for c in stated if c not in value)]:
                if stated.get(candidate) != value.get(candidate):
                    found.append(
                        _difference(
                            path,
                            candidate,
                            value.get(candidate),
                            stated.get(candidate),
                            gives,
                            contest=ours.get("contest"),
                        )
                    )
        else:
            found.append(_difference(path, None, value, stated, gives, ours.get("contest")))
    return found


def _difference(
    path: str,
    candidate: str | None,
    ours: Any,
    theirs: Any,
    gives: str,
    contest: Any = None,
) -> Difference:
    """One field (or one candidate's votes): published X, the forms give Y."""
    part = {"computed": "the forms' sum, ", "declared": "the declaration's "}
    subject = part.get(path.partition(".")[0], "") if "." in path else ""
    unit = ""
    if candidate is not None:
        subject += f"candidate {_candidate(candidate, contest)}"
        unit = " votes"
    else:
        subject += path.rpartition(".")[2].replace("_", " ")
    if path.endswith("winner"):
        theirs_words, ours_words = _candidate(theirs, contest), _candidate(ours, contest)
    else:
        theirs_words, ours_words = _value_words(theirs), _value_words(ours)
    numbers = all(isinstance(v, int) or v is None for v in (ours, theirs))
    gives = gives if numbers else "re-derived"
    said = f"{subject}: published {theirs_words}{unit if isinstance(theirs, int) else ''}"
    return (path, candidate, ours, theirs, f"{said}, {gives} {ours_words}")


def _candidate(value: Any, contest: Any) -> str:
    """A candidate id without its contest's prefix (NA-130/yasmin: yasmin)."""
    if isinstance(value, str) and isinstance(contest, str):
        return text(value.removeprefix(f"{contest}/"))
    return "none" if value is None else words(value)


def _value_words(value: Any) -> str:
    return "nothing" if value is None else words(value)


def _basis(record: dict[str, Any]) -> str:
    """What the official result rests on, in words."""
    if record.get("basis") == "declared":
        return "the declaration gives"
    if record.get("basis") == "stations":
        return "the forms give"
    return "the ledger gives"
