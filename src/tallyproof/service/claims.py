"""News claims as a source: read a report's text into linked claims (what the HTTP API will
expose), log them as one signed entry per report, and reconcile them with each other and
with the official results."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tallyproof.claims.extract import extract
from tallyproof.claims.link import link_claims
from tallyproof.claims.roster import Roster
from tallyproof.domain.claims import Claim, ClaimReport
from tallyproof.domain.findings import Finding
from tallyproof.domain.sources import Source, SourceKind
from tallyproof.domain.structure import ElectionStructure
from tallyproof.service import queries
from tallyproof.service.writer import LedgerWriter


class FilingError(ValueError):
    """Claims that cannot be filed: no outlet, date, or election to file them under."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass
class ReadClaims:
    """A report read into claims: its outlet and date (given, or found in the text), the
    claims (linked where possible), and the lines set aside as not prose."""

    outlet: str
    published: str
    title: str
    text_sha256: str
    claims: list[Claim]
    set_aside: list[tuple[int, str, str]] = field(default_factory=list)


def read_claims(
    writer: LedgerWriter | None,
    text: str,
    *,
    outlet: str = "",
    published: str = "",
    election: str | None = None,
) -> ReadClaims:
    """Every claim in a report's text, linked to the named election (or to whichever stored
    election has the contest) when there is a store; nothing is written. The outlet is the
    one given, else the report's `outlet:` line, else the one its sentences quote most."""
    structures = _structures(writer, election) if writer is not None else []
    return claims_in(text, structures, outlet=outlet, published=published)


def claims_in(
    text: str, structures: Sequence[ElectionStructure], *, outlet: str = "", published: str = ""
) -> ReadClaims:
    """`read_claims` against structures in hand (the sample election builds its own)."""
    extracted = extract(text, outlet, published, roster=Roster.of(structures))
    report = extracted.report
    claims = link_claims(extracted.claims, structures)
    quoted = extracted.outlets or Counter(c.attributed_to for c in claims if c.attributed_to)
    return ReadClaims(
        report.outlet or (quoted.most_common(1)[0][0] if quoted else ""),
        report.date,
        report.title,
        hashlib.sha256(text.encode("utf-8")).hexdigest(),
        claims,
        report.set_aside,
    )


def _structures(writer: LedgerWriter, election: str | None) -> list[ElectionStructure]:
    if election is not None:
        return [queries.structure_of(writer, election)]
    return list(writer.refresh().elections.values())


def report_documents(read: ReadClaims, election: str | None = None) -> list[dict[str, Any]]:
    """The claims documents to sign: one per election the claims are linked to (unlinked
    claims go with the named election, or with the first linked one), in the text's order."""
    if not read.outlet:
        raise FilingError(
            "claim.outlet_missing",
            "the report names no outlet: give one (e.g. --outlet 'Geo News')",
        )
    targets = [c.election or election or "" for c in read.claims]
    fallback = election or next((e for e in targets if e), "")
    if not fallback and "" in targets:
        raise FilingError(
            "claim.election_missing", "no election to file the claims under: name one (--election)"
        )
    by_election: dict[str, list[Claim]] = {}
    for claim, eid in zip(read.claims, targets, strict=True):
        by_election.setdefault(eid or fallback, []).append(claim)
    if not read.published:
        raise FilingError(
            "claim.date_missing", "the report has no date: give one (e.g. --date 2024-02-09)"
        )
    return [
        ClaimReport(
            eid,
            Source(SourceKind.MEDIA, read.outlet),
            read.published,
            read.text_sha256,
            tuple(claims),
            read.title,
        ).document()
        for eid, claims in by_election.items()
    ]


def findings_after_filing(
    writer: LedgerWriter, read: Sequence[ReadClaims], election: str | None
) -> list[Finding]:
    """The claim findings of the election the reports were filed under: the one named, else
    the one their claims linked to; none when nothing linked and several elections exist."""
    eid = election or next((c.election for r in read for c in r.claims if c.election), None)
    try:
        return queries.claim_findings(writer, eid)
    except queries.UnknownElection:
        return []
