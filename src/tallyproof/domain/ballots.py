"""Form 46, the ballot paper account: how many ballot papers a presiding officer received for
a contest at a station, and where each went — issued to voters, spoilt, or returned unused.
Every paper is accounted for once, and the papers issued are the ballots the Form 45 of the
same station should find in the box: where they differ, a finding says so, whichever of the
two documents arrived first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tallyproof.domain.evidence import Evidence, read_evidence
from tallyproof.domain.fields import FieldReader
from tallyproof.domain.findings import Finding, Severity
from tallyproof.domain.forms import SupersedeReason
from tallyproof.domain.problems import Problem, Rejected
from tallyproof.domain.sources import Source, SourceKind
from tallyproof.domain.structure import ElectionStructure

ACCOUNT_FIELDS = {
    "election",
    "station",
    "contest",
    "source",
    "received",
    "issued",
    "spoilt",
    "unused",
    "tendered",
    "time",
    "remarks",
    "supersedes",
    "reason",
    "evidence",
}
CHAIN = "form46"  # one chain of accounts per station and contest: corrections supersede


@dataclass(frozen=True, slots=True)
class BallotAccount:
    """A presiding officer's Form 46 for one contest at one station. `tendered` (papers given
    to voters someone had already voted as) is counted apart, where the form states it."""

    election: str
    station: str
    contest: str
    source: Source
    received: int
    issued: int
    spoilt: int
    unused: int
    time: str
    tendered: int | None = None
    remarks: str = ""
    supersedes: str | None = None
    reason: SupersedeReason | None = None
    evidence: Evidence | None = None

    @property
    def chain(self) -> str:
        return CHAIN

    def document(self) -> dict[str, Any]:
        """The JSON document that is signed."""
        doc: dict[str, Any] = {
            "election": self.election,
            "station": self.station,
            "contest": self.contest,
            "source": self.source.label,
            "received": self.received,
            "issued": self.issued,
            "spoilt": self.spoilt,
            "unused": self.unused,
            "time": self.time,
        }
        if self.tendered is not None:
            doc["tendered"] = self.tendered
        if self.remarks:
            doc["remarks"] = self.remarks
        if self.supersedes is not None:
            doc["supersedes"] = self.supersedes
        if self.reason is not None:
            doc["reason"] = str(self.reason)
        if self.evidence is not None:
            doc["evidence"] = self.evidence.document()
        return doc


def parse_ballot_account(doc: object) -> BallotAccount:
    """Read a Form 46 document; raise Rejected naming every broken field and rule: counts are
    whole numbers >= 0, the papers received are those issued, spoilt and unused
    (`ballots.account_mismatch`), and only the presiding officer keeps the account
    (`ballot_account.source`)."""
    problems: list[Problem] = []
    r = FieldReader(doc, "", problems)
    r.reject_unknown(ACCOUNT_FIELDS)
    election, station, contest = r.ident("election"), r.ident("station"), r.ident("contest")
    source = r.source("source")
    received, issued = r.count("received"), r.count("issued")
    spoilt, unused = r.count("spoilt"), r.count("unused")
    tendered = r.count("tendered", required=False)
    time = r.timestamp("time")
    remarks = r.text("remarks", required=False, max_len=2000) or ""
    supersedes = r.ident("supersedes", required=False)
    reason_text = r.choice("reason", {str(SupersedeReason.CORRECTION)}, required=False)
    evidence = read_evidence(r)
    if source is not None and source.kind is not SourceKind.PRESIDING_OFFICER:
        r.fail(
            "ballot_account.source",
            "source",
            f"a ballot paper account (Form 46) is the presiding officer's, not {source.label}'s",
        )
    if (supersedes is None) != (reason_text is None) and not problems:
        missing = "reason" if reason_text is None else "supersedes"
        r.fail(
            "form.supersede_incomplete",
            missing,
            "an account that supersedes another must give both 'supersedes' and 'reason'",
        )
    counts = (received, issued, spoilt, unused)
    if not problems and None not in counts:
        problems += account_problems(*counts)  # type: ignore[arg-type]
    if problems:
        raise Rejected(problems)
    assert election and station and contest and source and time
    assert received is not None and issued is not None
    assert spoilt is not None and unused is not None
    reason = SupersedeReason(reason_text) if reason_text else None
    return BallotAccount(
        election, station, contest, source, received, issued, spoilt, unused, time,
        tendered, remarks, supersedes, reason, evidence,
    )  # fmt: skip


def account_problems(received: int, issued: int, spoilt: int, unused: int) -> list[Problem]:
    """Every paper received is issued, spoilt or unused, once."""
    accounted = issued + spoilt + unused
    if received == accounted:
        return []
    return [
        Problem(
            "ballots.account_mismatch",
            "received",
            f"{received:,} ballot papers received, but issued {issued:,} + spoilt {spoilt:,} "
            f"+ unused {unused:,} = {accounted:,}",
        )
    ]


def check_ballot_account(structure: ElectionStructure, account: BallotAccount) -> list[Problem]:
    """The account's place: this election, a station that serves the contest, and no more
    papers issued than the station has voters on its roll."""
    if account.election != structure.election.id:
        return [
            Problem(
                "form.unknown_election", "election", f"{account.election!r} is not this election"
            )
        ]
    station = structure.station(account.station)
    contest = structure.contest(account.contest)
    problems = []
    if station is None:
        problems.append(
            Problem("form.unknown_station", "station", f"no station {account.station!r}")
        )
    if contest is None:
        problems.append(
            Problem("form.unknown_contest", "contest", f"no contest {account.contest!r}")
        )
    if station is None or contest is None:
        return problems
    if contest.code not in station.contests:
        return [
            Problem(
                "form.station_not_serving_contest",
                "station",
                f"station {station.id!r} does not serve contest {contest.code!r}",
            )
        ]
    if account.issued > station.registered_voters:
        return [
            Problem(
                "ballots.issued_exceeds_registered",
                "issued",
                f"{account.issued:,} ballots issued at a station with "
                f"{station.registered_voters:,} registered voters",
            )
        ]
    return []


def account_findings(
    contest: str, station: str, account_id: str, issued: int, form_id: str, polled: int
) -> list[Finding]:
    """The Form 46 and the official Form 45 of one station and contest: the papers issued to
    voters are the ballots the count found in the box (`ballots.issued_differs_from_polled`).
    More ballots in the box than issued is what stuffing looks like; fewer, lost ballots."""
    if issued == polled:
        return []
    more = "more" if polled > issued else "fewer"
    return [
        Finding(
            code="ballots.issued_differs_from_polled",
            severity=Severity.HIGH,
            message=(
                f"{contest} at {station}: the ballot paper account (Form 46) issued "
                f"{issued:,} ballot papers, but the count (Form 45) found {polled:,} polled — "
                f"{abs(polled - issued):,} {more} in the box than were issued"
            ),
            contest=contest,
            station=station,
            evidence={
                "forms": [form_id, account_id],
                "issued": issued,
                "polled": polled,
                "difference": polled - issued,
            },
        )
    ]
