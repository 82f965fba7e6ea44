"""The rules a result form must keep before it is accepted; each has a stable code."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from tallyproof.domain.findings import Finding, Severity
from tallyproof.domain.forms import ResultForm, SupersedeReason
from tallyproof.domain.problems import Problem
from tallyproof.domain.status import ContestStatus, StationStatus
from tallyproof.domain.structure import Contest, ElectionStructure


def check_form(structure: ElectionStructure, form: ResultForm) -> list[Problem]:
    """Check a form against the election structure: the station, contest, roster and counts."""
    problems: list[Problem] = []
    if form.election != structure.election.id:
        problems.append(
            Problem(
                "form.unknown_election",
                "election",
                f"{form.election!r} is not this election ({structure.election.id!r})",
            )
        )
        return problems
    station = structure.station(form.station)
    contest = structure.contest(form.contest)
    if station is None:
        problems.append(Problem("form.unknown_station", "station", f"no station {form.station!r}"))
    if contest is None:
        problems.append(Problem("form.unknown_contest", "contest", f"no contest {form.contest!r}"))
    if station is None or contest is None:
        return problems
    if contest.code not in station.contests:
        problems.append(
            Problem(
                "form.station_not_serving_contest",
                "station",
                f"station {station.id!r} does not serve contest {contest.code!r}",
            )
        )
        return problems
    problems += check_roster(
        contest.candidate_ids, form, require_all=form.source.official, known=contest.roster
    )
    complete = contest.roster.issubset(form.votes)
    counted = check_counts(form, station.registered_voters, complete=complete)
    if not form.source.official:  # a copy that does not add up is evidence: see copy_findings
        counted = [p for p in counted if p.code not in COPY_ARITHMETIC]
    return problems + counted


COPY_ARITHMETIC = frozenset({"votes.sum_mismatch", "ballots.accounting_mismatch"})
"""The rules only the presiding and returning officers' documents must keep: an agent's,
observer's or outlet's copy that breaks them is logged, and `copy_findings` reports it."""


def copy_findings(
    contest: Contest,
    station: str,
    form_id: str,
    source: str,
    counts: tuple[Mapping[str, int], int, int, int | None],
) -> list[Finding]:
    """What an unofficial copy of a Form 45 lacks or gets wrong, as findings, not refusals:
    `form.partial_copy` when it gives only some candidates (the others are unknown, never 0),
    `form.copy_does_not_add_up` when its stated valid total or its ballot arithmetic fails.
    `counts` is (votes, rejected, polled, stated valid or None)."""
    votes, rejected, polled, valid = counts
    missing = [c for c in contest.candidate_ids if c not in votes]
    summed = sum(votes.values())
    found: list[Finding] = []
    base = {"forms": [form_id], "source": source}
    if missing:
        found.append(
            Finding(
                code="form.partial_copy",
                severity=Severity.INFO,
                message=(
                    f"{contest.code} at {station}: {source}'s copy gives {len(votes)} of "
                    f"{len(contest.candidate_ids)} candidates; the others are not known from it"
                ),
                contest=contest.code,
                station=station,
                evidence=base | {"candidates_given": sorted(votes), "candidates_missing": missing},
            )
        )
    broken: list[dict[str, Any]] = []
    if valid is not None and valid != summed:
        broken.append({"field": "valid", "stated": valid, "sum_of_votes": summed})
    if (summed + rejected != polled) if not missing else (summed + rejected > polled):
        broken.append(
            {"field": "polled", "valid_plus_rejected": summed + rejected, "polled": polled}
        )
    if broken:
        detail = "; ".join(_broken_words(b) for b in broken)
        found.append(
            Finding(
                code="form.copy_does_not_add_up",
                severity=Severity.MEDIUM,
                message=f"{contest.code} at {station}: {source}'s copy does not add up — {detail}",
                contest=contest.code,
                station=station,
                evidence=base | {"problems": broken},
            )
        )
    return found


def _broken_words(b: Mapping[str, Any]) -> str:
    if b["field"] == "valid":
        return (
            f"it states {b['stated']:,} valid votes, the candidates' sum to {b['sum_of_votes']:,}"
        )
    return f"valid + rejected = {b['valid_plus_rejected']:,} but polled is {b['polled']:,}"


def check_roster(
    roster: tuple[str, ...],
    form: ResultForm,
    *,
    require_all: bool,
    known: frozenset[str] | None = None,
) -> list[Problem]:
    """Every candidate named must stand in the contest; an official form names all of them."""
    known = known if known is not None else frozenset(roster)
    if known.issuperset(form.votes) and (not require_all or len(form.votes) == len(known)):
        return []
    problems = [
        Problem(
            "votes.unknown_candidate",
            f"votes.{candidate}",
            f"{candidate!r} is not a candidate in {form.contest}",
        )
        for candidate in form.votes
        if candidate not in known
    ]
    if require_all:
        problems += [
            Problem(
                "votes.missing_candidate",
                f"votes.{candidate}",
                f"an official form must give every candidate's votes; {candidate!r} is missing",
            )
            for candidate in roster
            if candidate not in form.votes
        ]
    return problems


def check_counts(
    form: ResultForm, registered_voters: int, *, complete: bool = True
) -> list[Problem]:
    """Ballot accounting: stated valid = sum of votes, valid + rejected = polled <= registered.
    A partial copy (an agent noting only some candidates) can only show votes + rejected
    <= polled."""
    problems: list[Problem] = []
    valid = form.valid_total
    if form.valid is not None and form.valid != valid:
        problems.append(
            Problem(
                "votes.sum_mismatch",
                "valid",
                f"the form states {form.valid} valid votes; the candidates' votes sum to {valid}",
            )
        )
    broken = (
        valid + form.rejected != form.polled if complete else valid + form.rejected > form.polled
    )
    if broken:
        problems.append(
            Problem(
                "ballots.accounting_mismatch",
                "polled",
                f"valid {valid} + rejected {form.rejected} = {valid + form.rejected}, "
                f"but polled is {form.polled}",
            )
        )
    problems += _check_issued(form, registered_voters)
    if form.polled > registered_voters:
        problems.append(
            Problem(
                "ballots.exceeds_registered",
                "polled",
                f"{form.polled} ballots polled at a station with {registered_voters} "
                "registered voters",
            )
        )
    return problems


def _check_issued(form: ResultForm, registered_voters: int) -> list[Problem]:
    """Ballot papers issued to voters, where stated: no more than the voters on the roll.
    More ballots in the box than were issued is not refused: it is what ballot stuffing
    looks like, so the count is kept as evidence and forensics reports the station
    (`ballots.more_in_boxes_than_issued`, docs/forensics.md)."""
    if form.issued is None or form.issued <= registered_voters:
        return []
    return [
        Problem(
            "ballots.issued_exceeds_registered",
            "issued",
            f"{form.issued} ballots issued at a station with {registered_voters} registered voters",
        )
    ]


def check_status(
    form: ResultForm, contest_status: ContestStatus, station_status: StationStatus
) -> list[Problem]:
    """Forms are refused for postponed or suspended polls; official ones after `final` or
    once the seat is vacated."""
    if contest_status in (ContestStatus.POSTPONED, ContestStatus.SUSPENDED):
        return [
            Problem(
                f"contest.{contest_status}",
                "contest",
                f"{form.contest} is {contest_status}; it takes no result forms",
            )
        ]
    if contest_status is ContestStatus.FINAL and form.source.official:
        return [
            Problem(
                "contest.final", "contest", f"{form.contest} is final; no official form changes it"
            )
        ]
    if contest_status is ContestStatus.VACATED and form.source.official:
        return [
            Problem(
                "contest.vacated",
                "contest",
                f"{form.contest} is vacated; a by-election decides the seat, not a new form",
            )
        ]
    if station_status is StationStatus.SUSPENDED:
        return [
            Problem(
                "station.suspended",
                "station",
                f"polling at {form.station} is suspended; its form waits for a re-poll order",
            )
        ]
    if (
        form.reason is SupersedeReason.RE_POLL
        and station_status is not StationStatus.RE_POLL_ORDERED
    ):
        return [
            Problem(
                "form.re_poll_not_ordered",
                "reason",
                f"no re-poll has been ordered at {form.station}",
            )
        ]
    return []


class Successor(Protocol):
    """A document that may supersede an earlier one: a result form or a declaration."""

    @property
    def election(self) -> str: ...
    @property
    def station(self) -> str: ...
    @property
    def contest(self) -> str: ...
    @property
    def chain(self) -> str: ...
    @property
    def supersedes(self) -> str | None: ...
    @property
    def reason(self) -> SupersedeReason | None: ...


@dataclass(frozen=True, slots=True)
class StoredForm:
    """What the rules need to know about an already accepted form."""

    form_id: str
    seq: int
    election: str
    station: str
    contest: str
    chain: str
    superseded: bool


def check_succession(
    form: Successor,
    head: StoredForm | None,
    target: StoredForm | None,
    re_poll_ordered_at: int | None = None,
) -> list[Problem]:
    """A new form for a station and contest either starts its source's chain or names the
    current form it supersedes; history is never rewritten, so stale or foreign targets fail.
    After a re-poll order (at ledger position `re_poll_ordered_at`) the first official form
    to replace a pre-order count must say it is the re-poll."""
    if form.supersedes is None:
        if head is None:
            return []
        return [
            Problem(
                "form.conflict",
                "supersedes",
                f"{form.station}/{form.contest} already has form {head.form_id} from "
                f"{form.chain}; a different form must name it in 'supersedes' with a reason",
            )
        ]
    if target is None:
        return [Problem("form.supersedes_unknown", "supersedes", f"no form {form.supersedes!r}")]
    here = (form.election, form.station, form.contest, form.chain)
    if (target.election, target.station, target.contest, target.chain) != here:
        return [
            Problem(
                "form.supersedes_mismatch",
                "supersedes",
                f"form {target.form_id} is for {target.station}/{target.contest} from "
                f"{target.chain}, not {form.station}/{form.contest} from {form.chain}",
            )
        ]
    if target.superseded and head is not None:
        return [
            Problem(
                "form.supersedes_stale",
                "supersedes",
                f"form {target.form_id} was already superseded; the current form is {head.form_id}",
            )
        ]
    pre_order = re_poll_ordered_at is not None and target.seq < re_poll_ordered_at
    if pre_order and form.chain == "official" and form.reason is not SupersedeReason.RE_POLL:
        return [
            Problem(
                "form.reason_mismatch",
                "reason",
                f"a re-poll is ordered at {form.station}; the new form's reason is 're_poll'",
            )
        ]
    return []
