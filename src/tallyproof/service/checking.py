"""The Pakistan checks (domain/checks.py) as the read side runs them: which tolerance this
process uses, and the provincial forms a National Assembly contest's timeline keeps beside
its own so it can compare each station's ballots polled for the two contests."""

from __future__ import annotations

from collections.abc import Mapping

from tallyproof.domain.checks import (
    DEFAULT_TOLERANCE,
    PolledCount,
    PolledTolerance,
    na_pa_pair,
    na_pa_polled_differ,
)
from tallyproof.domain.consolidation import FormRecord
from tallyproof.domain.findings import Finding
from tallyproof.domain.structure import Contest, ElectionStructure
from tallyproof.store.records import FormRow


class Pairs:
    """Each station's NA/PA pairing, worked out when asked (a few lookups; kept for every
    station of a night it would cost the live feed more memory than the forms)."""

    def __init__(self, structure: ElectionStructure) -> None:
        self.structure = structure

    def of(self, station: str) -> tuple[str, str] | None:
        return na_pa_pair(self.structure, station)

    def national_for(self, row: FormRow) -> str | None:
        """The NA contest whose timeline must see this official provincial form, if any."""
        if not row.official:
            return None
        pair = self.of(row.station)
        return pair[0] if pair is not None and pair[1] == row.contest else None


class PolledPairs:
    """A National Assembly contest's view of its stations' provincial forms: the current
    official one of each (its id packed, and its ballots polled), and the finding when the
    two counts of ballots polled differ."""

    def __init__(self, structure: ElectionStructure, contest: Contest) -> None:
        self.tolerance = DEFAULT_TOLERANCE  # the rule's, fixed: every reader and the audit agree
        self.pairs = Pairs(structure)
        self.contest = contest.code
        self.provincial: dict[str, tuple[bytes | str, str, int]] = {}

    def partner(self, station: str) -> str | None:
        """The station's provincial contest, when this contest is its NA one."""
        pair = self.pairs.of(station)
        return pair[1] if pair is not None and pair[0] == self.contest else None

    def contests(self) -> set[str]:
        """The provincial contests whose forms this timeline reads."""
        stations = self.pairs.structure.stations_of(self.contest)
        return {p for s in stations if (p := self.partner(s)) is not None}

    def note(self, row: FormRow) -> str | None:
        """Keep a provincial official form as its station's current one; its station, or
        None when the form is not one this contest compares with."""
        if not row.official or self.partner(row.station) != row.contest:
            return None
        self.provincial[row.station] = (_packed(row.form_id), row.contest, row.polled)
        return row.station

    def findings(self, station: str, national: FormRecord | None) -> list[Finding]:
        """The station's NA/PA finding, given its current official NA form."""
        kept = self.provincial.get(station)
        if national is None or kept is None:
            return []
        form_id, code, polled = kept
        provincial = PolledCount(
            form_id.hex() if isinstance(form_id, bytes) else form_id, code, polled
        )
        own = PolledCount(national.form_id, national.form.contest, national.form.polled)
        found = na_pa_polled_differ(station, own, provincial, self.tolerance)
        return [found] if found else []


def _packed(form_id: str) -> bytes | str:
    """A hex content id as its 32 bytes (half the memory); any other id as it is."""
    try:
        return bytes.fromhex(form_id) if len(form_id) == 64 else form_id
    except ValueError:
        return form_id


def polled_findings(
    structure: ElectionStructure,
    official: Mapping[tuple[str, str], FormRecord],
    tolerance: PolledTolerance | None = None,
) -> list[Finding]:
    """Every station's NA/PA finding from the current official forms, keyed by (station,
    contest): what the writer's `queries.findings` reports beside the read model."""
    tolerance = tolerance or DEFAULT_TOLERANCE
    pairs = Pairs(structure)
    found: list[Finding] = []
    for (station, code), record in sorted(official.items()):
        pair = pairs.of(station)
        if pair is None or pair[0] != code or (station, pair[1]) not in official:
            continue
        other = official[(station, pair[1])]
        na = PolledCount(record.form_id, code, record.form.polled)
        pa = PolledCount(other.form_id, pair[1], other.form.polled)
        hit = na_pa_polled_differ(station, na, pa, tolerance)
        found += [hit] if hit else []
    return found
