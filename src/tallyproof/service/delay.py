"""Results delay as of a tree size (the read model's `delay` question): three aggregate queries
in the answer's one snapshot, then domain/delay.py's definitions."""

from __future__ import annotations

from collections import defaultdict

from tallyproof.domain.delay import (
    ContestArrivals,
    ElectionDelay,
    assembly_minutes,
    assembly_stations,
    contest_delays,
    curve,
    default_close,
    parse_close,
    seconds_after,
)
from tallyproof.domain.status import ContestStatus
from tallyproof.domain.structure import ElectionStructure
from tallyproof.store import delay as queries
from tallyproof.store.database import Reader


def results_delay(
    reader: Reader, structure: ElectionStructure, size: int, close: str | None = None
) -> ElectionDelay:
    """The election's delays and reporting curves in the log of `size` entries; `close` is
    the close of poll (default: 17:00 Pakistan time on the election's date)."""
    eid = structure.election.id
    closed = parse_close(close or default_close(structure))
    rows = queries.contest_minutes(reader, eid, size)
    as_of_time = queries.time_at(reader, size - 1)
    contests = contest_delays(
        structure,
        closed,
        _arrivals(rows),
        queries.first_declared(reader, eid, size),
        _postponed(reader, eid, size),
    )
    national = curve(
        "national", len(structure.stations), closed, queries.station_minutes(reader, eid, size)
    )
    per_assembly = assembly_minutes(structure, [(c, m, n) for c, m, n, _, _ in rows])
    wanted = assembly_stations(structure)
    return ElectionDelay(
        eid,
        closed.isoformat(),
        as_of_time,
        seconds_after(closed, as_of_time),
        contests,
        national,
        tuple(curve(a, wanted.get(a, 0), closed, m) for a, m in per_assembly.items()),
    )


def _arrivals(rows: list[queries.ContestMinute]) -> dict[str, ContestArrivals]:
    """A contest's minutes folded into its count, first and last report time (log times
    are uniform UTC text, so the least and greatest strings are the earliest and latest)."""
    count: dict[str, int] = defaultdict(int)
    first: dict[str, str] = {}
    last: dict[str, str] = {}
    for contest, _, n, lo, hi in rows:
        count[contest] += n
        first[contest] = min(first.get(contest, lo), lo)
        last[contest] = max(last.get(contest, hi), hi)
    return {c: ContestArrivals(c, count[c], first[c], last[c]) for c in count}


def _postponed(reader: Reader, election: str, size: int) -> frozenset[str]:
    """Contests whose latest contest-wide order before `size` postpones them."""
    latest: dict[str, str] = {}
    for row in reader.status_orders(election):
        if row.seq < size and row.scope == "contest":
            latest[row.target] = row.status
    return frozenset(c for c, s in latest.items() if s == ContestStatus.POSTPONED)
