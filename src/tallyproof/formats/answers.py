"""The JSON shapes of the read side's answers (docs/formats.md): one place, so the CLI's
`--json`, the HTTP API, the static files and the bundle say the same thing the same way."""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from tallyproof.domain.claims import StoredClaim
from tallyproof.domain.consolidation import ContestResult, ContestView, RePolls
from tallyproof.domain.structure import Candidate, ElectionStructure, PollingStation
from tallyproof.service.log import Proven
from tallyproof.service.reading import Answer, Change, FindingLife, FormEntry, Standings


def answer_record(answer: Answer[Any], key: str, value: Any) -> dict[str, Any]:
    """Every answer names the tree size it is true at and the checkpoint of that size."""
    return {"tree_size": answer.tree_size, "checkpoint": answer.checkpoint, key: value}


def result_record(r: ContestResult) -> dict[str, Any]:
    """A contest's published numbers, as the bundle (and `results --json`) carries them."""
    return {
        "contest": r.contest,
        "status": r.status.value,
        "basis": r.basis.value,
        "votes": {s.candidate: s.votes for s in r.ranking},
        "rejected": r.rejected,
        "polled": r.polled,
        "stations_reported": r.stations_reported,
        "stations_total": r.stations_total,
        "winner": r.winner.candidate if r.winner else None,
    }


def view_record(v: ContestView) -> dict[str, Any]:
    """A contest as the bundle publishes it: the official result (the returning officer's
    declared one once declared, else the forms' sum), the forms' sum beside it, and the
    declaration the official result rests on."""
    declared = None
    if v.declared is not None:
        d = v.declared
        declared = {"declaration": d.declaration_id, "leaf_index": d.seq, "source": d.source}
    return result_record(v.official) | {
        "computed": result_record(v.computed),
        "declared": declared,
        "winner_differs": v.winner_differs,
    }


def result_dict(r: ContestResult) -> dict[str, Any]:
    """The published record of a result, with what a reader also wants to see."""
    return result_record(r) | {
        "name": r.name,
        "assembly": r.assembly,
        "status_reason": r.status_reason,
        "leader": r.leader.candidate if r.leader else None,
        "margin": r.margin,
        "turnout": r.turnout,
        "ranking": [
            {"candidate": s.candidate, "name": s.name, "side": s.affiliation, "votes": s.votes}
            for s in r.ranking
        ],
    }


def view_dict(v: ContestView) -> dict[str, Any]:
    """The official result's record, with both halves and their difference."""
    declared = None
    if v.declared is not None:
        d = v.declared
        declared = result_dict(d.result) | {
            "declaration": d.declaration_id,
            "leaf_index": d.seq,
            "source": d.source,
            "time": d.time,
            "received_at": d.received_at,
        }
    return result_dict(v.official) | {
        "declared": declared,
        "computed": result_dict(v.computed),
        "differences": v.differences,
        "winner_differs": v.winner_differs,
        "re_polls": re_polls_dict(v.re_polls),
    }


def re_polls_dict(r: RePolls | None) -> dict[str, Any] | None:
    """The computed totals before the re-polls (polling-day forms) and after, per candidate
    and per re-polled station; None for a contest with no re-poll ordered."""
    if r is None:
        return None
    return {
        "before": dict(r.before),
        "after": dict(r.after),
        "change": r.change,
        "stations": [
            {"station": s.station, "before": dict(s.before), "after": s.after} for s in r.stations
        ],
    }


def contest_summary(v: ContestView) -> dict[str, Any]:
    """A contest's line in a list: status, stations reported x/y, leader, and whether the
    declared result and the forms' sum name different winners."""
    r, c = v.official, v.computed
    top = r.winner or r.leader
    return {
        "contest": r.contest,
        "name": r.name,
        "assembly": r.assembly,
        "status": r.status.value,
        "status_reason": r.status_reason,
        "basis": r.basis.value,
        "stations_reported": c.stations_reported,
        "stations_total": c.stations_total,
        "declared": v.declared is not None,
        "winner_differs": v.winner_differs,
        "leader": top.candidate if top else None,
        "leader_name": top.name if top else None,
        "leader_side": top.affiliation if top else None,
        "margin": r.margin if top else None,
    }


def standings_document(answer: Answer[Standings], assembly: str | None = None) -> dict[str, Any]:
    """Seats per assembly (declared winners where declared, else the forms' winners) and
    beside them what the forms alone give, at the answer's size; `assembly` keeps one
    assembly's rows (GET .../standings, and ?assembly=; `standings --json`)."""
    s = answer.value
    keep = [r for r in s.rows if assembly is None or r.assembly == assembly]
    by_forms = [r for r in s.by_forms if assembly is None or r.assembly == assembly]
    return {
        "tree_size": answer.tree_size,
        "checkpoint": answer.checkpoint,
        "standings": [asdict(r) for r in keep],
        "by_forms": [asdict(r) for r in by_forms],
    }


def elections_document(answer: Answer[list[ElectionStructure]]) -> dict[str, Any]:
    """Every election in the log (GET /v1/elections)."""
    return answer_record(answer, "elections", [election_record(s) for s in answer.value])


def life_dict(life: FindingLife) -> dict[str, Any]:
    return life.finding.as_dict() | {
        "open": life.open,
        "opened_size": life.opened_size,
        "opened_by": life.opened_by,
        "resolved_size": life.resolved_size,
        "resolved_by": life.resolved_by,
    }


def form_dict(e: FormEntry) -> dict[str, Any]:
    r = e.record
    return {
        "form_id": r.form_id,
        "leaf_index": r.seq,
        "station": r.station,
        "contest": r.contest,
        "source": r.source,
        "official": r.official,
        "current": e.current,
        "supersedes": r.supersedes,
        "reason": r.reason,
        "votes": dict(r.votes),
        "rejected": r.rejected,
        "polled": r.polled,
        "issued": r.issued,
        "valid": r.valid,
        "evidence": dict(r.evidence) if r.evidence else None,
        "received_at": r.received_at,
        "differs_from_official": list(e.differs_from_official),
    }


def change_dict(c: Change) -> dict[str, Any]:
    return {
        "leaf_index": c.seq,
        "tree_size": c.tree_size,
        "received_at": c.received_at,
        "kind": c.kind,
        "entry_id": c.entry_id,
        "summary": c.summary,
        "opened": [f.as_dict() for f in c.opened],
        "resolved": [f.as_dict() for f in c.resolved],
    }


def election_record(s: ElectionStructure) -> dict[str, Any]:
    """An election as a list names it: what it is and how large."""
    e = s.election
    seats = Counter(c.assembly for c in s.contests)
    return {
        "id": e.id,
        "name": e.name,
        "kind": str(e.kind),
        "date": e.date,
        "phase": e.phase,
        "assemblies": [
            {"code": a.code, "name": a.name, "level": str(a.level), "contests": seats[a.code]}
            for a in s.assemblies
        ],
        "parties": [{"code": p.code, "name": p.name} for p in s.parties],
        "contests": len(s.contests),
        "stations": len(s.stations),
        "registered_voters": sum(st.registered_voters for st in s.stations),
    }


def station_record(st: PollingStation) -> dict[str, Any]:
    return {
        "id": st.id,
        "name": st.name,
        "contests": list(st.contests),
        "registered_voters": st.registered_voters,
        "region": st.region,
    }


def contest_document(
    answer: Answer[ContestView], forms: Sequence[FormEntry], structure: ElectionStructure
) -> dict[str, Any]:
    """A contest: declared beside computed, its stations, and every form of it from every
    source (GET /v1/elections/{election}/contests/{code})."""
    code = answer.value.computed.contest
    reported = {e.record.station for e in forms if e.record.official and e.current}
    stations = [
        station_record(st) | {"reported": st.id in reported}
        for st in (structure.station(s) for s in structure.stations_of(code))
        if st is not None
    ]
    contest = structure.contest(code)
    candidates = [candidate_record(k) for k in contest.candidates] if contest else []
    doc = view_dict(answer.value) | {
        "candidates": candidates,
        "stations": stations,
        "forms": [form_dict(e) for e in forms],
    }
    return answer_record(answer, "contest", doc)


def candidate_record(k: Candidate) -> dict[str, Any]:
    """A candidate as the structure names them, with the Urdu name where it gives one."""
    return {
        "id": k.id,
        "name": k.name,
        "name_ur": k.name_ur,
        "party": k.party,
        "backed_by": k.backed_by,
        "side": k.affiliation,
    }


def station_document(
    structure: ElectionStructure,
    station: str,
    forms: Sequence[dict[str, Any]],
    size: int,
    note: str,
) -> dict[str, Any]:
    """A station and every form of it (GET .../stations/{station}), from its forms' records."""
    found = structure.station(station)
    assert found is not None, station
    return {
        "tree_size": size,
        "checkpoint": note,
        "station": station_record(found) | {"forms": list(forms)},
    }


def lives_document(
    lives: Sequence[FindingLife], size: int, note: str, total: int | None = None
) -> dict[str, Any]:
    """Findings, open and resolved, with their lives (GET .../findings?state=all); `total`
    counts those matching before a limit cut the list (all of them without one)."""
    found = [life_dict(x) for x in lives]
    doc = {"tree_size": size, "checkpoint": note, "findings": found}
    return doc | {"total": len(found) if total is None else total}


def history_document(changes: Sequence[Change], size: int, note: str) -> dict[str, Any]:
    """A contest's changes (GET .../contests/{code}/history)."""
    return {"tree_size": size, "checkpoint": note, "history": [change_dict(c) for c in changes]}


def contests_document(answer: Answer[list[ContestView]]) -> dict[str, Any]:
    """Every contest's line (GET .../contests)."""
    return answer_record(answer, "contests", [contest_summary(v) for v in answer.value])


def stored_claim_dict(c: StoredClaim) -> dict[str, Any]:
    """A filed claim: the claim as its report states it, who said it and when."""
    return c.claim.document() | {
        "claim_id": c.claim_id,
        "report": c.report_id,
        "outlet": c.outlet,
        "said_by": c.said_by,
        "published": c.published,
    }


def proven_dict(p: Proven) -> dict[str, Any]:
    """A leaf as logged (base64) with its inclusion proof (base64 hashes)."""
    return {
        "leaf_index": p.leaf_index,
        "leaf": base64.b64encode(p.leaf_data).decode(),
        "inclusion_proof": [base64.b64encode(h).decode() for h in p.proof],
    }
