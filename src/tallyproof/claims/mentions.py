"""Mentions in a sentence: parties (names and abbreviations, "PTI-backed"), contests
(NA-122, NA 8, "mayor of Dera Ismail Khan"), places, outlets and candidate names (runs of
capitalised words that are none of those), with each name's party; and the choices every
rule makes from them: the actors, the nearest one before a position, the previous sentence's
subject for a pronoun, the contest in force."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from tallyproof.claims.gazetteer import (
    NOT_NAMES,
    OUTLET_SUFFIX,
    OUTLETS,
    PARTY_BY_ALIAS,
    PLACE_ALIASES,
    PLACES,
    TITLES,
    name_tokens,
    party_pattern,
)
from tallyproof.claims.roster import Roster
from tallyproof.claims.text import tail


@dataclass
class Mention:
    kind: str  # name, party, contest, place, outlet
    start: int
    end: int
    text: str
    party: str = ""  # the party code (of a party mention, or attached to a name)
    backed: bool = False
    attached: bool = False  # a party mention that belongs to the name after it
    aside: bool = False  # inside an appositive ("brother of minister Ali Amin Gandapur")


_PARTY = party_pattern()
CONTEST_CODE = re.compile(  # "NA-122", "NA 8", "PP-10"
    r"(?<![\w-])(NA|PP|PS|PK|PB)[\s-]?(\d{1,3})(?![\w-])"
)
_PLACE = re.compile(
    r"(?<![\w-])("
    + "|".join(re.escape(p) for p in sorted(PLACES, key=len, reverse=True))
    + r")(?![\w-])"
)
_OUTLET_NAMED = re.compile(
    r"(?<![\w-])(" + "|".join(re.escape(o) for o in sorted(OUTLETS, key=len, reverse=True)) + ")"
    r"(?![\w-])"
)
_OUTLET_ROLE = re.compile(
    r"(?:(?:obtained|compiled|released|published|reported) by|according to)\s+"
    r"(?P<a>(?:the\s+)?[A-Z][\w]*(?:\s+[A-Z][\w]*){0,3})"
    r"|(?P<b>(?:The\s+)?[A-Z][\w]*(?:\s+[A-Z][\w]*){0,3})\s+(?:reported|said in its report)"
)
_TOKEN = re.compile(r"[A-Z][a-zA-Z'’]*(?:-[a-zA-Z]+)*|(?<=\s)(?:ur|ul|ud|un|bin|al|e|ud-din)(?=\s)")
_CONNECTOR = {"ur", "ul", "ud", "un", "bin", "al", "e", "ud-din"}
_BETWEEN_PARTY_AND_NAME = re.compile(
    r"^(?:\s|['’]s\b|\(|\)|,|-?backed\b|\bthe\b|\bcandidates?\b|\bindependent\b|\brival\b|"
    r"\bleader\b|\bchief\b|\bchairman\b|\bhis\b|\bher\b|\btheir\b|\bnominee\b|\bMNA\b|\bMPA\b|"
    r"\bformer\b|\bsenior\b|\bprovincial\b|\bparty\b|\bpresident\b|\bsecretary\b|"
    r"\bgeneral\b|\bspokesperson\b|\bhead\b|\bveteran\b|\bstalwart\b|\bopponent\b|"
    r"\bsupremo\b|\bquaid\b|\bvice\b|\bcentral\b|\bheavyweight\b|\bloyalist\b|"
    r"\bfounder\b|\bco-chairman\b|\bcandidate\s+for\s+\S+\b|"
    r"\bchallenger\b|\bticket\s+holder\b|\bstrongman\b|\bworker\b|\bman\b|\bwoman\b)*$",
    re.IGNORECASE,
)
_BACKED_AFTER = re.compile(r"^\s*(?:\([A-Z-]+\)\s*)?-?\s*backed\b", re.IGNORECASE)
_BACKED_BEFORE = re.compile(r"(?:backed|supported) by\s+(?:the\s+)?$", re.IGNORECASE)
_PARTY_AFTER_NAME = re.compile(
    r"\s*(?:\(|of(?:\s+the)?|,\s*(?:who\s+(?:is|was)\s+)?(?:an?\s+)?(?:independent\s+)?"
    r"(?:candidate\s+)?(?:backed|supported|fielded|nominated)\s+by(?:\s+the)?|,\s*(?:the|an?))\s*",
    re.IGNORECASE,
)
_MAYOR = re.compile(r"\b(?:mayor(?:al|'s|’s)?|tehsil)\b", re.IGNORECASE)
# what a person does in a results sentence: a lone unknown word before it may be a name
_ACTS = re.compile(
    r"^\s*(?:got|gets|received|secured|polled|bagged|obtained|won|wins|lost|was|is|has|had|"
    r"said|says|conceded|finished|came|trailed|led|defeated|beat|claimed)\b",
    re.IGNORECASE,
)
_FOR_PARTY = re.compile(r"\b(?:for|from|on)\s+(?:the|a|an)?\s*$", re.IGNORECASE)
_SAHIB = {"sahib", "sahab", "saheb"}
_OUTLETISH = re.compile(
    r"\b(?:Daily|Channel|TV|News|Times|Post|Tribune|Express|Herald|Gazette|Observer|Dispatch|"
    r"Chronicle|Mercury|Courier|Ledger)\b"
)
_OFFICE_WORDS = {
    "Senior",
    "Vice",
    "Secretary",
    "Supremo",
    "Quaid",
    "Stalwart",
    "Nazim",
    "Former",
    "Speaker",
    "Deputy",
    "Governor",
    "Senator",
    "Justice",
    "Major",
    "Colonel",
    "Captain",
    "Retd",
    "Advocate",
}
SEAT_NAME = r"\b[A-Z][a-z]+-(?:[IVXL]+|[ivxl]+)\b"  # a seat by its name: "Kasur-II", "Attock-l"
_SUB_NAME = re.compile(r"-(?:[IVXLivxl]+|\d+)$")  # "Lahore-II", "Attock-l": a seat, not a person
_APPOSITIVE = re.compile(
    r",\s*(?:who\s+is\s+(?:also\s+)?)?(?:the\s+|a\s+)?(?:brother|sister|son|daughter|wife|"
    r"husband|father|mother|nephew|niece|cousin|uncle|aide|relative)\s+of\b[^,.]*,"
    r"|,\s*who\s+(?:had\s+|has\s+)?(?:left|quit|joined|deserted|abandoned|defected)\b[^,.]*,",
    re.IGNORECASE,
)
_PRONOUN = re.compile(r"\b(?:[Hh]e|[Ss]he|[Hh]im|[Hh]er|[Hh]is|[Tt]hey|[Tt]heir|I|[Mm]y)\b")


@dataclass
class Scope:
    """What the report so far established: the contest in force and whether it was named in
    this paragraph, each name's party, the names and contests read, the paragraph's winner,
    and the roster everything is read against."""

    contest: str = ""
    parties: dict[tuple[str, ...], tuple[str, bool]] = field(default_factory=dict)
    vote_paragraphs: set[int] = field(default_factory=set)  # paragraphs about votes or results
    roster: Roster = field(default_factory=Roster)
    seen: set[str] = field(default_factory=set)  # words of the names read so far
    paragraph: int = -1
    carried: bool = False  # the contest was named in an earlier paragraph, not this one
    places: frozenset[str] = frozenset()  # contests the paragraph's places could be
    named: set[str] = field(default_factory=set)  # contests the report has named so far
    people: list[str] = field(default_factory=list)  # names read so far, as written
    last_party: Mention | None = None  # the party named last: "the party" in a release
    winner: str = ""  # whom the paragraph named the winner: a margin with no name is theirs

    def remember(self, name: Mention) -> None:
        if name.party:
            self.parties[name_tokens(name.text)] = (name.party, name.backed)

    def party_of(self, name: str) -> tuple[str, bool]:
        tokens = set(name_tokens(name))
        for known, party in self.parties.items():
            if tokens and (tokens <= set(known) or set(known) <= tokens):
                return party
        return "", False


def find_mentions(text: str, context: Scope) -> list[Mention]:
    taken = bytearray(len(text))  # 1 where a mention already holds the character
    found: list[Mention] = []

    def add(m: Mention) -> None:
        if not any(taken[m.start : m.end]):
            taken[m.start : m.end] = b"\x01" * (m.end - m.start)
            found.append(m)

    for m in _OUTLET_NAMED.finditer(text):
        add(Mention("outlet", m.start(), m.end(), m.group(1)))
    for m in _OUTLET_ROLE.finditer(text):
        name = m.group("a") or m.group("b")
        name = re.sub(r"^(?:the|The)\s+", "", name)
        if OUTLET_SUFFIX.search(name) or name in OUTLETS:
            start = m.start("a") if m.group("a") else m.start("b")
            add(Mention("outlet", start, start + len(m.group("a") or m.group("b")), name))
    for m in CONTEST_CODE.finditer(text):
        add(Mention("contest", m.start(), m.end(), f"{m.group(1)}-{int(m.group(2))}"))
    for m in _PARTY.finditer(text):
        add(_party(text, m))
    for m in _PLACE.finditer(text):
        add(Mention("place", m.start(), m.end(), PLACE_ALIASES.get(m.group(1), m.group(1))))
    names = [p for p in (_person(text, n, context) for n in _names(text, taken)) if p]
    found += [n for n in names if n.kind == "place"]
    local = _local_contest(text, found)
    if local:
        found.append(local)
    for name in names:
        if name.kind == "name":
            _attach_party(text, name, found, context)
            found.append(name)
    for p in found:  # "X held NA-58 for the PPP with ...": the party is X's, not an actor
        if p.kind == "party" and not p.attached and _FOR_PARTY.search(text[: p.start]):
            owners = [n for n in names if n.kind == "name" and n.end <= p.start]
            if owners:
                p.attached = True
                owners[-1].party = owners[-1].party or p.party
    for aside in _APPOSITIVE.finditer(text):
        for m in found:
            if aside.start() <= m.start < aside.end():
                m.aside = True
    return sorted(found, key=lambda m: m.start)


def _person(text: str, name: Mention, context: Scope) -> Mention | None:
    """A run of capitalised words as a person, narrowed to the candidate the roster knows
    within it ("Senior Vice President Sheikh Aftab Ahmad"); a place the roster knows; or
    nothing: a seat's sub-name ("Lahore-II"), or one word that is nobody's name and no
    word of a name read before ("Across town", "Turnout stood at")."""
    words = list(re.finditer(r"\S+", name.text))
    if any(_SUB_NAME.search(w.group(0)) for w in words):
        return None
    roster = context.roster
    if roster and _OUTLETISH.search(name.text) and not roster.persons(name.text):
        return None  # "The Daily Mercury put his tally at ...": an outlet, not a person
    honour = _honorific(name, context)
    if honour is not None and (honour.kind == "name" or not roster.persons(name.text)):
        return honour
    if roster:
        for size in range(len(words), 0, -1):
            for i in range(len(words) - size + 1):
                dropped = [w.group(0) for w in (*words[:i], *words[i + size :])]
                if any(w not in NOT_NAMES and w not in _OFFICE_WORDS for w in dropped):
                    continue  # "Shahid Ali Khan" is not "Ali Khan" of another seat
                part = name.text[words[i].start() : words[i + size - 1].end()]
                if not roster.persons(part):
                    continue
                start = name.start + words[i].start()
                context.seen.update(t for t in name_tokens(part))
                context.people.append(name.text)
                return Mention("name", start, start + len(part), part)
        if roster.contests_at(name.text):
            return Mention("place", name.start, name.end, name.text)
    tokens = name_tokens(name.text)
    lone = len(tokens) == 1 and roster and tokens[0] not in context.seen
    if lone and not _ACTS.match(text[name.end :]):
        return None
    context.seen.update(tokens)
    context.people.append(name.text)
    return name


def _honorific(name: Mention, context: Scope) -> Mention | None:
    """ "the Maulana", "Mian Sahib": an honorific alone stands for the one person of the report
    so far whose name carries it; with none or several, for nobody."""
    words = [w.lower().strip("'’") for w in re.findall(r"[A-Za-z'’]+", name.text)]
    words = [w.removesuffix("'s").removesuffix("’s") for w in words]
    if not words or any(w not in TITLES for w in words):
        return None
    title = next((w for w in words if w not in _SAHIB), "")
    matches = {n for n in context.people if title and title in n.lower().split()}
    if len(matches) != 1:
        return Mention("place", name.start, name.end, name.text)  # nobody: not an actor
    return Mention("name", name.start, name.end, next(iter(matches)))


def _party(text: str, m: re.Match[str]) -> Mention:
    end = m.end()
    abbreviation = re.match(r"\s*\(([A-Z][\w-]*)\)", text[end:])
    if abbreviation and abbreviation.group(1) in PARTY_BY_ALIAS:
        end += abbreviation.end()
    after = _BACKED_AFTER.match(text[m.end() :])
    backed = bool(after or _BACKED_BEFORE.search(tail(text, m.start())))
    if after:
        end = max(end, m.end() + after.end())
    return Mention("party", m.start(), end, m.group(1), PARTY_BY_ALIAS[m.group(1)], backed)


def _local_contest(text: str, found: list[Mention]) -> Mention | None:
    """ "mayor of Dera Ismail Khan", "the Mardan mayoral seat", "the Bannu tehsil chairman
    race": the place nearest the word."""
    mayor = _MAYOR.search(text)
    places = [m for m in found if m.kind == "place"]
    if not mayor or not places:
        return None
    place = min(places, key=lambda p: abs(p.start - mayor.start()))
    office = "tehsil" if mayor.group(0).lower() == "tehsil" else "mayor"
    return Mention("contest", mayor.start(), mayor.end(), f"{place.text} {office}")


def _names(text: str, taken: bytearray) -> list[Mention]:
    """Runs of capitalised words (with ur/ul/bin between) outside every other mention."""
    runs: list[list[re.Match[str]]] = []
    for m in _TOKEN.finditer(text):
        inside = taken[m.start()]
        word = m.group(0)
        if inside or (word.isupper() and len(word) > 1) or text[m.end() : m.end() + 1] == ":":
            runs.append([])
            continue
        gap = text[runs[-1][-1].end() : m.start()] if runs and runs[-1] else None
        if gap is not None and re.fullmatch(r"\s+", gap):
            runs[-1].append(m)
        else:
            runs.append([m])
    out = []
    for run in runs:
        while run and (run[0].group(0) in NOT_NAMES or run[0].group(0) in _CONNECTOR):
            run = run[1:]
        while run and (run[-1].group(0) in NOT_NAMES or run[-1].group(0) in _CONNECTOR):
            run = run[:-1]
        if not run:
            continue
        start, end = run[0].start(), run[-1].end()
        name = re.sub(r"['’]s$", "", text[start:end])
        if name_tokens(name):
            out.append(Mention("name", start, start + len(name), name))
    return out


def _attach_party(text: str, name: Mention, found: list[Mention], context: Scope) -> None:
    """The party written just before the name ("PML-N's", "PTI-backed independent
    candidate", "Awami National Party (ANP) candidate") or just after it ("(PTI)",
    ", backed by the PTI,"); else what an earlier sentence said about the same name."""
    before = [m for m in found if m.kind == "party" and m.end <= name.start]
    if before:
        party = before[-1]
        between = text[party.end : name.start]
        others = [m for m in found if party.end <= m.start < name.start and m.kind != "party"]
        if not others and len(between) <= 40 and _BETWEEN_PARTY_AND_NAME.match(between):
            name.party, name.backed, party.attached = party.party, party.backed, True
    after = [m for m in found if m.kind == "party" and m.start >= name.end]
    if not name.party and after:
        party = after[0]
        between = text[name.end : party.start]
        if _PARTY_AFTER_NAME.fullmatch(between):
            name.party, name.backed, party.attached = party.party, party.backed, True
            if re.search(r"backed|supported", between):
                name.backed = True
    if name.party:
        context.remember(name)
    else:
        name.party, name.backed = context.party_of(name.text)


def who(actor: Mention | None) -> dict[str, Any]:
    """A claim's candidate (when the actor is a name), party and backing."""
    if actor is None:
        return {}
    name = actor.text if actor.kind == "name" else ""
    return {"candidate": name, "party": actor.party, "backed": actor.backed}


def actors_in(mentions: list[Mention]) -> list[Mention]:
    return [
        m
        for m in mentions
        if not m.aside and (m.kind == "name" or (m.kind == "party" and not m.attached))
    ]


def nearest(mentions: list[Mention], position: int) -> Mention | None:
    before = [m for m in actors_in(mentions) if m.end <= position]
    return before[-1] if before else None


@lru_cache(maxsize=16)
def _has_pronoun(sentence: str) -> bool:
    return bool(_PRONOUN.search(sentence))


def fallback(text: str, previous: list[Mention]) -> Mention | None:
    """A pronoun ("he had polled nearly 26,000 votes"): the previous sentence's subject."""
    if not _has_pronoun(text):
        return None
    actors = actors_in(previous)
    names = [m for m in actors if m.kind == "name"]
    return names[0] if names else (actors[0] if actors else None)


def contest_before(mentions: list[Mention], position: int, context: Scope) -> str:
    contests = [m for m in mentions if m.kind == "contest" and m.start < position]
    if contests:
        return contests[-1].text
    later = [m for m in mentions if m.kind == "contest"]
    return later[0].text if later else context.contest


def attribution(mentions: list[Mention]) -> str:
    outlets = [m.text for m in mentions if m.kind == "outlet"]
    return re.sub(r"^(?:the|The)\s+(?=\w+\s+\w)", "", outlets[0]) if outlets else ""
