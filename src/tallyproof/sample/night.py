"""Election night as a stream of signed envelopes over simulated time (`tallyproof simulate`).

First the set-up, signed by the election's admin key: the structure, a key for every
presiding officer (one station each), returning officer (one contest each), party agents
(a district's contests), an observer and the news outlets, and the four postponements.
Polls close at 17:00 PKT on 8 February 2024; each station's forms then arrive along a
reporting curve (most within a few hours, a tail into the next day), none during a network
outage (those held arrive when it ends), and each contest's declaration (Form 47, with its
per-station breakdown) comes after the last of its stations' forms.

Faults are injected at the rates of `Faults`, and each event says what it is meant to be:
accepted, a duplicate, or refused with the rule's code, and the findings it should leave
open at the end of the night; so a test, or `simulate`'s summary, can hold the log to it.
Everything is drawn from the election's seed: the same seed gives the same bytes. Events
are signed as they are yielded; only the night's schedule (a few numbers per event) is
built ahead."""

from __future__ import annotations

import hashlib
import math
import random
from base64 import b64encode
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import Any

from tallyproof.domain.claims import Claim, ClaimKind, ClaimReport, Qualifier
from tallyproof.domain.sources import Source, SourceKind
from tallyproof.ledger.canonical import canonical_plain, content_id
from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.ledger.keys import Signer
from tallyproof.sample.generator import split_total
from tallyproof.sample.national import Count, National

PKT = timezone(timedelta(hours=5))
CLOSE = datetime(2024, 2, 8, 17, 0, tzinfo=PKT)
ROUTES: dict[str, str] = {
    "structure": "/v1/elections",
    "key_registration": "/v1/keys",
    "status": "/v1/status-orders",
    "form": "/v1/forms",
    "declaration": "/v1/declarations",
    "claim": "/v1/claims",
}
BATCH_NAMES: dict[str, str] = {  # the body of a batch POST: {"<name>": [envelope, ...]}
    "key_registration": "key_registrations",
    "status": "status_orders",
    "form": "forms",
    "declaration": "declarations",
    "claim": "claims",
}
OBSERVER = "observer:Poll Watch"
OUTLETS = ("Indus Courier", "Margalla Times", "Ravi Post", "Khyber Herald")
_SETUP = {"structure": -660.0, "key": -630.0, "postponed": -600.0}  # 06:00, 06:30, 07:00
_LATE_SHARE = 0.03  # stations whose forms come the next day (remote, or counted slowly)


@dataclass(frozen=True)
class Faults:
    """What goes wrong, and how often. Rates are shares: of contests with forms
    (declarations), of stations (copies, corrections, re-polls, stuffing), of station forms
    (duplicates, forgeries, wrong stations), of agents' copies (conflicts), of declared
    contests (news reports) and of reports (misreports). Each is drawn as an exact count,
    round(rate x how many), so a rate and a scale say how many of each there will be.
    The outage is in minutes after polls close."""

    declaration_mismatch: float = 0.03  # Form 47 cuts a losing candidate's station votes
    declaration_flip: float = 0.01  # Form 47 cuts the winner's until the runner-up wins
    agent_copies: float = 0.10  # stations where a party agent files a copy of each form
    agent_conflict: float = 0.05  # agents' copies that differ from the official form
    observer_copies: float = 0.02  # stations where the observer files copies
    duplicate: float = 0.01  # forms sent again, byte for byte
    forged: float = 0.002  # forms whose signature does not verify
    wrong_station: float = 0.002  # forms signed by another station's presiding officer
    correction: float = 0.005  # stations whose first form is corrected (rows transposed)
    re_poll: float = 0.001  # stations suspended after the count, re-polled two days later
    stuffed: float = 0.003  # stations with ~100 % turnout, nearly all for one candidate
    media_reports: float = 0.15  # declared contests a news outlet reports on
    misreport: float = 0.10  # reports that get the winner's votes wrong
    outage_start: float = 240.0  # 21:00 PKT
    outage_minutes: float = 120.0


@dataclass(frozen=True, slots=True)
class Expected:
    """A finding the night should leave open: its code and what it is about."""

    code: str
    contest: str
    station: str | None = None
    candidate: str | None = None

    def as_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"code": self.code, "contest": self.contest}
        if self.station:
            doc["station"] = self.station
        if self.candidate:
            doc["candidate"] = self.candidate
        return doc


@dataclass(frozen=True, slots=True)
class Expect:
    """What an event is meant to be: `accepted`, `duplicate`, or `refused` with `code`."""

    outcome: str = "accepted"
    code: str | None = None
    findings: tuple[Expected, ...] = ()
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"outcome": self.outcome}
        if self.code:
            doc["code"] = self.code
        if self.findings:
            doc["findings"] = [f.as_dict() for f in self.findings]
        if self.note:
            doc["note"] = self.note
        return doc


@dataclass(frozen=True, slots=True)
class Event:
    """One signed document arriving at the log at simulated `time` (`minutes` after polls
    close; negative during the set-up). `story` says what happened, `expect` what it is
    meant to be."""

    seq: int
    minutes: float
    kind: str
    story: str
    envelope: dict[str, Any]
    expect: Expect = field(default_factory=Expect)

    @property
    def time(self) -> str:
        return at(self.minutes)

    @property
    def route(self) -> str:
        return ROUTES[self.kind]

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "route": self.route,
            "kind": self.kind,
            "story": self.story,
            "expect": self.expect.as_dict(),
            "envelope": self.envelope,
        }


def at(minutes: float) -> str:
    """A simulated moment as the documents write it: ISO 8601 in PKT, to the second."""
    return (CLOSE + timedelta(seconds=round(minutes * 60))).isoformat()


# A scheduled event: (arrival, planned, order, story, args). Arrival is when the log gets it
# (the outage's end for what was held), planned when it was signed; order breaks ties.
_Item = tuple[float, float, int, str, tuple[Any, ...]]


class Night:
    """The night of one election: `events()` yields it in arrival order."""

    def __init__(self, election: National, faults: Faults | None = None) -> None:
        self.election = election
        self.faults = faults or Faults()
        self.eid = election.election_id
        self._rng = random.Random(f"{election.secret}:night")
        self._items: list[_Item] = []
        self._last_official: dict[str, float] = {}  # contest -> arrival of its last form
        self._special: dict[str, str] = {}  # station -> correction | re_poll | stuffed
        self._corrected: dict[str, str] = {}  # station -> the contest whose form is corrected
        self._variants: dict[str, str] = {}  # contest -> honest | mismatch | flip
        self._schedule()

    # --- what there will be ----------------------------------------------------------------

    @cached_property
    def totals(self) -> dict[str, int]:
        """Events by kind, set-up included: what a progress bar counts to."""
        keys = len(self.election.stations) + len(self.election.contests) + len(OUTLETS) + 1
        keys += sum(len(p) for p in self.election.agent_parties.values())
        postponed = sum(1 for c in self.election.contests.values() if c.postponed)
        out = {"structure": 1, "key_registration": keys, "status": postponed}
        for item in self._items:
            kind = _KIND[item[3]]
            out[kind] = out.get(kind, 0) + 1
        return out

    @property
    def documents(self) -> int:
        return sum(self.totals.values())

    @cached_property
    def live(self) -> dict[str, tuple[str, ...]]:
        """Each station's contests that poll (not postponed)."""
        contests = self.election.contests
        return {
            s.id: tuple(c for c in s.contests if not contests[c].postponed)
            for s in self.election.stations
        }

    @cached_property
    def sides(self) -> dict[str, dict[str, str]]:
        """contest -> party (or the party backing an independent) -> candidate id."""
        out: dict[str, dict[str, str]] = {}
        for c in self.election.document["contests"]:
            out[c["code"]] = {
                k.get("party") or k["backed_by"]: k["id"]
                for k in c["candidates"]
                if k.get("party") or k.get("backed_by")
            }
        return out

    @cached_property
    def names(self) -> dict[str, dict[str, Any]]:
        """candidate id -> its structure entry."""
        return {k["id"]: k for c in self.election.document["contests"] for k in c["candidates"]}

    # --- counts ----------------------------------------------------------------------------

    def final_count(self, station: str, contest: str) -> Count:
        """The count the station's current official form states at the end of the night."""
        special = self._special.get(station)
        if special == "re_poll":
            return self.election.count(station, contest, round_=1)
        count = self.election.count(station, contest)
        if special == "stuffed":
            return self._stuffed(station, contest, count)
        return count

    def first_count(self, station: str, contest: str) -> Count:
        """The count of the station's first form: rows transposed where it is corrected
        later, the disputed count where a re-poll replaces it."""
        if self._special.get(station) == "re_poll":
            return self.election.count(station, contest)
        count = self.final_count(station, contest)
        if self._corrected.get(station) == contest:
            return _transposed(count)
        return count

    def _stuffed(self, station: str, contest: str, honest: Count) -> Count:
        """Nearly every voter on the roll, nearly every ballot for the contest's strongest
        candidate; the form still adds up and stays within the roll."""
        rng = random.Random(f"{self.election.secret}:stuff:{station}:{contest}")
        registered = self.election.station_index[station].registered
        polled = max(honest.polled, round(registered * rng.uniform(0.97, 1.0)))
        rejected = round(polled * rng.uniform(0.0, 0.004))
        plan = self.election.contests[contest]
        favourite = max(range(len(plan.candidates)), key=lambda i: plan.shares[i])
        valid = polled - rejected
        rest = round(valid * rng.uniform(0.005, 0.04))
        weights = [0.0 if i == favourite else s for i, s in enumerate(plan.shares)]
        votes = split_total(rest, weights) if sum(weights) else [0] * len(weights)
        votes[favourite] = valid - rest
        return Count(dict(zip(plan.candidates, votes, strict=True)), rejected, polled)

    # --- the schedule ----------------------------------------------------------------------

    def _count_of(self, rate: float, n: int) -> int:
        return min(n, round(rate * n))

    def _pick(self, population: list[Any], rate: float) -> set[Any]:
        return set(self._rng.sample(population, self._count_of(rate, len(population))))

    def _schedule(self) -> None:
        """Choose where each fault falls (exact counts, from the seed), then lay every
        station's events on the clock, then each contest's declaration and reports."""
        f, live = self.faults, self.live
        stations = [s.id for s in self.election.stations if live[s.id]]
        re_poll = self._pick(stations, f.re_poll)
        rest = [s for s in stations if s not in re_poll]
        correction = self._pick(rest, f.correction)
        stuffed = self._pick([s for s in rest if s not in correction], f.stuffed)
        for kind, chosen in (
            ("re_poll", re_poll),
            ("correction", correction),
            ("stuffed", stuffed),
        ):
            self._special.update(dict.fromkeys(chosen, kind))
        for sid in sorted(correction):
            self._corrected[sid] = self._rng.choice(live[sid])
        agents = self._pick(rest, f.agent_copies)
        observed = self._pick([s for s in rest if s not in agents], f.observer_copies)
        forms = [(sid, code) for sid in stations for code in live[sid]]
        copies = [(sid, code) for sid, code in forms if sid in agents]
        faults = {
            "duplicate": self._pick(forms, f.duplicate),
            "forged": self._pick(forms, f.forged),
            "wrong_station": self._pick(forms, f.wrong_station),
            "conflict": self._pick(copies, f.agent_conflict),
        }
        for sid in stations:
            self._station(sid, agents, observed, faults)
        self._declarations()
        self._items.sort()

    def _add(self, planned: float, story: str, *args: Any) -> float:
        """Schedule an event; what would arrive during the outage arrives when it ends."""
        start = self.faults.outage_start
        end = start + self.faults.outage_minutes
        arrival = end if start <= planned < end else planned
        self._items.append((arrival, planned, len(self._items), story, args))
        return arrival

    def _delay(self) -> float:
        """Minutes from polls closing to a station's first form: counting, then the drive or
        the upload; a few stations only the next day."""
        if self._rng.random() < _LATE_SHARE:
            return self._rng.uniform(12 * 60, 30 * 60)
        return 45 + self._rng.lognormvariate(math.log(150), 0.6)

    def _station(
        self, sid: str, agents: set[str], observed: set[str], faults: dict[str, set[Any]]
    ) -> None:
        rng = self._rng
        planned = self._delay()
        firsts: dict[str, float] = {}
        for code in self.live[sid]:
            firsts[code] = planned
            arrival = self._add(planned, "form", sid, code)
            self._official(code, arrival)
            self._form_faults(sid, code, planned, arrival, faults)
            if self._corrected.get(sid) == code:
                self._official(
                    code,
                    self._add(planned + rng.uniform(20, 240), "correction", sid, code, planned),
                )
            if sid in agents:
                party = rng.choice(self.election.agent_parties[self._district(sid)])
                conflict = (sid, code) in faults["conflict"]
                self._add(
                    max(1.0, planned + rng.uniform(-30, 120)),
                    "agent_copy",
                    sid,
                    code,
                    party,
                    conflict,
                )
            if sid in observed:
                self._add(planned + rng.uniform(0, 120), "observer_copy", sid, code)
            planned += rng.uniform(2, 40)
        if self._special.get(sid) == "re_poll":
            self._re_poll(sid, firsts)

    def _form_faults(
        self, sid: str, code: str, planned: float, arrival: float, faults: dict[str, set[Any]]
    ) -> None:
        rng = self._rng
        if (sid, code) in faults["duplicate"]:
            self._add(arrival + rng.uniform(1, 180), "duplicate", sid, code, planned)
        if (sid, code) in faults["forged"]:
            self._add(max(1.0, planned + rng.uniform(-60, 120)), "forged", sid, code, planned)
        if (sid, code) in faults["wrong_station"]:
            signer = self._neighbour(sid, code)
            self._add(max(1.0, planned + rng.uniform(-30, 120)), "wrong_station", sid, code, signer)

    def _neighbour(self, sid: str, code: str) -> str:
        """Another station's presiding officer: one of the same contest where there is one."""
        same = [s for s in self.election.stations_of[code] if s != sid]
        if same:
            return self._rng.choice(same)
        ids = [s.id for s in self.election.stations]
        return ids[(ids.index(sid) + 1) % len(ids)]

    def _re_poll(self, sid: str, firsts: dict[str, float]) -> None:
        """Suspended after the count (boxes snatched), a re-poll ordered the next day, held
        and counted two days after polling day; its forms replace the first ones."""
        rng = self._rng
        suspended = max(firsts.values()) + rng.uniform(10, 60)
        self._add(suspended, "suspend", sid)
        ordered = max(suspended + 60, rng.uniform(17 * 60, 22 * 60))
        self._add(ordered, "re_poll_order", sid)
        planned = max(ordered + 60, 48 * 60 + rng.uniform(120, 360))
        for code, first in firsts.items():
            self._official(code, self._add(planned, "re_poll_form", sid, code, first))
            planned += rng.uniform(2, 30)

    def _official(self, contest: str, arrival: float) -> None:
        self._last_official[contest] = max(arrival, self._last_official.get(contest, 0.0))

    def _declarations(self) -> None:
        """Each contest's Form 47 some hours after its last form; some disagree with the
        forms, and news outlets report on some of the declared results."""
        f, rng = self.faults, self._rng
        contests = sorted(self._last_official, key=_natural)
        flips = self._pick(contests, f.declaration_flip)
        mismatches = self._pick([c for c in contests if c not in flips], f.declaration_mismatch)
        # Reports only of contests whose declaration agrees with its forms: the read side
        # holds claims to the declared result, `queries.findings` to the forms' sum.
        honest = [c for c in contests if c not in flips and c not in mismatches]
        reported = self._pick(honest, f.media_reports)
        misreported = self._pick(sorted(reported, key=_natural), f.misreport)
        for code in contests:
            variant = "flip" if code in flips else "mismatch" if code in mismatches else "honest"
            self._variants[code] = variant
            arrival = self._add(
                self._last_official[code] + rng.uniform(60, 360), "declaration", code, variant
            )
            if code in reported:
                outlet = rng.choice(OUTLETS)
                self._add(
                    arrival + rng.uniform(30, 240), "report", code, outlet, code in misreported
                )

    def _district(self, sid: str) -> str:
        return self.election.station_index[sid].district

    # --- the stream ------------------------------------------------------------------------

    def events(self) -> Iterator[Event]:
        """The set-up, then the night in arrival order; each envelope signed as it goes."""
        seq = 0
        for minutes, kind, story, envelope in self._setup():
            yield Event(seq, minutes, kind, story, envelope)
            seq += 1
        for arrival, planned, _, story, args in self._items:
            envelope, expect = _MAKERS[story](self, planned, *args)
            yield Event(seq, arrival, _KIND[story], story, envelope, expect)
            seq += 1

    def __iter__(self) -> Iterator[Event]:
        return self.events()

    def _setup(self) -> Iterator[tuple[float, str, str, dict[str, Any]]]:
        admin = self.election.admin
        doc = self.election.document
        yield _SETUP["structure"], "structure", "structure", _signed("structure", doc, admin)
        for body in self._registrations():
            envelope = _signed("key_registration", body, admin)
            yield _SETUP["key"], "key_registration", "key", envelope
        for code, plan in self.election.contests.items():
            if plan.postponed:
                body = self._order(
                    "contest", code, "postponed", plan.postponed, _SETUP["postponed"]
                )
                yield _SETUP["postponed"], "status", "postponed", _signed("status", body, admin)

    def _registrations(self) -> Iterator[dict[str, Any]]:
        """Every key the night signs with, in the order they are registered: a presiding
        officer a station, a returning officer a contest, the agents of a district's three
        strongest sides (for its contests), the observer and the outlets (anywhere)."""
        eid = self.eid
        for s in self.election.stations:
            yield self._registration(f"{eid}/po/{s.id}", "presiding_officer", stations=[s.id])
        for code in self.election.contests:
            yield self._registration(f"{eid}/ro/{code}", "returning_officer", contests=[code])
        by_district: dict[str, list[str]] = {}
        for code, plan in self.election.contests.items():
            by_district.setdefault(plan.district, []).append(code)
        for district, parties in self.election.agent_parties.items():
            for party in parties:
                name = _agent_key(eid, party, district)
                yield self._registration(name, f"agent:{party}", contests=by_district[district])
        yield self._registration(f"{eid}/observer", OBSERVER)
        for outlet in OUTLETS:
            yield self._registration(_media_key(eid, outlet), f"media:{outlet}")

    def _registration(self, name: str, source: str, **scope: list[str]) -> dict[str, Any]:
        key = self.election.key(name)
        return {
            "election": self.eid,
            "key": {"name": name, "public_key": key.public.b64},
            "source": source,
            "time": at(_SETUP["key"]),
            **scope,
        }

    def _order(
        self, scope: str, target: str, status: str, reason: str, minutes: float
    ) -> dict[str, Any]:
        return {
            "election": self.eid,
            "scope": scope,
            "target": target,
            "status": status,
            "reason": reason,
            "time": at(minutes),
        }

    # --- making each event -----------------------------------------------------------------

    def _po(self, sid: str) -> Signer:
        return self.election.key(f"{self.eid}/po/{sid}")

    def _form(
        self, sid: str, code: str, count: Count, minutes: float, source: str, **extra: str
    ) -> dict[str, Any]:
        return {
            "election": self.eid,
            "station": sid,
            "contest": code,
            "source": source,
            "votes": dict(count.votes),
            "rejected": count.rejected,
            "polled": count.polled,
            "valid": count.valid,
            "time": at(minutes),
            **extra,
        }

    def _first_body(self, sid: str, code: str, planned: float) -> dict[str, Any]:
        return self._form(sid, code, self.first_count(sid, code), planned, "presiding_officer")

    def _make_form(self, planned: float, sid: str, code: str) -> tuple[dict[str, Any], Expect]:
        body = self._first_body(sid, code, planned)
        note = {"stuffed": "stuffed: forensics.turnout_99 and forensics.share_95"}.get(
            self._special.get(sid, ""), ""
        )
        if self._corrected.get(sid) == code:
            note = "rows transposed; corrected later"
        return _signed("form", body, self._po(sid)), Expect(note=note)

    def _make_successor(
        self, planned: float, sid: str, code: str, first: float, reason: str
    ) -> dict[str, Any]:
        previous = content_id(self._first_body(sid, code, first))
        body = self._form(
            sid,
            code,
            self.final_count(sid, code),
            planned,
            "presiding_officer",
            supersedes=previous,
            reason=reason,
        )
        return _signed("form", body, self._po(sid))

    def _make_correction(
        self, planned: float, sid: str, code: str, first: float
    ) -> tuple[dict[str, Any], Expect]:
        return self._make_successor(planned, sid, code, first, "correction"), Expect()

    def _make_re_poll_form(
        self, planned: float, sid: str, code: str, first: float
    ) -> tuple[dict[str, Any], Expect]:
        return self._make_successor(planned, sid, code, first, "re_poll"), Expect()

    def _make_duplicate(
        self, planned: float, sid: str, code: str, first: float
    ) -> tuple[dict[str, Any], Expect]:
        envelope = _signed("form", self._first_body(sid, code, first), self._po(sid))
        return envelope, Expect("duplicate", note="sent again: the device did not hear back")

    def _make_forged(
        self, planned: float, sid: str, code: str, first: float
    ) -> tuple[dict[str, Any], Expect]:
        """The station's form with a candidate's votes raised, under the signature of the
        genuine form: the key is the station's, the signature is not of this document."""
        genuine = self._first_body(sid, code, first)
        forged = dict(genuine, votes=_inflate(genuine["votes"], 250), time=at(planned))
        forged["valid"] = sum(forged["votes"].values())
        forged["polled"] = forged["valid"] + forged["rejected"]
        envelope = _signed("form", forged, self._po(sid))
        envelope["signature"]["value"] = _signed("form", genuine, self._po(sid))["signature"][
            "value"
        ]
        return envelope, Expect("refused", "signature.invalid")

    def _make_wrong_station(
        self, planned: float, sid: str, code: str, signer: str
    ) -> tuple[dict[str, Any], Expect]:
        """Another station's presiding officer signs a form for this one."""
        count = self.final_count(sid, code)
        body = self._form(sid, code, count, planned, "presiding_officer")
        body["votes"] = _inflate(body["votes"], 120)
        body["valid"] = sum(body["votes"].values())
        body["polled"] = body["valid"] + body["rejected"]
        return _signed("form", body, self._po(signer)), Expect("refused", "signature.out_of_scope")

    def _make_agent_copy(
        self, planned: float, sid: str, code: str, party: str, conflict: bool
    ) -> tuple[dict[str, Any], Expect]:
        count = self.final_count(sid, code)
        findings: tuple[Expected, ...] = ()
        if conflict:
            rng = random.Random(f"{self.election.secret}:copy:{sid}:{code}")
            altered = _favour(count, self.sides[code].get(party), rng)
            if altered != count.votes:
                count = Count(altered, count.rejected, count.polled)
                findings = (Expected("station.source_conflict", code, sid),)
        body = self._form(sid, code, count, planned, f"agent:{party}")
        signer = self.election.key(_agent_key(self.eid, party, self._district(sid)))
        note = "differs from the official form" if findings else ""
        return _signed("form", body, signer), Expect(findings=findings, note=note)

    def _make_observer_copy(
        self, planned: float, sid: str, code: str
    ) -> tuple[dict[str, Any], Expect]:
        body = self._form(sid, code, self.final_count(sid, code), planned, OBSERVER)
        return _signed("form", body, self.election.key(f"{self.eid}/observer")), Expect()

    def _make_suspend(self, planned: float, sid: str) -> tuple[dict[str, Any], Expect]:
        reason = "ballot boxes snatched after the count; polling suspended"
        body = self._order("station", sid, "suspended", reason, planned)
        return _signed("status", body, self.election.admin), Expect()

    def _make_re_poll_order(self, planned: float, sid: str) -> tuple[dict[str, Any], Expect]:
        reason = "re-poll ordered by the election commission after the boxes were snatched"
        body = self._order("station", sid, "re_poll_ordered", reason, planned)
        return _signed("status", body, self.election.admin), Expect()

    def _make_declaration(
        self, planned: float, code: str, variant: str
    ) -> tuple[dict[str, Any], Expect]:
        body, findings = self._declaration(planned, code, variant)
        signer = self.election.key(f"{self.eid}/ro/{code}")
        note = {"flip": "winner flipped in the consolidation", "mismatch": "station votes cut"}
        expect = Expect(findings=findings, note=note.get(variant, "") if findings else "")
        return _signed("declaration", body, signer), expect

    def _declaration(
        self, planned: float, code: str, variant: str
    ) -> tuple[dict[str, Any], tuple[Expected, ...]]:
        """Form 47 with its per-station breakdown: the forms' own figures, or with station
        votes cut in the consolidation (a rival's, until the runner-up wins, for a flip)."""
        stations = self.election.stations_of[code]
        counts = {sid: self.final_count(sid, code) for sid in stations}
        breakdown = {sid: dict(c.votes) for sid, c in counts.items()}
        totals = _sum_votes(self.election.contests[code].candidates, breakdown)
        rng = random.Random(f"{self.election.secret}:declare:{code}")
        findings = _cut(breakdown, totals, code, variant, rng)
        votes = _sum_votes(self.election.contests[code].candidates, breakdown)
        rejected = sum(c.rejected for c in counts.values())
        body = {
            "election": self.eid,
            "contest": code,
            "source": "returning_officer",
            "votes": votes,
            "rejected": rejected,
            "polled": sum(votes.values()) + rejected,
            "valid": sum(votes.values()),
            "registered": sum(self.election.station_index[s].registered for s in stations),
            "stations": breakdown,
            "time": at(planned),
        }
        return body, findings

    def _make_report(
        self, planned: float, code: str, outlet: str, wrong: bool
    ) -> tuple[dict[str, Any], Expect]:
        """A news report of a declared result: the winner's and the runner-up's votes as
        the returning officer declared them (the winner's misprinted in a misreport)."""
        declared = self._declaration(planned, code, self._variants[code])[0]["votes"]
        ranked = sorted(declared, key=lambda k: -declared[k])[:2]
        rng = random.Random(f"{self.election.secret}:report:{code}")
        values = [declared[k] for k in ranked]
        findings: tuple[Expected, ...] = ()
        if wrong:
            values[0] = max(
                0,
                values[0]
                + rng.choice((-1, 1)) * max(100, round(values[0] * rng.uniform(0.05, 0.2))),
            )
            findings = (Expected("claim.contradicts_official", code, None, ranked[0]),)
        report = self._report(code, outlet, planned, list(zip(ranked, values, strict=True)))
        signer = self.election.key(_media_key(self.eid, outlet))
        note = "the winner's votes misprinted" if wrong else ""
        return _signed("claim", report, signer), Expect(findings=findings, note=note)

    def _report(
        self, code: str, outlet: str, planned: float, said: list[tuple[str, int]]
    ) -> dict[str, Any]:
        plan = self.election.contests[code]
        sentences, claims, offset = [], [], 0
        for rank, (cid, value) in enumerate(said):
            person = self.names[cid]
            side = person.get("party") or person.get("backed_by") or ""
            label = (
                f"{side}-backed independent" if person.get("backed_by") else side or "independent"
            )
            verb = "won" if rank == 0 else "was runner-up in"
            number = f"{value:,}"
            sentence = f"{person['name']} ({label}) {verb} {code} {plan.name} with {number} votes."
            start = offset + sentence.index(number)
            claims.append(
                Claim(
                    ClaimKind.VOTES,
                    sentence,
                    start,
                    start + len(number),
                    value,
                    Qualifier.EXACT,
                    candidate=person["name"],
                    party=side,
                    backed=bool(person.get("backed_by")),
                    contest=code,
                    election=self.eid,
                    contest_code=code,
                    candidate_id=cid,
                    party_code=side,
                )
            )
            sentences.append(sentence)
            offset += len(sentence) + 1
        text = " ".join(sentences)
        return ClaimReport(
            self.eid,
            Source(SourceKind.MEDIA, outlet),
            at(planned)[:10],
            hashlib.sha256(text.encode("utf-8")).hexdigest(),
            tuple(claims),
            f"{plan.name} ({code}): result declared",
        ).document()


_KIND = {
    "form": "form",
    "correction": "form",
    "re_poll_form": "form",
    "duplicate": "form",
    "forged": "form",
    "wrong_station": "form",
    "agent_copy": "form",
    "observer_copy": "form",
    "suspend": "status",
    "re_poll_order": "status",
    "declaration": "declaration",
    "report": "claim",
}
_MAKERS: dict[str, Any] = {
    "form": Night._make_form,
    "correction": Night._make_correction,
    "re_poll_form": Night._make_re_poll_form,
    "duplicate": Night._make_duplicate,
    "forged": Night._make_forged,
    "wrong_station": Night._make_wrong_station,
    "agent_copy": Night._make_agent_copy,
    "observer_copy": Night._make_observer_copy,
    "suspend": Night._make_suspend,
    "re_poll_order": Night._make_re_poll_order,
    "declaration": Night._make_declaration,
    "report": Night._make_report,
}


def _signed(kind: str, body: dict[str, Any], signer: Signer) -> dict[str, Any]:
    """The envelope of `body` signed by `signer`. What the night makes is plain JSON (ASCII
    keys, whole numbers) except the structure, whose candidates' Urdu names take the full
    RFC 8785 encoder; for the rest the fast encoder gives the same bytes."""
    if kind == "structure":
        return sign(EntryKind(kind), body, signer).envelope()
    signature = signer.sign(canonical_plain(body))
    return {kind: body, "signature": {"key": signer.public.key_id, "value": b64(signature)}}


def b64(raw: bytes) -> str:
    return b64encode(raw).decode()


def _agent_key(eid: str, party: str, district: str) -> str:
    return f"{eid}/agent/{party}/{district.lower().replace(' ', '-')}"


def _media_key(eid: str, outlet: str) -> str:
    return f"{eid}/media/{outlet.lower().replace(' ', '-')}"


def _natural(code: str) -> tuple[str, int]:
    assembly, _, number = code.partition("-")
    return assembly, int(number)


def _transposed(count: Count) -> Count:
    """The first two rows of the tally copied in each other's place: a clerk's slip that
    still adds up."""
    ids = list(count.votes)
    votes = dict(count.votes)
    if len(ids) > 1:
        votes[ids[0]], votes[ids[1]] = votes[ids[1]], votes[ids[0]]
    return Count(votes, count.rejected, count.polled)


def _inflate(votes: dict[str, int], extra: int) -> dict[str, int]:
    """The leader's votes raised by `extra`: what a forger would change."""
    out = dict(votes)
    leader = max(out, key=lambda k: out[k])
    out[leader] += extra
    return out


def _favour(count: Count, own: str | None, rng: random.Random) -> dict[str, int]:
    """An agent's copy that moves some of the leader's votes to the agent's own candidate
    (or to the runner-up): the totals still add up, the rows do not match the official."""
    ranked = sorted(count.votes, key=lambda k: -count.votes[k])
    if len(ranked) < 2:
        return dict(count.votes)
    gain = own if own and own != ranked[0] else ranked[1]
    lose = ranked[0] if gain != ranked[0] else ranked[1]
    moved = min(count.votes[lose], rng.randint(20, 150))
    votes = dict(count.votes)
    votes[lose] -= moved
    votes[gain] += moved
    return votes


def _sum_votes(candidates: tuple[str, ...], breakdown: dict[str, dict[str, int]]) -> dict[str, int]:
    totals = dict.fromkeys(candidates, 0)
    for votes in breakdown.values():
        for cid, n in votes.items():
            totals[cid] += n
    return totals


def _cut(
    breakdown: dict[str, dict[str, int]],
    totals: dict[str, int],
    code: str,
    variant: str,
    rng: random.Random,
) -> tuple[Expected, ...]:
    """Cut votes in the breakdown as the variant says, from the candidate's biggest stations;
    the findings that should follow. A flip needs a clear winner and a runner-up with votes;
    otherwise the declaration is honest."""
    ranked = sorted(totals, key=lambda k: -totals[k])
    if variant == "honest" or len(ranked) < 2 or totals[ranked[0]] == 0:
        return ()
    first, second = ranked[0], ranked[1]
    if totals[first] == totals[second]:  # no leader to keep or to flip
        return ()
    if variant == "flip" and totals[second] > 0:
        keep = math.floor(totals[second] * rng.uniform(0.35, 0.8))
        _take(breakdown, first, totals[first] - keep)
        return (
            Expected("consolidation.winner_differs", code),
            Expected("consolidation.mismatch", code, None, first),
        )
    if variant != "mismatch":
        return ()
    victim = second if totals[second] > 0 else first
    _take(breakdown, victim, max(1, round(totals[victim] * rng.uniform(0.03, 0.15))))
    return (Expected("consolidation.mismatch", code, None, victim),)


def _take(breakdown: dict[str, dict[str, int]], candidate: str, cut: int) -> None:
    """Take `cut` votes of `candidate` off the fewest of its biggest stations that hold
    half again as many, in proportion to what each holds."""
    biggest = sorted(breakdown, key=lambda s: (-breakdown[s][candidate], s))
    chosen: list[str] = []
    held = 0
    for sid in biggest:
        chosen.append(sid)
        held += breakdown[sid][candidate]
        if held >= cut * 1.5:
            break
    cut = min(cut, held)
    parts = split_total(cut, [float(breakdown[s][candidate]) for s in chosen]) if held else []
    for sid, part in zip(chosen, parts, strict=False):
        breakdown[sid][candidate] -= part
