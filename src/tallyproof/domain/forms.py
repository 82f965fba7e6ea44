"""Result forms (Form 45): one count of one contest at one polling station, from one source."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from tallyproof.domain.evidence import Evidence, read_evidence
from tallyproof.domain.fields import (
    IDENT,
    MAX_COUNT,
    MAX_COUNTS,
    FieldReader,
    check_count,
    check_identifier,
    is_timestamp,
    well_formed,
)
from tallyproof.domain.problems import Problem, Rejected
from tallyproof.domain.sources import Source, parse_source

FORM_FIELDS = {
    "issued",
    "election",
    "station",
    "contest",
    "source",
    "votes",
    "rejected",
    "polled",
    "valid",
    "time",
    "remarks",
    "supersedes",
    "reason",
    "evidence",
}


class SupersedeReason(StrEnum):
    CORRECTION = "correction"
    RE_POLL = "re_poll"


@dataclass(frozen=True, slots=True)
class ResultForm:
    """A count as its source wrote it. `valid`, when given, is the total the form states;
    the rules check it against the sum of `votes`."""

    election: str
    station: str
    contest: str
    source: Source
    votes: Mapping[str, int]
    rejected: int
    polled: int
    time: str
    valid: int | None = None
    remarks: str = ""
    supersedes: str | None = None
    reason: SupersedeReason | None = None
    issued: int | None = None  # ballot papers issued to voters, where the form states it
    evidence: Evidence | None = None  # the photo or scan it was read from

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:
        """Pickled as its fields in order: prepared forms cross to the committer process by
        the thousand, and the default for a slotted dataclass looks its fields up each time."""
        return (ResultForm, tuple(getattr(self, name) for name in _FIELDS))

    @property
    def valid_total(self) -> int:
        return sum(self.votes.values())

    @property
    def chain(self) -> str:
        """Forms that must supersede each other: all official sources share one chain."""
        return "official" if self.source.official else self.source.label

    def document(self) -> dict[str, Any]:
        """The JSON document that is hashed and signed (RFC 8785 canonical form upstream)."""
        doc: dict[str, Any] = {
            "election": self.election,
            "station": self.station,
            "contest": self.contest,
            "source": self.source.label,
            "votes": dict(self.votes),
            "rejected": self.rejected,
            "polled": self.polled,
            "time": self.time,
        }
        if self.valid is not None:
            doc["valid"] = self.valid
        if self.issued is not None:
            doc["issued"] = self.issued
        if self.remarks:
            doc["remarks"] = self.remarks
        if self.supersedes is not None:
            doc["supersedes"] = self.supersedes
        if self.reason is not None:
            doc["reason"] = str(self.reason)
        if self.evidence is not None:
            doc["evidence"] = self.evidence.document()
        return doc


_FIELDS = tuple(f.name for f in fields(ResultForm))


def parse_form(doc: object) -> ResultForm:
    """Read a form document; raise Rejected naming every malformed field."""
    return _well_formed_form(doc) or read_form(doc)


def read_form(doc: object) -> ResultForm:
    """The full reader: every field checked on its own, every problem named."""
    problems: list[Problem] = []
    r = FieldReader(doc, "", problems)
    r.reject_unknown(FORM_FIELDS)
    election, station, contest = r.ident("election"), r.ident("station"), r.ident("contest")
    source = r.source("source")
    votes = _votes(r)
    rejected, polled = r.count("rejected"), r.count("polled")
    valid = r.count("valid", required=False)
    issued = r.count("issued", required=False)
    time = r.timestamp("time")
    remarks = r.text("remarks", required=False, max_len=2000) or ""
    supersedes = r.ident("supersedes", required=False)
    reason_text = r.choice("reason", {x.value for x in SupersedeReason}, required=False)
    reason = SupersedeReason(reason_text) if reason_text else None
    evidence = read_evidence(r)
    if (supersedes is None) != (reason is None) and not r.problems:
        missing = "reason" if reason is None else "supersedes"
        r.fail(
            "form.supersede_incomplete",
            missing,
            "a form that supersedes another must give both 'supersedes' and 'reason'",
        )
    if problems:
        raise Rejected(problems)
    assert election and station and contest and source and time
    assert rejected is not None and polled is not None
    return ResultForm(
        election,
        station,
        contest,
        source,
        votes,
        rejected,
        polled,
        time,
        valid,
        remarks,
        supersedes,
        reason,
        issued,
        evidence,
    )


def _votes(r: FieldReader) -> dict[str, int]:
    votes: dict[str, int] = {}
    raw = r.counts("votes")
    given = r.doc.get("votes")
    if isinstance(given, Mapping) and not given:
        r.fail("votes.empty", r.at("votes"), "must list the votes of the candidates")
    for candidate, value in raw.items():
        if not check_identifier(candidate, f"votes.{candidate}", r.problems):
            continue
        n = check_count(value, f"votes.{candidate}", r.problems)
        if n is not None:
            votes[str(candidate)] = n
    return votes


_REQUIRED = {"election", "station", "contest", "source", "votes", "rejected", "polled", "time"}
_FAST_FIELDS = FORM_FIELDS - {"evidence"}  # a form with evidence takes the full reader
_SOURCES = {label: parse_source(label) for label in ("presiding_officer", "returning_officer")}


def _well_formed_form(doc: object) -> ResultForm | None:
    """The common case in one pass: every field present, of its exact type, nothing to report.
    Anything unusual returns None, and the full reader names every problem."""
    if type(doc) is not dict or not _REQUIRED <= doc.keys() <= _FAST_FIELDS:
        return None
    ids = (doc["election"], doc["station"], doc["contest"])
    if not all(type(x) is str and IDENT.fullmatch(x) for x in ids):
        return None
    votes, rejected, polled, valid = doc["votes"], doc["rejected"], doc["polled"], doc.get("valid")
    issued = doc.get("issued")
    counts = [rejected, polled] + [n for n in (valid, issued) if n is not None]
    if type(votes) is not dict or not 0 < len(votes) <= MAX_COUNTS:
        return None
    if not all(_count(n) for n in counts):
        return None
    for candidate, n in votes.items():
        if type(candidate) is not str or not IDENT.fullmatch(candidate) or not _count(n):
            return None
    source = _SOURCES.get(doc["source"]) if type(doc["source"]) is str else None
    time, remarks = doc["time"], doc.get("remarks", "")
    supersedes, reason = doc.get("supersedes"), doc.get("reason")
    if (
        source is None
        or type(time) is not str
        or not is_timestamp(time)
        or type(remarks) is not str
        or len(remarks) > 2000
        or not well_formed(remarks)
        or (supersedes is None) != (reason is None)
        or (
            supersedes is not None
            and (type(supersedes) is not str or not IDENT.fullmatch(supersedes))
        )
        or (reason is not None and reason not in _REASONS)
    ):
        return None
    return ResultForm(
        *ids,
        source,
        votes,
        rejected,
        polled,
        time,
        valid,
        remarks,
        supersedes,
        SupersedeReason(reason) if reason else None,
        issued,
    )


def _count(n: object) -> bool:
    return type(n) is int and 0 <= n <= MAX_COUNT  # type: ignore[operator]


_REASONS = {x.value for x in SupersedeReason}
