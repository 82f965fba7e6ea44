"""C2SP signed notes and checkpoints, checked against Go's sumdb/note reference vector."""

from __future__ import annotations

import pytest

from tallyproof.ledger.keys import KeyTextError, PublicKey, Signer
from tallyproof.ledger.note import Checkpoint, NoteError, open_note, sign_note

# The example in golang.org/x/mod/sumdb/note.
PETER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
SIGNED = (
    TEXT
    + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_signing_matches_the_reference_note_byte_for_byte():
    signer = Signer.from_private_text(PETER)
    assert sign_note(TEXT, [signer]) == SIGNED
    assert (
        signer.public.vkey == "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    )
    assert open_note(SIGNED, PublicKey.from_vkey(signer.public.vkey)) == TEXT


def test_a_changed_text_or_another_key_does_not_open():
    signer = Signer.from_private_text(PETER)
    with pytest.raises(NoteError):
        open_note(SIGNED.replace("problem is", "problem was"), signer.public)
    with pytest.raises(NoteError, match="not signed by"):
        open_note(SIGNED, Signer.generate("PeterNeumann").public)


def test_key_texts_are_checked():
    with pytest.raises(KeyTextError):
        Signer.from_private_text(PETER.replace("c74f20a3", "c74f20a4"))
    with pytest.raises(KeyTextError):
        Signer.generate("has space")


def test_checkpoint_round_trip_and_strict_parsing():
    signer = Signer.generate("example.org/log")
    cp = Checkpoint("example.org/log", 42, bytes(range(32)))
    assert cp.text() == "example.org/log\n42\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
    assert Checkpoint.open(cp.sign(signer), signer.public) == cp
    for bad in ("x\n042\nAAAA\n", "x\n1\nAAAA\n", "\n1\n" + cp.text().split("\n")[2] + "\n"):
        with pytest.raises(NoteError):
            Checkpoint.parse(bad)
