"""Government arithmetic as of a tree size: the National Assembly's seats from the read
model's official results (declared where declared, else the forms'), the independents'
joinings, and a reader's scenario (hypothetical joinings, eligibility)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tallyproof.domain.government import (
    GeneralSeat,
    Government,
    Joining,
    Scenario,
    general_seats,
    government,
)
from tallyproof.domain.problems import Problem, Rejected
from tallyproof.domain.structure import AssemblyLevel, ElectionStructure
from tallyproof.service.events import joinings
from tallyproof.service.reading import Answer, AsOf, ReadModel

BACKED = "backed:"  # a what-if key naming every independent backed by a party


@dataclass(frozen=True)
class GovernmentAnswer:
    structure: ElectionStructure
    government: Government
    hypothetical: tuple[Joining, ...]  # the what-if joinings asked for


def government_answer(
    model: ReadModel,
    election: str | None,
    as_of: AsOf = None,
    what_if: Sequence[tuple[str, str]] = (),
    scenario: Scenario | None = None,
) -> Answer[GovernmentAnswer]:
    """Standings before and after joinings, reserved seats and totals, true at one size.
    `what_if` pairs (candidate id, or `backed:<party>` for every independent that party
    backed, with the party joined) are added to, and override, the joinings logged."""
    scenario = scenario or Scenario()
    results = model.results(election, as_of)
    size = results.tree_size
    structure = model.structure(election, size).value
    if not any(a.level is AssemblyLevel.NATIONAL for a in structure.assemblies):
        raise Rejected(
            [Problem("government.no_national_assembly", "election", structure.election.id)]
        )
    seats = general_seats(structure, [v.official for v in results.value], scenario.provinces)
    hypothetical = hypothetical_joinings(seats, what_if)
    asked = {j.candidate for j in hypothetical}
    joinings = [j for j in _joinings(model, structure, size) if j.candidate not in asked]
    gov = government(structure, seats, [*joinings, *hypothetical], scenario)
    return Answer(GovernmentAnswer(structure, gov, tuple(hypothetical)), size, results.checkpoint)


def _joinings(model: ReadModel, structure: ElectionStructure, size: int) -> list[Joining]:
    """Every independent's joining of a party known at `size`: the structure's `joined` field
    (date unknown), overridden by a joining event logged for the same candidate (dated)."""
    national = {a.code for a in structure.assemblies if a.level is AssemblyLevel.NATIONAL}
    found = {
        k.id: Joining(k.id, c.code, k.joined)
        for c in structure.contests
        if c.assembly in national
        for k in c.candidates
        if k.independent and k.joined
    }
    for j in joinings(model, structure.election.id, as_of=size):
        contest = structure.contest(j.contest)
        if contest is not None and contest.assembly in national:
            found[j.candidate] = Joining(j.candidate, j.contest, j.party, j.date)
    return list(found.values())


def hypothetical_joinings(
    seats: Sequence[GeneralSeat], what_if: Sequence[tuple[str, str]]
) -> list[Joining]:
    """The what-if pairs as joinings: a candidate id, or `backed:<party>` for every returned
    independent that party backed. A pair naming no returned independent is refused."""
    joinings: list[Joining] = []
    for i, (who, party) in enumerate(what_if):
        if who.startswith(BACKED):
            backer = who.removeprefix(BACKED)
            chosen = [s for s in seats if s.party is None and s.backed_by == backer]
        else:
            chosen = [s for s in seats if s.candidate == who]
        if not chosen:
            raise Rejected(
                [
                    Problem(
                        "government.not_returned",
                        f"what_if[{i}]",
                        f"{who!r} names no candidate who won or leads a National Assembly seat",
                    )
                ]
            )
        joinings += [Joining(s.candidate, s.contest, party) for s in chosen]
    return joinings


def parse_what_if(texts: Sequence[str]) -> list[tuple[str, str]]:
    """`CANDIDATE=PARTY` (or `backed:PARTY=PARTY`) pairs from the command line or a query;
    one text may hold several, separated by commas (an id never has one)."""
    pairs = []
    items = [item.strip() for text in texts for item in text.split(",") if item.strip()]
    for i, text in enumerate(items):
        who, sep, party = text.partition("=")
        if not sep or not who.strip() or not party.strip():
            raise Rejected(
                [Problem("government.what_if", f"what_if[{i}]", f"{text!r} is not CANDIDATE=PARTY")]
            )
        pairs.append((who.strip(), party.strip()))
    return pairs


def parse_parties(texts: Sequence[str]) -> frozenset[str]:
    """Party codes, repeated or separated by commas."""
    return frozenset(p.strip() for text in texts for p in text.split(",") if p.strip())


def parse_provinces(texts: Sequence[str]) -> dict[str, str]:
    """`CONTEST=PROVINCE` pairs (repeated or separated by commas): where a contest's province
    is not what the 2024 numbering says."""
    pairs: dict[str, str] = {}
    items = [item.strip() for text in texts for item in text.split(",") if item.strip()]
    for i, text in enumerate(items):
        contest, sep, province = text.partition("=")
        if not sep or not contest.strip() or not province.strip():
            raise Rejected(
                [
                    Problem(
                        "government.province", f"province[{i}]", f"{text!r} is not CONTEST=PROVINCE"
                    )
                ]
            )
        pairs[contest.strip()] = province.strip()
    return pairs
