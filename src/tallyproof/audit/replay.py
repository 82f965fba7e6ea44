"""Replays the log entry by entry: who signed what, whether each document kept the rules
when it was logged, and the contests' totals at the end."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from tallyproof.audit.events import EventLog, replay_event
from tallyproof.audit.words import listing, named, text, words

OFFICIAL = ("presiding_officer", "returning_officer")
PROGRESS = ("scheduled", "polling", "counting", "provisional")
# The status state machine (docs/rules.md), written out again here so the audit does not take
# the writer's word for it: from each status, the statuses an order may move to.
_FORWARD = ("polling", "counting", "provisional", "final")
_CHAIN = ("scheduled", "polling", "counting", "provisional")
TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    "contest": {
        "scheduled": frozenset({*_FORWARD, "postponed", "suspended"}),
        "polling": frozenset({*_FORWARD[1:], "postponed", "suspended"}),
        "counting": frozenset({*_FORWARD[2:], "postponed", "suspended"}),
        "provisional": frozenset({"final", "vacated", "postponed", "suspended"}),
        "postponed": frozenset({"scheduled", "polling", "suspended"}),
        "suspended": frozenset({"scheduled", "polling", "postponed"}),
        "final": frozenset({"vacated"}),
        "vacated": frozenset(),
    },
    "station": {
        "open": frozenset({"suspended", "re_poll_ordered"}),
        "suspended": frozenset({"open", "re_poll_ordered"}),
        "re_poll_ordered": frozenset({"open", "suspended"}),
    },
}


@dataclass(frozen=True)
class Issue:
    """Something the audit found wrong: its rule code, where it is, and in words what is
    wrong; and, where the audit knows them, the entry (leaf index, kind and id), the
    election, contest, station, candidate and field it is about, and what was expected (what
    the ledger gives) against what was found."""

    code: str
    where: str
    message: str
    entry: int | None = None
    entry_id: str | None = None
    kind: str | None = None
    election: str | None = None
    contest: str | None = None
    station: str | None = None
    candidate: str | None = None
    field: str | None = None
    expected: Any = dataclasses.field(default=None, hash=False)
    found: Any = dataclasses.field(default=None, hash=False)

    def as_dict(self) -> dict[str, Any]:
        """code, where and message; the other fields only when set (expected and found
        together)."""
        out: dict[str, Any] = {"code": self.code, "where": self.where, "message": self.message}
        for name in _KNOWN:
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.expected is not None or self.found is not None:
            out["expected"], out["found"] = self.expected, self.found
        return out


_KNOWN = ("entry", "entry_id", "kind", "election", "contest", "station", "candidate", "field")


class Entry(NamedTuple):
    """The entry being replayed, as its leaf names it: for the issues found in it."""

    seq: int
    kind: str
    entry_id: str  # the SHA-256 of the signed body: the document's id
    election: str | None
    contest: str | None
    station: str | None

    @classmethod
    def of(cls, seq: int, leaf: dict[str, Any], message: bytes) -> Entry:
        body = leaf.get("body")
        body = body if isinstance(body, dict) else {}
        place = {"contest": body.get("contest"), "station": body.get("station")}
        if body.get("scope") in ("contest", "station"):  # a status order names its target
            place[body["scope"]] = body.get("target")
        election = body.get("election")
        if isinstance(election, dict):  # a structure: the election it sets up
            election = election.get("id")
        return cls(
            seq,
            text(leaf.get("kind")),
            hashlib.sha256(message).hexdigest(),
            text(election) if isinstance(election, str) and election else None,
            *(text(v) if isinstance(v, str) and v else None for v in place.values()),
        )

    def known(self) -> dict[str, Any]:
        """What an issue about this entry says of it."""
        return {
            "entry": self.seq,
            "entry_id": self.entry_id,
            "kind": self.kind,
            "election": self.election,
            "contest": self.contest,
            "station": self.station,
        }


Signature = tuple[int, bytes, bytes, bytes]  # seq, public key, message, signature


@dataclass
class Election:
    admin: bytes
    contests: dict[str, list[str]]  # contest -> candidate ids in roster order
    stations: dict[str, tuple[set[str], int]]  # station -> (contests served, registered voters)


@dataclass
class Key:
    public: bytes
    election: str
    source: str
    stations: set[str] | None
    contests: set[str] | None


@dataclass
class Doc:
    """A form (station set) or a declaration (station empty), as logged."""

    election: str
    station: str
    contest: str
    chain: str
    votes: dict[str, int]
    rejected: int
    polled: int
    seq: int
    superseded: bool = False


@dataclass
class Replay:
    elections: dict[str, Election] = field(default_factory=dict)
    keys: dict[str, Key] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    contest_status: dict[tuple[str, str], str] = field(default_factory=dict)
    station_status: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)
    re_polled_at: dict[tuple[str, str], int] = field(default_factory=dict)  # latest re-poll order
    docs: dict[str, Doc] = field(default_factory=dict)
    heads: dict[tuple[str, str, str, str], str] = field(default_factory=dict)
    signatures: list[Signature] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    accounts: dict[tuple[str, str, str], tuple[str, int]] = field(default_factory=dict)
    copies: dict[tuple[str, str, str, str], tuple[str, list[str]]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lifecycle: EventLog = field(default_factory=EventLog)  # audit/events.py
    message: bytes = b""  # canonical bytes of the body of the entry being applied
    _applying: tuple[int, dict[str, Any]] | None = None  # its seq and leaf
    _entry: Entry | None = None  # what it is named as in an issue, once one is found

    @property
    def current(self) -> Entry | None:
        """The entry being applied as an issue names it; worked out only for an issue (a
        clean national replay never needs it)."""
        if self._entry is None and self._applying is not None:
            self._entry = Entry.of(*self._applying, self.message)
        return self._entry

    def fail(self, seq: int, code: str, message: str, **known: Any) -> None:
        """An issue about entry `seq`: its kind, id, contest and station are named when it
        is the entry being applied, as are the fields given."""
        applying = self._applying is not None and self._applying[0] == seq
        about = self.current.known() if applying and self.current else {}
        self.issues.append(Issue(code, f"entry {seq}", message, **(about | known)))

    def enter(self, seq: int, leaf: dict[str, Any], message: bytes) -> None:
        """Name the entry about to be checked (`apply` does, if not done before)."""
        self.message = message
        self._applying, self._entry = (seq, leaf), None

    def apply(self, seq: int, leaf: dict[str, Any], message: bytes) -> None:
        """Check one entry (whose body encodes canonically as `message`) against everything
        logged before it, then take it in."""
        applying = self._applying
        if applying is None or applying[0] != seq or self.message is not message:
            self.enter(seq, leaf, message)
        kind, body = leaf["kind"], leaf["body"]
        self.counts[kind] += 1
        key_id = leaf["signature"]["key"]
        signature = base64.b64decode(leaf["signature"]["value"])
        handler = getattr(self, f"_{kind}", None)
        if handler is None:
            self.fail(seq, "audit.entry_format", f"unknown entry kind {named(kind)}")
            return
        public = handler(seq, body, key_id)
        if public is not None:
            self.signatures.append((seq, public, message, signature))

    def _admin_of(self, seq: int, body: dict[str, Any], key_id: str) -> bytes | None:
        election = self.elections.get(body.get("election", ""))
        if election is None:
            self.fail(
                seq, "audit.rule", f"refers to an unknown election: {named(body.get('election'))}"
            )
            return None
        if _key_id(election.admin) != key_id:
            self.fail(seq, "audit.key", "admin document not signed by the election's admin key")
        return election.admin

    def _structure(self, seq: int, body: dict[str, Any], key_id: str) -> bytes | None:
        eid = body["election"]["id"]
        if eid in self.elections:
            self.fail(seq, "audit.rule", f"election {named(eid)} imported twice")
        admin = base64.b64decode(body["admin_key"])
        if _key_id(admin) != key_id:
            self.fail(
                seq, "audit.key", f"structure of {eid} is not signed by the admin key it names"
            )
        contests = {c["code"]: [k["id"] for k in c.get("candidates", [])] for c in body["contests"]}
        for c in body["contests"]:
            replaced = c.get("replaces")
            if (
                replaced
                and self.contest_status.get((replaced.get("election"), replaced.get("contest")))
                != "vacated"
            ):
                self.fail(
                    seq,
                    "audit.rule",
                    f"by-election contest {named(c['code'])} replaces "
                    f"{named(replaced.get('contest'))}, which the ledger has not made vacated",
                    contest=text(c["code"]),
                )
        stations = {
            s["id"]: (set(s["contests"]), s["registered_voters"]) for s in body.get("stations", [])
        }
        self.elections[eid] = Election(admin, contests, stations)
        self.lifecycle.structure(eid, body)
        return admin

    def _key_registration(self, seq: int, body: dict[str, Any], key_id: str) -> bytes | None:
        admin = self._admin_of(seq, body, key_id)
        public = base64.b64decode(body["key"]["public_key"])
        kid = _key_id(public)
        if kid in self.keys:
            self.fail(seq, "audit.rule", f"key {kid} registered twice")
        self.keys[kid] = Key(
            public,
            body["election"],
            body["source"],
            set(body["stations"]) if "stations" in body else None,
            set(body["contests"]) if "contests" in body else None,
        )
        return admin

    def _key_revocation(self, seq: int, body: dict[str, Any], key_id: str) -> bytes | None:
        admin = self._admin_of(seq, body, key_id)
        if body["key_id"] not in self.keys:
            self.fail(seq, "audit.rule", f"revokes unknown key {body['key_id']}")
        self.revoked.add(body["key_id"])
        return admin

    def _status(self, seq: int, body: dict[str, Any], key_id: str) -> bytes | None:
        admin = self._admin_of(seq, body, key_id)
        target = (body["election"], body["target"])
        current = self._status_now(body["scope"], target)
        ordered = self.contest_status.get(target, "scheduled")
        if body["scope"] == "contest" and body["status"] in _FORWARD and ordered in _CHAIN:
            current = ordered  # a step on the chain: from what was ordered, not what was shown
        if body["status"] not in TRANSITIONS[body["scope"]].get(current, ()):
            self.fail(
                seq,
                "audit.rule",
                f"an illegal transition: the {body['scope']} was {text(current)}, "
                f"ordered {named(body['status'])}",
                field="status",
                expected=sorted(TRANSITIONS[body["scope"]].get(current, ())),
                found=body["status"],
            )
        if body["scope"] == "contest":
            self.contest_status[target] = body["status"]
        else:
            self.station_status[target] = (body["status"], seq)
            if body["status"] == "re_poll_ordered":
                self.re_polled_at[target] = seq
        return admin

    def _event(self, seq: int, body: dict[str, Any], key_id: str) -> bytes | None:
        return replay_event(self, seq, body, key_id)

    def _status_now(self, scope: str, target: tuple[str, str]) -> str:
        """A station's ordered status; a contest's, moved forward by its official forms (and
        made provisional by an official declaration) as the published results show it."""
        if scope != "contest":
            return self.station_status.get(target, ("open", -1))[0]
        eid, code = target
        ordered = self.contest_status.get(target, "scheduled")
        election = self.elections.get(eid)
        stations = [s for s, (c, _) in election.stations.items() if code in c] if election else []
        reported = sum((eid, s, code, "official") in self.heads for s in stations)
        declared = (eid, "", code, "official") in self.heads
        status = _status(ordered, "declared" if declared else "stations", reported, len(stations))
        return status

    def counts_now(self, doc: Doc) -> bool:
        """Whether a station's official form counts: not while its station is suspended, and
        never one logged before the station's latest re-poll order, in any contest."""
        place = (doc.election, doc.station)
        status = self.station_status.get(place, ("open", -1))[0]
        return status != "suspended" and doc.seq > self.re_polled_at.get(place, -1)

    def _signer(
        self, seq: int, body: dict[str, Any], key_id: str, station: str | None
    ) -> bytes | None:
        key = self.keys.get(key_id)
        if key is None:
            self.fail(seq, "audit.key", f"signed by unregistered key {key_id}")
            return None
        if key_id in self.revoked:
            self.fail(seq, "audit.key", f"signed by revoked key {key_id}")
        if key.election != body["election"] or key.source != body["source"]:
            self.fail(
                seq,
                "audit.key",
                f"key {key_id} is registered for {named(key.source)} in {named(key.election)}, "
                f"not for {named(body['source'])} in {named(body['election'])}",
                field="source",
                expected=f"{key.source} in {key.election}",
                found=f"{body['source']} in {body['election']}",
            )
        if key.contests is not None and body["contest"] not in key.contests:
            self.fail(
                seq,
                "audit.key",
                f"key {key_id} is not registered for {named(body['contest'])}, only for "
                f"{listing(key.contests)}",
                field="contest",
                expected=sorted(key.contests),
                found=body["contest"],
            )
        if station and key.stations is not None and station not in key.stations:
            self.fail(
                seq,
                "audit.key",
                f"key {key_id} is not registered for station {named(station)}, only for "
                f"{listing(key.stations)}",
                field="station",
                expected=sorted(key.stations),
                found=station,
            )
        if station is None and key.stations is not None:
            self.fail(
                seq,
                "audit.key",
                f"key {key_id} is registered for stations ({listing(key.stations)}), "
                "not contest-wide",
            )
        return key.public

    def _form(self, seq: int, body: dict[str, Any], key_id: str) -> bytes | None:
        public = self._signer(seq, body, key_id, body["station"])
        election = self.elections.get(body["election"])
        if election is None:
            self.fail(seq, "audit.rule", "form for an unknown election")
            return public
        official = body["source"] in OFFICIAL
        roster = election.contests.get(body["contest"])
        served, registered = election.stations.get(body["station"], (set(), 0))
        if roster is None or body["contest"] not in served:
            self.fail(seq, "audit.rule", "the election has no such contest at that station")
            return public
        votes = body["votes"]
        self._check_counts(seq, body, votes, roster, official, registered)
        self._check_status(seq, body, official)
        self._take(seq, body, self._doc_id(), official, votes)
        return public

    def _claim(self, seq: int, body: dict[str, Any], key_id: str) -> bytes | None:
        """A news report's claims: signed for its outlet, linked only to what exists.
        Claims never enter the tally."""
        claims = body.get("claims") or []
        codes = sorted({c["contest_code"] for c in claims if c.get("contest_code")}) or [""]
        public = None
        for code in codes:
            public = self._signer(seq, {**body, "contest": code}, key_id, None)
        election = self.elections.get(body["election"])
        if election is None:
            self.fail(seq, "audit.rule", "claims about an unknown election")
            return public
        for claim in claims:
            roster = election.contests.get(claim.get("contest_code", ""))
            if claim.get("contest_code") and roster is None:
                self.fail(
                    seq,
                    "audit.rule",
                    f"a claim about an unknown contest: {named(claim['contest_code'])}",
                    contest=text(claim["contest_code"]),
                )
            elif claim.get("candidate_id") and claim["candidate_id"] not in (roster or ()):
                self.fail(
                    seq,
                    "audit.rule",
                    f"a claim about an unknown candidate: {named(claim['candidate_id'])}",
                    contest=text(claim["contest_code"]) if claim.get("contest_code") else None,
                    candidate=text(claim["candidate_id"]),
                )
        return public

    def _check_counts(
        self,
        seq: int,
        body: dict[str, Any],
        votes: dict[str, Any],
        roster: list[str],
        official: bool,
        registered: int,
    ) -> None:
        numbers = [*votes.values(), body["rejected"], body["polled"]]
        if any(type(n) is not int or n < 0 for n in numbers):
            self.fail(seq, "audit.rule", "a count is not a whole number of 0 or more")
            return
        if not set(votes) <= set(roster) or (official and set(votes) != set(roster)):
            self.fail(
                seq,
                "audit.rule",
                "the candidates are not the contest's roster: "
                + _roster_difference(roster, votes, official),
                field="votes",
                expected=list(roster),
                found=list(votes),
            )
        valid = sum(votes.values())
        if not official:  # a copy that does not add up is evidence, with a finding
            self._copy(body, votes, roster)
        if official and body.get("valid") is not None and body["valid"] != valid:
            self.fail(
                seq,
                "audit.rule",
                f"states {words(body['valid'])} valid votes, but the candidates' votes add up "
                f"to {valid:,}",
                field="valid",
                expected=valid,
                found=body["valid"],
            )
        complete = set(votes) >= set(roster)
        total = valid + body["rejected"]
        polled = body["polled"]
        broken = (complete and total != polled) or (not complete and total > polled)
        if official and broken:
            self.fail(
                seq,
                "audit.rule",
                f"{valid:,} valid and {body['rejected']:,} rejected make {total:,}, but "
                + (f"{polled:,} were polled" if complete else f"only {polled:,} were polled"),
                field="polled",
                expected=total,
                found=polled,
            )
        if polled > registered:
            self.fail(
                seq,
                "audit.rule",
                f"{polled:,} polled, more than the {registered:,} registered voters",
                field="polled",
                expected=registered,
                found=polled,
            )
        issued = body.get("issued")
        if issued is not None and issued > registered:
            self.fail(
                seq,
                "audit.rule",
                f"{words(issued)} ballots issued, more than the {registered:,} registered voters",
                field="issued",
                expected=registered,
                found=issued,
            )

    def _copy(self, body: dict[str, Any], votes: dict[str, int], roster: list[str]) -> None:
        """An unofficial copy's own findings, as the read model makes them: partial (only some
        candidates), and not adding up (stated valid, or valid + rejected against polled)."""
        summed, complete = sum(votes.values()), set(votes) >= set(roster)
        codes = [] if complete else ["form.partial_copy"]
        total = summed + body["rejected"]
        stated = body.get("valid")
        if (stated is not None and stated != summed) or (
            total != body["polled"] if complete else total > body["polled"]
        ):
            codes.append("form.copy_does_not_add_up")
        place = (body["election"], body["station"], body["contest"], body["source"])
        self.copies[place] = (self._doc_id(), codes)

    def _ballot_account(self, seq: int, body: dict[str, Any], key_id: str) -> bytes | None:
        """Form 46: the station's presiding officer's, for a contest the station serves, every
        paper received accounted for once, no more issued than voters on the roll; a second
        account for the same station and contest corrects the current one."""
        public = self._signer(seq, body, key_id, body["station"])
        if body["source"] != "presiding_officer":
            self.fail(seq, "audit.key", "a ballot paper account not from the presiding officer")
        election = self.elections.get(body["election"])
        served, registered = (set(), 0)
        if election is not None:
            served, registered = election.stations.get(body["station"], (set(), 0))
        if body["contest"] not in served:
            self.fail(seq, "audit.rule", "the election has no such contest at that station")
            return public
        names = ("received", "issued", "spoilt", "unused")
        counts = [body[n] for n in names]
        if any(type(n) is not int or n < 0 for n in counts):
            self.fail(seq, "audit.rule", "a count is not a whole number of 0 or more")
            return public
        received, issued, spoilt, unused = counts
        if received != issued + spoilt + unused:
            self.fail(
                seq,
                "audit.rule",
                f"{received:,} ballot papers received, but issued, spoilt and unused make "
                f"{issued + spoilt + unused:,}",
                field="received",
                expected=issued + spoilt + unused,
                found=received,
            )
        if issued > registered:
            self.fail(
                seq,
                "audit.rule",
                f"{issued:,} ballots issued, more than the {registered:,} registered voters",
                field="issued",
                expected=registered,
                found=issued,
            )
        place = (body["election"], body["station"], body["contest"])
        head = self.accounts.get(place)
        target = body.get("supersedes")
        if (head is None) != (target is None) or (head is not None and target != head[0]):
            self.fail(
                seq,
                "audit.rule",
                f"the station's current ballot paper account is {named(head and head[0])}, "
                f"but this one supersedes {named(target)}",
                field="supersedes",
                expected=head and head[0],
                found=target,
            )
        self.accounts[place] = (self._doc_id(), issued)
        return public

    def findings(self) -> list[dict[str, Any]]:
        """The findings the audit re-derives from the log alone: each unofficial copy's own,
        and each station's current ballot paper account against its counted Form 45."""
        found = [
            {"code": code, "election": e, "station": s, "contest": c, "forms": [doc_id]}
            for (e, s, c, _), (doc_id, codes) in sorted(self.copies.items())
            for code in codes
        ]
        for (e, s, c), (account_id, issued) in sorted(self.accounts.items()):
            form_id = self.heads.get((e, s, c, "official"))
            if form_id is None or self.docs[form_id].polled == issued:
                continue
            polled = self.docs[form_id].polled
            found.append(
                {
                    "code": "ballots.issued_differs_from_polled",
                    "election": e,
                    "station": s,
                    "contest": c,
                    "forms": [form_id, account_id],
                    "issued": issued,
                    "polled": polled,
                }
            )
        return found

    def _check_status(self, seq: int, body: dict[str, Any], official: bool) -> None:
        contest = self.contest_status.get((body["election"], body["contest"]), "scheduled")
        station, ordered_at = self.station_status.get(
            (body["election"], body["station"]), ("open", -1)
        )
        if contest in ("postponed", "suspended") or (contest in ("final", "vacated") and official):
            self.fail(seq, "audit.rule", f"logged while the contest was {text(contest)}")
        if station == "suspended":
            self.fail(seq, "audit.rule", "logged while the station was suspended")
        if body.get("reason") == "re_poll" and station != "re_poll_ordered":
            self.fail(seq, "audit.rule", "a re-poll form without a re-poll order")
        target = self.docs.get(body.get("supersedes") or "")
        if (
            official
            and station == "re_poll_ordered"
            and target is not None
            and target.seq < ordered_at
            and body.get("reason") != "re_poll"
        ):
            self.fail(
                seq,
                "audit.rule",
                "replaces a count from before the re-poll order without giving re_poll as the "
                "reason",
            )

    def _take(
        self,
        seq: int,
        body: dict[str, Any],
        doc_id: str,
        official: bool,
        votes: dict[str, int],
    ) -> None:
        """The supersession chain: a new chain, or the current head replaced with a reason."""
        station = body.get("station", "")
        chain = "official" if official else body["source"]
        place = (body["election"], station, body["contest"], chain)
        head = self.heads.get(place)
        target_id = body.get("supersedes")
        if target_id is None and head is not None:
            self.fail(
                seq,
                "audit.rule",
                f"a second {text(chain)} document that does not supersede the first ({head})",
                field="supersedes",
                expected=head,
                found=None,
            )
        if target_id is not None:
            if target_id != head:
                self.fail(
                    seq,
                    "audit.rule",
                    f"supersedes {named(target_id)}, but the current {text(chain)} document is "
                    f"{named(head)}",
                    field="supersedes",
                    expected=head,
                    found=target_id,
                )
            elif not body.get("reason"):
                self.fail(
                    seq,
                    "audit.rule",
                    f"supersedes {named(target_id)} without giving a reason",
                    field="reason",
                )
            elif target_id in self.docs:
                self.docs[target_id].superseded = True
        self.docs[doc_id] = Doc(
            body["election"],
            station,
            body["contest"],
            chain,
            votes,
            body.get("rejected") or 0,
            body.get("polled") or 0,
            seq,
        )
        self.heads[place] = doc_id

    def _declaration(self, seq: int, body: dict[str, Any], key_id: str) -> bytes | None:
        public = self._signer(seq, body, key_id, None)
        election = self.elections.get(body["election"])
        roster = election.contests.get(body["contest"]) if election else None
        if roster is None:
            self.fail(
                seq, "audit.rule", f"a declaration for an unknown contest: {named(body['contest'])}"
            )
            return public
        official = body["source"] == "returning_officer"  # the only official declarer
        declared = set(body["votes"])
        if not declared or not declared <= set(roster) or (official and declared != set(roster)):
            self.fail(
                seq,
                "audit.rule",
                "the declared candidates are not the contest's roster: "
                + _roster_difference(roster, body["votes"], official),
                field="votes",
                expected=list(roster),
                found=list(body["votes"]),
            )
        votes = body["votes"]
        polled = body.get("polled")
        rejected = body.get("rejected") or 0
        filled = {
            **body,
            "rejected": rejected,
            "polled": polled if polled is not None else sum(votes.values()) + rejected,
        }
        self._take(seq, filled, self._doc_id(), official, votes)
        return public

    def _doc_id(self) -> str:
        """The id of the document being applied: the SHA-256 of its signed body."""
        return hashlib.sha256(self.message).hexdigest()

    def tally(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Every contest's result, re-derived: election -> contest -> record."""
        forms: dict[tuple[str, str], list[Doc]] = defaultdict(list)
        declared: dict[tuple[str, str], tuple[str, Doc]] = {}
        for (eid, station, code, chain), doc_id in self.heads.items():
            if chain == "official" and station:
                if self.counts_now(self.docs[doc_id]):
                    forms[(eid, code)].append(self.docs[doc_id])
            elif chain == "official":
                declared[(eid, code)] = (doc_id, self.docs[doc_id])
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for eid, election in self.elections.items():
            served: dict[str, int] = defaultdict(int)
            for contests, _ in election.stations.values():
                for code in contests:
                    served[code] += 1
            out[eid] = {
                code: self._contest_record(
                    eid, code, roster, forms[(eid, code)], declared.get((eid, code)), served[code]
                )
                for code, roster in election.contests.items()
            }
        return out

    def _contest_record(
        self,
        eid: str,
        code: str,
        roster: list[str],
        forms: list[Doc],
        declared: tuple[str, Doc] | None,
        total: int,
    ) -> dict[str, Any]:
        """The official result (the returning officer's declaration once declared, else the
        forms' sum), the forms' sum beside it, and the declaration it rests on."""
        ordered = self.contest_status.get((eid, code), "scheduled")
        basis = "stations" if forms else "none"
        status = _status(ordered, basis, len(forms), total)
        computed = _record(code, roster, basis, status, forms, len(forms), total)
        if declared is None:
            return computed | {"computed": computed, "declared": None, "winner_differs": False}
        doc_id, doc = declared
        status = (
            ordered if ordered in ("postponed", "suspended", "final", "vacated") else "provisional"
        )
        official = _record(code, roster, "declared", status, [doc], 0, total)
        differs = bool(forms) and _leader(roster, official["votes"]) != _leader(
            roster, computed["votes"]
        )
        return official | {
            "computed": computed,
            "declared": {
                "declaration": doc_id,
                "leaf_index": doc.seq,
                "source": "returning_officer",
            },
            "winner_differs": differs,
        }


def _record(
    code: str,
    roster: list[str],
    basis: str,
    status: str,
    source: list[Doc],
    reported: int,
    total: int,
) -> dict[str, Any]:
    votes = {c: sum(d.votes.get(c, 0) for d in source) for c in roster}
    leader = _leader(roster, votes)
    return {
        "contest": code,
        "status": status,
        "basis": basis,
        "votes": votes,
        "rejected": sum(d.rejected for d in source),
        "polled": sum(d.polled for d in source),
        "stations_reported": reported,
        "stations_total": total,
        "winner": leader if status in ("provisional", "final") else None,
    }


def _leader(roster: list[str], votes: dict[str, int]) -> str | None:
    """The candidate ahead: some votes, and more than anyone else."""
    ranked = sorted(roster, key=lambda c: (-votes[c], roster.index(c)))
    top = ranked[0] if ranked else None
    if top is None or votes[top] == 0 or (len(ranked) > 1 and votes[top] == votes[ranked[1]]):
        return None
    return top


def _status(ordered: str, basis: str, reported: int, total: int) -> str:
    if ordered not in PROGRESS:
        return ordered
    if basis == "declared":
        return "provisional"
    derived = "scheduled"
    if reported:
        derived = "counting"
    if total and reported >= total:
        derived = "provisional"
    return max(ordered, derived, key=PROGRESS.index)


def _roster_difference(roster: list[str], named_: Any, complete: bool) -> str:
    """Which candidates a document names that the roster lacks, and (when it must name them
    all) which it leaves out."""
    given = list(named_)
    strangers = [c for c in given if c not in roster]
    missing = [c for c in roster if c not in given] if complete else []
    said = []
    if strangers:
        said.append(f"not on the roster: {listing(strangers)}")
    if missing:
        said.append(f"missing: {listing(missing)}")
    return "; ".join(said) or "it names no candidate"


def _key_id(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest()[:16]
