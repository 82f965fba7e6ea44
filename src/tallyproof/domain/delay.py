"""Results delay: how long after polls closed each contest's forms and declaration arrived.

Pure: it takes the log's arrival times (aggregated by the store) and the structure, and
returns durations. The definitions (docs/api.md, "Results delay"):

- a station *reports* for a contest when the log receives its first official form for that
  contest; a form superseded later (a correction, a re-poll) still dates the report;
- *to first form*: from the close of poll to the contest's first station report;
- *to all forms*: to the report of the last of the stations the structure assigns to the
  contest; none until every one has reported;
- *to declared*: to the log's receipt of the returning officer's first declaration (Form 47);
  a declaration superseding it does not move it;
- an unfinished contest is ranked by the time elapsed so far: from the close to the time of the
  last entry logged in the answer's tree.

Times are the log's own (assigned under the writer lock, so leaf order and time order agree),
never a time a document states about itself."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from itertools import accumulate

from tallyproof.domain.problems import Problem, Rejected
from tallyproof.domain.structure import ElectionStructure

DEFAULT_CLOSE_TIME = "17:00:00+05:00"  # 8 a.m. to 5 p.m. Pakistan time, as the ECP set in 2024


class SlowestBy(StrEnum):
    """What the slowest contests are ranked by."""

    ALL_FORMS = "all_forms"
    DECLARED = "declared"


@dataclass(frozen=True, slots=True)
class ContestArrivals:
    """What the log holds about one contest's arrivals: stations reported, and when the
    first and the last of them first reported."""

    contest: str
    reported: int
    first_at: str
    last_at: str


@dataclass(frozen=True, slots=True)
class ContestDelay:
    """One contest's delays in seconds after the close (None: not yet)."""

    contest: str
    assembly: str
    stations: int
    reported: int
    postponed: bool
    first_form_at: str | None
    all_forms_at: str | None
    declared_at: str | None
    to_first_form: float | None
    to_all_forms: float | None
    to_declared: float | None

    @property
    def complete(self) -> bool:
        return self.all_forms_at is not None


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """Stations reported by the end of a minute (cumulative), and that minute's distance
    from the close in seconds."""

    minute: str  # "YYYY-MM-DDTHH:MM" of the log's UTC time
    after_close: float
    reported: int


@dataclass(frozen=True, slots=True)
class Curve:
    """A reporting curve: `name` is "national" or an assembly's code."""

    name: str
    stations: int
    points: tuple[CurvePoint, ...]


@dataclass(frozen=True, slots=True)
class ElectionDelay:
    """An election's results delay at one tree size."""

    election: str
    close: str
    as_of_time: str | None  # the time of the last entry in the answer's tree
    elapsed: float | None  # seconds from the close to `as_of_time`
    contests: tuple[ContestDelay, ...]
    national: Curve
    assemblies: tuple[Curve, ...]

    def contest(self, code: str) -> ContestDelay | None:
        return next((c for c in self.contests if c.contest == code), None)


def default_close(structure: ElectionStructure) -> str:
    """Polls close at 17:00 Pakistan time on the election's date unless told otherwise."""
    return f"{structure.election.date}T{DEFAULT_CLOSE_TIME}"


def parse_close(text: str) -> datetime:
    """The close of poll: an RFC 3339 date-time with its offset (a local time without one
    would be read in whatever zone the server runs in)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise Rejected(
            [
                Problem(
                    "delay.bad_close",
                    "close",
                    f"{text!r} is not a date-time with an offset, e.g. 2024-02-08T17:00:00+05:00",
                )
            ]
        )
    return moment


def seconds_after(close: datetime, logged: str | None) -> float | None:
    """Seconds from the close to a logged time; negative when logged before it."""
    if logged is None:
        return None
    return round((datetime.fromisoformat(logged) - close).total_seconds(), 3)


def contest_delays(
    structure: ElectionStructure,
    close: datetime,
    arrivals: Mapping[str, ContestArrivals],
    declared: Mapping[str, str],
    postponed: frozenset[str] = frozenset(),
) -> tuple[ContestDelay, ...]:
    """Each contest's delays, in the structure's order."""
    out = []
    for contest in structure.contests:
        code = contest.code
        stations = len(structure.stations_of(code))
        got = arrivals.get(code)
        reported = min(got.reported, stations) if got else 0
        first = got.first_at if got else None
        last = got.last_at if got and stations and reported >= stations else None
        decl = declared.get(code)
        out.append(
            ContestDelay(
                code,
                contest.assembly,
                stations,
                reported,
                code in postponed,
                first,
                last,
                decl,
                seconds_after(close, first),
                seconds_after(close, last),
                seconds_after(close, decl),
            )
        )
    return tuple(out)


def curve(
    name: str, stations: int, close: datetime, per_minute: Iterable[tuple[str, int]]
) -> Curve:
    """The cumulative curve of (minute, stations first reported in it) pairs."""
    ordered = sorted(per_minute)
    totals = accumulate(n for _, n in ordered)
    points = tuple(
        CurvePoint(minute, _minute_after(close, minute), total)
        for (minute, _), total in zip(ordered, totals, strict=True)
    )
    return Curve(name, stations, points)


def _minute_after(close: datetime, minute: str) -> float:
    """Seconds from the close to the end of a UTC minute "YYYY-MM-DDTHH:MM"."""
    end = datetime.fromisoformat(minute + ":59.999+00:00")
    return round((end - close).total_seconds(), 3)


def slowest(
    delay: ElectionDelay, n: int, by: SlowestBy = SlowestBy.ALL_FORMS
) -> list[ContestDelay]:
    """The `n` slowest contests: by time to all forms (or to the declaration); a contest not
    there yet ranks by the time elapsed so far, which is never less than a finished one's
    (its finish was logged before the answer's last entry). Postponed contests, whose polls
    never closed, are left out; ties go to the contest with the smaller share reported."""

    def key(c: ContestDelay) -> tuple[float, float, str]:
        took = c.to_all_forms if by is SlowestBy.ALL_FORMS else c.to_declared
        if took is None:
            took = delay.elapsed if delay.elapsed is not None else float("inf")
        share = c.reported / c.stations if c.stations else 0.0
        return (-took, share, c.contest)

    ranked = sorted((c for c in delay.contests if not c.postponed), key=key)
    return ranked[: max(n, 0)]


def assembly_stations(structure: ElectionStructure) -> dict[str, int]:
    """How many (station, contest) reports each assembly waits for."""
    out: dict[str, int] = {a.code: 0 for a in structure.assemblies}
    for contest in structure.contests:
        out[contest.assembly] = out.get(contest.assembly, 0) + len(
            structure.stations_of(contest.code)
        )
    return out


def assembly_minutes(
    structure: ElectionStructure, per_contest_minute: Sequence[tuple[str, str, int]]
) -> dict[str, list[tuple[str, int]]]:
    """(contest, minute, reports) rows summed into each assembly's (minute, reports)."""
    sums: dict[str, dict[str, int]] = {a.code: {} for a in structure.assemblies}
    for code, minute, n in per_contest_minute:
        contest = structure.contest(code)
        if contest is None:
            continue
        bucket = sums.setdefault(contest.assembly, {})
        bucket[minute] = bucket.get(minute, 0) + n
    return {a: sorted(m.items()) for a, m in sums.items()}
