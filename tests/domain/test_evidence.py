"""A form's evidence: the photo or scan it was read from, signed with its numbers."""

from __future__ import annotations

import hashlib

import pytest

from tallyproof.domain.forms import parse_form
from tallyproof.domain.problems import Rejected
from tests.helpers import form_doc

SHA = hashlib.sha256(b"a photo of Form 45").hexdigest()


def refused(evidence: object) -> list[tuple[str, str]]:
    with pytest.raises(Rejected) as err:
        parse_form(form_doc(evidence=evidence))
    return [(p.code, p.field) for p in err.value.problems]


def test_evidence_is_read_and_signed_with_the_form():
    given = {"sha256": SHA, "url": "https://example.org/f45.jpg", "transcribed_by": "Sana"}
    form = parse_form(form_doc(evidence=given))
    assert form.evidence is not None and form.evidence.sha256 == SHA
    assert form.document()["evidence"] == given
    bare = parse_form(form_doc(evidence={"sha256": SHA}))
    assert bare.document()["evidence"] == {"sha256": SHA}
    assert "evidence" not in parse_form(form_doc()).document()


def test_the_hash_is_64_lowercase_hex_digits():
    assert refused({"sha256": SHA.upper()}) == [("evidence.sha256", "evidence.sha256")]
    assert refused({"sha256": SHA[:63]}) == [("evidence.sha256", "evidence.sha256")]
    assert refused({"url": "https://example.org/x"}) == [("schema.missing", "evidence.sha256")]


def test_the_url_is_https_and_nothing_unknown_is_taken():
    assert refused({"sha256": SHA, "url": "http://example.org/x"}) == [
        ("evidence.url", "evidence.url")
    ]
    assert refused({"sha256": SHA, "url": "https://a b"}) == [("evidence.url", "evidence.url")]
    assert refused({"sha256": SHA, "photo": "x"}) == [("schema.unknown_field", "evidence.photo")]
    assert refused("abc") == [("schema.type", "evidence")]
    assert refused({"sha256": SHA, "transcribed_by": " "}) == [
        ("schema.empty", "evidence.transcribed_by")
    ]
