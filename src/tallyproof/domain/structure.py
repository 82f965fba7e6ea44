"""The election structure: election, parties, assemblies, contests, candidates, polling stations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple

from tallyproof.domain.fields import IDENT, MAX_COUNT, FieldReader, well_formed
from tallyproof.domain.problems import Problem, Rejected


class ElectionKind(StrEnum):
    GENERAL = "general"
    LOCAL_GOVERNMENT = "local_government"
    BY_ELECTION = "by_election"


class AssemblyLevel(StrEnum):
    NATIONAL = "national"
    PROVINCIAL = "provincial"
    LOCAL = "local"


@dataclass(frozen=True, slots=True)
class Election:
    id: str
    name: str
    kind: ElectionKind
    date: str
    phase: int | None = None


@dataclass(frozen=True, slots=True)
class Party:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Assembly:
    """A house whose seats are contested: NA, PP (Punjab), PS, PK, PB, or a local council."""

    code: str
    name: str
    level: AssemblyLevel


@dataclass(frozen=True, slots=True)
class Candidate:
    """A person in one contest. `party` None means independent; an independent may be
    `backed_by` a party during the campaign and may have `joined` a party afterwards.
    `name_ur` is the name in Urdu as the result form prints it."""

    id: str
    name: str
    party: str | None = None
    backed_by: str | None = None
    joined: str | None = None
    name_ur: str | None = None

    @property
    def independent(self) -> bool:
        return self.party is None

    @property
    def affiliation(self) -> str:
        """How a results table names the candidate's side."""
        if self.party:
            return self.party
        return f"IND ({self.backed_by}-backed)" if self.backed_by else "IND"


class Replaces(NamedTuple):
    """The contest of an earlier election whose vacated seat a by-election contest fills."""

    election: str
    contest: str


@dataclass(frozen=True)
class Contest:
    """One seat being decided, e.g. `NA-122` or `DIK-mayor`."""

    code: str
    assembly: str
    name: str
    candidates: tuple[Candidate, ...]
    replaces: Replaces | None = None  # a by-election's contest: the vacated seat it fills
    candidate_ids: tuple[str, ...] = field(init=False, repr=False, compare=False)
    roster: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ids = tuple(c.id for c in self.candidates)
        object.__setattr__(self, "candidate_ids", ids)
        object.__setattr__(self, "roster", frozenset(ids))


class PollingStation(NamedTuple):
    """A place where votes are cast and counted (a value: a national structure holds 90,000,
    and a named tuple is built in a third of a frozen dataclass's time)."""

    id: str
    name: str
    contests: tuple[str, ...]
    registered_voters: int
    region: str = ""  # district or province: what per-region analysis groups by


@dataclass(frozen=True)
class ElectionStructure:
    """Everything that is fixed before polling; looked up by code, never mutated."""

    election: Election
    parties: tuple[Party, ...]
    assemblies: tuple[Assembly, ...]
    contests: tuple[Contest, ...]
    stations: tuple[PollingStation, ...]
    admin_key: str | None = None
    _contest: Mapping[str, Contest] = field(init=False, repr=False, compare=False)
    _station: Mapping[str, PollingStation] = field(init=False, repr=False, compare=False)
    _candidate: Mapping[str, tuple[Contest, Candidate]] = field(
        init=False, repr=False, compare=False
    )
    _stations_of: Mapping[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    _registered: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        stations_of: dict[str, list[str]] = {c.code: [] for c in self.contests}
        registered = dict.fromkeys(stations_of, 0)
        by_id: dict[str, PollingStation] = {}
        for station in self.stations:  # one pass: a national structure has 90,000
            sid, _, served, voters, _ = station
            by_id[sid] = station
            for code in served:
                if code not in stations_of:  # a contest the structure does not list
                    stations_of[code], registered[code] = [], 0
                stations_of[code].append(sid)
                registered[code] += voters
        set_ = object.__setattr__
        set_(self, "_contest", MappingProxyType({c.code: c for c in self.contests}))
        set_(self, "_station", MappingProxyType(by_id))
        set_(
            self,
            "_candidate",
            MappingProxyType({k.id: (c, k) for c in self.contests for k in c.candidates}),
        )
        set_(self, "_stations_of", MappingProxyType({k: tuple(v) for k, v in stations_of.items()}))
        set_(self, "_registered", MappingProxyType(registered))

    def contest(self, code: str) -> Contest | None:
        return self._contest.get(code)

    def station(self, station_id: str) -> PollingStation | None:
        return self._station.get(station_id)

    def candidate(self, candidate_id: str) -> tuple[Contest, Candidate] | None:
        return self._candidate.get(candidate_id)

    def stations_of(self, contest: str) -> tuple[str, ...]:
        return self._stations_of.get(contest, ())

    def registered_voters(self, contest: str) -> int:
        return self._registered.get(contest, 0)

    def assembly(self, code: str) -> Assembly | None:
        return next((a for a in self.assemblies if a.code == code), None)

    def party_name(self, code: str) -> str:
        return next((p.name for p in self.parties if p.code == code), code)

    def document(self) -> dict[str, Any]:
        """The JSON document this structure was parsed from (round-trips exactly)."""
        e = self.election
        doc: dict[str, Any] = {
            "election": {"id": e.id, "name": e.name, "kind": str(e.kind), "date": e.date},
            "parties": [{"code": p.code, "name": p.name} for p in self.parties],
            "assemblies": [
                {"code": a.code, "name": a.name, "level": str(a.level)} for a in self.assemblies
            ],
            "contests": [_contest_doc(c) for c in self.contests],
            "stations": [_station_doc(s) for s in self.stations],
        }
        if e.phase is not None:
            doc["election"]["phase"] = e.phase
        if self.admin_key is not None:
            doc["admin_key"] = self.admin_key
        return doc


def _station_doc(station: PollingStation) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": station.id,
        "name": station.name,
        "contests": list(station.contests),
        "registered_voters": station.registered_voters,
    }
    if station.region:
        doc["region"] = station.region
    return doc


def _contest_doc(contest: Contest) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "code": contest.code,
        "assembly": contest.assembly,
        "name": contest.name,
        "candidates": [_candidate_doc(k) for k in contest.candidates],
    }
    if contest.replaces is not None:
        doc["replaces"] = contest.replaces._asdict()
    return doc


def _candidate_doc(candidate: Candidate) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": candidate.id, "name": candidate.name}
    for key in ("party", "backed_by", "joined", "name_ur"):
        value = getattr(candidate, key)
        if value is not None:
            doc[key] = value
    return doc


def parse_structure(doc: object) -> ElectionStructure:
    """Parse and check a structure document; raise Rejected listing every problem found."""
    problems: list[Problem] = []
    top = FieldReader(doc, "", problems)
    top.reject_unknown({"election", "parties", "assemblies", "contests", "stations", "admin_key"})
    election = _parse_election(FieldReader(top.mapping("election"), "election", problems))
    parties = _parse_parties(top.items("parties", required=False), problems)
    assemblies = _parse_assemblies(top.items("assemblies"), problems)
    party_codes = {p.code for p in parties}
    assembly_codes = {a.code for a in assemblies}
    contests = _parse_contests(top.items("contests"), party_codes, assembly_codes, problems)
    if election is not None and election.kind is not ElectionKind.BY_ELECTION:
        for i, c in enumerate(contests):
            if c.replaces is not None:
                problems.append(
                    Problem(
                        "structure.replaces_needs_by_election",
                        f"contests[{i}].replaces",
                        "only a by-election's contest replaces a vacated one",
                    )
                )
    stations = _parse_stations(top.items("stations", required=False), contests, problems)
    admin_key = top.text("admin_key", required=False, max_len=100)
    if problems or election is None:
        raise Rejected(problems or [Problem("schema.missing", "election", "is required")])
    return ElectionStructure(election, parties, assemblies, contests, stations, admin_key)


def logged_structure(doc: Mapping[str, Any]) -> ElectionStructure:
    """A structure the log holds, read back without checking it again: `parse_structure`
    checked it before it was logged, and a reader trusts the store it opened (the audit,
    which trusts nothing, parses every leaf). Checking a national structure's 90,000
    stations takes a second; reading them, a tenth of that."""
    e = doc["election"]
    election = Election(e["id"], e["name"], ElectionKind(e["kind"]), e["date"], e.get("phase"))
    return ElectionStructure(
        election,
        tuple(Party(p["code"], p["name"]) for p in doc.get("parties", ())),
        tuple(Assembly(a["code"], a["name"], AssemblyLevel(a["level"])) for a in doc["assemblies"]),
        tuple(
            Contest(
                c["code"],
                c["assembly"],
                c["name"],
                tuple(
                    Candidate(
                        k["id"],
                        k["name"],
                        k.get("party"),
                        k.get("backed_by"),
                        k.get("joined"),
                        k.get("name_ur"),
                    )
                    for k in c.get("candidates", ())
                ),
                Replaces(**c["replaces"]) if "replaces" in c else None,
            )
            for c in doc["contests"]
        ),
        tuple(
            PollingStation(
                s["id"],
                s["name"],
                tuple(s["contests"]),
                s["registered_voters"],
                s.get("region") or "",
            )
            for s in doc.get("stations", ())
        ),
        doc.get("admin_key"),
    )


def _parse_election(r: FieldReader) -> Election | None:
    r.reject_unknown({"id", "name", "kind", "date", "phase"})
    eid, name = r.ident("id"), r.text("name")
    kind = r.choice("kind", {k.value for k in ElectionKind})
    date = r.date("date")
    phase = r.count("phase", required=False)
    if None in (eid, name, kind, date):
        return None
    return Election(str(eid), str(name), ElectionKind(str(kind)), str(date), phase)


def _parse_parties(items: list[Any], problems: list[Problem]) -> tuple[Party, ...]:
    parties: list[Party] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        r = FieldReader(item, f"parties[{i}]", problems)
        r.reject_unknown({"code", "name"})
        code, name = r.ident("code"), r.text("name")
        if code is None or name is None:
            continue
        if _duplicate(code, seen, r.at("code"), problems):
            continue
        parties.append(Party(code, name))
    return tuple(parties)


def _parse_assemblies(items: list[Any], problems: list[Problem]) -> tuple[Assembly, ...]:
    assemblies: list[Assembly] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        r = FieldReader(item, f"assemblies[{i}]", problems)
        r.reject_unknown({"code", "name", "level"})
        code, name = r.ident("code"), r.text("name")
        level = r.choice("level", {lv.value for lv in AssemblyLevel})
        if code is None or name is None or level is None:
            continue
        if _duplicate(code, seen, r.at("code"), problems):
            continue
        assemblies.append(Assembly(code, name, AssemblyLevel(level)))
    return tuple(assemblies)


def _parse_contests(
    items: list[Any], parties: set[str], assemblies: set[str], problems: list[Problem]
) -> tuple[Contest, ...]:
    contests: list[Contest] = []
    seen_contests: set[str] = set()
    seen_candidates: set[str] = set()
    for i, item in enumerate(items):
        r = FieldReader(item, f"contests[{i}]", problems)
        r.reject_unknown({"code", "assembly", "name", "candidates", "replaces"})
        code, assembly, name = r.ident("code"), r.ident("assembly"), r.text("name")
        if assembly is not None and assembly not in assemblies:
            r.fail("structure.unknown_assembly", r.at("assembly"), f"no assembly {assembly!r}")
            assembly = None
        candidates = tuple(  # may be empty: nominations open, or the poll postponed
            k
            for j, item_k in enumerate(r.items("candidates", required=False))
            if (k := _parse_candidate(item_k, f"{r.at('candidates')}[{j}]", parties, problems))
            and not _duplicate(k.id, seen_candidates, f"{r.at('candidates')}[{j}].id", problems)
        )
        replaces = _parse_replaces(r) if isinstance(item, dict) and "replaces" in item else None
        if code is None or assembly is None or name is None:
            continue
        if _duplicate(code, seen_contests, r.at("code"), problems):
            continue
        contests.append(Contest(code, assembly, name, candidates, replaces))
    return tuple(contests)


def _parse_replaces(contest: FieldReader) -> Replaces | None:
    """`replaces: {election, contest}`: the vacated seat a by-election contest fills (whether
    it is vacated is the ledger's to say, when the structure is logged)."""
    r = FieldReader(contest.mapping("replaces"), contest.at("replaces"), contest.problems)
    r.reject_unknown({"election", "contest"})
    election, code = r.ident("election"), r.ident("contest")
    if election is None or code is None:
        return None
    return Replaces(election, code)


def _parse_candidate(
    item: object, path: str, parties: set[str], problems: list[Problem]
) -> Candidate | None:
    r = FieldReader(item, path, problems)
    r.reject_unknown({"id", "name", "name_ur", "party", "backed_by", "joined"})
    cid, name = r.ident("id"), r.text("name")
    name_ur = r.text("name_ur", required=False)
    party = r.ident("party", required=False)
    backed_by = r.ident("backed_by", required=False)
    joined = r.ident("joined", required=False)
    for key, code in (("party", party), ("backed_by", backed_by), ("joined", joined)):
        if code is not None and code not in parties:
            r.fail("structure.unknown_party", r.at(key), f"no party {code!r} in parties")
            return None
    if party is not None and (backed_by is not None or joined is not None):
        r.fail(
            "structure.backing_needs_independent",
            r.at("backed_by" if backed_by else "joined"),
            "only an independent candidate can be backed by or join a party",
        )
        return None
    if cid is None or name is None:
        return None
    return Candidate(cid, name, party, backed_by, joined, name_ur)


def _parse_stations(
    items: list[Any], contests: tuple[Contest, ...], problems: list[Problem]
) -> tuple[PollingStation, ...]:
    known = {c.code for c in contests}
    stations: list[PollingStation] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        fast = _plain_station(item, known)
        if fast is not None and fast.id not in seen:
            seen.add(fast.id)
            stations.append(fast)
            continue
        r = FieldReader(item, f"stations[{i}]", problems)
        r.reject_unknown({"id", "name", "contests", "registered_voters", "region"})
        sid, name = r.ident("id"), r.text("name")
        registered = r.count("registered_voters")
        region = r.text("region", required=False) or ""
        served: list[str] = []
        for j, code in enumerate(r.items("contests")):
            if not isinstance(code, str) or code not in known:
                r.fail(
                    "structure.unknown_contest", f"{r.at('contests')}[{j}]", f"no contest {code!r}"
                )
            elif code not in served:
                served.append(code)
        if sid is None or name is None or registered is None:
            continue
        if _duplicate(sid, seen, r.at("id"), problems):
            continue
        stations.append(PollingStation(sid, name, tuple(served), registered, region))
    return tuple(stations)


_STATION_FIELDS = frozenset({"id", "name", "contests", "registered_voters", "region"})


def _plain_station(item: object, known: set[str]) -> PollingStation | None:
    """A station that breaks no rule, read without the field reader (a national structure
    has 90,000); None sends anything else through the reader, which names what is wrong."""
    if type(item) is not dict or not item.keys() <= _STATION_FIELDS:
        return None
    sid, name, served = item.get("id"), item.get("name"), item.get("contests")
    registered, region = item.get("registered_voters"), item.get("region", "")
    if not (_plain_text(sid, 64) and IDENT.fullmatch(sid) and _plain_text(name, 200)):  # type: ignore[arg-type]
        return None
    if type(registered) is not int or not 0 <= registered <= MAX_COUNT:
        return None
    if region is None:
        region = ""
    if region and not _plain_text(region, 200):
        return None
    if type(served) is not list or not all(type(c) is str and c in known for c in served):
        return None
    if len(set(served)) != len(served):
        return None
    return PollingStation(sid, name, tuple(served), registered, region)  # type: ignore[arg-type]


def _plain_text(value: object, max_len: int) -> bool:
    return (
        type(value) is str and bool(value.strip()) and len(value) <= max_len and well_formed(value)
    )


def _duplicate(code: str, seen: set[str], field: str, problems: list[Problem]) -> bool:
    if code in seen:
        problems.append(Problem("structure.duplicate", field, f"{code!r} appears twice"))
        return True
    seen.add(code)
    return False
