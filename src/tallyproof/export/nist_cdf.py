"""The NIST SP 1500-100 (version 2) Election Results Common Data Format: an election at one
tree size as one `ElectionReport` JSON document, written as it is made. docs/exports.md gives
the mapping; the tests validate it against NIST's own schema."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import count
from typing import Any

import orjson

from tallyproof import __version__
from tallyproof.domain.consolidation import ContestResult, ContestView, ResultBasis
from tallyproof.domain.status import ContestStatus
from tallyproof.domain.structure import (
    AssemblyLevel,
    Candidate,
    Contest,
    ElectionKind,
    ElectionStructure,
)
from tallyproof.service.reading import Answer, AsOf, ReadModel
from tallyproof.store.records import FormRow

FORMS_SUM = "polling-station-forms"  # the OtherType of the computed half's counts
LANGUAGE = "en"
_CHUNK_BYTES = 1 << 16
_ASSEMBLY_TYPE = {
    AssemblyLevel.NATIONAL: "national-assembly",
    AssemblyLevel.PROVINCIAL: "provincial-assembly",
    AssemblyLevel.LOCAL: "local-government",
}
_COUNTED = {ContestStatus.PROVISIONAL, ContestStatus.FINAL}
_SETTLED = {ContestStatus.FINAL, ContestStatus.POSTPONED}

StationForms = Callable[[str], Sequence[tuple[str, FormRow]]]  # contest -> (unit, counted form)


def election_report(
    model: ReadModel, election: str | None, as_of: AsOf = None, *, stations: bool = False
) -> Answer[dict[str, Any]]:
    """The report as one JSON value: what `election_report_json` writes, read back."""
    answer = election_report_json(model, election, as_of, stations=stations)
    document = orjson.loads(b"".join(answer.value))
    return Answer(document, answer.tree_size, answer.checkpoint)


def election_report_json(
    model: ReadModel, election: str | None, as_of: AsOf = None, *, stations: bool = False
) -> Answer[Iterator[bytes]]:
    """The report as JSON bytes in chunks. Results and structure are read at once (unknown
    names raise here); with `stations`, each contest's station forms are read at the same
    tree size only when the writing reaches it, in a short snapshot of their own, so a
    national document with every station's counts is never held whole."""
    results = model.results(election, as_of)
    size = results.tree_size
    structure = model.structure(election, size).value
    with model.store.read() as reader:
        checkpoint = reader.checkpoint_at_or_before(size)
    assert checkpoint is not None  # the results were answered at it: its time is the date
    eid = structure.election.id

    def station_forms(code: str) -> Sequence[tuple[str, FormRow]]:
        """A contest's counted forms by station unit, read at the size in a snapshot of the
        store's own (every index row is filtered by the size: any snapshot gives the same)."""
        with model.store.read() as reader:
            rows = reader.form_rows(eid, size, contest=code, official=True, timed=False)
        counted = {row.station: row for row in rows}  # log order: the last counted is current
        return [(_station_id(station, code), row) for station, row in counted.items()]

    report = _Report(structure, results.value, checkpoint.note, station_forms if stations else None)
    chunks = _batched(_encode(report.document(size, _utc_seconds(checkpoint.published_at))))
    return Answer(chunks, size, results.checkpoint)


@dataclass(frozen=True)
class _Lazy:
    """An array whose items are made only when the writing reaches it."""

    items: Callable[[], Iterable[Any]]


class _Frame(dict[str, Any]):
    """An object holding a `_Lazy` array: written member by member, not in one piece."""


def _encode(value: Any) -> Iterator[bytes]:
    if isinstance(value, _Lazy):
        yield b"["
        for i, item in enumerate(value.items()):
            if i:
                yield b","
            if isinstance(item, _Frame | _Lazy):
                yield from _encode(item)
            else:  # most items: a whole contest, a unit, a count
                yield orjson.dumps(item)
        yield b"]"
    elif isinstance(value, _Frame):
        yield b"{"
        for i, (key, member) in enumerate(value.items()):
            yield (b"," if i else b"") + orjson.dumps(key) + b":"
            yield from _encode(member)
        yield b"}"
    else:
        yield orjson.dumps(value)


def _batched(chunks: Iterable[bytes], size: int = _CHUNK_BYTES) -> Iterator[bytes]:
    """Pieces joined into chunks of about `size` bytes (a response's write, not an item's)."""
    pending: list[bytes] = []
    held = 0
    for chunk in chunks:
        pending.append(chunk)
        held += len(chunk)
        if held >= size:
            yield b"".join(pending)
            pending, held = [], 0
    yield b"".join(pending)


def _utc_seconds(moment: str) -> str:
    """A log time as the schema's DateTimeWithZone takes it: whole seconds, in UTC."""
    at = datetime.fromisoformat(moment.replace("Z", "+00:00")).astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(content: str) -> dict[str, Any]:
    return {
        "@type": "ElectionResults.InternationalizedText",
        "Text": [
            {"@type": "ElectionResults.LanguageString", "Content": content, "Language": LANGUAGE}
        ],
    }


def _identifier(kind: str, value: str | int) -> dict[str, Any]:
    """An `ExternalIdentifier` of type other: tallyproof's name for the object, or a fact the
    schema has no field for (a contest's status and its reason, the tree size)."""
    return {
        "@type": "ElectionResults.ExternalIdentifier",
        "Type": "other",
        "OtherType": kind,
        "Value": str(value),
    }


def _area_id(eid: str) -> str:
    return f"area:{eid}"


def _assembly_id(code: str) -> str:
    return f"assembly:{code}"


def _district_id(code: str) -> str:
    return f"district:{code}"


def _station_id(station: str, contest: str) -> str:
    """A station's part in one contest: its own ballots, its own Form 45 ('@' is in no code)."""
    return f"station:{station}@{contest}"


def _party_id(code: str) -> str:
    return f"party:{code}"


def _candidate_id(cid: str) -> str:
    return f"candidate:{cid}"


def report_status(views: Sequence[ContestView]) -> str:
    """The report's `ResultsStatus`: pre-election before any result; certified once every
    contest is final (or postponed); unofficial-complete once each is counted or postponed."""
    statuses = {v.official.status for v in views}
    if all(v.official.basis is ResultBasis.NONE for v in views):
        return "pre-election"
    if ContestStatus.FINAL in statuses and statuses <= _SETTLED:
        return "certified"
    if statuses <= {*_SETTLED, *_COUNTED}:
        return "unofficial-complete"
    return "unofficial-partial"


def count_status(view: ContestView) -> str:
    """A contest's `CountItemStatus`: completed once provisional or final, in process while
    stations report, not processed before (and when postponed)."""
    if view.official.status in _COUNTED:
        return "completed"
    return "in-process" if view.computed.stations_reported else "not-processed"


class _Report:
    """One election's `ElectionReport`, its large arrays made as they are written."""

    def __init__(
        self,
        structure: ElectionStructure,
        views: Sequence[ContestView],
        note: str,
        station_forms: StationForms | None,
    ) -> None:
        self.structure = structure
        self.views = views
        self.note = note
        self.origin = note.split("\n", 1)[0]
        self.station_forms = station_forms
        self.view_of = {v.computed.contest: v for v in views}

    def document(self, size: int, generated: str) -> _Frame:
        """The top level: who issued it (the log, by its origin) and the tree size and signed
        checkpoint it is true at; `GeneratedDate` is that checkpoint's time, so the document
        at a size is the same bytes whenever it is asked for."""
        return _Frame(
            {
                "@type": "ElectionResults.ElectionReport",
                "Format": "precinct-level" if self.station_forms else "summary-contest",
                "GeneratedDate": generated,
                "Issuer": self.origin,
                "IssuerAbbreviation": self.origin,
                "VendorApplicationId": f"tallyproof {__version__}",
                "SequenceStart": 1,
                "SequenceEnd": 1,
                "Status": report_status(self.views),
                "Notes": f"True at tree size {size} of the log {self.origin}, whose signed "
                "checkpoint is the external identifier tallyproof-checkpoint.",
                "ExternalIdentifier": [
                    _identifier("tallyproof-tree-size", size),
                    _identifier("tallyproof-checkpoint", self.note),
                ],
                "GpUnit": _Lazy(self.units),
                "Party": [self.party(p.code, p.name) for p in self.structure.parties],
                "Election": _Lazy(lambda: [self.election()]),
            }
        )

    # --- places ---------------------------------------------------------------------------

    def units(self) -> Iterator[dict[str, Any]]:
        """The election's area, its assemblies, each contest's district and, with station
        counts, each station's part in each contest."""
        s = self.structure
        yield self.area()
        for assembly in s.assemblies:
            codes = [c.code for c in s.contests if c.assembly == assembly.code]
            yield _unit(
                _assembly_id(assembly.code),
                assembly.name,
                assembly.code,
                _ASSEMBLY_TYPE[assembly.level],
                [_district_id(c) for c in codes],
            )
        for contest in s.contests:
            yield self.district(contest)
        if self.station_forms is not None:
            for contest in s.contests:
                yield from self.station_units(contest)

    def area(self) -> dict[str, Any]:
        s = self.structure
        national = any(a.level is AssemblyLevel.NATIONAL for a in s.assemblies)
        unit = _unit(
            _area_id(s.election.id),
            s.election.name,
            s.election.id,
            None if national else "election-area",
            [_assembly_id(a.code) for a in s.assemblies],
        )
        return unit | {"VotersRegistered": sum(st.registered_voters for st in s.stations)}

    def district(self, contest: Contest) -> dict[str, Any]:
        """A contest's constituency: its roll (as declared once declared) and turnout."""
        official = self.view_of[contest.code].official
        parts = []
        if self.station_forms is not None:
            parts = [_station_id(s, contest.code) for s in self.structure.stations_of(contest.code)]
        unit = _unit(_district_id(contest.code), contest.name, contest.code, "constituency", parts)
        unit["VotersRegistered"] = official.registered_total
        if official.basis is not ResultBasis.NONE:
            unit["VotersParticipated"] = official.polled
        return unit

    def station_units(self, contest: Contest) -> Iterator[dict[str, Any]]:
        for sid in self.structure.stations_of(contest.code):
            station = self.structure.station(sid)
            assert station is not None  # stations_of lists the structure's stations
            yield {
                "@type": "ElectionResults.ReportingUnit",
                "@id": _station_id(sid, contest.code),
                "Type": "polling-place",
                "Name": _text(station.name),
                "Number": sid,
                "VotersRegistered": station.registered_voters,
                "ExternalIdentifier": [
                    _identifier("tallyproof-id", sid),
                    _identifier("tallyproof-contest", contest.code),
                ],
            }

    # --- who stood ------------------------------------------------------------------------

    @staticmethod
    def party(code: str, name: str) -> dict[str, Any]:
        return {
            "@type": "ElectionResults.Party",
            "@id": _party_id(code),
            "Name": _text(name),
            "Abbreviation": _text(code),
            "ExternalIdentifier": [_identifier("tallyproof-id", code)],
        }

    def election(self) -> _Frame:
        e = self.structure.election
        kind = {ElectionKind.GENERAL: "general", ElectionKind.BY_ELECTION: "special"}
        ids = [_identifier("tallyproof-id", e.id)]
        if e.phase is not None:
            ids.append(_identifier("tallyproof-phase", e.phase))
        frame = _Frame(
            {
                "@type": "ElectionResults.Election",
                "ElectionScopeId": _area_id(e.id),
                "Name": _text(e.name),
                "StartDate": e.date,
                "EndDate": e.date,
                "Type": kind.get(e.kind, "other"),
            }
        )
        if e.kind not in kind:
            frame["OtherType"] = e.kind.value.replace("_", "-")
        frame |= {
            "ExternalIdentifier": ids,
            "Candidate": [
                self.candidate(c, k) for c in self.structure.contests for k in c.candidates
            ],
            "Contest": _Lazy(lambda: map(self.contest, self.structure.contests, count(1))),
            "BallotCounts": _Lazy(self.ballot_counts),
        }
        return frame

    def candidate(self, contest: Contest, k: Candidate) -> dict[str, Any]:
        """A candidate in one contest: the party stood for (an independent has none; the
        party that backed one is the selection's endorsement, the one joined afterwards an
        identifier), and the outcome once the contest is counted."""
        doc: dict[str, Any] = {
            "@type": "ElectionResults.Candidate",
            "@id": _candidate_id(k.id),
            "BallotName": _text(k.name),
        }
        if k.party:
            doc["PartyId"] = _party_id(k.party)
        outcome = _outcome(self.view_of[contest.code].official, k)
        if outcome:
            doc["PostElectionStatus"] = outcome
        ids = [_identifier("tallyproof-id", k.id)]
        if k.joined:
            ids.append(_identifier("tallyproof-joined", k.joined))
        return doc | {"ExternalIdentifier": ids}

    # --- the counts -----------------------------------------------------------------------

    def contest(self, contest: Contest, order: int) -> dict[str, Any]:
        """A contest with both halves: `total` is the official result (the returning
        officer's declared one once declared, else the forms' sum), `other`/FORMS_SUM the
        sum of each station's current official form; with station counts, each station's
        form as `total` at its unit."""
        view = self.view_of[contest.code]
        forms = self.station_forms(contest.code) if self.station_forms else []
        doc = {
            "@type": "ElectionResults.CandidateContest",
            "@id": f"contest:{contest.code}",
            "Name": contest.name,
            "Abbreviation": contest.code,
            "ElectionDistrictId": _district_id(contest.code),
            "VotesAllowed": 1,
            "NumberElected": 1,
            "SequenceOrder": order,
            "TotalSubUnits": view.computed.stations_total,
            "SubUnitsReported": view.computed.stations_reported,
            "CountStatus": [
                {
                    "@type": "ElectionResults.CountStatus",
                    "Type": "total",
                    "Status": count_status(view),
                }
            ],
            "ExternalIdentifier": _contest_identifiers(view),
        }
        selections = [
            self.selection(contest, view, forms, n, k) for n, k in enumerate(contest.candidates, 1)
        ]
        return doc | {"ContestSelection": selections}

    def selection(
        self,
        contest: Contest,
        view: ContestView,
        forms: Sequence[tuple[str, FormRow]],
        order: int,
        k: Candidate,
    ) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "@type": "ElectionResults.CandidateSelection",
            "@id": f"selection:{k.id}",
            "SequenceOrder": order,
            "CandidateIds": [_candidate_id(k.id)],
        }
        if k.backed_by:
            doc["EndorsementPartyIds"] = [_party_id(k.backed_by)]
        district = _district_id(contest.code)
        counts = []
        if view.official.basis is not ResultBasis.NONE:
            counts.append(_votes(district, view.official.votes.get(k.id, 0)))
        if view.computed.stations_reported:
            counts.append(_votes(district, view.computed.votes.get(k.id, 0), FORMS_SUM))
        counts += [_votes(unit, form.votes.get(k.id, 0)) for unit, form in forms]
        return doc | {"VoteCounts": counts}

    def ballot_counts(self) -> Iterator[dict[str, Any]]:
        """Ballots cast and rejected (the schema's `BallotsRejected`), per contest district as
        each half gives them and, with station counts, per station part from its form."""
        for contest in self.structure.contests:
            view = self.view_of[contest.code]
            district = _district_id(contest.code)
            if view.official.basis is not ResultBasis.NONE:
                yield _ballots(district, view.official.polled, view.official.rejected)
            if view.computed.stations_reported:
                yield _ballots(district, view.computed.polled, view.computed.rejected, FORMS_SUM)
            if self.station_forms is not None:
                for unit, form in self.station_forms(contest.code):
                    yield _ballots(unit, form.polled, form.rejected)


def _unit(
    uid: str, name: str, number: str, other: str | None, parts: Sequence[str]
) -> dict[str, Any]:
    """A ReportingUnit: the country (`other` None) or a unit of type other named by `other`."""
    unit: dict[str, Any] = {
        "@type": "ElectionResults.ReportingUnit",
        "@id": uid,
        "Type": "country" if other is None else "other",
    }
    if other is not None:
        unit["OtherType"] = other
    unit |= {
        "Name": _text(name),
        "Number": number,
        "ExternalIdentifier": [_identifier("tallyproof-id", number)],
    }
    if parts:
        unit["ComposingGpUnitIds"] = list(parts)
    return unit


def _contest_identifiers(view: ContestView) -> list[dict[str, Any]]:
    """What the schema has no field for: the contest's status and its reason, what the
    official result rests on, the declaration, and whether the two halves name different
    winners."""
    official = view.official
    ids = [
        _identifier("tallyproof-id", official.contest),
        _identifier("tallyproof-status", official.status.value),
    ]
    if official.status_reason:
        ids.append(_identifier("tallyproof-status-reason", official.status_reason))
    ids.append(_identifier("tallyproof-basis", official.basis.value))
    if view.declared is not None:
        ids.append(_identifier("tallyproof-declaration", view.declared.declaration_id))
    ids.append(_identifier("tallyproof-winner-differs", str(view.winner_differs).lower()))
    return ids


def _outcome(result: ContestResult, k: Candidate) -> str | None:
    """The schema's `PostElectionStatus`: the winner once final (the rest defeated), the
    projected winner while provisional."""
    winner = result.winner
    if winner is None:
        return None
    if result.status is ContestStatus.FINAL:
        return "winner" if winner.candidate == k.id else "defeated"
    return "projected-winner" if winner.candidate == k.id else None


def _votes(unit: str, votes: int, other: str | None = None) -> dict[str, Any]:
    return _count("ElectionResults.VoteCounts", unit, other, Count=votes)


def _ballots(unit: str, cast: int, rejected: int, other: str | None = None) -> dict[str, Any]:
    kind = "ElectionResults.BallotCounts"
    return _count(kind, unit, other, BallotsCast=cast, BallotsRejected=rejected)


def _count(kind: str, unit: str, other: str | None, **figures: int) -> dict[str, Any]:
    """A count at a unit: of type `total`, or `other` with `other` as its OtherType."""
    typed = {"Type": "total"} if other is None else {"Type": "other", "OtherType": other}
    return {"@type": kind, "GpUnitId": unit, **typed, **figures}


__all__ = [
    "FORMS_SUM",
    "count_status",
    "election_report",
    "election_report_json",
    "report_status",
]
