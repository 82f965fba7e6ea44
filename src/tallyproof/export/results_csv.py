"""The CSV exports of an election: the long shape (one row per form and candidate, from every
source, current and superseded: what OpenElections and newsroom tools read) and the contest
results (declared beside computed, one row per contest and candidate). docs/exports.md."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tallyproof.domain.consolidation import ContestView, superseded
from tallyproof.domain.structure import Candidate, Contest, ElectionStructure
from tallyproof.service.reading import Answer, AsOf, ReadModel, contest_of
from tallyproof.store.records import FormRow

STATION_COLUMNS = (
    "election",
    "assembly",
    "contest",
    "contest_name",
    "station",
    "station_name",
    "region",
    "registered_voters",
    "source",
    "official",
    "form_id",
    "leaf_index",
    "received_at",
    "current",
    "supersedes",
    "reason",
    "candidate",
    "candidate_name",
    "party",
    "backed_by",
    "joined",
    "side",
    "votes",
    "valid",
    "rejected",
    "polled",
    "issued",
)
RESULT_COLUMNS = (  # the first eleven are `results --csv`'s
    "contest",
    "candidate",
    "name",
    "side",
    "declared",
    "computed",
    "difference",
    "status",
    "stations_reported",
    "stations_total",
    "winner_differs",
    "election",
    "assembly",
    "contest_name",
    "party",
    "backed_by",
    "joined",
    "official",
    "basis",
    "winner",
    "declared_rejected",
    "computed_rejected",
    "declared_polled",
    "computed_polled",
    "registered_voters",
)
_CHUNK_CHARS = 1 << 16


@dataclass(frozen=True)
class Table:
    """A CSV's header and its body: CSV text in whole lines (a row or a form's rows a
    piece), which may be made only as it is written."""

    header: tuple[str, ...]
    body: Iterable[str]


class _Encoder:
    """CSV cells to text through one writer: a row as a line, or a run of cells as a piece
    that joins others with a comma (a form's cells are encoded once, not once a candidate)."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        # the terminator's characters are what make a cell quoted: with "\n" alone, a cell
        # holding "\r" would go out bare and end the line for a reader
        self.writer = csv.writer(self.buffer, lineterminator="\r\n")

    def piece(self, cells: Sequence[Any]) -> str:
        self.writer.writerow(cells)
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text[:-2]

    def lines(self, rows: Iterable[Sequence[Any]]) -> Iterator[str]:
        for row in rows:
            yield self.piece(row) + "\n"


def csv_lines(rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """Rows of cells as CSV lines (a cell holding a comma, quote or line break is quoted)."""
    return _Encoder().lines(rows)


def csv_chunks(table: Table, chunk_chars: int = _CHUNK_CHARS) -> Iterator[str]:
    """The table as CSV text, header first, in chunks of about `chunk_chars` that end at a
    line's end: a national long table is two million lines, written as it is read."""
    batch = [_Encoder().piece(table.header) + "\n"]
    held = 0
    for text in table.body:
        batch.append(text)
        held += len(text)
        if held >= chunk_chars:
            yield "".join(batch)
            batch, held = [], 0
    if batch:
        yield "".join(batch)


# --- the long shape ---------------------------------------------------------------------------


def stations_table(
    model: ReadModel, election: str | None, as_of: AsOf = None, *, contest: str | None = None
) -> Answer[Table]:
    """Every form of the election (or of one contest) at one tree size, one row per candidate
    the form names. The size is fixed first and every contest is read at it, each in its own
    short snapshot, so the rows are the same whenever they are written and no transaction is
    held open while a client reads two million of them. Unknown names raise at once."""
    known = model.structure(election, as_of)
    structure, size = known.value, known.tree_size
    contests = [contest_of(structure, contest)] if contest else list(structure.contests)
    body = _station_text(model, structure, contests, size)
    return Answer(Table(STATION_COLUMNS, body), size, known.checkpoint)


def _station_text(
    model: ReadModel, structure: ElectionStructure, contests: Sequence[Contest], size: int
) -> Iterator[str]:
    """Each contest's forms read in a snapshot of the store's own (the size is fixed and
    checkpointed: every index row is filtered by it, so any snapshot gives the same rows)."""
    eid = structure.election.id
    encoder = _Encoder()
    for contest in contests:
        with model.store.read() as reader:
            forms = reader.form_rows(eid, size, contest=contest.code)
        yield from _contest_form_text(structure, contest, forms, encoder)


def _contest_form_text(
    structure: ElectionStructure, contest: Contest, forms: Sequence[FormRow], encoder: _Encoder
) -> Iterator[str]:
    """One contest's forms as long lines, a form's lines a piece, station by station (as the
    structure lists them) and in log order within a station, so every copy of a count sits
    beside the others. `current` is the one rule of it (domain.superseded) over the
    contest's forms. A form's cells are encoded once and each candidate's once a contest:
    two million lines are joined, not each encoded cell by cell."""
    encode = encoder.piece
    gone = superseded(f.supersedes for f in forms)
    people = {k.id: encode(_candidate_cells(k)) for k in contest.candidates}
    head = (structure.election.id, contest.assembly, contest.code, contest.name)
    place = {sid: n for n, sid in enumerate(structure.stations_of(contest.code))}
    for form in sorted(forms, key=lambda f: (place.get(f.station, len(place)), f.station, f.seq)):
        where = encode(head + _station_cells(structure, form.station) + _form_cells(form, gone))
        counts = encode(_count_cells(form))
        votes = form.votes
        for cid in votes.keys() - people.keys():  # named, but not on the roster
            people[cid] = encode((cid, "", "", "", "", ""))
        yield "".join(
            [f"{where},{people[c]},{votes[c]},{counts}\n" for c in _named(contest, votes)]
        )


def _station_cells(structure: ElectionStructure, station_id: str) -> tuple[Any, ...]:
    station = structure.station(station_id)
    if station is None:
        return (station_id, "", "", "")
    return (station.id, station.name, station.region, station.registered_voters)


def _form_cells(form: FormRow, gone: set[str]) -> tuple[Any, ...]:
    return (
        form.source,
        int(form.official),
        form.form_id,
        form.seq,
        form.received_at,
        int(form.form_id not in gone),
        form.supersedes or "",
        form.reason or "",
    )


def _count_cells(form: FormRow) -> tuple[Any, ...]:
    return (sum(form.votes.values()), form.rejected, form.polled, _blank(form.issued))


def _candidate_cells(k: Candidate) -> tuple[str, ...]:
    return (k.id, k.name, k.party or "", k.backed_by or "", k.joined or "", k.affiliation)


def _named(contest: Contest, votes: Mapping[str, int]) -> list[str]:
    """The candidates a form names, in roster order, then any the roster lacks as written."""
    named = [c for c in contest.candidate_ids if c in votes]
    if len(named) < len(votes):
        named += [c for c in votes if c not in contest.roster]
    return named


def _blank(value: int | None) -> int | str:
    return "" if value is None else value


# --- the contest results ----------------------------------------------------------------------


def results_table(model: ReadModel, election: str | None, as_of: AsOf = None) -> Answer[Table]:
    """Every contest's result at one tree size: declared beside computed, per candidate."""
    answer = model.results(election, as_of)
    structure = model.structure(election, answer.tree_size).value
    body = list(csv_lines(result_rows(structure, answer.value)))
    return Answer(Table(RESULT_COLUMNS, body), answer.tree_size, answer.checkpoint)


def result_rows(structure: ElectionStructure, views: Iterable[ContestView]) -> Iterator[list[Any]]:
    """One row per contest and candidate, in the order of the forms' ranking: the declared
    votes (blank until declared), the computed, their difference and the official figure
    (the declared once declared), with the contest's status, stations and ballots."""
    eid = structure.election.id
    for v in views:
        contest = contest_of(structure, v.computed.contest)
        people = {k.id: k for k in contest.candidates}
        for s in v.computed.ranking:
            yield _result_row(eid, contest, people[s.candidate], v, s.votes)


def _result_row(
    eid: str, contest: Contest, k: Candidate, v: ContestView, computed: int
) -> list[Any]:
    c, official, declared = v.computed, v.official, v.declared
    said = declared.result if declared else None
    winner = official.winner
    return [
        contest.code,
        k.id,
        k.name,
        k.affiliation,
        _blank(said.votes.get(k.id, 0) if said else None),
        computed,
        v.differences.get(k.id, 0),
        official.status.value,
        c.stations_reported,
        c.stations_total,
        int(v.winner_differs),
        eid,
        contest.assembly,
        contest.name,
        k.party or "",
        k.backed_by or "",
        k.joined or "",
        official.votes.get(k.id, 0),
        official.basis.value,
        int(winner is not None and winner.candidate == k.id),
        _blank(said.rejected if said else None),
        c.rejected,
        _blank(said.polled if said else None),
        c.polled,
        official.registered_total,
    ]


__all__ = [
    "RESULT_COLUMNS",
    "STATION_COLUMNS",
    "Table",
    "csv_chunks",
    "csv_lines",
    "result_rows",
    "results_table",
    "stations_table",
]
