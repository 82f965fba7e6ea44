"""Ledger entries: every accepted submission, signed by its submitter, as one Merkle leaf."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from tallyproof.ledger.canonical import canonical
from tallyproof.ledger.keys import Signer
from tallyproof.ledger.merkle import leaf_hash


class EntryKind(StrEnum):
    STRUCTURE = "structure"
    KEY_REGISTRATION = "key_registration"
    KEY_REVOCATION = "key_revocation"
    FORM = "form"
    DECLARATION = "declaration"
    STATUS = "status"
    CLAIM = "claim"
    BALLOT_ACCOUNT = "ballot_account"  # Form 46, the ballot paper account
    EVENT = "event"  # concession, renunciation, complaint, petition, joining (domain/events.py)


class EnvelopeError(ValueError):
    """A submission whose envelope (kind, body, signature) cannot be read."""

    def __init__(self, code: str, field: str, message: str) -> None:
        super().__init__(message)
        self.code, self.field = code, field


@dataclass(frozen=True, slots=True)
class Signed:
    """A document as its submitter signed it. `message` is the RFC 8785 encoding of `body`:
    the bytes the signature covers, whose SHA-256 is the document's id."""

    kind: EntryKind
    body: Mapping[str, Any]
    key_id: str
    signature: bytes
    message: bytes

    @classmethod
    def of(cls, kind: EntryKind, body: Mapping[str, Any], key_id: str, signature: bytes) -> Signed:
        return cls(kind, body, key_id, signature, canonical(dict(body)))

    @property
    def body_id(self) -> str:
        """Content id of the body: the same document from any key has the same id."""
        return hashlib.sha256(self.message).hexdigest()

    @property
    def signature_b64(self) -> str:
        return base64.b64encode(self.signature).decode()

    def envelope(self) -> dict[str, Any]:
        """The wire form: {"<kind>": body, "signature": {"key": id, "value": base64}}."""
        return {
            str(self.kind): dict(self.body),
            "signature": {"key": self.key_id, "value": self.signature_b64},
        }


def sign(kind: EntryKind, body: Mapping[str, Any], signer: Signer) -> Signed:
    """Sign a document as a submitting device does: over its canonical bytes."""
    message = canonical(dict(body))
    return Signed(kind, body, signer.public.key_id, signer.sign(message), message)


def read_envelope(doc: object, kind: EntryKind) -> Signed:
    """Read {"<kind>": {...}, "signature": {"key", "value"}}; EnvelopeError names the field."""
    body, key_id, signature = open_envelope(doc, kind)
    try:
        return Signed.of(kind, body, key_id, signature)
    except (TypeError, ValueError) as err:
        raise EnvelopeError("schema.type", str(kind), f"cannot be encoded: {err}") from None


def claimed_key_id(envelope: object) -> str | None:
    """The key id an envelope names, before anything about it is checked: what finds the
    key to verify it with, and what a rate limit counts."""
    signature = envelope.get("signature") if isinstance(envelope, Mapping) else None
    key = signature.get("key") if isinstance(signature, Mapping) else None
    return key if isinstance(key, str) else None


def open_envelope(doc: object, kind: EntryKind) -> tuple[Mapping[str, Any], str, bytes]:
    """The body, key id and signature of an envelope, checked for shape only."""
    if not isinstance(doc, Mapping):
        raise EnvelopeError("schema.type", "$", "a submission must be a JSON object")
    extra = set(doc) - {str(kind), "signature"}
    if extra:
        raise EnvelopeError("schema.unknown_field", sorted(extra)[0], "unknown envelope field")
    body = doc.get(str(kind))
    if not isinstance(body, Mapping):
        raise EnvelopeError("schema.missing", str(kind), f"the {kind} document is required")
    sig = doc.get("signature")
    if sig is None:
        raise EnvelopeError("signature.missing", "signature", f"every {kind} must be signed")
    if not isinstance(sig, Mapping) or set(sig) != {"key", "value"}:
        raise EnvelopeError("schema.type", "signature", 'must be {"key": id, "value": base64}')
    key_id, value = sig["key"], sig["value"]
    if not isinstance(key_id, str) or not isinstance(value, str):
        raise EnvelopeError("schema.type", "signature", "key and value must be strings")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise EnvelopeError("signature.encoding", "signature.value", "is not base64") from None
    if len(raw) != 64:
        raise EnvelopeError("signature.encoding", "signature.value", "must be 64 bytes")
    return body, key_id, raw


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """A leaf of the log: the signed document and the time the log received it."""

    signed: Signed
    received_at: str

    def leaf_data(self) -> bytes:
        """canonical({"body", "kind", "received_at", "signature"}), spliced from the body's
        canonical bytes already at hand: keys in RFC 8785 order, nested values canonical."""
        return LeafTemplate.of(self.signed).fill(self.received_at)

    def leaf_hash(self) -> bytes:
        return leaf_hash(self.leaf_data())


@dataclass(frozen=True, slots=True)
class LeafTemplate:
    """A leaf's bytes around its `received_at`: the workers encode everything they can, and
    the writer fills in the time under its lock, so log order and time order agree."""

    head: bytes
    tail: bytes

    def __reduce__(self) -> tuple[type, tuple[bytes, bytes]]:
        return (LeafTemplate, (self.head, self.tail))

    @classmethod
    def of(cls, s: Signed) -> LeafTemplate:
        head = b'{"body":' + s.message + b',"kind":' + json.dumps(str(s.kind)).encode()
        tail = (
            f',"signature":{{"key":{json.dumps(s.key_id, ensure_ascii=False)},'
            f'"value":"{s.signature_b64}"}}}}'
        )
        return cls(head + b',"received_at":', tail.encode("utf-8"))

    def fill(self, received_at: str) -> bytes:
        return self.head + json.dumps(received_at).encode() + self.tail


def leaf_body(data: bytes) -> Any:
    """Only the signed body of a leaf the log already holds, for readers that trust the store
    they opened (the audit, which trusts nothing, uses `parse_leaf`): no canonical re-encoding,
    which for a national structure costs a second."""
    doc = orjson.loads(data)
    if not isinstance(doc, dict) or "body" not in doc:
        raise EnvelopeError("ledger.leaf", "$", "a leaf holds body, kind, received_at, signature")
    return doc["body"]


def parse_leaf(data: bytes) -> LedgerEntry:
    """Read the bytes of a leaf back into an entry (the audit's entry point)."""
    doc = json.loads(data)
    if not isinstance(doc, dict) or set(doc) != {"body", "kind", "received_at", "signature"}:
        raise EnvelopeError("ledger.leaf", "$", "a leaf holds body, kind, received_at, signature")
    try:
        kind = EntryKind(doc["kind"])
    except ValueError:
        raise EnvelopeError("ledger.leaf", "kind", f"unknown entry kind {doc['kind']!r}") from None
    signed = read_envelope({str(kind): doc["body"], "signature": doc["signature"]}, kind)
    return LedgerEntry(signed, str(doc["received_at"]))
