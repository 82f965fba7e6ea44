"""What the election's structure tells the extractor about who and where: every candidate's
name (and the ways reports spell it: titles dropped, one name alone, vowels written
differently: "Yasmin" for "Yasmeen", "Gustasap" for "Gushtasap") and the contests each
stands in; every contest's places (the words of its name: "Lahore-XIV" is in Lahore,
"Tehsil Bannu chairman" in Bannu). A capitalised word that is no candidate's name is then
not taken for a person ("Across", "Turnout"), and a paragraph that names only a place or
a candidate still has a contest."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from tallyproof.claims.gazetteer import PARTY_BY_ALIAS, name_tokens, normal
from tallyproof.domain.structure import ElectionStructure

# words of a contest's name that name no place
_GENERIC = {
    "tehsil",
    "city",
    "chairman",
    "chairperson",
    "mayor",
    "council",
    "district",
    "town",
    "village",
    "neighbourhood",
    "neighborhood",
    "local",
    "government",
    "na",
    "pp",
    "ps",
    "pk",
    "pb",
    "cum",
    "and",
    "of",
    "the",
}
_ROMAN = re.compile(r"^[ivxl]+$")


def skeleton(word: str) -> str:
    """A word as it sounds, near enough: lower case, without the vowels and h after its first
    letter, doubled letters once ("Yasmeen" and "Yasmin": ysmn; "Mansehra", "Maneshra": mnsr)."""
    w = re.sub(r"[^a-z]", "", word.lower())
    if not w:
        return ""
    rest = re.sub(r"[aeiouyh]", "", w[1:])
    return re.sub(r"(.)\1+", r"\1", w[0] + rest)


def name_key(name: str) -> frozenset[str]:
    """A name as the set of its words' skeletons, honorifics left out."""
    return frozenset(s for s in (skeleton(t) for t in name_tokens(name)) if s)


def full_key(name: str) -> frozenset[str]:
    """A roster name's words' skeletons, honorifics kept: "Chaudhry" alone names Tariq Fazal
    Chaudhry, whose surname is also a title."""
    words = re.findall(r"[A-Za-z][A-Za-z'-]*", normal(name))
    return name_key(name) | frozenset(s for s in (skeleton(w) for w in words) if s)


def _squeezed(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


_BY_SQUEEZED = {_squeezed(alias): code for alias, code in PARTY_BY_ALIAS.items()}


def party_code(party: str | None) -> str:
    """A party by its usual code, whatever the structure calls it ("Pakistan-Tehreek-e-Insaf"
    in a data set's slug is PTI)."""
    if not party:
        return ""
    return PARTY_BY_ALIAS.get(party) or _BY_SQUEEZED.get(_squeezed(party)) or party


@dataclass(frozen=True)
class Person:
    """A candidate as the roster knows them: the name, and the contest they stand in."""

    contest: str
    name: str


@dataclass
class Roster:
    """Candidates by the skeletons of their names' words, and contests by their places."""

    people: list[tuple[frozenset[str], Person]] = field(default_factory=list)
    places: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    _by_word: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def of(cls, structures: Iterable[ElectionStructure]) -> Roster:
        roster = cls()
        for structure in structures:
            for contest in structure.contests:
                for k in contest.candidates:
                    person = Person(contest.code, k.name)
                    key = full_key(k.name)
                    for word in key:
                        roster._by_word[word].append(len(roster.people))
                    roster.people.append((key, person))
                for word in re.findall(r"[A-Za-z]+", contest.name):
                    low = word.lower()
                    if low not in _GENERIC and not _ROMAN.match(low) and len(low) > 2:
                        roster.places[skeleton(low)].add(contest.code)
        return roster

    def __bool__(self) -> bool:
        return bool(self.people)

    def persons(self, name: str) -> list[Person]:
        """The candidates a name written in a report can be: every word of it in theirs."""
        key = name_key(name)
        if not key:
            return []
        first = min(key, key=lambda w: len(self._by_word.get(w, ())))
        found = (self.people[i] for i in self._by_word.get(first, ()))
        return [p for k, p in found if key <= k]

    def contests_of(self, name: str) -> set[str]:
        return {p.contest for p in self.persons(name)}

    def contests_at(self, place: str) -> set[str]:
        """The contests a place names ("Attock": NA-49 and NA-50); every word must agree."""
        words = [skeleton(w) for w in re.findall(r"[A-Za-z]+", normal(place))]
        words = [
            skeleton(w)
            for w in re.findall(r"[A-Za-z]+", normal(place))
            if w not in _GENERIC and not _ROMAN.match(w) and len(w) > 2
        ]
        if not words:
            return set()
        found = [self.places.get(w, set()) for w in words]
        return set.intersection(*found) if all(found) else set()
