"""Events in a contest's life after the count: a concession, a winner's renunciation (the
seat becomes vacated), complaints and election petitions citing forms as evidence and
moving through a tribunal's states, and an independent joining a party. Each is a signed
ledger entry; nothing is changed in place, a complaint's life is the entries that name it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tallyproof.domain.fields import FieldReader
from tallyproof.domain.problems import Problem, Rejected
from tallyproof.domain.sources import Source
from tallyproof.domain.status import ContestStatus
from tallyproof.domain.structure import ElectionStructure

CONCESSION, RENUNCIATION, JOINING = "concession", "renunciation", "joining"
COMPLAINT, PETITION, COMPLAINT_UPDATE = "complaint", "petition", "complaint_update"
EVENT_TYPES = {CONCESSION, RENUNCIATION, JOINING, COMPLAINT, PETITION, COMPLAINT_UPDATE}
FILED_TYPES = {COMPLAINT, PETITION}  # the ones filed by a source and moved by updates

# Who signs each type (docs/rules.md, "Who may sign what"): the commission (the election's
# admin key) records what a candidate or a tribunal did; a complaint or a petition is filed
# by any registered key whose grant covers the contest (a station-scoped key: the contests
# its stations serve).
ADMIN, REGISTERED = "admin", "registered"
EVENT_SIGNERS: Mapping[str, str] = {
    CONCESSION: ADMIN,
    RENUNCIATION: ADMIN,
    JOINING: ADMIN,
    COMPLAINT_UPDATE: ADMIN,
    COMPLAINT: REGISTERED,
    PETITION: REGISTERED,
}

# A complaint's state machine: filed -> hearing -> decided; dismissed or withdrawn on the way.
FILED, HEARING, DECIDED, DISMISSED, WITHDRAWN = (
    "filed",
    "hearing",
    "decided",
    "dismissed",
    "withdrawn",
)
COMPLAINT_MOVES: Mapping[str, frozenset[str]] = {
    FILED: frozenset({HEARING, DISMISSED, WITHDRAWN}),
    HEARING: frozenset({DECIDED, DISMISSED, WITHDRAWN}),
    DECIDED: frozenset(),
    DISMISSED: frozenset(),
    WITHDRAWN: frozenset(),
}
_DECLARABLE = {ContestStatus.PROVISIONAL, ContestStatus.FINAL}
_HEX_ID = re.compile(r"[0-9a-f]{64}")
_FIELDS = {
    "election",
    "type",
    "contest",
    "time",
    "candidate",
    "statement",
    "url",
    "party",
    "date",
    "source",
    "summary",
    "evidence",
    "complaint",
    "status",
    "outcome",
}
_MAX_EVIDENCE = 200

Evidence = str | int  # a form's id, or its leaf index in the log


@dataclass(frozen=True, slots=True)
class Event:
    """One event as signed. Fields a type does not use are empty."""

    election: str
    type: str
    contest: str
    time: str
    candidate: str = ""
    statement: str = ""
    url: str = ""
    party: str = ""
    date: str = ""
    source: Source | None = None
    summary: str = ""
    evidence: tuple[Evidence, ...] = ()
    complaint: str = ""  # the complaint or petition an update moves, by its entry id
    status: str = ""  # an update's new status
    outcome: str = ""

    @property
    def signer(self) -> str:
        return EVENT_SIGNERS[self.type]


@dataclass(frozen=True, slots=True)
class EventFacts:
    """What the log says that an event's rules consult, gathered by whoever checks it (the
    writer from its state, the audit from its replay)."""

    status: ContestStatus  # the contest's ordered status
    winner: str | None  # the declared winner (or, declared final or complete, the leader)
    conceded: frozenset[str]  # candidates of the contest who conceded already
    joined: frozenset[str]  # candidates who joined a party already
    complaint: tuple[str, str, str] | None  # the update's complaint: (type, contest, status)
    missing: tuple[Evidence, ...]  # cited evidence the log has no form for


def parse_event(doc: object, structure: ElectionStructure) -> Event:
    """Read an event: the fields of its type, every one named in a refusal."""
    problems: list[Problem] = []
    r = FieldReader(doc, "", problems)
    r.reject_unknown(_FIELDS)
    election = r.ident("election")
    kind = r.choice("type", EVENT_TYPES)
    contest = r.ident("contest")
    time = r.timestamp("time")
    if election is not None and election != structure.election.id:
        r.fail("form.unknown_election", "election", f"{election!r} is not this election")
    if contest is not None and structure.contest(contest) is None:
        r.fail("event.unknown_contest", "contest", f"no contest {contest!r}")
    fields: dict[str, Any] = {}
    if kind in (CONCESSION, RENUNCIATION, JOINING):
        fields = _candidate_fields(r, kind, structure, contest)
    elif kind in FILED_TYPES:
        fields = _filing_fields(r)
    elif kind == COMPLAINT_UPDATE:
        fields = _update_fields(r)
    if problems:
        raise Rejected(problems)
    assert election and kind and contest and time
    return Event(election, kind, contest, time, **fields)


def _candidate_fields(
    r: FieldReader, kind: str, structure: ElectionStructure, contest: str | None
) -> dict[str, Any]:
    candidate = r.ident("candidate") or ""
    found = structure.candidate(candidate) if candidate else None
    if candidate and contest and (found is None or found[0].code != contest):
        r.fail("event.unknown_candidate", "candidate", f"no candidate {candidate!r} in {contest}")
    out: dict[str, Any] = {"candidate": candidate}
    if kind == JOINING:
        party = r.ident("party") or ""
        if party and party not in {p.code for p in structure.parties}:
            r.fail("event.unknown_party", "party", f"no party {party!r} in this election")
        out |= {"party": party, "date": r.date("date") or ""}
    else:
        out |= {
            "statement": r.text("statement", required=False, max_len=2000) or "",
            "url": r.text("url", required=False, max_len=500) or "",
        }
    return out


def _filing_fields(r: FieldReader) -> dict[str, Any]:
    evidence: list[Evidence] = []
    items = r.items("evidence")
    if not items and "evidence" in r.doc:
        r.fail("event.evidence_required", "evidence", "cite at least one form")
    if len(items) > _MAX_EVIDENCE:
        r.fail("schema.too_long", "evidence", f"at most {_MAX_EVIDENCE} forms")
        items = []
    for i, item in enumerate(items):
        if _is_reference(item):
            evidence.append(item)
        else:
            r.fail(
                "schema.type", f"evidence[{i}]", "a form's id (64 hex) or leaf index (0 or more)"
            )
    if "status" in r.doc and r.doc.get("status") != FILED:
        r.fail("event.illegal_move", "status", "a complaint or petition starts as 'filed'")
    return {
        "source": r.source("source"),
        "summary": r.text("summary", max_len=2000) or "",
        "evidence": tuple(evidence),
        "status": FILED,
        "url": r.text("url", required=False, max_len=500) or "",
    }


def _is_reference(item: object) -> bool:
    """A form's id (64 hex) or a leaf index (a whole number, 0 or more)."""
    if type(item) is int:
        return item >= 0
    return isinstance(item, str) and _HEX_ID.fullmatch(item) is not None


def _update_fields(r: FieldReader) -> dict[str, Any]:
    complaint = r.text("complaint", max_len=64) or ""
    if complaint and not _HEX_ID.fullmatch(complaint):
        r.fail("schema.type", "complaint", "the complaint's entry id (64 hex)")
    status = r.choice("status", set(COMPLAINT_MOVES) - {FILED}) or ""
    outcome = r.text("outcome", required=status == DECIDED, max_len=2000) or ""
    if outcome and status != DECIDED:
        r.fail("event.outcome_unexpected", "outcome", "only a decision has an outcome")
    return {"complaint": complaint, "status": status, "outcome": outcome}


def check_event(event: Event, structure: ElectionStructure, facts: EventFacts) -> list[Problem]:
    """The rules an event keeps against the log before it (docs/rules.md, "Events")."""
    if event.type == RENUNCIATION:
        return _check_renunciation(event, facts)
    if event.type == CONCESSION and event.candidate in facts.conceded:
        return [
            Problem("event.already_conceded", "candidate", f"{event.candidate} conceded already")
        ]
    if event.type == JOINING:
        return _check_joining(event, structure, facts)
    if event.type in FILED_TYPES and facts.missing:
        shown = ", ".join(str(m) for m in facts.missing[:5])
        return [Problem("event.unknown_evidence", "evidence", f"no form {shown} in the log")]
    if event.type == COMPLAINT_UPDATE:
        return _check_update(event, facts)
    return []


def _check_renunciation(event: Event, facts: EventFacts) -> list[Problem]:
    if facts.status is ContestStatus.VACATED:
        return [Problem("event.already_vacated", "contest", f"{event.contest} is vacated already")]
    if facts.winner is None:
        return [
            Problem(
                "event.no_declared_winner",
                "contest",
                f"{event.contest} has no declared result and is not provisional or final",
            )
        ]
    if event.candidate != facts.winner:
        return [
            Problem(
                "event.not_the_winner",
                "candidate",
                f"{event.candidate} did not win {event.contest} ({facts.winner} did)",
            )
        ]
    return []


def _check_joining(event: Event, structure: ElectionStructure, facts: EventFacts) -> list[Problem]:
    found = structure.candidate(event.candidate)
    assert found is not None  # parse_event checked it
    candidate = found[1]
    if not candidate.independent:
        return [
            Problem(
                "event.not_independent",
                "candidate",
                f"{event.candidate} stood for {candidate.party}, not as an independent",
            )
        ]
    if candidate.joined or event.candidate in facts.joined:
        return [Problem("event.already_joined", "candidate", f"{event.candidate} joined already")]
    return []


def _check_update(event: Event, facts: EventFacts) -> list[Problem]:
    if facts.complaint is None:
        return [
            Problem("event.unknown_complaint", "complaint", f"no complaint {event.complaint[:12]}")
        ]
    _, contest, current = facts.complaint
    if contest != event.contest:
        return [Problem("event.unknown_complaint", "contest", f"the complaint is about {contest}")]
    if event.status not in COMPLAINT_MOVES[current]:
        return [
            Problem(
                "event.illegal_move",
                "status",
                f"a complaint {current} cannot become {event.status}",
            )
        ]
    return []


def winner_of(votes: Mapping[str, int]) -> str | None:
    """The candidate ahead: some votes and more than anyone else (a tie has no winner)."""
    ranked = sorted(votes.items(), key=lambda kv: -kv[1])
    if not ranked or ranked[0][1] == 0 or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


def declarable(status: ContestStatus, complete: bool) -> bool:
    """Whether a contest without a declared result has a winner to renounce: ordered final,
    or provisional (ordered, or every station reported)."""
    return status in _DECLARABLE or (complete and status not in _HALTED)


_HALTED = {ContestStatus.POSTPONED, ContestStatus.SUSPENDED, ContestStatus.VACATED}


def vacated_reason(event: Event) -> str:
    """The reason the vacated status carries."""
    said = f": {event.statement}" if event.statement else ""
    return f"{event.candidate} renounced the seat{said}"[:500]


def summary(event: Event) -> str:
    """An event in words, for a contest's history."""
    if event.type == CONCESSION:
        return f"{event.candidate} conceded" + (f": {event.statement}" if event.statement else "")
    if event.type == RENUNCIATION:
        return vacated_reason(event) + "; the seat is vacated"
    if event.type == JOINING:
        return f"{event.candidate} joined {event.party} on {event.date}"
    if event.type in FILED_TYPES:
        by = event.source.label if event.source else "?"
        cited = len(event.evidence)
        return f"{event.type} filed by {by}, citing {cited} form(s): {event.summary}"
    outcome = f": {event.outcome}" if event.outcome else ""
    return f"complaint {event.complaint[:12]} {event.status}{outcome}"


def event_detail(event: Event) -> dict[str, Any]:
    """The event's own fields for a reader (the signed document, less what is empty)."""
    doc: dict[str, Any] = {"type": event.type, "time": event.time}
    for name in ("candidate", "statement", "url", "party", "date", "summary", "complaint"):
        if getattr(event, name):
            doc[name] = getattr(event, name)
    if event.source is not None:
        doc["source"] = event.source.label
    if event.evidence:
        doc["evidence"] = list(event.evidence)
    if event.status:
        doc["status"] = event.status
    if event.outcome:
        doc["outcome"] = event.outcome
    return doc
