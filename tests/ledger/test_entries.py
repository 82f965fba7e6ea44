"""Envelopes and ledger leaves."""

from __future__ import annotations

import pytest

from tallyproof.ledger.canonical import canonical
from tallyproof.ledger.entries import (
    EntryKind,
    EnvelopeError,
    LedgerEntry,
    parse_leaf,
    read_envelope,
    sign,
)
from tallyproof.ledger.keys import Signer


def test_leaf_bytes_are_the_canonical_encoding_and_read_back():
    signer = Signer.generate("k")
    signed = sign(EntryKind.FORM, {"b": 1, "a": "é", "votes": {"Z": 1, "a": 2}}, signer)
    entry = LedgerEntry(signed, "2024-02-08T18:00:00.000Z")
    reference = canonical(
        {
            "kind": "form",
            "body": dict(signed.body),
            "received_at": entry.received_at,
            "signature": {"key": signed.key_id, "value": signed.signature_b64},
        }
    )
    assert entry.leaf_data() == reference
    assert parse_leaf(entry.leaf_data()) == entry
    assert signer.public.verify(signed.message, signed.signature)


@pytest.mark.parametrize(
    ("envelope", "code", "field"),
    [
        ({"form": {}}, "signature.missing", "signature"),
        ({"form": {}, "signature": {"key": "k"}}, "schema.type", "signature"),
        (
            {"form": {}, "signature": {"key": "k", "value": "@@"}},
            "signature.encoding",
            "signature.value",
        ),
        (
            {"form": {}, "signature": {"key": "k", "value": "AAAA"}},
            "signature.encoding",
            "signature.value",
        ),
        ({"signature": {}}, "schema.missing", "form"),
        ({"form": {}, "signature": {}, "extra": 1}, "schema.unknown_field", "extra"),
        ("text", "schema.type", "$"),
    ],
)
def test_bad_envelopes_name_the_field(envelope, code, field):
    with pytest.raises(EnvelopeError) as caught:
        read_envelope(envelope, EntryKind.FORM)
    assert (caught.value.code, caught.value.field) == (code, field)
