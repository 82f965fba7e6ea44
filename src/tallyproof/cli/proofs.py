"""Proofs: checkpoints, the log key, the public bundle, the audit and receipts."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from tallyproof import console as render
from tallyproof.audit.run import Witnessing, audit_bundle
from tallyproof.audit.witnesses import notes_in, read_policy_file
from tallyproof.cli.common import (
    ExitCode,
    JsonOpt,
    app,
    err,
    fail_on,
    open_writer,
    out,
    raw,
)
from tallyproof.domain.problems import Rejected
from tallyproof.errors import classify
from tallyproof.export.bundle import export_bundle
from tallyproof.formats.documents import read_documents
from tallyproof.formats.structure import (
    FileFormatError,
    read_bytes,
)
from tallyproof.ledger.cosignature import PolicyError, Witnessed, WitnessPolicy, with_cosignatures
from tallyproof.ledger.entries import EntryKind, EnvelopeError, Signed, read_envelope
from tallyproof.ledger.intake import (
    InputError,
    Unreadable,
    decode,
    load_json,
)
from tallyproof.ledger.keys import KeyTextError, PublicKey
from tallyproof.ledger.merkle import HASH_SIZE, MerkleTree, leaf_hash
from tallyproof.ledger.note import Checkpoint, NoteError
from tallyproof.ledger.receipts import (
    INVALID,
    MALFORMED,
    PUBLISHED_INVALID,
    UNWITNESSED,
    KeptEntries,
    Prover,
    Published,
    Receipt,
    ReceiptError,
)

WitnessesOpt = Annotated[
    Path | None,
    typer.Option(
        help="Your witness policy: JSON {quorum, witnesses: [{name, vkey}]} (default: the "
        "log's own, from the bundle or the receipt's server)."
    ),
]
RequireOpt = Annotated[
    bool,
    typer.Option(
        "--require-witnessed", help="Fail unless the quorum cosigned the newest checkpoint."
    ),
]


def policy_from(path: Path | None) -> WitnessPolicy | None:
    if path is None:
        return None
    try:
        return read_policy_file(path)
    except PolicyError as error:
        raise fail_on(error) from None


@app.command()
def checkpoint(ctx: typer.Context) -> None:
    """Publish a signed checkpoint (C2SP tlog-checkpoint) of the log as it is now."""
    with open_writer(ctx) as service:
        raw(service.publish_checkpoint())


@app.command("log-key")
def log_key(ctx: typer.Context) -> None:
    """Print the log's verifier key (what checkpoints and receipts are checked against)."""
    with open_writer(ctx) as service:
        raw(service.log_key.vkey + "\n")


@app.command("export-bundle")
def export_bundle_command(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="Where to write it.")],
    as_json: JsonOpt = False,
) -> None:
    """Write the public bundle: ledger, checkpoints, keys, structure and published results
    (with --json: the manifest and where it was written)."""
    with open_writer(ctx) as service:
        manifest = export_bundle(service, directory)
    if as_json:
        out.print_json(data={"directory": str(directory), **manifest})
    else:
        size = manifest["tree_size"]
        out.print(
            f"wrote {directory}/ : {size:,} entries (tree size {size:,}), root {manifest['root']}",
            markup=False,
            soft_wrap=True,
        )


@app.command()
def audit(
    directory: Annotated[Path, typer.Argument(help="A bundle written by export-bundle.")],
    report: Annotated[Path | None, typer.Option(help="Write the full report here (JSON).")] = None,
    workers: Annotated[int, typer.Option(help="Processes for signatures (0: one per core).")] = 0,
    receipts: Annotated[
        Path | None,
        typer.Option(help="Receipts (JSON Lines) the bundle must hold the entries of."),
    ] = None,
    witnesses: WitnessesOpt = None,
    require_witnessed: RequireOpt = False,
    checkpoints: Annotated[
        list[Path] | None,
        typer.Option(
            "--checkpoint",
            help="A signed checkpoint kept elsewhere (a note, or JSON Lines of receipts or of "
            "a witness's refusals), checked for a fork against the bundle. Repeatable.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Re-verify a bundle from scratch: every signature, every rule, the Merkle root, every
    checkpoint and its consistency, which witnesses cosigned each, and every published
    result; with --receipts, that the log kept everything it acknowledged; with --checkpoint,
    that the log never signed another history. Exit 4 names what is wrong."""
    try:
        held = [_receipt(n, doc) for n, doc in read_documents(receipts)] if receipts else []
        others = tuple(found for path in checkpoints or [] for found in notes_in(path))
    except (FileFormatError, OSError) as error:
        raise fail_on(error) from None
    except ValueError as error:
        raise fail_on(FileFormatError(str(error))) from None
    except (ReceiptError, Rejected, InputError) as error:
        raise fail_on(error, str(receipts)) from None
    policy = policy_from(witnesses)
    asked = Witnessing(policy, require_witnessed, others)
    with err.status("auditing"):
        result = audit_bundle(directory, workers, held, asked)
    if report is not None:
        report.write_text(json.dumps(result.as_dict(), indent=1) + "\n")
    if as_json:
        out.print_json(data=result.as_dict())
    else:
        out.print(render.audit_table(result))
    if not result.ok:
        raise typer.Exit(ExitCode.AUDIT_FAILED)


@app.command("verify-receipt")
def verify_receipt(
    receipt_file: Annotated[
        Path, typer.Argument(help="A receipt (JSON) or receipts (JSON Lines).")
    ],
    log_key_text: Annotated[
        str, typer.Option("--log-key", help="The log's vkey, or a file holding it.")
    ],
    entry: Annotated[
        Path | None,
        typer.Option(help="The signed document(s) as submitted: a JSON envelope or JSON Lines."),
    ] = None,
    checkpoint_file: Annotated[
        Path | None,
        typer.Option("--checkpoint", help="A later signed checkpoint note the log published."),
    ] = None,
    bundle: Annotated[
        Path | None, typer.Option(help="A later public bundle (written by export-bundle).")
    ] = None,
    proof_file: Annotated[
        Path | None,
        typer.Option(
            "--proof", help="Consistency proof to --checkpoint (JSON list of base64 hashes)."
        ),
    ] = None,
    witnesses: WitnessesOpt = None,
    require_witnessed: RequireOpt = False,
) -> None:
    """Check receipts offline: the log's checkpoint signature and the inclusion proof; with
    --entry, that each receipt is for exactly that signed document; with --checkpoint or
    --bundle, that the receipt's tree is a prefix of the tree the log published later; and
    which witnesses cosigned the receipt's checkpoint or that later one."""
    _check_options(checkpoint_file, bundle, proof_file)
    key = log_key_from(log_key_text)
    receipts = _read_receipts(receipt_file)
    kept = _read_kept(entry) if entry else None
    later = _published(key, receipts, checkpoint_file, bundle, proof_file)
    policy = policy_from(witnesses)
    if policy is None and bundle is not None and (bundle / "witnesses.json").exists():
        policy = policy_from(bundle / "witnesses.json")
        policy = policy if policy is not None and policy.witnesses else None
    asked = Witnessing(policy, require_witnessed)
    failed = sum(not _check_one(receipt, key, kept, later, asked) for receipt in receipts)
    if failed:
        raise typer.Exit(ExitCode.REFUSED)


def _check_one(
    receipt: Receipt,
    key: PublicKey,
    kept: KeptEntries | None,
    later: Published | None,
    asked: Witnessing,
) -> bool:
    """Print one ok or FAILED line for a receipt; True if it checks out."""
    try:
        checkpoint = receipt.verify(key, kept)
        if later is not None:
            later.check(checkpoint)
        witnessed = _witnessed(receipt, later, asked)
    except (ReceiptError, NoteError) as error:
        code = classify(error).code if isinstance(error, ReceiptError) else INVALID
        text = f"{code}: {receipt.kind} {receipt.entry_id}: {error}"
        out.print(f"[red]FAILED[/]: {escape(text)}", soft_wrap=True)
        return False
    line = (
        f"ok: {receipt.kind} {receipt.entry_id} is leaf {receipt.leaf_index} of "
        f"{checkpoint.origin} at size {checkpoint.size}, received {receipt.received_at}"
    )
    if later is not None:
        line += f"; a prefix of the published tree of size {later.checkpoint.size}"
    if witnessed is not None:
        line += f"; witnesses: {witnessed.summary()} at size {witnessed.size}"
    out.print(escape(line), soft_wrap=True)
    return True


def _witnessed(receipt: Receipt, later: Published | None, asked: Witnessing) -> Witnessed | None:
    """The best-witnessed of the receipt's checkpoint and the later one proved to extend
    it; with --require-witnessed, neither cosigned by the quorum is a failure."""
    if asked.policy is None:
        if asked.require:
            raise ReceiptError("no witness policy: give --witnesses FILE", UNWITNESSED)
        return None
    notes = [receipt.checkpoint] + ([later.note] if later is not None and later.note else [])
    found = [asked.policy.check(note) for note in notes]
    best = max(found, key=lambda w: (w.holds, len(w.cosigned), w.size))
    if asked.require and not best.holds:
        raise ReceiptError(f"not witnessed: {best.summary()}", UNWITNESSED)
    return best


def log_key_from(given: str) -> PublicKey:
    try:
        return PublicKey.from_vkey(_vkey_text(given))
    except KeyTextError as error:
        raise fail_on(error, "--log-key") from None


def _vkey_text(given: str) -> str:
    """The --log-key value, or the text of the file it names."""
    path = Path(given)
    try:
        is_file = len(given) < 4096 and path.is_file()
    except OSError:
        is_file = False
    if not is_file:
        return given
    try:
        return decode(read_bytes(path, 4096)).strip()
    except (InputError, FileFormatError) as error:
        raise KeyTextError(f"{path}: {error}") from None


def _read_receipts(path: Path) -> list[Receipt]:
    try:
        return [_receipt(line, doc) for line, doc in read_documents(path)]
    except FileFormatError as error:
        raise fail_on(error) from None
    except (ReceiptError, Rejected, InputError) as error:
        raise fail_on(error, str(path)) from None


def _receipt(line: int, doc: object) -> Receipt:
    if isinstance(doc, Unreadable):
        raise Rejected(doc.problems)
    try:
        return Receipt.from_dict(doc)  # type: ignore[arg-type]
    except ReceiptError as error:
        raise ReceiptError(f"at line {line}: {error}", MALFORMED) from None


def _read_kept(path: Path) -> KeptEntries:
    """The envelopes of --entry: one JSON envelope, a JSON list, or JSON Lines."""
    try:
        return KeptEntries([_envelope(line, doc) for line, doc in read_documents(path)])
    except FileFormatError as error:
        raise fail_on(error) from None
    except EnvelopeError as error:
        raise fail_on(error, f"--entry {path}") from None
    except Rejected as error:
        raise fail_on(error, str(path)) from None


def _envelope(line: int, doc: object) -> Signed:
    if isinstance(doc, Unreadable):
        raise Rejected(doc.problems)
    kind = next((k for k in EntryKind if str(k) in doc), None) if isinstance(doc, dict) else None
    if kind is None:
        raise EnvelopeError("schema.missing", "$", f"line {line}: not a signed envelope")
    try:
        return read_envelope(doc, kind)
    except EnvelopeError as error:
        raise EnvelopeError(error.code, error.field, f"line {line}: {error}") from None


def _published(
    key: PublicKey,
    receipts: Sequence[Receipt],
    checkpoint_file: Path | None,
    bundle: Path | None,
    proof_file: Path | None,
) -> Published | None:
    """What the receipts are checked against, if anything: the later checkpoint given (else
    the bundle's latest), proved consistent by the proof given (else from the bundle)."""
    if proof_file is not None:
        _check_one_size(receipts)
    try:
        if bundle is not None:
            return _from_bundle(key, bundle, checkpoint_file, proof_file)
        if checkpoint_file is not None and proof_file is not None:
            proof = _read_proof(proof_file)
            note = _read_note(checkpoint_file)
            return Published(_open_note(note, key, str(checkpoint_file)), _given(proof), note=note)
    except (FileFormatError, OSError, ReceiptError, InputError) as error:
        raise fail_on(error) from None
    return None


def _from_bundle(
    key: PublicKey, bundle: Path, checkpoint_file: Path | None, proof_file: Path | None
) -> Published:
    """The bundle's checkpoints are what was published; its leaves prove consistency unless
    a proof is given."""
    tree, notes, texts = _read_bundle(bundle, key)
    if checkpoint_file is not None:
        text = _read_note(checkpoint_file)
        target = _open_note(text, key, str(checkpoint_file))
    else:
        target, text = notes[-1], texts[-1]
    if proof_file is not None:
        return Published(target, _given(_read_proof(proof_file)), frozenset(notes), text)
    _check_bundle_tree(tree, target, bundle)
    prove = partial(tree.consistency_proof, size2=target.size)
    return Published(target, prove, frozenset(notes), text)


def _given(proof: tuple[bytes, ...]) -> Prover:
    """The proof given on the command line, whatever size it is asked from: it is checked
    against the receipt's size and root, so a proof from another size fails there."""
    return lambda _size: proof


def _check_options(
    checkpoint_file: Path | None, bundle: Path | None, proof_file: Path | None
) -> None:
    """A consistency proof runs to a published tree: --proof belongs to --checkpoint, and
    --checkpoint needs a proof, given or computed from --bundle."""
    if proof_file is not None and checkpoint_file is None:
        raise typer.BadParameter("a proof is to a --checkpoint; give one", param_hint="--proof")
    if checkpoint_file is not None and proof_file is None and bundle is None:
        raise typer.BadParameter(
            "a consistency proof is needed: give --proof FILE, or --bundle DIR to compute it",
            param_hint="--checkpoint",
        )


def _check_one_size(receipts: Sequence[Receipt]) -> None:
    """--proof holds one proof, from one size: it serves receipts of one tree size only."""
    sizes = sorted({r.tree_size for r in receipts})
    if len(sizes) > 1:
        raise typer.BadParameter(
            f"one proof cannot serve receipts of tree sizes {sizes}; give --bundle instead",
            param_hint="--proof",
        )


def _read_note(path: Path) -> str:
    return decode(read_bytes(path, 1 << 16), str(path))


def _open_checkpoint(path: Path, key: PublicKey) -> Checkpoint:
    return _open_note(_read_note(path), key, str(path))


def _open_note(note: str, key: PublicKey, where: str) -> Checkpoint:
    """A published checkpoint must be the log's: one that does not verify is not evidence
    of anything, so nothing is checked against it."""
    try:
        return Checkpoint.open(note, key)
    except NoteError as error:
        raise ReceiptError(f"{where}: {error}", PUBLISHED_INVALID) from None


def _read_proof(path: Path) -> tuple[bytes, ...]:
    doc = load_json(read_bytes(path, 1 << 16), where=str(path))
    if not isinstance(doc, list) or not all(isinstance(h, str) for h in doc):
        raise FileFormatError(f"{path}: a consistency proof is a JSON list of base64 hashes")
    try:
        proof = tuple(base64.b64decode(h, validate=True) for h in doc)
    except (binascii.Error, ValueError):
        raise FileFormatError(f"{path}: a hash of the proof is not base64") from None
    if any(len(h) != HASH_SIZE for h in proof):
        raise FileFormatError(f"{path}: every hash of the proof is {HASH_SIZE} bytes")
    return proof


def _read_bundle(directory: Path, key: PublicKey) -> tuple[MerkleTree, list[Checkpoint], list[str]]:
    """The bundle's tree, from its leaves' bytes, and every checkpoint it published, each
    verified with the log key given (not the key the bundle names), with its note and the
    witnesses' cosignatures the bundle carries."""
    tree = MerkleTree(_bundle_leaves(directory / "ledger.jsonl"))
    path = directory / "checkpoints.jsonl"
    notes = []
    texts = []
    for number, line in enumerate(read_bytes(path).splitlines(), 1):
        record = load_json(line, where=f"{path}: line {number}")
        note = record.get("note") if isinstance(record, dict) else None
        if not isinstance(note, str):
            raise FileFormatError(f"{path}: line {number} holds no checkpoint note")
        notes.append(_open_note(note, key, f"{path}: line {number}"))
        lines = record.get("cosignatures", [])
        texts.append(with_cosignatures(note, lines if isinstance(lines, list) else []))
    if not notes:
        raise FileFormatError(f"{path}: the bundle published no checkpoint", "input.empty")
    return tree, notes, texts


def _bundle_leaves(path: Path) -> Iterator[bytes]:
    """Each leaf's hash, from its bytes exactly as the bundle holds them (as the audit hashes
    them): a stored hash would be the bundle's word, the bytes are the evidence."""
    with path.open("rb") as handle:
        for position, line in enumerate(handle):
            head, _, rest = line.rstrip(b"\n").partition(b',"leaf":')
            if not head.startswith(b'{"index":') or not rest.endswith(b"}"):
                raise FileFormatError(f'{path}: line {position + 1} is not {{"index", "leaf"}}')
            if head[9:] != str(position).encode():
                raise FileFormatError(
                    f"{path}: line {position + 1} holds entry {head[9:]!r}, not {position}: "
                    "entries are missing or out of order"
                )
            yield leaf_hash(rest[:-1])


def _check_bundle_tree(tree: MerkleTree, target: Checkpoint, bundle: Path) -> None:
    """Proofs computed from the bundle mean something only if its leaves are the tree the
    published checkpoint signed."""
    if target.size > tree.size:
        raise ReceiptError(
            f"{bundle}: holds {tree.size} entries, fewer than the checkpoint's {target.size}",
            PUBLISHED_INVALID,
        )
    if tree.root(target.size) != target.root:
        raise ReceiptError(
            f"{bundle}: its first {target.size} entries do not hash to the published "
            "checkpoint's root (tallyproof audit says what is wrong)",
            PUBLISHED_INVALID,
        )
