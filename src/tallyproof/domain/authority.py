"""Who may sign what: a key is registered for one source and a set of stations or contests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tallyproof.domain.fields import FieldReader
from tallyproof.domain.problems import Problem, Rejected
from tallyproof.domain.sources import Source, SourceKind
from tallyproof.domain.structure import ElectionStructure


@dataclass(frozen=True, slots=True)
class KeyGrant:
    """A registered key: which source it speaks for and where. None means everywhere."""

    key_id: str
    election: str
    source: Source
    stations: frozenset[str] | None
    contests: frozenset[str] | None

    def covers(self, station: str | None, contest: str) -> bool:
        if self.contests is not None and contest not in self.contests:
            return False
        if station is None:
            return True
        if self.stations is None:
            return True
        return station in self.stations


@dataclass(frozen=True, slots=True)
class KeyRegistration:
    """The body of a key registration entry (signed by the election's admin key)."""

    election: str
    name: str
    public_key: str
    source: Source
    stations: tuple[str, ...] | None
    contests: tuple[str, ...] | None
    time: str

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "election": self.election,
            "key": {"name": self.name, "public_key": self.public_key},
            "source": self.source.label,
            "time": self.time,
        }
        if self.stations is not None:
            doc["stations"] = list(self.stations)
        if self.contests is not None:
            doc["contests"] = list(self.contests)
        return doc


def parse_key_registration(doc: object, structure: ElectionStructure) -> KeyRegistration:
    """Read a registration; presiding officers need stations, returning officers contests."""
    problems: list[Problem] = []
    r = FieldReader(doc, "", problems)
    r.reject_unknown({"election", "key", "source", "stations", "contests", "time"})
    election = r.ident("election")
    key = FieldReader(r.mapping("key"), "key", problems)
    key.reject_unknown({"name", "public_key"})
    name, public_key = key.text("name", max_len=200), key.text("public_key", max_len=64)
    source = r.source("source")
    stations = _codes(r, "stations", structure.station, problems)
    contests = _codes(r, "contests", structure.contest, problems)
    time = r.timestamp("time")
    if election is not None and election != structure.election.id:
        r.fail("form.unknown_election", "election", f"{election!r} is not this election")
    if source is not None and source.kind is SourceKind.PRESIDING_OFFICER and not stations:
        r.fail("key.scope_required", "stations", "a presiding officer's key names its stations")
    if source is not None and source.kind is SourceKind.RETURNING_OFFICER and not contests:
        r.fail("key.scope_required", "contests", "a returning officer's key names its contests")
    if problems:
        raise Rejected(problems)
    assert election and name and public_key and source and time
    return KeyRegistration(election, name, public_key, source, stations, contests, time)


def _codes(
    r: FieldReader, key: str, lookup: Any, problems: list[Problem]
) -> tuple[str, ...] | None:
    if key not in r.doc:
        return None
    codes = []
    for i, code in enumerate(r.items(key)):
        if not isinstance(code, str) or lookup(code) is None:
            problems.append(
                Problem(f"key.unknown_{key[:-1]}", f"{key}[{i}]", f"no {key[:-1]} {code!r}")
            )
        else:
            codes.append(code)
    return tuple(codes)


def check_signer(
    grant: KeyGrant | None,
    revoked: bool,
    source: Source,
    station: str | None,
    contest: str,
    election: str,
) -> list[Problem]:
    """Refuse a document unless its key is registered, unrevoked, for this source and place.
    `station` None marks a contest-wide document (a declared result, a claim report), which
    a key scoped to stations never signs (docs/rules.md, "Who may sign what")."""
    if grant is None:
        return [Problem("signature.unknown_key", "signature.key", "the key is not registered")]
    if revoked:
        return [Problem("signature.revoked", "signature.key", f"key {grant.key_id} was revoked")]
    if grant.election != election:
        return [
            Problem(
                "signature.wrong_election",
                "signature.key",
                f"key {grant.key_id} is registered for {grant.election}, not {election}",
            )
        ]
    if grant.source.kind is not source.kind or grant.source.name != source.name:
        return [
            Problem(
                "signature.wrong_source",
                "source",
                f"key {grant.key_id} speaks for {grant.source.label}, not {source.label}",
            )
        ]
    if station is None and grant.stations is not None:
        return [
            Problem(
                "signature.station_scope",
                "signature.key",
                f"key {grant.key_id} is scoped to stations: it signs their forms, not a "
                "contest-wide document",
            )
        ]
    if not grant.covers(station, contest):
        where = f"station {station}" if station else f"contest {contest}"
        return [
            Problem(
                "signature.out_of_scope",
                "station" if station else "contest",
                f"key {grant.key_id} is not registered for {where} ({contest})",
            )
        ]
    return []


def grant_of(key_id: str, reg: KeyRegistration) -> KeyGrant:
    return KeyGrant(
        key_id,
        reg.election,
        reg.source,
        frozenset(reg.stations) if reg.stations is not None else None,
        frozenset(reg.contests) if reg.contests is not None else None,
    )


@dataclass(frozen=True, slots=True)
class KeyRevocation:
    election: str
    key_id: str
    reason: str
    time: str

    def document(self) -> dict[str, Any]:
        return {
            "election": self.election,
            "key_id": self.key_id,
            "reason": self.reason,
            "time": self.time,
        }


def parse_key_revocation(doc: object) -> KeyRevocation:
    problems: list[Problem] = []
    r = FieldReader(doc, "", problems)
    r.reject_unknown({"election", "key_id", "reason", "time"})
    election, key_id = r.ident("election"), r.ident("key_id")
    reason, time = r.text("reason", max_len=500), r.timestamp("time")
    if problems:
        raise Rejected(problems)
    assert election and key_id and reason and time
    return KeyRevocation(election, key_id, reason, time)
