"""Ed25519 keys in the C2SP signed-note text encodings (`PRIVATE+KEY+name+hash+...`)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from functools import cached_property

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

ED25519 = b"\x01"


class KeyTextError(ValueError):
    """A key text that cannot be read."""


def _check_name(name: str) -> str:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise KeyTextError(f"key name {name!r} must be non-empty, without spaces or '+'")
    return name


def note_key_hash(name: str, raw_public: bytes) -> bytes:
    """C2SP signed-note key ID: SHA-256(name || 0x0A || 0x01 || public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + raw_public).digest()[:4]


@dataclass(frozen=True)
class PublicKey:
    name: str
    raw: bytes

    @cached_property
    def key_id(self) -> str:
        """How the ledger refers to a key: 16 hex digits of SHA-256 of the raw key. It is
        the key's one id: every leaf names its signer by it (inside the signed envelope, so
        the receipt's entry does), and `keygen`, `register-key`, keys.json, the audit and
        every refusal print it."""
        return hashlib.sha256(self.raw).hexdigest()[:16]

    @property
    def b64(self) -> str:
        return base64.b64encode(self.raw).decode()

    @property
    def vkey(self) -> str:
        """The verifier-key text: name+hash+base64(0x01 || key), how a log's key is given
        to whoever checks its checkpoints. The hash is the signed-note key hash (which names
        the key on a note's signature lines), not the key id; a signer key needs no vkey."""
        encoded = base64.b64encode(ED25519 + self.raw).decode()
        return f"{self.name}+{note_key_hash(self.name, self.raw).hex()}+{encoded}"

    @cached_property
    def _verifier(self) -> VerifyKey:
        return VerifyKey(self.raw)

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            self._verifier.verify(message, signature)
        except (BadSignatureError, ValueError):
            return False
        return True

    @classmethod
    def from_b64(cls, name: str, text: str) -> PublicKey:
        try:
            raw = base64.b64decode(text, validate=True)
        except ValueError as err:
            raise KeyTextError(f"public key of {name!r} is not base64") from err
        if len(raw) != 32:
            raise KeyTextError(f"public key of {name!r} must be 32 bytes, not {len(raw)}")
        return cls(name, raw)

    @classmethod
    def from_vkey(cls, text: str) -> PublicKey:
        name, key_hash, encoded = _split_key_text(text.strip(), 3)
        raw = _decode_typed(encoded)
        key = cls(_check_name(name), raw)
        if note_key_hash(name, raw).hex() != key_hash:
            raise KeyTextError(f"verifier key {name!r}: key hash does not match the key")
        return key


class Signer:
    """A private key with its name; signs messages and signed notes."""

    def __init__(self, name: str, seed: bytes) -> None:
        self.name = _check_name(name)
        self._key = SigningKey(seed)
        self.public = PublicKey(name, bytes(self._key.verify_key))

    @classmethod
    def generate(cls, name: str) -> Signer:
        return cls(name, bytes(SigningKey.generate()))

    @classmethod
    def from_seed_text(cls, name: str, secret: str) -> Signer:
        """A deterministic key from a secret phrase (for generated sample data only)."""
        return cls(name, hashlib.sha256(secret.encode()).digest())

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message).signature

    def private_text(self) -> str:
        """PRIVATE+KEY+name+hash+base64(0x01 || seed), as Go's note package writes it."""
        encoded = base64.b64encode(ED25519 + bytes(self._key)).decode()
        key_hash = note_key_hash(self.name, self.public.raw).hex()
        return f"PRIVATE+KEY+{self.name}+{key_hash}+{encoded}"

    @classmethod
    def from_private_text(cls, text: str) -> Signer:
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise KeyTextError("a private key text starts with PRIVATE+KEY+ and has five parts")
        _, _, name, key_hash, encoded = parts
        signer = cls(name, _decode_typed(encoded))
        if note_key_hash(name, signer.public.raw).hex() != key_hash:
            raise KeyTextError(f"private key {name!r}: key hash does not match the key")
        return signer


def _split_key_text(text: str, parts: int) -> list[str]:
    fields = text.split("+", parts - 1)
    if len(fields) != parts:
        raise KeyTextError(f"key text must have {parts} '+'-separated parts")
    return fields


def _decode_typed(encoded: str) -> bytes:
    try:
        raw = base64.b64decode(encoded, validate=True)
    except ValueError as err:
        raise KeyTextError("key material is not base64") from err
    if len(raw) != 33 or raw[:1] != ED25519:
        raise KeyTextError("key material must be 0x01 followed by 32 bytes (Ed25519)")
    return raw[1:]
