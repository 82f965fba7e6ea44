"""Reconciliation: where sources, stations and declared totals disagree, a Finding says so."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from tallyproof.domain.consolidation import Consolidation, FormRecord
from tallyproof.domain.declarations import DeclaredResult, declaration_findings
from tallyproof.domain.findings import Finding, Severity
from tallyproof.domain.structure import Contest


@dataclass(frozen=True, slots=True)
class DeclarationRecord:
    """An accepted declaration with its content id."""

    declaration_id: str
    seq: int
    declaration: DeclaredResult


def reconcile_declaration(
    contest: Contest,
    computed: Consolidation,
    heads: Mapping[str, FormRecord],
    record: DeclarationRecord,
) -> list[Finding]:
    """Compare a declared total with the sum of the station forms, candidate by candidate.
    With a per-station breakdown, name the stations whose numbers moved in between."""
    if not computed.stations_reported:
        return []
    decl = record.declaration
    complete = computed.stations_reported >= computed.stations_total
    moved = _moved_stations(decl, heads)
    names = {k.id: k.name for k in contest.candidates}
    winner_changes = _leader(decl.votes) != _leader(computed.votes)
    findings: list[Finding] = []
    if winner_changes and decl.chain == "official":
        findings.append(_winner_differs(contest, computed, record, moved, complete))
    for candidate, declared in decl.votes.items():
        summed = computed.votes.get(candidate, 0)
        stations = [m for m in moved if m["candidate"] == candidate]
        if declared == summed and not stations:
            continue
        severity = Severity.MEDIUM
        if complete:
            severity = Severity.CRITICAL if winner_changes else Severity.HIGH
        findings.append(
            Finding(
                code="consolidation.mismatch" if declared != summed else "consolidation.offsetting",
                severity=severity,
                message=_mismatch_message(
                    contest, names[candidate], decl, summed, declared, stations, computed, complete
                ),
                contest=contest.code,
                candidate=candidate,
                evidence={
                    "declaration": record.declaration_id,
                    "source": decl.source.label,
                    "declared": declared,
                    "station_forms_total": summed,
                    "difference": declared - summed,
                    "stations_reported": computed.stations_reported,
                    "stations_total": computed.stations_total,
                    "stations": stations,
                    "forms": sorted({s["form"] for s in stations if s.get("form")}),
                },
            )
        )
    return findings


def _winner_differs(
    contest: Contest,
    computed: Consolidation,
    record: DeclarationRecord,
    moved: Sequence[Mapping[str, Any]],
    complete: bool,
) -> Finding:
    """Form 47 names one winner and the polling-station forms another."""
    decl = record.declaration
    names = {k.id: k.name for k in contest.candidates}
    declared, summed = _leader(decl.votes), _leader(computed.votes)

    def who(candidate: str | None, votes: Mapping[str, int]) -> str:
        return f"{names[candidate]} ({votes[candidate]:,})" if candidate else "a tie"

    message = (
        f"{contest.code}: Form 47 declares {who(declared, decl.votes)}; the polling-station "
        f"forms give {who(summed, computed.votes)}"
    )
    stations = sorted({str(m["station"]) for m in moved})
    if stations:
        message += f"; stations whose numbers moved: {', '.join(stations[:10])}"
    if not complete:
        missing = computed.stations_total - computed.stations_reported
        message += f"; {_not_reported(missing)}"
    return Finding(
        code="consolidation.winner_differs",
        severity=Severity.CRITICAL if complete else Severity.HIGH,
        message=message,
        contest=contest.code,
        evidence={
            "declaration": record.declaration_id,
            "declared_winner": declared,
            "computed_winner": summed,
            "declared": dict(decl.votes),
            "computed": dict(computed.votes),
            "stations_reported": computed.stations_reported,
            "stations_total": computed.stations_total,
            "stations": stations,
        },
    )


def _mismatch_message(
    contest: Contest,
    name: str,
    decl: DeclaredResult,
    summed: int,
    declared: int,
    stations: Sequence[Mapping[str, Any]],
    computed: Consolidation,
    complete: bool,
) -> str:
    text = (
        f"{contest.code}: {name} has {summed:,} votes in the polling-station forms but "
        f"{declared:,} in the declaration by {decl.source.label} ({declared - summed:+,})"
    )
    if stations:
        listed = ", ".join(str(s["station"]) for s in stations[:10])
        more = f" and {len(stations) - 10} more" if len(stations) > 10 else ""
        text += f"; stations whose numbers differ: {listed}{more}"
    if not complete:
        missing = computed.stations_total - computed.stations_reported
        text += f"; {_not_reported(missing)}"
    return text


def _moved_stations(decl: DeclaredResult, heads: Mapping[str, FormRecord]) -> list[dict[str, Any]]:
    """Station-level differences between the declaration's breakdown and the station forms."""
    moved: list[dict[str, Any]] = []
    for station, declared_votes in sorted(decl.stations.items()):
        record = heads.get(station)
        for candidate, declared in sorted(declared_votes.items()):
            form_votes = record.form.votes.get(candidate, 0) if record else None
            if form_votes != declared:
                moved.append(
                    {
                        "station": station,
                        "candidate": candidate,
                        "form": record.form_id if record else None,
                        "form_votes": form_votes,
                        "declared_votes": declared,
                    }
                )
    return moved


def _leader(votes: Mapping[str, int]) -> str | None:
    ranked = sorted(votes.items(), key=lambda kv: -kv[1])
    if not ranked or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


def reconcile_station(
    station: str, contest: Contest, heads: Mapping[str, FormRecord]
) -> list[Finding]:
    """Every pair of sources whose current forms for this station disagree is a finding
    (an agent's copy of Form 45 against the presiding officer's, an observer's, a report)."""
    findings: list[Finding] = []
    names = {k.id: k.name for k in contest.candidates}
    for (chain_a, a), (chain_b, b) in combinations(sorted(heads.items()), 2):
        diffs = _form_differences(a, b)
        if not diffs:
            continue
        official = "official" in (chain_a, chain_b)
        detail = "; ".join(
            f"{names.get(d['field'], d['field'])}: {d['a']:,} vs {d['b']:,}" for d in diffs[:6]
        )
        findings.append(
            Finding(
                code="station.source_conflict",
                severity=Severity.HIGH if official else Severity.MEDIUM,
                message=(
                    f"{contest.code} at {station}: {a.form.source.label} and "
                    f"{b.form.source.label} disagree — {detail}"
                ),
                contest=contest.code,
                station=station,
                evidence={
                    "forms": [a.form_id, b.form_id],
                    "sources": [a.form.source.label, b.form.source.label],
                    "differences": diffs,
                },
            )
        )
    return findings


def _form_differences(a: FormRecord, b: FormRecord) -> list[dict[str, Any]]:
    """Numbers both forms give and that differ; a partial copy is not a disagreement."""
    diffs = [
        {"field": c, "a": a.form.votes[c], "b": b.form.votes[c]}
        for c in sorted(set(a.form.votes) & set(b.form.votes))
        if a.form.votes[c] != b.form.votes[c]
    ]
    for key in ("rejected", "polled"):
        x, y = getattr(a.form, key), getattr(b.form, key)
        if x != y:
            diffs.append({"field": key, "a": x, "b": y})
    return diffs


def reconcile_declarations(contest: Contest, records: Sequence[DeclarationRecord]) -> list[Finding]:
    """Two sources declaring different totals for the same contest (e.g. the commission's
    Form 47 against a party's sum of its Form 45 copies): one finding per pair."""
    names = {k.id: k.name for k in contest.candidates}
    findings: list[Finding] = []
    ordered = sorted(records, key=lambda r: r.declaration.source.label)
    for a, b in combinations(ordered, 2):
        da, db = a.declaration, b.declaration
        diffs = [
            {"candidate": c, "a": da.votes[c], "b": db.votes[c]}
            for c in sorted(set(da.votes) & set(db.votes))
            if da.votes[c] != db.votes[c]
        ]
        if not diffs:
            continue
        detail = "; ".join(f"{names[d['candidate']]}: {d['a']:,} vs {d['b']:,}" for d in diffs)
        swap = _leader(da.votes) != _leader(db.votes)
        findings.append(
            Finding(
                code="declaration.source_conflict",
                severity=Severity.CRITICAL if swap else Severity.HIGH,
                message=(
                    f"{contest.code}: {da.source.label} and {db.source.label} declare different "
                    f"totals — {detail}" + ("; they disagree on who won" if swap else "")
                ),
                contest=contest.code,
                evidence={
                    "declarations": [a.declaration_id, b.declaration_id],
                    "sources": [da.source.label, db.source.label],
                    "differences": diffs,
                    "winner_differs": swap,
                },
            )
        )
    return findings


def declaration_reconciliation(
    contest: Contest,
    computed: Consolidation,
    official: Mapping[str, FormRecord],
    records: Sequence[DeclarationRecord],
) -> list[Finding]:
    """Every finding about a contest's declarations: each against the station forms, each's
    own ballot arithmetic, and the declaring sources against each other."""
    found: list[Finding] = []
    for record in records:
        found += reconcile_declaration(contest, computed, official, record)
        found += declaration_findings(record.declaration, record.declaration_id)
    return found + reconcile_declarations(contest, records)


def _not_reported(missing: int) -> str:
    """ "1 station has", "2 stations have" not reported yet."""
    return (
        f"{missing:,} station has not reported yet"
        if missing == 1
        else (f"{missing:,} stations have not reported yet")
    )
