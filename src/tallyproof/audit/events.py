"""The audit's own reading of event entries (concession, renunciation, complaint, petition,
complaint_update, joining): who may sign each, and the rules each kept when it was logged,
re-derived from the bundle alone (docs/rules.md, "Events"). A renunciation vacates its
contest here as it does in the log."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tallyproof.audit.words import named, text

if TYPE_CHECKING:
    from tallyproof.audit.replay import Replay

_ADMIN_TYPES = {"concession", "renunciation", "joining", "complaint_update"}
_FILED_TYPES = {"complaint", "petition"}
_MOVES = {
    "filed": {"hearing", "dismissed", "withdrawn"},
    "hearing": {"decided", "dismissed", "withdrawn"},
}
_HALTED = {"postponed", "suspended", "vacated"}


@dataclass
class EventLog:
    """What later events are checked against: each election's parties and candidates'
    affiliations, the complaints and their status, who conceded, who joined."""

    parties: dict[str, set[str]] = field(default_factory=dict)
    party_of: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)
    complaints: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> contest, status
    conceded: set[tuple[str, str]] = field(default_factory=set)
    joined: set[tuple[str, str]] = field(default_factory=set)

    def structure(self, eid: str, body: dict[str, Any]) -> None:
        self.parties[eid] = {p["code"] for p in body.get("parties", [])}
        self.party_of[eid] = {
            k["id"]: (k.get("party"), k.get("joined"))
            for c in body.get("contests", [])
            for k in c.get("candidates", [])
        }


def replay_event(r: Replay, seq: int, body: dict[str, Any], key_id: str) -> bytes | None:
    """Check one event entry against the replay so far, then take it in."""
    kind, eid, contest = body.get("type"), body.get("election", ""), body.get("contest", "")
    election = r.elections.get(eid)
    if kind not in _ADMIN_TYPES | _FILED_TYPES:
        r.fail(seq, "audit.rule", f"an event of unknown type {named(kind)}")
        return None
    if kind in _ADMIN_TYPES:
        public = r._admin_of(seq, body, key_id)
    else:
        public = _filer(r, seq, body, key_id)
    if election is None or contest not in election.contests:
        r.fail(seq, "audit.rule", f"an event about an unknown contest: {named(contest)}")
        return public
    roster = election.contests[contest]
    candidate = body.get("candidate")
    if kind in ("concession", "renunciation", "joining") and candidate not in roster:
        r.fail(seq, "audit.rule", f"{named(candidate)} is not a candidate in {text(contest)}")
        return public
    {
        "concession": _concession,
        "renunciation": _renunciation,
        "joining": _joining,
        "complaint": _filing,
        "petition": _filing,
        "complaint_update": _update,
    }[kind](r, seq, body)
    return public


def _filer(r: Replay, seq: int, body: dict[str, Any], key_id: str) -> bytes | None:
    """A complaint's key: registered, unrevoked, for its source, covering the contest (a
    station-scoped key through the contests its stations serve)."""
    key = r.keys.get(key_id)
    if key is None:
        r.fail(seq, "audit.key", f"signed by unregistered key {key_id}")
        return None
    if key_id in r.revoked:
        r.fail(seq, "audit.key", f"signed by revoked key {key_id}")
    if key.election != body.get("election") or key.source != body.get("source"):
        r.fail(seq, "audit.key", f"key {key_id} does not speak for {named(body.get('source'))}")
    contest = body.get("contest")
    election = r.elections.get(key.election)
    covered = key.contests is None or contest in key.contests
    if key.stations is not None and election is not None:
        served = {c for s in key.stations for c in election.stations.get(s, (set(), 0))[0]}
        covered = covered and contest in served
    if not covered:
        r.fail(seq, "audit.key", f"key {key_id} is not registered for {named(contest)}")
    return key.public


def _concession(r: Replay, seq: int, body: dict[str, Any]) -> None:
    who = (body["contest"], body["candidate"])
    if who in r.lifecycle.conceded:
        r.fail(seq, "audit.rule", f"{text(body['candidate'])} conceded twice")
    r.lifecycle.conceded.add(who)


def _renunciation(r: Replay, seq: int, body: dict[str, Any]) -> None:
    place = (body["election"], body["contest"])
    status = r.contest_status.get(place, "scheduled")
    winner = _winner(r, body["election"], body["contest"], status)
    if status == "vacated":
        r.fail(seq, "audit.rule", f"{text(body['contest'])} renounced when already vacated")
    elif winner is None:
        r.fail(seq, "audit.rule", f"a renunciation of {text(body['contest'])}, which had no winner")
    elif winner != body["candidate"]:
        r.fail(
            seq,
            "audit.rule",
            f"{text(body['candidate'])} renounced {text(body['contest'])}, won by {text(winner)}",
            field="candidate",
            expected=winner,
            found=body["candidate"],
        )
    r.contest_status[place] = "vacated"


def _winner(r: Replay, eid: str, contest: str, status: str) -> str | None:
    """The returning officer's declared leader; else, final or every station in, the
    leader of the current official forms."""
    declared = r.heads.get((eid, "", contest, "official"))
    if declared is not None:
        return _leader(r.docs[declared].votes)
    forms = [
        r.docs[doc_id]
        for (e, station, code, chain), doc_id in r.heads.items()
        if e == eid and code == contest and chain == "official" and station
    ]
    served = sum(1 for cs, _ in r.elections[eid].stations.values() if contest in cs)
    complete = len(forms) >= served
    if not forms or not (
        status in ("provisional", "final") or (complete and status not in _HALTED)
    ):
        return None
    totals: dict[str, int] = {}
    for form in forms:
        for candidate, n in form.votes.items():
            totals[candidate] = totals.get(candidate, 0) + n
    return _leader(totals)


def _leader(votes: dict[str, int]) -> str | None:
    ranked = sorted(votes.items(), key=lambda kv: -kv[1])
    if not ranked or ranked[0][1] == 0 or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


def _joining(r: Replay, seq: int, body: dict[str, Any]) -> None:
    eid, candidate = body["election"], body["candidate"]
    party, joined_before = r.lifecycle.party_of.get(eid, {}).get(candidate, (None, None))
    if party is not None:
        r.fail(seq, "audit.rule", f"{text(candidate)} joined a party but stood for {text(party)}")
    elif joined_before or (eid, candidate) in r.lifecycle.joined:
        r.fail(seq, "audit.rule", f"{text(candidate)} joined a party twice")
    if body.get("party") not in r.lifecycle.parties.get(eid, set()):
        r.fail(seq, "audit.rule", f"{text(candidate)} joined an unknown party")
    r.lifecycle.joined.add((eid, candidate))


def _filing(r: Replay, seq: int, body: dict[str, Any]) -> None:
    evidence = body.get("evidence") or []
    leaves = {d.seq for d in r.docs.values()} if any(type(e) is int for e in evidence) else set()
    missing = [e for e in evidence if e not in (leaves if type(e) is int else r.docs)]
    if not evidence or missing:
        shown = ", ".join(str(m) for m in missing[:5]) or "none"
        r.fail(seq, "audit.rule", f"a complaint citing forms the log does not hold: {shown}")
    r.lifecycle.complaints[r._doc_id()] = (body["contest"], "filed")


def _update(r: Replay, seq: int, body: dict[str, Any]) -> None:
    complaint = body.get("complaint", "")
    known = r.lifecycle.complaints.get(complaint)
    status = body.get("status", "")
    if known is None or known[0] != body["contest"]:
        r.fail(seq, "audit.rule", f"moves an unknown complaint {named(complaint)}")
        return
    if status not in _MOVES.get(known[1], set()):
        r.fail(seq, "audit.rule", f"a complaint {text(known[1])} cannot become {named(status)}")
    elif (status == "decided") != bool(body.get("outcome")):
        r.fail(seq, "audit.rule", "a decision, and only a decision, states its outcome")
    r.lifecycle.complaints[complaint] = (known[0], status)
