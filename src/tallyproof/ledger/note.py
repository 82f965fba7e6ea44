"""C2SP signed notes and tlog checkpoints: the text format transparency-log witnesses read."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass

from tallyproof.ledger.keys import PublicKey, Signer, note_key_hash

_DASH = "\u2014 "


class NoteError(ValueError):
    """A note that is malformed or not signed by a key we trust."""


def sign_note(text: str, signers: Iterable[Signer]) -> str:
    """Append a signature line per signer to `text` (which must end in a newline)."""
    if not text.endswith("\n") or "\n\n" in text:
        raise NoteError("note text must end with a newline and contain no blank line")
    lines = []
    for signer in signers:
        sig = note_key_hash(signer.name, signer.public.raw) + signer.sign(text.encode())
        lines.append(signature_line(signer.name, sig))
    return text + "\n" + "".join(lines)


def signature_line(name: str, signed: bytes) -> str:
    """`— name base64(key hash || signature)`: a note signature line, a cosignature's too."""
    return f"{_DASH}{name} {base64.b64encode(signed).decode()}\n"


def split_note(note: str) -> tuple[str, list[str]]:
    """A signed note's text and its signature lines (each ending in a newline)."""
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("a signed note has a blank line before its signatures")
    if not note.endswith("\n"):
        raise NoteError("signature block must end with a newline")
    return note[: split + 1], [line + "\n" for line in note[split + 2 : -1].split("\n")]


def signature_parts(line: str) -> tuple[str, bytes]:
    """A signature line's key name and its bytes (key hash, then signature), or NoteError
    when it is not `— name base64`."""
    if not line.startswith(_DASH):
        raise NoteError(f"a signature line is not '— name base64': {line.strip()[:80]}")
    name, _, encoded = line[len(_DASH) :].removesuffix("\n").partition(" ")
    try:
        return name, base64.b64decode(encoded, validate=True)
    except ValueError as err:
        raise NoteError(f"signature of {name} is not base64") from err


def open_note(note: str, verifier: PublicKey) -> str:
    """Return the note's text if it carries a valid signature by `verifier`."""
    text, block = split_note(note)
    want = note_key_hash(verifier.name, verifier.raw)
    # every line is read, not only up to the key's: a malformed line anywhere, or a second
    # line by the key, makes the note malformed (C2SP signed-note; as Go's note.Open does)
    lines = [_parse_signature_line(line) for line in block]
    ours = [sig for name, sig in lines if name == verifier.name and sig[:4] == want]
    if len(ours) > 1:
        raise NoteError(f"the note has {len(ours)} signature lines by {verifier.name}")
    if not ours:
        raise NoteError(f"note is not signed by {verifier.name}")
    if not verifier.verify(text.encode(), ours[0][4:]):
        raise NoteError(f"signature by {verifier.name} does not verify")
    return text


def _parse_signature_line(line: str) -> tuple[str, bytes]:
    name, sig = signature_parts(line)
    if len(sig) < 5:
        raise NoteError(f"signature of {name} is too short")
    return name, sig


_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A tree head: origin line, tree size, base64 root hash (C2SP tlog-checkpoint)."""

    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    def sign(self, signer: Signer) -> str:
        return sign_note(self.text(), [signer])

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise NoteError("a checkpoint has an origin, a size and a root hash line")
        origin, size_text, root_text = lines[0], lines[1], lines[2]
        if not origin or not _DECIMAL.fullmatch(size_text):
            raise NoteError("checkpoint origin must be non-empty and size a decimal number")
        try:
            root = base64.b64decode(root_text, validate=True)
        except ValueError as err:
            raise NoteError("checkpoint root hash is not base64") from err
        if len(root) != 32:
            raise NoteError("checkpoint root hash must be 32 bytes")
        return cls(origin, int(size_text), root)

    @classmethod
    def open(cls, note: str, verifier: PublicKey) -> Checkpoint:
        """Verify the log's signature on a checkpoint note and read it."""
        return cls.parse(open_note(note, verifier))
