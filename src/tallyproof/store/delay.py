"""The aggregate queries behind results delay (domain/delay.py): a national log's 180,000
station reports are grouped in the database, so Python reads a row per contest and minute,
not a row per form."""

from __future__ import annotations

from sqlalchemy import bindparam, func, select

from tallyproof.store import schema
from tallyproof.store.database import Reader

_F, _D, _E = schema.forms, schema.declarations, schema.ledger_entries
_MINUTE = func.substr(_E.c.received_at, 1, 16)  # "YYYY-MM-DDTHH:MM" of the log's UTC time

_FIRST_BY_CONTEST = (  # each (contest, station)'s first official form, superseded or not
    select(_F.c.contest, _F.c.station, func.min(_F.c.seq).label("seq"))
    .where(_F.c.election_id == bindparam("election"), _F.c.official.is_(True))
    .where(_F.c.seq < bindparam("before"))
    .group_by(_F.c.contest, _F.c.station)
    .subquery()
)
_CONTEST_MINUTES = (
    select(
        _FIRST_BY_CONTEST.c.contest,
        _MINUTE,
        func.count(),
        func.min(_E.c.received_at),
        func.max(_E.c.received_at),
    )
    .select_from(_FIRST_BY_CONTEST.join(_E, _E.c.seq == _FIRST_BY_CONTEST.c.seq))
    .group_by(_FIRST_BY_CONTEST.c.contest, _MINUTE)
)
_FIRST_BY_STATION = (
    select(_F.c.station, func.min(_F.c.seq).label("seq"))
    .where(_F.c.election_id == bindparam("election"), _F.c.official.is_(True))
    .where(_F.c.seq < bindparam("before"))
    .group_by(_F.c.station)
    .subquery()
)
_STATION_MINUTES = (
    select(_MINUTE, func.count())
    .select_from(_FIRST_BY_STATION.join(_E, _E.c.seq == _FIRST_BY_STATION.c.seq))
    .group_by(_MINUTE)
)
_FIRST_DECLARED = (
    select(_D.c.contest, func.min(_D.c.seq).label("seq"))
    .where(_D.c.election_id == bindparam("election"), _D.c.chain == "official")
    .where(_D.c.seq < bindparam("before"))
    .group_by(_D.c.contest)
    .subquery()
)
_DECLARED = select(_FIRST_DECLARED.c.contest, _E.c.received_at).select_from(
    _FIRST_DECLARED.join(_E, _E.c.seq == _FIRST_DECLARED.c.seq)
)
_TIME_AT = select(_E.c.received_at).where(_E.c.seq == bindparam("seq"))

ContestMinute = tuple[str, str, int, str, str]  # contest, minute, reports, first, last


def contest_minutes(reader: Reader, election: str, before: int) -> list[ContestMinute]:
    """Station reports per contest and minute of the log before `before`: (contest, minute,
    reports, the first's time, the last's time)."""
    values = {"election": election, "before": before}
    return [
        (contest, minute, n, first, last)
        for contest, minute, n, first, last in reader.conn.execute(_CONTEST_MINUTES, values)
    ]


def station_minutes(reader: Reader, election: str, before: int) -> list[tuple[str, int]]:
    """Stations first reporting (for any contest) per minute of the log before `before`."""
    values = {"election": election, "before": before}
    return [(minute, n) for minute, n in reader.conn.execute(_STATION_MINUTES, values)]


def first_declared(reader: Reader, election: str, before: int) -> dict[str, str]:
    """Each contest's first official declaration before `before`: the time it was logged."""
    values = {"election": election, "before": before}
    return {contest: at for contest, at in reader.conn.execute(_DECLARED, values)}


def time_at(reader: Reader, seq: int) -> str | None:
    """The time the entry at leaf `seq` was logged (None before the first)."""
    if seq < 0:
        return None
    return reader.conn.execute(_TIME_AT, {"seq": seq}).scalar()
