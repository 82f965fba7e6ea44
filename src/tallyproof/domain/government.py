"""Government arithmetic for the National Assembly: general seats by party before and after
independents join parties, the reserved seats for women (per province) and non-Muslims
(nationally) allocated in proportion to general seats, and the total of 336 against the
majority line. The rule implemented, its source and its choices are in docs/government.md."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction
from types import MappingProxyType

from tallyproof.domain.consolidation import ContestResult
from tallyproof.domain.problems import Problem, Rejected
from tallyproof.domain.standings import seat_side
from tallyproof.domain.structure import AssemblyLevel, Candidate, ElectionStructure

PUNJAB, SINDH, KP, BALOCHISTAN, ISLAMABAD = (
    "Punjab",
    "Sindh",
    "Khyber Pakhtunkhwa",
    "Balochistan",
    "Islamabad",
)
# Article 51(1A)(b) as apportioned in 2024: the women's seats of each province
WOMEN_SEATS: Mapping[str, int] = MappingProxyType({PUNJAB: 32, SINDH: 14, KP: 10, BALOCHISTAN: 4})
PROVINCES = (*WOMEN_SEATS, ISLAMABAD)
NON_MUSLIM_SEATS = 10
GENERAL_SEATS = 266
TOTAL_SEATS = GENERAL_SEATS + sum(WOMEN_SEATS.values()) + NON_MUSLIM_SEATS  # 336
JOINING_WINDOW_DAYS = 3  # Article 51(6)(d) proviso: within three days of the notification
# The 2024 delimitation numbers the National Assembly's general seats province by province
NA_2024_RANGES: tuple[tuple[int, int, str], ...] = (
    (1, 45, KP),
    (46, 48, ISLAMABAD),
    (49, 189, PUNJAB),
    (190, 250, SINDH),
    (251, 266, BALOCHISTAN),
)
_NA_CODE = re.compile(r"NA-(\d{1,3})")


@dataclass(frozen=True, slots=True)
class Joining:
    """An independent returned candidate joining a party; `date` (ISO) None when unknown."""

    candidate: str
    contest: str
    party: str
    date: str | None = None


@dataclass(frozen=True, slots=True)
class Scenario:
    """The inputs a reader may vary. `eligible` None means every party of the structure;
    `exclude` removes parties from it (e.g. one that contested no general seat as a party);
    `min_general_seats` asks that many general seats won under the party's own ticket,
    joinings aside. `notified` is the date the returned candidates were notified: a joining
    with a date after it plus the window does not count for reserved seats."""

    eligible: frozenset[str] | None = None
    exclude: frozenset[str] = frozenset()
    min_general_seats: int = 0
    notified: str | None = None
    window_days: int = JOINING_WINDOW_DAYS
    provinces: Mapping[str, str] = field(default_factory=dict)  # contest -> province


@dataclass(frozen=True, slots=True)
class GeneralSeat:
    """A general seat's winner (or leader, while counting) and where it counts."""

    contest: str
    province: str | None
    candidate: str
    party: str | None  # None: returned as an independent
    backed_by: str | None
    won: bool  # provisional or final, not just leading


@dataclass(frozen=True, slots=True)
class Allocation:
    """One pool of reserved seats divided among the eligible parties by largest remainder."""

    pool: str  # "women:<province>" or "non-muslim"
    seats: int
    basis: Mapping[str, int]  # general seats counted per eligible party
    awarded: Mapping[str, int]
    by_remainder: tuple[str, ...]  # parties given a seat for their remainder, in order
    unallocated: int  # seats no eligible party has a general seat to claim


@dataclass(frozen=True, slots=True)
class SideLine:
    """A row of the table: a party, or independents (by backing) still independent."""

    side: str
    independent: bool
    before: int  # general seats won or led, as returned
    after: int  # after every joining
    leading: int  # of `after`, still only leading
    women: int = 0
    non_muslim: int = 0

    @property
    def total(self) -> int:
        return self.after + self.women + self.non_muslim


@dataclass(frozen=True, slots=True)
class Government:
    lines: tuple[SideLine, ...]
    allocations: tuple[Allocation, ...]
    joinings: tuple[tuple[Joining, bool], ...]  # each joining, and whether it was in time
    undecided: int  # general seats no one has won or leads
    general_seats: int = GENERAL_SEATS
    total_seats: int = TOTAL_SEATS

    @property
    def majority(self) -> int:
        return self.total_seats // 2 + 1


def na_province(contest: str) -> str | None:
    """A 2024 National Assembly seat's province (or Islamabad) from its number."""
    match = _NA_CODE.fullmatch(contest)
    if match is None:
        return None
    number = int(match.group(1))
    return next((p for lo, hi, p in NA_2024_RANGES if lo <= number <= hi), None)


def general_seats(
    structure: ElectionStructure,
    results: Iterable[ContestResult],
    provinces: Mapping[str, str] | None = None,
) -> list[GeneralSeat]:
    """The National Assembly's seats won or led, each with its province: from `provinces`
    where given, else from the 2024 seat numbering."""
    national = {a.code for a in structure.assemblies if a.level is AssemblyLevel.NATIONAL}
    seats = []
    for result in results:
        if result.assembly not in national:
            continue
        standing = result.winner or result.leader
        placed = seat_side(structure, result)
        found = structure.candidate(standing.candidate) if standing else None
        if placed is None or found is None:
            continue
        k = found[1]
        province = (provinces or {}).get(result.contest) or na_province(result.contest)
        seats.append(GeneralSeat(result.contest, province, k.id, k.party, k.backed_by, placed[1]))
    return seats


def check_joinings(structure: ElectionStructure, joinings: Sequence[Joining]) -> None:
    """Refuse a joining of an unknown candidate or party, of a party candidate, or a second
    joining of the same candidate, each naming its field and rule."""
    problems: list[Problem] = []
    parties = {p.code for p in structure.parties}
    seen: set[str] = set()
    for i, j in enumerate(joinings):
        at = f"joinings[{i}]"
        found = structure.candidate(j.candidate)
        if found is None:
            problems.append(
                Problem("government.unknown_candidate", f"{at}.candidate", repr(j.candidate))
            )
        elif not found[1].independent:
            problems.append(
                Problem(
                    "government.not_independent",
                    f"{at}.candidate",
                    f"{j.candidate} was returned for {found[1].party}; only an independent joins",
                )
            )
        if j.party not in parties:
            problems.append(Problem("government.unknown_party", f"{at}.party", repr(j.party)))
        if j.date is not None and not _is_date(j.date):
            problems.append(Problem("government.date", f"{at}.date", "must be YYYY-MM-DD"))
        if j.candidate in seen:
            problems.append(
                Problem("government.joined_twice", f"{at}.candidate", f"{j.candidate} again")
            )
        seen.add(j.candidate)
    if problems:
        raise Rejected(problems)


def check_scenario(structure: ElectionStructure, scenario: Scenario) -> None:
    """Refuse eligibility naming a party the structure does not have, a province no one
    knows, a date that is none."""
    parties = {p.code for p in structure.parties}
    named = [("exclude", p) for p in sorted(scenario.exclude)]
    named += [("eligible", p) for p in sorted(scenario.eligible or ())]
    problems = [
        Problem("government.unknown_party", where, f"no party {p!r}")
        for where, p in named
        if p not in parties
    ]
    for contest, province in sorted(scenario.provinces.items()):
        if structure.contest(contest) is None:
            problems.append(Problem("government.unknown_contest", "provinces", repr(contest)))
        if province not in PROVINCES:
            known = ", ".join(PROVINCES)
            problems.append(
                Problem("government.unknown_province", f"provinces.{contest}", f"one of {known}")
            )
    if scenario.notified is not None and not _is_date(scenario.notified):
        problems.append(Problem("government.date", "notified", "must be a date, YYYY-MM-DD"))
    if scenario.min_general_seats < 0:
        problems.append(Problem("government.negative", "min_general_seats", "must be >= 0"))
    if problems:
        raise Rejected(problems)


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def in_window(joining: Joining, scenario: Scenario) -> bool:
    """Whether a joining counts for reserved seats: on or before the notification's date plus
    the window. With either date unknown it counts (a recorded joining is taken as accepted)."""
    if joining.date is None or scenario.notified is None:
        return True
    last = date.fromisoformat(scenario.notified) + timedelta(days=scenario.window_days)
    return date.fromisoformat(joining.date) <= last


def largest_remainder(
    seats: int, basis: Mapping[str, int], weight: Mapping[str, int] | None = None
) -> tuple[dict[str, int], tuple[str, ...]]:
    """Divide `seats` in proportion to `basis` (Hare quota, largest remainder), exactly: each
    party's entitlement is seats * its share as a Fraction; the whole parts first, then one
    seat each by remainder, largest first; a tie goes to the party with more `weight` (its
    general seats), then to the party code first in alphabetical order."""
    total = sum(basis.values())
    awarded = dict.fromkeys(basis, 0)
    if total == 0 or seats == 0:
        return awarded, ()
    weight = weight or basis
    shares = {p: Fraction(seats * n, total) for p, n in basis.items()}
    for p, share in shares.items():
        awarded[p] = share.numerator // share.denominator
    left = seats - sum(awarded.values())
    order = sorted(shares, key=lambda p: (-(shares[p] - awarded[p]), -weight.get(p, 0), p))
    extra = tuple(order[:left])
    for p in extra:
        awarded[p] += 1
    return awarded, extra


def government(
    structure: ElectionStructure,
    seats: Sequence[GeneralSeat],
    joinings: Sequence[Joining],
    scenario: Scenario = Scenario(),
) -> Government:
    """Standings before and after joinings, the reserved seats, and the totals."""
    check_joinings(structure, joinings)
    check_scenario(structure, scenario)
    timely = {j.candidate: in_window(j, scenario) for j in joinings}
    c = _count(seats, {j.candidate: j for j in joinings}, timely)
    allocations = _allocate(c.counted, _eligible(structure, scenario, c.own))
    women, non_muslim = Counter[str](), Counter[str]()
    for a in allocations:
        (non_muslim if a.pool == "non-muslim" else women).update(a.awarded)
    lines = _lines(c, women, non_muslim)
    return Government(
        lines,
        allocations,
        tuple((j, timely[j.candidate]) for j in joinings),
        max(GENERAL_SEATS - len(seats), 0),
    )


@dataclass
class _Counts:
    """General seats per side as returned, after joinings, still leading; each party's won
    under its own ticket; the (party, province) of every seat counted for reserved seats."""

    before: Counter[str] = field(default_factory=Counter)
    after: Counter[str] = field(default_factory=Counter)
    leading: Counter[str] = field(default_factory=Counter)
    own: Counter[str] = field(default_factory=Counter)
    counted: list[tuple[str, str | None]] = field(default_factory=list)
    independent: set[str] = field(default_factory=set)


def _count(
    seats: Sequence[GeneralSeat], joined: Mapping[str, Joining], timely: Mapping[str, bool]
) -> _Counts:
    c = _Counts()
    for seat in seats:
        side = _side(seat)
        c.before[side] += 1
        j = joined.get(seat.candidate)
        now = j.party if j else side
        c.after[now] += 1
        c.leading[now] += not seat.won
        if seat.party is None:
            c.independent.add(side)
        elif seat.won:
            c.own[seat.party] += 1
            c.counted.append((seat.party, seat.province))
        if seat.won and j is not None and timely[seat.candidate]:
            c.counted.append((j.party, seat.province))
    c.independent -= set(c.own)
    return c


def _side(seat: GeneralSeat) -> str:
    if seat.party is not None:
        return seat.party
    return Candidate(seat.candidate, "", None, seat.backed_by).affiliation


def _eligible(structure: ElectionStructure, scenario: Scenario, own: Counter[str]) -> set[str]:
    parties = scenario.eligible or {p.code for p in structure.parties}
    return {
        p for p in parties if p not in scenario.exclude and own[p] >= scenario.min_general_seats
    }


def _allocate(counted: list[tuple[str, str | None]], eligible: set[str]) -> list[Allocation]:
    """The women's seats province by province, then the non-Muslims' seats nationally."""
    pools: list[tuple[str, int, Counter[str]]] = []
    for province, quota in WOMEN_SEATS.items():
        basis = Counter(p for p, where in counted if where == province and p in eligible)
        pools.append((f"women:{province}", quota, basis))
    national = Counter(p for p, _ in counted if p in eligible)
    pools.append(("non-muslim", NON_MUSLIM_SEATS, national))
    allocations = []
    for pool, quota, basis in pools:
        awarded, extra = largest_remainder(quota, basis, national)
        given = sum(awarded.values())
        allocations.append(
            Allocation(pool, quota, dict(sorted(basis.items())), awarded, extra, quota - given)
        )
    return allocations


def _lines(c: _Counts, women: Counter[str], non_muslim: Counter[str]) -> tuple[SideLine, ...]:
    sides = {s for n in (c.before, c.after, women, non_muslim) for s, k in n.items() if k}
    lines = [
        SideLine(
            s,
            s in c.independent,
            c.before[s],
            c.after[s],
            c.leading[s],
            women[s],
            non_muslim[s],
        )
        for s in sides
    ]
    return tuple(sorted(lines, key=lambda r: (r.independent, -r.total, -r.before, r.side)))
