"""Where a document was read from: the SHA-256 of the photo or scan, where it is published,
and who transcribed it. Observers and parties fight over which Form 45 images are genuine;
the hash, signed with the numbers, pins the count to one image."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tallyproof.domain.fields import FieldReader

EVIDENCE_FIELDS = {"sha256", "url", "transcribed_by"}
_SHA256 = re.compile(r"[0-9a-f]{64}")
_URL = re.compile(r"https://[^\s/?#]+[^\s]*")
MAX_URL = 2000


@dataclass(frozen=True, slots=True)
class Evidence:
    """The image a count was read from: its hash (required), URL and transcriber (optional)."""

    sha256: str
    url: str | None = None
    transcribed_by: str | None = None

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"sha256": self.sha256}
        if self.url is not None:
            doc["url"] = self.url
        if self.transcribed_by is not None:
            doc["transcribed_by"] = self.transcribed_by
        return doc


def read_evidence(r: FieldReader, key: str = "evidence") -> Evidence | None:
    """The optional `evidence` object of a document, every problem named with its rule code:
    `evidence.sha256` (64 lowercase hex digits), `evidence.url` (an https URL)."""
    if r.doc.get(key) is None:
        return None
    before = len(r.problems)
    e = FieldReader(r.mapping(key), r.at(key), r.problems)
    if len(r.problems) > before:
        return None
    e.reject_unknown(EVIDENCE_FIELDS)
    sha256 = e.text("sha256", max_len=64)
    if sha256 is not None and not _SHA256.fullmatch(sha256):
        e.fail(
            "evidence.sha256",
            e.at("sha256"),
            "must be the SHA-256 of the photo or scan: 64 lowercase hexadecimal digits",
        )
    url = e.text("url", required=False, max_len=MAX_URL)
    if url is not None and not _URL.fullmatch(url):
        e.fail("evidence.url", e.at("url"), "must be an https:// URL without spaces")
    transcribed_by = e.text("transcribed_by", required=False, max_len=200)
    if transcribed_by is not None and not transcribed_by.strip():
        e.fail("schema.empty", e.at("transcribed_by"), "must not be empty when given")
    if len(r.problems) > before or sha256 is None:
        return None
    return Evidence(sha256, url, transcribed_by)


def evidence_of(doc: Mapping[str, Any] | None) -> Evidence | None:
    """Evidence as the store hands it back (already checked when it was logged)."""
    if not doc:
        return None
    return Evidence(str(doc["sha256"]), doc.get("url"), doc.get("transcribed_by"))
