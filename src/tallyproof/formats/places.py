"""Where a CSV cell went. A CSV row becomes a JSON document, and the rules name what they
refuse by its JSON path (`contests[0].candidates[1].party`), which nobody who wrote the CSV
file ever saw. These map each path back to the file, the line (1-based; the header is line
1) and the column (the header's name), so a refusal names the cell to fix:
`candidates.csv line 3, column party`. A path with no single cell (a whole contest) names
the row that made it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from tallyproof.domain.problems import Problem

if TYPE_CHECKING:  # the field client reads CSVs through here and loads no service code
    from tallyproof.service.outcomes import Outcome


@dataclass(frozen=True, slots=True)
class Place:
    """A cell of a CSV file, or (no column) a whole row of it."""

    file: str
    line: int
    column: str | None = None

    def __str__(self) -> str:
        where = f"{self.file} line {self.line}"
        return f"{where}, column {self.column}" if self.column else where


class Places:
    """The JSON paths the rows of a set of CSV files became, each to its row; a field of a
    row's document to its cell."""

    def __init__(self) -> None:
        self._rows: dict[str, tuple[str, int, Mapping[str, str]]] = {}

    def row(self, path: str, file: str, line: int, cells: Mapping[str, str]) -> None:
        """`path` is the row at `line` of `file`, and `path.<key>` (and anything in it) the
        cell under the column `cells[key]`. `cells` may be shared by every row of a file."""
        self._rows[path] = (file, line, cells)

    def place_of(self, field: str) -> tuple[Place, bool] | None:
        """The cell or row `field` came from, and whether that names it whole (a cell, or
        the row itself, not a part of a row with no cell); None when no row made it."""
        path = field
        while path:
            if path in self._rows:
                file, line, cells = self._rows[path]
                if path == field:
                    return Place(file, line), True
                rest = field[len(path) :]
                key = _KEY.match(rest)
                if key and key.group(1) in cells:
                    return Place(file, line, cells[key.group(1)]), True
                return Place(file, line), False
            cut = max(path.rfind("."), path.rfind("["))
            if cut <= 0:
                return None
            path = path[:cut]
        return None

    def locate(self, problem: Problem) -> Problem:
        return _located(problem, self.place_of(problem.field))

    def locate_all(self, problems: Iterable[Problem]) -> tuple[Problem, ...]:
        return tuple(self.locate(p) for p in problems)


_KEY = re.compile(r"\.([^.\[]+)")  # the key a path goes on with: `.party`, `.contests[0]`


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One row of a form (or declaration) CSV file: a document's fields are its columns
    (`votes.<candidate>` too), so a field is the cell under the column of its name; any
    other field (`votes`, `signature.key`) is the row's."""

    file: str
    line: int
    columns: frozenset[str]

    def place_of(self, field: str) -> tuple[Place, bool]:
        if field in self.columns:
            return Place(self.file, self.line, field), True
        return Place(self.file, self.line), False

    def locate(self, problem: Problem) -> Problem:
        return _located(problem, self.place_of(problem.field))

    def locate_all(self, problems: Iterable[Problem]) -> tuple[Problem, ...]:
        return tuple(self.locate(p) for p in problems)


def _located(problem: Problem, found: tuple[Place, bool] | None) -> Problem:
    """The problem with its field named by the cell; a field that is no cell is named by its
    row, the path kept beside it."""
    if found is None:
        return problem
    place, whole = found
    where = str(place) if whole else f"{place} ({problem.field})"
    return Problem(problem.code, where, problem.message)


def locate_outcomes(
    outcomes: Sequence[Outcome], places: Sequence[Places | CsvRow | None]
) -> list[Outcome]:
    """Each refused outcome with its problems named by the cells of the document it was
    (`places[outcome.index]`; None: a document not read from CSV, left as it is)."""
    located: list[Outcome] = []
    for o in outcomes:
        where = places[o.index] if o.index < len(places) else None
        if o.problems and where is not None:
            o = replace(o, problems=where.locate_all(o.problems))
        located.append(o)
    return located
