"""Declared results (Form 47): the contest totals a source asserts, e.g. the returning officer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tallyproof.domain.fields import MAX_COUNTS, FieldReader, check_count, check_identifier
from tallyproof.domain.findings import Finding, Severity
from tallyproof.domain.forms import SupersedeReason
from tallyproof.domain.problems import Problem, Rejected
from tallyproof.domain.sources import Source, SourceKind
from tallyproof.domain.structure import ElectionStructure

DECLARATION_FIELDS = {
    "election",
    "contest",
    "source",
    "votes",
    "rejected",
    "polled",
    "valid",
    "registered",
    "stations",
    "time",
    "remarks",
    "supersedes",
    "reason",
}


@dataclass(frozen=True)
class DeclaredResult:
    """Totals per candidate as declared, with optional ballot counts and an optional
    per-station breakdown (which lets a finding name the stations whose numbers moved)."""

    election: str
    contest: str
    source: Source
    votes: Mapping[str, int]
    time: str
    rejected: int | None = None
    polled: int | None = None
    valid: int | None = None
    registered: int | None = None
    stations: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    remarks: str = ""
    supersedes: str | None = None
    reason: SupersedeReason | None = None

    station = ""  # a declaration covers the whole contest

    @property
    def chain(self) -> str:
        """Only the returning officer declares a contest's official result; anyone else's
        declaration is that source's own evidence, in its own chain."""
        official = self.source.kind is SourceKind.RETURNING_OFFICER
        return "official" if official else self.source.label

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "election": self.election,
            "contest": self.contest,
            "source": self.source.label,
            "votes": dict(self.votes),
            "time": self.time,
        }
        for key in ("rejected", "polled", "valid", "registered", "supersedes"):
            value = getattr(self, key)
            if value is not None:
                doc[key] = value
        if self.stations:
            doc["stations"] = {s: dict(v) for s, v in self.stations.items()}
        if self.remarks:
            doc["remarks"] = self.remarks
        if self.reason is not None:
            doc["reason"] = str(self.reason)
        return doc


def parse_declaration(doc: object) -> DeclaredResult:
    """Read a declaration document; raise Rejected naming every malformed field."""
    problems: list[Problem] = []
    r = FieldReader(doc, "", problems)
    r.reject_unknown(DECLARATION_FIELDS)
    election, contest = r.ident("election"), r.ident("contest")
    source = r.source("source")
    votes = _counts(r.counts("votes"), "votes", problems)
    if "votes" in r.doc and not votes and not problems:
        r.fail("votes.empty", "votes", "a declaration gives the candidates' votes")
    counts = {k: r.count(k, required=False) for k in ("rejected", "polled", "valid", "registered")}
    stations = {
        str(sid): _counts(v, f"stations.{sid}", problems)
        for sid, v in r.mapping("stations", required=False).items()
        if check_identifier(sid, f"stations.{sid}", problems)
    }
    time = r.timestamp("time")
    remarks = r.text("remarks", required=False, max_len=2000) or ""
    supersedes = r.ident("supersedes", required=False)
    reason_text = r.choice("reason", {x.value for x in SupersedeReason}, required=False)
    if (supersedes is None) != (reason_text is None) and not problems:
        r.fail(
            "form.supersede_incomplete",
            "reason" if supersedes else "supersedes",
            "a declaration that supersedes another must give both 'supersedes' and 'reason'",
        )
    if problems:
        raise Rejected(problems)
    assert election and contest and source and time
    return DeclaredResult(
        election,
        contest,
        source,
        votes,
        time,
        counts["rejected"],
        counts["polled"],
        counts["valid"],
        counts["registered"],
        stations,
        remarks,
        supersedes,
        SupersedeReason(reason_text) if reason_text else None,
    )


def _counts(raw: object, path: str, problems: list[Problem]) -> dict[str, int]:
    if not isinstance(raw, Mapping):
        problems.append(Problem("schema.type", path, "must be a JSON object of counts"))
        return {}
    if len(raw) > MAX_COUNTS:
        problems.append(Problem("votes.too_many", path, f"more than {MAX_COUNTS} counts"))
        return {}
    out: dict[str, int] = {}
    for key, value in raw.items():
        if not check_identifier(key, f"{path}.{key}", problems):
            continue
        n = check_count(value, f"{path}.{key}", problems)
        if n is not None:
            out[str(key)] = n
    return out


def check_declaration(structure: ElectionStructure, decl: DeclaredResult) -> list[Problem]:
    """Refuse declarations about things that do not exist; arithmetic is not refused here,
    because a wrong published total is evidence to keep (see `declaration_findings`)."""
    if decl.election != structure.election.id:
        return [
            Problem("form.unknown_election", "election", f"{decl.election!r} is not this election")
        ]
    contest = structure.contest(decl.contest)
    if contest is None:
        return [Problem("form.unknown_contest", "contest", f"no contest {decl.contest!r}")]
    roster = set(contest.candidate_ids)
    problems = [
        Problem(
            "votes.unknown_candidate", f"votes.{c}", f"{c!r} is not a candidate in {contest.code}"
        )
        for c in decl.votes
        if c not in roster
    ]
    if decl.chain == "official":  # the published result: a candidate left out is not 0
        problems += [
            Problem(
                "votes.missing_candidate",
                f"votes.{c}",
                f"the official declaration must give every candidate's votes; {c!r} is missing",
            )
            for c in contest.candidate_ids
            if c not in decl.votes
        ]
    served = set(structure.stations_of(contest.code))
    for sid, votes in decl.stations.items():
        if sid not in served:
            problems.append(
                Problem(
                    "form.station_not_serving_contest",
                    f"stations.{sid}",
                    f"station {sid!r} does not serve {contest.code}",
                )
            )
        problems += [
            Problem("votes.unknown_candidate", f"stations.{sid}.{c}", f"{c!r} is not a candidate")
            for c in votes
            if c not in roster
        ]
    return problems


def declaration_findings(decl: DeclaredResult, declaration_id: str) -> list[Finding]:
    """The ballot-accounting rules of Form 45, applied to a declared total as findings."""
    findings: list[Finding] = []
    valid_sum = sum(decl.votes.values())
    evidence: dict[str, Any] = {"declarations": [declaration_id], "source": decl.source.label}

    def add(code: str, message: str, numbers: dict[str, int]) -> None:
        findings.append(
            Finding(
                code,
                Severity.MEDIUM,
                message,
                contest=decl.contest,
                evidence={**evidence, **numbers},
            )
        )

    if decl.valid is not None and decl.valid != valid_sum:
        add(
            "votes.sum_mismatch",
            f"{decl.contest}: candidates' votes sum to {valid_sum:,} but {decl.valid:,} valid "
            "votes are declared",
            {"sum_of_votes": valid_sum, "valid": decl.valid},
        )
    valid = decl.valid if decl.valid is not None else valid_sum
    if (
        decl.polled is not None
        and decl.rejected is not None
        and valid + decl.rejected != decl.polled
    ):
        add(
            "ballots.accounting_mismatch",
            f"{decl.contest}: valid {valid:,} + rejected {decl.rejected:,} = "
            f"{valid + decl.rejected:,}, but {decl.polled:,} votes polled are declared",
            {"valid": valid, "rejected": decl.rejected, "polled": decl.polled},
        )
    if decl.polled is not None and decl.registered is not None and decl.polled > decl.registered:
        add(
            "ballots.exceeds_registered",
            f"{decl.contest}: {decl.polled:,} votes polled exceed {decl.registered:,} registered",
            {"polled": decl.polled, "registered": decl.registered},
        )
    return findings
