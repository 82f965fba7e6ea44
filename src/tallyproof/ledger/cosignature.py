"""Witnesses: C2SP tlog-cosignature (Ed25519 `cosignature/v1`), the tlog-witness
`add-checkpoint` request, the rules a witness judges one by, and the quorum a reader asks
for. A signed log proves one history only to those who compare notes; a checkpoint
cosigned by enough independent witnesses is one no operator can have shown two ways."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tallyproof.ledger.keys import KeyTextError, PublicKey, Signer
from tallyproof.ledger.merkle import EMPTY_ROOT, HASH_SIZE, ProofError, verify_consistency
from tallyproof.ledger.note import (
    Checkpoint,
    NoteError,
    open_note,
    signature_line,
    signature_parts,
    split_note,
)

COSIGNATURE_V1 = b"\x04"  # the signature type byte of an Ed25519 cosignature/v1 key
MAX_PROOF_LINES = 63  # tlog-witness: a client sends no more
MAX_TIMESTAMP = (1 << 63) - 1
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")


def cosignature_key_hash(name: str, raw_public: bytes) -> bytes:
    """tlog-cosignature key ID: SHA-256(name || 0x0A || 0x04 || public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + COSIGNATURE_V1 + raw_public).digest()[:4]


def cosigned_message(body: str, timestamp: int) -> bytes:
    """What an Ed25519 cosignature/v1 signs: a header, the time, then the checkpoint body."""
    return f"cosignature/v1\ntime {timestamp}\n{body}".encode()


@dataclass(frozen=True, slots=True)
class WitnessKey:
    """A witness's public key as a reader or a log knows it: its name and Ed25519 key."""

    name: str
    raw: bytes

    @property
    def key_hash(self) -> bytes:
        return cosignature_key_hash(self.name, self.raw)

    @property
    def vkey(self) -> str:
        """The verifier-key text with signature type 0x04: name+hash+base64(0x04 || key)."""
        encoded = base64.b64encode(COSIGNATURE_V1 + self.raw).decode()
        return f"{self.name}+{self.key_hash.hex()}+{encoded}"

    @classmethod
    def of(cls, signer: Signer) -> WitnessKey:
        return cls(signer.name, signer.public.raw)

    @classmethod
    def from_vkey(cls, text: str) -> WitnessKey:
        """Read a cosignature/v1 vkey; a plain note vkey (type 0x01) of the same key is
        refused, since it names a key hash no cosignature line carries."""
        fields = text.strip().split("+", 2)
        if len(fields) != 3:
            raise KeyTextError("a witness vkey is name+hash+base64(0x04 || key)")
        name, key_hash, encoded = fields
        if not name or any(c.isspace() for c in name):
            raise KeyTextError(f"witness name {name!r} must be non-empty, without spaces")
        try:
            material = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise KeyTextError(f"witness vkey {name!r}: key material is not base64") from None
        if len(material) != 33 or material[:1] != COSIGNATURE_V1:
            raise KeyTextError(
                f"witness vkey {name!r}: key material must be 0x04 (Ed25519 cosignature/v1) "
                "followed by 32 bytes"
            )
        key = cls(name, material[1:])
        if key.key_hash.hex() != key_hash:
            raise KeyTextError(f"witness vkey {name!r}: key hash does not match the key")
        return key

    def verify(self, body: str, signature: bytes) -> int:
        """The timestamp of a cosignature by this key over `body` (the checkpoint's text,
        signature lines excluded); NoteError if it is not one."""
        if len(signature) != 4 + 8 + 64 or signature[:4] != self.key_hash:
            raise NoteError(f"cosignature of {self.name} is not 76 bytes with its key hash")
        timestamp = int.from_bytes(signature[4:12], "big")
        if timestamp == 0 or timestamp > MAX_TIMESTAMP:
            raise NoteError(f"cosignature of {self.name} has no valid timestamp")
        public = PublicKey(self.name, self.raw)
        if not public.verify(cosigned_message(body, timestamp), signature[12:]):
            raise NoteError(f"cosignature by {self.name} does not verify")
        return timestamp


@dataclass(frozen=True, slots=True)
class Cosignature:
    """One witness's cosignature line, verified, with the time it names."""

    witness: str
    timestamp: int
    line: str  # "— name base64(key hash || timestamp || signature)\n"


def cosign(signer: Signer, body: str, timestamp: int) -> Cosignature:
    """Cosign a checkpoint's text at `timestamp` (seconds since the epoch)."""
    if not 0 < timestamp <= MAX_TIMESTAMP:
        raise ValueError("a cosignature's timestamp is positive and below 2^63")
    key = WitnessKey.of(signer)
    signed = key.key_hash + timestamp.to_bytes(8, "big")
    signed += signer.sign(cosigned_message(body, timestamp))
    return Cosignature(signer.name, timestamp, signature_line(signer.name, signed))


def cosignatures_on(note: str, witnesses: Iterable[WitnessKey]) -> list[Cosignature]:
    """The cosignatures on `note` by the witnesses named, each verified; lines by keys not
    named are ignored, and a line that claims a named key but does not verify, or a second
    line by one, fails the note (C2SP signed-note: such a note is malformed)."""
    text, lines = split_note(note)
    by_id = {(w.name, w.key_hash): w for w in witnesses}
    found: dict[str, Cosignature] = {}
    for line in lines:
        name, signature = signature_parts(line)
        key = by_id.get((name, signature[:4]))
        if key is None:
            continue
        if name in found:  # as for the log's own line: two by one key make the note malformed
            raise NoteError(f"the note has two cosignature lines by {name}")
        found[name] = Cosignature(name, key.verify(text, signature), line)
    return list(found.values())


def with_cosignatures(note: str, lines: Iterable[str]) -> str:
    """The note with the cosignature lines added after its own, each once, in order."""
    have = split_note(note)[1]
    added = [line for line in dict.fromkeys(lines) if line not in have]
    return note + "".join(added)


# --- the quorum a reader trusts ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Witness:
    """A witness as configured: its key, and where a log reaches it (empty for a reader)."""

    key: WitnessKey
    url: str = ""

    @property
    def name(self) -> str:
        return self.key.name


class PolicyError(ValueError):
    """A witness policy that cannot be used; names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Witnessed:
    """Which configured witnesses cosigned one checkpoint, and whether the quorum holds."""

    size: int
    cosigned: tuple[Cosignature, ...]
    missing: tuple[str, ...]
    quorum: int

    @property
    def holds(self) -> bool:
        return self.quorum > 0 and len(self.cosigned) >= self.quorum

    def as_dict(self) -> dict[str, Any]:
        return {
            "tree_size": self.size,
            "cosigned_by": [
                {"witness": c.witness, "timestamp": c.timestamp} for c in self.cosigned
            ],
            "missing": list(self.missing),
            "quorum": self.quorum,
            "witnessed": self.holds,
        }

    def summary(self) -> str:
        names = ", ".join(c.witness for c in self.cosigned) or "no witness"
        state = "quorum holds" if self.holds else "quorum NOT met"
        return f"cosigned by {names} ({len(self.cosigned)} of {self.quorum} needed: {state})"


@dataclass(frozen=True, slots=True)
class WitnessPolicy:
    """k of n: the witnesses a reader (or the log) knows, and how many must cosign."""

    witnesses: tuple[Witness, ...] = ()
    quorum: int = 0

    def __post_init__(self) -> None:
        names = [w.name for w in self.witnesses]
        if len(set(names)) != len(names):
            raise PolicyError("witnesses", "each witness is named once")
        if not 0 <= self.quorum <= len(self.witnesses):
            raise PolicyError(
                "quorum", f"{self.quorum} is not between 0 and the {len(names)} witnesses named"
            )
        if self.witnesses and self.quorum == 0:
            raise PolicyError("quorum", "with witnesses named, at least one must cosign")

    @property
    def keys(self) -> list[WitnessKey]:
        return [w.key for w in self.witnesses]

    def check(self, note: str) -> Witnessed:
        """Verify the configured witnesses' cosignatures on a checkpoint note."""
        size = Checkpoint.parse(split_note(note)[0]).size
        cosigned = cosignatures_on(note, self.keys)
        names = {c.witness for c in cosigned}
        missing = tuple(w.name for w in self.witnesses if w.name not in names)
        return Witnessed(size, tuple(cosigned), missing, self.quorum)

    def as_dict(self) -> dict[str, Any]:
        return {
            "quorum": self.quorum,
            "witnesses": [
                {"name": w.name, "vkey": w.key.vkey, **({"url": w.url} if w.url else {})}
                for w in self.witnesses
            ],
        }

    @classmethod
    def from_json(cls, text: str, where: str) -> WitnessPolicy:
        """Read a policy file's text; an error names `where` (the file) and the field."""
        try:
            doc = json.loads(text)
        except ValueError as error:
            raise PolicyError(where, f"not readable JSON: {error}") from None
        try:
            return cls.from_dict(doc)
        except PolicyError as error:
            raise PolicyError(f"{where}: {error.field}", error.message) from None

    @classmethod
    def from_dict(cls, doc: object) -> WitnessPolicy:
        """Read `{"quorum": k, "witnesses": [{"name", "vkey", "url"?}]}`, naming the field
        that is wrong."""
        if not isinstance(doc, Mapping):
            raise PolicyError("$", "a witness policy is an object with quorum and witnesses")
        items = doc.get("witnesses", [])
        quorum = doc.get("quorum", 0)
        if not isinstance(items, list):
            raise PolicyError("witnesses", "must be a list")
        if not isinstance(quorum, int) or isinstance(quorum, bool):
            raise PolicyError("quorum", "must be a whole number")
        return cls(tuple(_witness(i, item) for i, item in enumerate(items)), quorum)


def _witness(i: int, item: object) -> Witness:
    where = f"witnesses[{i}]"
    if not isinstance(item, Mapping) or not isinstance(item.get("vkey"), str):
        raise PolicyError(where, "each witness has a vkey")
    try:
        key = WitnessKey.from_vkey(item["vkey"])
    except KeyTextError as error:
        raise PolicyError(f"{where}.vkey", str(error)) from None
    name = item.get("name", key.name)
    if name != key.name:
        raise PolicyError(f"{where}.name", f"{name!r} is not the vkey's name {key.name!r}")
    url = item.get("url", "")
    if not isinstance(url, str) or (url and not url.startswith(("http://", "https://"))):
        raise PolicyError(f"{where}.url", "must be an http:// or https:// address")
    return Witness(key, url.rstrip("/"))


# --- the tlog-witness add-checkpoint request, and how a witness judges it ----------------


class WitnessRefusal(ValueError):  # noqa: N818 - a refusal, answered with its HTTP status
    """Why a witness did not cosign: the HTTP status tlog-witness gives it, a rule code, and,
    for a validly signed checkpoint that does not extend what was cosigned, `fork` set (the
    request is evidence of the log's misbehaviour, worth keeping)."""

    def __init__(
        self, status: int, code: str, message: str, *, fork: bool = False, size: int = -1
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.fork = fork
        self.size = size  # for 409: the size of the latest cosigned checkpoint


@dataclass(frozen=True, slots=True)
class AddCheckpoint:
    """An add-checkpoint body: the old size, a consistency proof, the signed checkpoint."""

    old_size: int
    proof: tuple[bytes, ...]
    note: str

    def body(self) -> bytes:
        proof = "".join(base64.b64encode(h).decode() + "\n" for h in self.proof)
        return f"old {self.old_size}\n{proof}\n{self.note}".encode()

    @classmethod
    def parse(cls, data: bytes) -> AddCheckpoint:
        """Read a request body, or refuse it with 400 naming what is malformed."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise WitnessRefusal(400, "witness.malformed", "the body is not UTF-8") from None
        head, sep, note = text.partition("\n\n")
        lines = head.split("\n")
        if not sep or not lines[0].startswith("old "):
            raise WitnessRefusal(
                400, "witness.malformed", "the body is 'old N', proof lines, a blank line, a note"
            )
        size_text = lines[0][4:]
        if not _DECIMAL.fullmatch(size_text):
            raise WitnessRefusal(400, "witness.malformed", "the old size is a decimal number")
        if len(lines) - 1 > MAX_PROOF_LINES:
            raise WitnessRefusal(400, "witness.malformed", "more than 63 proof lines")
        proof = tuple(_proof_hash(line) for line in lines[1:])
        return cls(int(size_text), proof, note)


def _proof_hash(line: str) -> bytes:
    try:
        value = base64.b64decode(line, validate=True)
    except (binascii.Error, ValueError):
        value = b""
    if len(value) != HASH_SIZE:
        raise WitnessRefusal(400, "witness.malformed", f"proof line {line!r} is not a hash")
    return value


@dataclass(frozen=True, slots=True)
class Cosigned:
    """What a witness last cosigned for a log: the size and root, and the note it was sent."""

    size: int
    root: bytes
    note: str


def judge(
    request: AddCheckpoint, log_keys: Mapping[str, Sequence[PublicKey]], latest: Cosigned | None
) -> Checkpoint:
    """The checkpoint a witness may cosign, or WitnessRefusal with the tlog-witness status:
    404 unknown log, 403 not signed by its key, 400 old size after the new, 409 old size
    not the one last cosigned, 422 not consistent with it (a fork when signed)."""
    try:
        text, lines = split_note(request.note)
        checkpoint = Checkpoint.parse(text)
    except NoteError as error:
        raise WitnessRefusal(400, "witness.malformed", f"checkpoint: {error}") from None
    try:
        for line in lines:
            signature_parts(line)
    except NoteError as error:
        raise WitnessRefusal(400, "witness.malformed", str(error)) from None
    keys = log_keys.get(checkpoint.origin)
    if not keys:
        raise WitnessRefusal(404, "witness.unknown_log", f"no log {checkpoint.origin!r} is known")
    _check_log_signature(request.note, keys)
    if request.old_size > checkpoint.size:
        raise WitnessRefusal(
            400, "witness.old_after_new", f"old size {request.old_size} > {checkpoint.size}"
        )
    cosigned = latest.size if latest is not None else 0
    if request.old_size != cosigned:
        raise WitnessRefusal(
            409,
            "witness.old_size",
            f"the latest cosigned size is {cosigned}, not {request.old_size}",
            size=cosigned,
        )
    _check_consistent(request, checkpoint, latest)
    return checkpoint


def _check_log_signature(note: str, keys: Sequence[PublicKey]) -> None:
    errors = []
    for key in keys:
        try:
            open_note(note, key)
            return
        except NoteError as error:
            errors.append(str(error))
    raise WitnessRefusal(403, "witness.signature", "; ".join(errors))


def _check_consistent(request: AddCheckpoint, new: Checkpoint, latest: Cosigned | None) -> None:
    if new.size == 0 and new.root != EMPTY_ROOT:
        raise WitnessRefusal(422, "witness.empty_root", "a tree of size 0 has the empty root")
    if latest is None or latest.size == 0:
        if request.proof:
            raise WitnessRefusal(422, "witness.proof", "from size 0 the proof must be empty")
        return
    try:
        verify_consistency(latest.size, new.size, request.proof, latest.root, new.root)
    except ProofError as error:
        raise WitnessRefusal(
            422,
            "witness.inconsistent",
            f"the checkpoint of size {new.size} does not extend the one cosigned at size "
            f"{latest.size}: {error}",
            fork=True,
        ) from None


__all__ = [
    "AddCheckpoint",
    "Cosignature",
    "Cosigned",
    "PolicyError",
    "Witness",
    "WitnessKey",
    "WitnessPolicy",
    "WitnessRefusal",
    "Witnessed",
    "cosign",
    "cosignature_key_hash",
    "cosignatures_on",
    "judge",
    "split_note",
    "with_cosignatures",
]
