"""Replays the log entry by entry: who signed what, whether each document kept the rules
when it was logged, and the contests' totals at the end."""

from __future__ import annotations

import base64
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

OFFICIAL = ("presiding_officer", "returning_officer")
PROGRESS = ("scheduled", "polling", "counting", "provisional")


@dataclass(frozen=True)
class Issue:
    """Something the audit found wrong, with where it is."""

    code: str
    where: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "where": self.where, "message": self.message}


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
    docs: dict[str, Doc] = field(default_factory=dict)
    heads: dict[tuple[str, str, str, str], str] = field(default_factory=dict)
    signatures: list[tuple[int, bytes, bytes, bytes]] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    message: bytes = b""  # canonical bytes of the body of the entry being applied

    def fail(self, seq: int, code: str, message: str) -> None:
        self.issues.append(Issue(code, f"entry {seq}", message))

    def apply(self, seq: int, leaf: dict[str, Any], message: bytes) -> None:
        """Check one entry (whose body encodes canonically as `message`) against everything
        logged before it, then take it in."""
        kind, body = leaf["kind"], leaf["body"]
        self.message = message
        self.counts[kind] += 1
        key_id = leaf["signature"]["key"]
        signature = base64.b64decode(leaf["signature"]["value"])
        handler = getattr(self, f"_{kind}", None)
        if handler is None:
            self.fail(seq, "audit.entry_format", f"unknown entry kind {kind!r}")
            return
        public = handler(seq, body, key_id)
        if public is not None:
            self.signatures.append((seq, public, message, signature))

    def _admin_of(self, seq: int, body: dict[str, Any], key_id: str) -> bytes | None:
        election = self.elections.get(body.get("election", ""))
        if election is None:
            self.fail(seq, "audit.rule", f"refers to unknown election {body.get('election')!r}")
            return None
        if _key_id(election.admin) != key_id:
            self.fail(seq, "audit.key", "admin document not signed by the election's admin key")
        return election.admin

    def _structure(self, seq: int, body: dict[str, Any], key_id: str) -> bytes | None:
        eid = body["election"]["id"]
        if eid in self.elections:
            self.fail(seq, "audit.rule", f"election {eid!r} imported twice")
        admin = base64.b64decode(body["admin_key"])
        if _key_id(admin) != key_id:
            self.fail(
                seq, "audit.key", f"structure of {eid} is not signed by the admin key it names"
            )
        contests = {c["code"]: [k["id"] for k in c.get("candidates", [])] for c in body["contests"]}
        stations = {
            s["id"]: (set(s["contests"]), s["registered_voters"]) for s in body.get("stations", [])
        }
        self.elections[eid] = Election(admin, contests, stations)
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
        if body["scope"] == "contest":
            self.contest_status[target] = body["status"]
        else:
            self.station_status[target] = (body["status"], seq)
        return admin

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
            self.fail(seq, "audit.key", f"key {key_id} does not speak for {body['source']} here")
        if key.contests is not None and body["contest"] not in key.contests:
            self.fail(seq, "audit.key", f"key {key_id} is not registered for {body['contest']}")
        if station and key.stations is not None and station not in key.stations:
            self.fail(seq, "audit.key", f"key {key_id} is not registered for station {station}")
        if station is None and key.stations is not None:
            self.fail(seq, "audit.key", f"key {key_id} is scoped to stations: not contest-wide")
        return key.public

    def _form(self, seq: int, body: dict[str, Any], key_id: str) -> bytes | None:
        public = self._signer(seq, body, key_id, body["station"])
        election = self.elections.get(body["election"])
        if election is None:
            self.fail(seq, "audit.rule", "form for an unknown election")
            return public
        where = f"{body['contest']} at {body['station']}"
        official = body["source"] in OFFICIAL
        roster = election.contests.get(body["contest"])
        served, registered = election.stations.get(body["station"], (set(), 0))
        if roster is None or body["contest"] not in served:
            self.fail(seq, "audit.rule", f"{where}: no such contest at that station")
            return public
        votes = body["votes"]
        self._check_counts(seq, where, body, votes, roster, official, registered)
        self._check_status(seq, where, body, official)
        self._take(seq, body, hashlib.sha256(self.message).hexdigest(), official, votes, where)
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
                self.fail(seq, "audit.rule", f"claim about unknown contest {claim['contest_code']}")
            elif claim.get("candidate_id") and claim["candidate_id"] not in (roster or ()):
                self.fail(
                    seq, "audit.rule", f"claim about unknown candidate {claim['candidate_id']}"
                )
        return public

    def _check_counts(
        self,
        seq: int,
        where: str,
        body: dict[str, Any],
        votes: dict[str, Any],
        roster: list[str],
        official: bool,
        registered: int,
    ) -> None:
        numbers = [*votes.values(), body["rejected"], body["polled"]]
        if any(type(n) is not int or n < 0 for n in numbers):
            self.fail(seq, "audit.rule", f"{where}: a count is not a whole number >= 0")
            return
        if not set(votes) <= set(roster) or (official and set(votes) != set(roster)):
            self.fail(seq, "audit.rule", f"{where}: candidates do not match the contest's roster")
        valid = sum(votes.values())
        if body.get("valid") is not None and body["valid"] != valid:
            self.fail(seq, "audit.rule", f"{where}: stated valid {body['valid']} != sum {valid}")
        complete = set(votes) >= set(roster)
        total = valid + body["rejected"]
        if (complete and total != body["polled"]) or (not complete and total > body["polled"]):
            self.fail(
                seq,
                "audit.rule",
                f"{where}: valid {valid} + rejected {body['rejected']} vs polled {body['polled']}",
            )
        if body["polled"] > registered:
            self.fail(
                seq, "audit.rule", f"{where}: {body['polled']} polled > {registered} registered"
            )
        issued = body.get("issued")
        if issued is not None and issued > registered:
            self.fail(seq, "audit.rule", f"{where}: {issued} issued > {registered} registered")

    def _check_status(self, seq: int, where: str, body: dict[str, Any], official: bool) -> None:
        contest = self.contest_status.get((body["election"], body["contest"]), "scheduled")
        station, ordered_at = self.station_status.get(
            (body["election"], body["station"]), ("open", -1)
        )
        if contest in ("postponed", "suspended") or (contest == "final" and official):
            self.fail(seq, "audit.rule", f"{where}: logged while the contest was {contest}")
        if station == "suspended":
            self.fail(seq, "audit.rule", f"{where}: logged while the station was suspended")
        if body.get("reason") == "re_poll" and station != "re_poll_ordered":
            self.fail(seq, "audit.rule", f"{where}: a re-poll form without a re-poll order")
        target = self.docs.get(body.get("supersedes") or "")
        if (
            official
            and station == "re_poll_ordered"
            and target is not None
            and target.seq < ordered_at
            and body.get("reason") != "re_poll"
        ):
            self.fail(
                seq, "audit.rule", f"{where}: replaces a pre-order count without saying re_poll"
            )

    def _take(
        self,
        seq: int,
        body: dict[str, Any],
        doc_id: str,
        official: bool,
        votes: dict[str, int],
        where: str,
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
                f"{where}: a second {chain} document without superseding the first",
            )
        if target_id is not None:
            if target_id != head or not body.get("reason"):
                self.fail(
                    seq,
                    "audit.rule",
                    f"{where}: supersedes {target_id}, which is not the current one",
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
            self.fail(seq, "audit.rule", f"declaration for unknown contest {body['contest']}")
            return public
        official = body["source"] == "returning_officer"  # the only official declarer
        named = set(body["votes"])
        if not named or not named <= set(roster) or (official and named != set(roster)):
            self.fail(seq, "audit.rule", f"{body['contest']}: declared candidates not the roster's")
        votes = body["votes"]
        polled = body.get("polled")
        rejected = body.get("rejected") or 0
        filled = {
            **body,
            "rejected": rejected,
            "polled": polled if polled is not None else sum(votes.values()) + rejected,
        }
        doc_id = hashlib.sha256(self.message).hexdigest()
        self._take(seq, filled, doc_id, official, votes, body["contest"])
        return public

    def tally(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Every contest's result, re-derived: election -> contest -> record."""
        forms: dict[tuple[str, str], list[Doc]] = defaultdict(list)
        declared: dict[tuple[str, str], tuple[str, Doc]] = {}
        for (eid, station, code, chain), doc_id in self.heads.items():
            if chain == "official" and station:
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
        status = ordered if ordered in ("postponed", "suspended", "final") else "provisional"
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


def _key_id(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest()[:16]
