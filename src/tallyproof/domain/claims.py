"""Claims from news reports: what a report says about a contest, in numbers or in words, and
the report (by outlet) that said it. A claim is a source like any other (`media:<outlet>`):
its numbers are reconciled with other outlets' and with the official consolidation."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from itertools import combinations
from typing import Any

from tallyproof.domain.consolidation import ContestResult, ResultBasis
from tallyproof.domain.fields import FieldReader
from tallyproof.domain.findings import Finding, Severity
from tallyproof.domain.problems import Problem, Rejected
from tallyproof.domain.sources import Source, SourceKind
from tallyproof.domain.status import ContestStatus
from tallyproof.domain.structure import ElectionStructure


class ClaimKind(StrEnum):
    VOTES = "votes"  # a candidate's vote count
    MARGIN = "margin"  # a winner's lead over the runner-up
    SEATS = "seats"  # seats a party or group won
    STATUS = "status"  # postponed, re-poll, conceded, gave up the seat, suspended
    WINNER = "winner"  # a candidate won the contest ("won NA-130", "was declared the winner")


class Qualifier(StrEnum):
    EXACT = "exact"
    JUST = "just"  # "by just 412 votes": exact, and small
    MORE_THAN = "more_than"
    AT_LEAST = "at_least"
    LESS_THAN = "less_than"
    APPROXIMATELY = "approximately"


class StatusClaim(StrEnum):
    POSTPONED = "postponed"
    RE_POLL = "re_poll"
    CONCEDED = "conceded"
    GAVE_UP_SEAT = "gave_up_seat"
    SUSPENDED = "suspended"


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2}))?")  # fullmatch
APPROXIMATE_SHARE = 0.05  # "about 26,000" holds within 5 %
ROUNDED_FROM = 1000  # a number ending in 000 is read as rounded to its last non-zero digit


@dataclass(frozen=True)
class Claim:
    """One claim, with the exact sentence and the character span (in the report's text) it
    came from. Text fields are as written; `contest_code`, `candidate_id`, `party_code` are
    set when the claim is linked to an election's structure, and `unlinked` says why not.
    `unsure` says why the extractor could not tell whose claim it is, or about which contest,
    without guessing: such a claim is kept and shown, but never linked into a finding."""

    kind: ClaimKind
    sentence: str
    start: int
    end: int
    value: int | None = None
    qualifier: Qualifier = Qualifier.EXACT
    unit: int = 1  # the rounding of the number as written: 1 for 117,109, 1000 for 26,000
    status: StatusClaim | None = None
    candidate: str = ""
    party: str = ""  # a party code (PTI, PML-N, ...) as the text names it
    backed: bool = False  # "PTI-backed independent"
    contest: str = ""  # a code (NA-122) or a description (Dera Ismail Khan mayor)
    attributed_to: str = ""  # an outlet the sentence itself quotes ("Geo News reported")
    election: str = ""
    contest_code: str = ""
    candidate_id: str = ""
    party_code: str = ""
    unlinked: str = ""
    unsure: str = ""

    @property
    def linked(self) -> bool:
        """Linked to the structure without guessing: only such a claim raises findings."""
        return not self.unlinked and not self.unsure and bool(self.election)

    @property
    def side(self) -> str:
        """The claim's party as a results table names a side: "PML-N", or "IND (PTI-backed)"
        for an independent the party backed (never "PTI": the candidate is not its member).
        A linked claim takes the roster's word, whatever the report wrote."""
        party = self.party or self.party_code
        if not party:
            return ""
        return f"IND ({party}-backed)" if self.backed else party

    @property
    def says(self) -> str:
        """What the claim says, in a few words: "exact 117,109", "conceded", "won"."""
        if self.status:
            return str(self.status)
        if self.kind is ClaimKind.WINNER:
            return "won"
        return f"{self.qualifier} {self.value:,}" if self.value is not None else str(self.kind)

    def interval(self) -> tuple[float, float]:
        """The values the claim allows, given its qualifier and the rounding of its number."""
        v = float(self.value or 0)
        half = self.unit / 2 if self.unit >= ROUNDED_FROM else 0.0
        if self.qualifier in (Qualifier.EXACT, Qualifier.JUST):
            return v - half, v + half
        if self.qualifier is Qualifier.APPROXIMATELY:
            spread = max(half, APPROXIMATE_SHARE * v)
            return v - spread, v + spread
        if self.qualifier is Qualifier.MORE_THAN:
            return v + (0 if half else 1), float("inf")
        if self.qualifier is Qualifier.AT_LEAST:
            return v, float("inf")
        return 0.0, v - (0 if half else 1)  # less than

    def allows(self, value: int) -> bool:
        lo, hi = self.interval()
        return lo <= value <= hi

    def document(self) -> dict[str, Any]:
        """The claim as stored in the ledger: every field, empty ones left out."""
        return {k: v for k, v in asdict(self).items() if v not in ("", None, False)} | {
            "kind": str(self.kind),
            "qualifier": str(self.qualifier),
        }


def claims_agree(a: Claim, b: Claim) -> bool:
    """Two claims about the same number agree when some value satisfies both."""
    (lo_a, hi_a), (lo_b, hi_b) = a.interval(), b.interval()
    return max(lo_a, lo_b) <= min(hi_a, hi_b)


@dataclass(frozen=True)
class ClaimReport:
    """A news report's claims, as one ledger entry signed for `media:<outlet>`. The report's
    text is not logged (it is the outlet's); its SHA-256 is, with every claim's sentence.
    Nothing in it depends on when it was filed, so filing a report twice is one entry (the
    ledger records when it was received)."""

    election: str
    source: Source
    published: str
    text_sha256: str
    claims: tuple[Claim, ...]
    title: str = ""
    url: str = ""

    @property
    def outlet(self) -> str:
        return self.source.name

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "election": self.election,
            "source": self.source.label,
            "published": self.published,
            "text_sha256": self.text_sha256,
            "claims": [c.document() for c in self.claims],
        }
        for key in ("title", "url"):
            if getattr(self, key):
                doc[key] = getattr(self, key)
        return doc


REPORT_FIELDS = {"election", "source", "published", "text_sha256", "claims", "title", "url"}
_CLAIM_TEXTS = (  # the claim's free-text and link fields, all optional
    "candidate",
    "party",
    "contest",
    "attributed_to",
    "election",
    "contest_code",
    "candidate_id",
    "party_code",
    "unlinked",
    "unsure",
)
CLAIM_FIELDS = {"kind", "sentence", "start", "end", "value", "qualifier", "unit", "status"} | {
    "backed",
    *_CLAIM_TEXTS,
}


def is_published_date(text: str) -> bool:
    """A report's publication date: YYYY-MM-DD, optionally with a time and zone."""
    return _DATE.fullmatch(text) is not None


def parse_claim_report(doc: object) -> ClaimReport:
    """Read a claims document; every problem is reported with its field, nothing half-read."""
    problems: list[Problem] = []
    r = FieldReader(doc, "", problems)
    r.reject_unknown(REPORT_FIELDS)
    election = r.ident("election")
    source = r.source("source")
    published = r.text("published", max_len=40)
    if published is not None and not is_published_date(published):
        r.fail("schema.timestamp", "published", f"{published!r} is not a date (YYYY-MM-DD)")
    digest = r.text("text_sha256", max_len=64)
    title = r.text("title", max_len=500, required=False) or ""
    url = r.text("url", max_len=2000, required=False) or ""
    if source is not None and source.kind is not SourceKind.MEDIA:
        r.fail("claim.source", "source", "claims come from a news outlet: media:<outlet>")
    if digest is not None and (len(digest) != 64 or set(digest) - set("0123456789abcdef")):
        r.fail("schema.text", "text_sha256", "the report's SHA-256 in lowercase hex")
    claims = tuple(
        c
        for i, item in enumerate(r.items("claims"))
        if (c := _claim(item, f"claims[{i}]", problems)) is not None
    )
    if problems:
        raise Rejected(problems)
    assert election and source and published and digest
    return ClaimReport(election, source, published, digest, claims, title, url)


def parse_claim(doc: object) -> Claim:
    """One claim as stored (its report's fields are kept beside it)."""
    problems: list[Problem] = []
    claim = _claim(doc, "claim", problems)
    if claim is None:
        raise Rejected(problems)
    return claim


def _claim(item: object, path: str, problems: list[Problem]) -> Claim | None:
    r = FieldReader(item, path, problems)
    r.reject_unknown(CLAIM_FIELDS)
    before = len(problems)
    kind_text = r.choice("kind", {k.value for k in ClaimKind})
    sentence = r.text("sentence", max_len=5000)
    start, end = r.count("start"), r.count("end")
    value = r.count("value", required=False)
    qualifier_text = r.choice("qualifier", {q.value for q in Qualifier})
    status_text = r.choice("status", {s.value for s in StatusClaim}, required=False)
    texts = {k: r.text(k, max_len=300, required=False) or "" for k in _CLAIM_TEXTS}
    unit = r.count("unit", required=False) or 1
    backed = item.get("backed", False) if isinstance(item, dict) else False
    if not isinstance(backed, bool):
        r.fail("schema.type", f"{path}.backed", "must be true or false")
    kind = ClaimKind(kind_text) if kind_text else None
    status = StatusClaim(status_text) if status_text else None
    if start is not None and end is not None and end <= start:
        r.fail("claim.span", f"{path}.end", "the span must end after it starts")
    if kind is ClaimKind.STATUS and status is None:
        r.fail("schema.missing", f"{path}.status", "a status claim names the status")
    numeric = kind in (ClaimKind.VOTES, ClaimKind.MARGIN, ClaimKind.SEATS)
    if numeric and value is None and r.doc.get("value") is None:
        r.fail("schema.missing", f"{path}.value", f"a {kind} claim has a number")
    if len(problems) > before:
        return None
    assert kind and sentence is not None and start is not None and end is not None
    assert qualifier_text is not None
    return Claim(
        kind,
        sentence,
        start,
        end,
        value,
        Qualifier(qualifier_text),
        unit,
        status,
        backed=bool(backed),
        **texts,
    )


def check_claim_links(structure: ElectionStructure, report: ClaimReport) -> list[Problem]:
    """A linked claim must point at a contest, candidate and party the election has."""
    problems = []
    parties = {p.code for p in structure.parties}
    for i, c in enumerate(report.claims):
        if c.election and c.election != report.election:
            problems.append(
                Problem("claim.election", f"claims[{i}].election", "not the report's election")
            )
        contest = structure.contest(c.contest_code) if c.contest_code else None
        if c.contest_code and contest is None:
            problems.append(
                Problem(
                    "form.unknown_contest",
                    f"claims[{i}].contest_code",
                    f"no contest {c.contest_code!r} in {structure.election.id}",
                )
            )
        if c.candidate_id and (contest is None or c.candidate_id not in contest.candidate_ids):
            problems.append(
                Problem(
                    "votes.unknown_candidate",
                    f"claims[{i}].candidate_id",
                    f"{c.candidate_id!r} is not on the roster of {c.contest_code or 'a contest'}",
                )
            )
        if c.party_code and c.party_code not in parties:
            problems.append(
                Problem(
                    "structure.unknown_party",
                    f"claims[{i}].party_code",
                    f"no party {c.party_code!r}",
                )
            )
    return problems


@dataclass(frozen=True)
class StoredClaim:
    """A claim as accepted: which report and outlet said it, and when."""

    claim_id: str
    report_id: str
    outlet: str
    published: str
    claim: Claim

    @property
    def said_by(self) -> str:
        """The outlet the number belongs to: the one the sentence quotes, else the publisher."""
        return self.claim.attributed_to or self.outlet


def _key(claim: Claim) -> tuple[str, ...] | None:
    """What number a claim is about: claims with the same key must agree."""
    if not claim.linked:
        return None
    if claim.kind is ClaimKind.VOTES and claim.candidate_id:
        return ("votes", claim.contest_code, claim.candidate_id)
    if claim.kind is ClaimKind.MARGIN and claim.contest_code:
        return ("margin", claim.contest_code)
    if claim.kind is ClaimKind.SEATS and claim.party_code:
        return ("seats", claim.contest, claim.party_code, "backed" if claim.backed else "")
    if claim.kind is ClaimKind.WINNER and claim.candidate_id:
        return ("winner", claim.contest_code)
    return None


def _said(s: StoredClaim) -> dict[str, Any]:
    c = s.claim
    return {
        "claim": s.claim_id,
        "outlet": s.said_by,
        "published": s.published,
        "value": c.value,
        "qualifier": str(c.qualifier),
        **({"candidate": c.candidate_id} if c.kind is ClaimKind.WINNER else {}),
        "sentence": c.sentence,
        "span": [c.start, c.end],
    }


def reconcile_claims(
    claims: Sequence[StoredClaim],
    results: Mapping[str, ContestResult],
    *,
    computed: Mapping[str, ContestResult] | None = None,
    declared: Mapping[str, ContestResult] | None = None,
) -> list[Finding]:
    """Outlets that disagree about the same number (or winner), claims the official result
    contradicts (qualifiers and rounding respected: "more than 26,000" holds for 26,412), and
    winner claims and concessions held against both halves of a contest's result.

    `results` is each contest's official result as the caller holds it: summed from the
    station forms, or the returning officer's declaration when only that exists. `computed`
    (the sums of the polling-station forms, Form 45) and `declared` (the declarations, Form 47)
    give both halves when both exist; without them each contest has the half its `results`
    entry is based on."""
    halves = _Halves(results, computed or {}, declared or {})
    return (
        _outlets_disagree(claims)
        + _against_official(claims, results)
        + _winners(claims, halves)
        + _concessions(claims, halves)
    )


def _outlets_disagree(claims: Sequence[StoredClaim]) -> list[Finding]:
    groups: dict[tuple[str, ...], list[StoredClaim]] = defaultdict(list)
    for s in claims:
        key = _key(s.claim)
        if key is not None:
            groups[key].append(s)
    out = []
    for key, group in sorted(groups.items()):
        seen: set[tuple[str, str]] = set()
        for a, b in combinations(group, 2):
            pair = tuple(sorted((a.claim_id, b.claim_id)))
            if a.said_by == b.said_by or _agree(key, a.claim, b.claim) or pair in seen:
                continue
            seen.add(pair)  # type: ignore[arg-type]
            out.append(_disagreement(key, a, b))
    return out


def _agree(key: tuple[str, ...], a: Claim, b: Claim) -> bool:
    if key[0] == "winner":
        return a.candidate_id == b.candidate_id
    return claims_agree(a, b)


def _disagreement(key: tuple[str, ...], a: StoredClaim, b: StoredClaim) -> Finding:
    if key[0] == "winner":
        return Finding(
            "claim.outlets_disagree",
            Severity.MEDIUM,
            f"{a.said_by} says {a.claim.candidate or a.claim.candidate_id} won and "
            f"{b.said_by} says {b.claim.candidate or b.claim.candidate_id} won "
            f"{a.claim.contest_code}",
            contest=a.claim.contest_code or None,
            evidence={"about": list(key), "claims": [_said(a), _said(b)]},
        )
    what = {
        "votes": f"{a.claim.candidate or a.claim.candidate_id}'s votes",
        "margin": "the winning margin",
        "seats": f"{a.claim.party_code}'s seats",
    }[key[0]]
    where = f" in {a.claim.contest_code}" if a.claim.contest_code else ""
    return Finding(
        "claim.outlets_disagree",
        Severity.MEDIUM,
        f"{a.said_by} says {_number(a.claim)} and {b.said_by} says {_number(b.claim)} "
        f"for {what}{where}",
        contest=a.claim.contest_code or None,
        candidate=a.claim.candidate_id or None,
        evidence={"about": list(key), "claims": [_said(a), _said(b)]},
    )


def _number(c: Claim) -> str:
    words = {
        Qualifier.MORE_THAN: "more than ",
        Qualifier.AT_LEAST: "at least ",
        Qualifier.LESS_THAN: "less than ",
        Qualifier.APPROXIMATELY: "about ",
        Qualifier.JUST: "just ",
    }
    return f"{words.get(c.qualifier, '')}{c.value:,}"


def _complete(result: ContestResult) -> bool:
    """A result to hold claims against: every station counted, or a declared result."""
    if result.basis is ResultBasis.DECLARED:
        return True
    return (
        result.basis is ResultBasis.STATIONS
        and result.stations_total > 0
        and result.stations_reported == result.stations_total
    )


def _against_official(
    claims: Sequence[StoredClaim], results: Mapping[str, ContestResult]
) -> list[Finding]:
    out = []
    for s in claims:
        c = s.claim
        result = results.get(c.contest_code) if c.linked else None
        if result is None:
            continue
        if c.kind is ClaimKind.STATUS and c.status is StatusClaim.POSTPONED:
            if result.status is not ContestStatus.POSTPONED and result.stations_reported:
                out.append(_contradiction(s, result, "postponed", "forms have been counted"))
            continue
        if not _complete(result) or c.value is None:
            continue
        if c.kind is ClaimKind.VOTES and c.candidate_id:
            official = next((r.votes for r in result.ranking if r.candidate == c.candidate_id), 0)
            if not c.allows(official):
                out.append(_contradiction(s, result, _number(c), f"{official:,}", official))
        elif c.kind is ClaimKind.MARGIN:
            leader = result.leader
            if c.candidate_id and leader is not None and leader.candidate != c.candidate_id:
                said = f"{c.candidate} won by {_number(c)}"
                out.append(_contradiction(s, result, said, f"{leader.name} is ahead", None))
            elif not c.allows(result.margin):
                out.append(
                    _contradiction(s, result, _number(c), f"{result.margin:,}", result.margin)
                )
    return out


def _contradiction(
    s: StoredClaim, result: ContestResult, said: str, official: str, value: int | None = None
) -> Finding:
    c = s.claim
    name = next((r.name for r in result.ranking if r.candidate == c.candidate_id), c.candidate)
    what = f"{name}'s votes" if c.kind is ClaimKind.VOTES else str(c.kind)
    basis = (
        "the returning officer's declared result"
        if result.basis is ResultBasis.DECLARED
        else f"the consolidation of all {result.stations_total} stations"
    )
    return Finding(
        "claim.contradicts_official",
        Severity.HIGH,
        f"{s.said_by} says {said} for {what} in {result.contest}; {basis} has {official}",
        contest=result.contest,
        candidate=c.candidate_id or None,
        evidence={"claim": _said(s), "official": value, "basis": str(result.basis)},
    )


@dataclass(frozen=True)
class _Halves:
    """Each contest's two results: the sum of its station forms and its declaration."""

    results: Mapping[str, ContestResult]
    computed: Mapping[str, ContestResult]
    declared: Mapping[str, ContestResult]

    def of(self, code: str) -> tuple[ContestResult | None, ContestResult | None]:
        r = self.results.get(code)
        forms = self.computed.get(code)
        if forms is None and r is not None and r.basis is ResultBasis.STATIONS:
            forms = r
        if forms is not None and not forms.stations_reported:
            forms = None
        said = self.declared.get(code)
        if said is None and r is not None and r.basis is ResultBasis.DECLARED:
            said = r
        return forms, said


class WinnerCheck(StrEnum):
    """How a winner claim stands against the declaration (Form 47) and the forms (Form 45)."""

    AGREES = "agrees"  # every half there is names the claimed winner
    DECLARED_ONLY = "declared_only"  # the declaration does; the forms show someone else ahead
    FORMS_ONLY = "forms_only"  # the forms do; the declaration names someone else
    NEITHER = "neither"  # the declaration names someone else, and so do the forms (if any)
    NOT_LEADING = "not_leading"  # no declaration known; the forms show someone else ahead
    UNCHECKED = "unchecked"  # nothing to hold it against yet, or the claim is unlinked


def check_winner(
    claim: Claim, forms: ContestResult | None, declared: ContestResult | None
) -> WinnerCheck:
    """A winner claim against the forms' leader and the declared winner. While counting is
    incomplete the forms' leader is the one ahead so far; a tie shows nobody leading."""
    if not claim.candidate_id:
        return WinnerCheck.UNCHECKED
    forms_ok = None if forms is None else _leads(forms, claim.candidate_id)
    said_ok = None if declared is None else _leads(declared, claim.candidate_id)
    if forms_ok is None and said_ok is None:
        return WinnerCheck.UNCHECKED
    if forms_ok is not False and said_ok is not False:
        return WinnerCheck.AGREES
    if said_ok is None:  # no declaration known, and someone else ahead on the forms
        return WinnerCheck.NOT_LEADING
    if forms_ok is None or (forms_ok is False and said_ok is False):
        return WinnerCheck.NEITHER
    return WinnerCheck.DECLARED_ONLY if said_ok else WinnerCheck.FORMS_ONLY


def _leads(result: ContestResult, candidate: str) -> bool:
    leader = result.leader
    return leader is not None and leader.candidate == candidate


def _counted(result: ContestResult | None) -> bool:
    return (
        result is not None
        and result.stations_total > 0
        and result.stations_reported == result.stations_total
    )


def _winners(claims: Sequence[StoredClaim], halves: _Halves) -> list[Finding]:
    out = []
    for s in claims:
        c = s.claim
        if c.kind is not ClaimKind.WINNER or not c.linked or not c.candidate_id:
            continue
        forms, said = halves.of(c.contest_code)
        check = check_winner(c, forms, said)
        if check in (WinnerCheck.AGREES, WinnerCheck.UNCHECKED):
            continue
        code, severity = {
            WinnerCheck.NEITHER: ("claim.contradicts_official", Severity.HIGH),
            WinnerCheck.DECLARED_ONLY: ("claim.winner_not_leading", Severity.HIGH),
            WinnerCheck.NOT_LEADING: ("claim.winner_not_leading", Severity.HIGH),
            WinnerCheck.FORMS_ONLY: ("claim.winner_not_declared", Severity.LOW),
        }[check]
        if code == "claim.winner_not_leading" and not _counted(forms):
            severity = Severity.MEDIUM  # the forms counted so far may still turn
        result = forms or said
        assert result is not None
        name = _named(result, c)
        out.append(
            Finding(
                code,
                severity,
                f"{s.said_by} says {name} won {c.contest_code}; {_halves_say(forms, said)}",
                contest=c.contest_code,
                candidate=c.candidate_id,
                evidence={
                    "claim": _said(s),
                    "check": str(check),
                    "declared_winner": _leader_id(said),
                    "forms_leader": _leader_id(forms),
                    "stations": [forms.stations_reported, forms.stations_total] if forms else None,
                },
            )
        )
    return out


def _concessions(claims: Sequence[StoredClaim], halves: _Halves) -> list[Finding]:
    """A concession by the candidate the polling-station forms show ahead: high once every
    station is counted, medium while counting."""
    out = []
    for s in claims:
        c = s.claim
        if c.status is not StatusClaim.CONCEDED or not c.linked or not c.candidate_id:
            continue
        forms, _ = halves.of(c.contest_code)
        if forms is None or not _leads(forms, c.candidate_id):
            continue
        counted = _counted(forms)
        leader = forms.leader
        assert leader is not None
        runner_up = forms.runner_up
        behind = f" to {runner_up.name}'s {runner_up.votes:,}" if runner_up else ""
        out.append(
            Finding(
                "claim.concession_by_leader",
                Severity.HIGH if counted else Severity.MEDIUM,
                f"{s.said_by} says {_named(forms, c)} conceded {c.contest_code}, but "
                f"{_stations(forms)} put them ahead, {leader.votes:,}{behind}",
                contest=c.contest_code,
                candidate=c.candidate_id,
                evidence={
                    "claim": _said(s),
                    "forms_leader": leader.candidate,
                    "votes": leader.votes,
                    "stations": [forms.stations_reported, forms.stations_total],
                },
            )
        )
    return out


def _named(result: ContestResult, c: Claim) -> str:
    """The claimed candidate as the roster names them."""
    standing = next((r for r in result.ranking if r.candidate == c.candidate_id), None)
    return standing.name if standing is not None else c.candidate or c.candidate_id


def _leader_id(result: ContestResult | None) -> str | None:
    leader = result.leader if result is not None else None
    return leader.candidate if leader is not None else None


def _stations(forms: ContestResult) -> str:
    if _counted(forms):
        return f"the forms of all {forms.stations_total} stations"
    return f"the forms of {forms.stations_reported} of {forms.stations_total} stations so far"


def _halves_say(forms: ContestResult | None, said: ContestResult | None) -> str:
    parts = []
    if said is not None:
        who = said.leader
        parts.append(
            "the returning officer's declaration (Form 47) "
            + (f"names {who.name}" if who else "names no single winner")
        )
    if forms is not None:
        who = forms.leader
        ahead = f"put {who.name} ahead" if who else "show a tie"
        parts.append(f"{_stations(forms)} {ahead}")
    return " and ".join(parts)
