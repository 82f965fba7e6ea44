"""Rule-based extraction of result claims from a news report's sentences.

Each sentence is read once into mentions — parties (names and abbreviations, "PTI-backed"),
contests (NA-122, NA 8, "mayor of Dera Ismail Khan"), places, outlets, and candidate names
(runs of capitalised words that are none of those) — and numbers. A number followed by
"votes" is a vote count, or a margin when "by" or "margin of" comes before it; a number of
seats or constituencies after a verb of winning is a seat count; fixed phrases with guards
against negation give status claims. Each claim takes the nearest actor before it (a name,
or a party with no name); a pronoun falls back to the previous sentence's subject."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from tallyproof.claims.gazetteer import (
    ASSEMBLIES,
    NOT_NAMES,
    OUTLET_SUFFIX,
    OUTLETS,
    PARTY_BY_ALIAS,
    PLACE_ALIASES,
    PLACES,
    name_tokens,
    party_pattern,
)
from tallyproof.claims.numbers import Number, find_numbers
from tallyproof.claims.text import Report, Sentence, read_report
from tallyproof.domain.claims import Claim, ClaimKind, Qualifier, StatusClaim


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


@dataclass
class Extracted:
    """A report read: its metadata, its sentences, the claims, and what was set aside."""

    report: Report
    claims: list[Claim] = field(default_factory=list)
    outlets: Counter[str] = field(default_factory=Counter)  # outlets the sentences quote


_PARTY = party_pattern()
_CONTEST = re.compile(r"(?<![\w-])(NA|PP|PS|PK|PB)[\s-]?(\d{1,3})(?![\w-])")
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
    r"\bchallenger\b|\bticket\s+holder\b|\bstrongman\b|\bworker\b|\bman\b|\bwoman\b)*$",
    re.IGNORECASE,
)
_BACKED_AFTER = re.compile(r"^\s*(?:\([A-Z-]+\)\s*)?-?\s*backed\b", re.IGNORECASE)
_BACKED_BEFORE = re.compile(r"(?:backed|supported) by\s+(?:the\s+)?$", re.IGNORECASE)
_PARTY_AFTER_NAME = re.compile(
    r"\s*(?:\(|of(?:\s+the)?|,\s*(?:who\s+(?:is|was)\s+)?(?:an?\s+)?(?:independent\s+)?"
    r"(?:candidate\s+)?(?:backed|supported|fielded|nominated)\s+by(?:\s+the)?)\s*",
    re.IGNORECASE,
)
_QUALIFIER = re.compile(
    r"(?P<q>just over|just under|more than|over|above|in excess of|at least|less than|under|"
    r"below|fewer than|about|around|nearly|almost|roughly|approximately|some|close to|"
    r"an estimated|approx\.|just|only|barely|a mere)\s+$",
    re.IGNORECASE,
)
_QUALIFIERS = {
    "just over": Qualifier.MORE_THAN,
    "more than": Qualifier.MORE_THAN,
    "over": Qualifier.MORE_THAN,
    "above": Qualifier.MORE_THAN,
    "in excess of": Qualifier.MORE_THAN,
    "at least": Qualifier.AT_LEAST,
    "just under": Qualifier.LESS_THAN,
    "less than": Qualifier.LESS_THAN,
    "under": Qualifier.LESS_THAN,
    "below": Qualifier.LESS_THAN,
    "fewer than": Qualifier.LESS_THAN,
    "just": Qualifier.JUST,
    "barely": Qualifier.JUST,
    "a mere": Qualifier.JUST,
    "only": Qualifier.EXACT,
}
_VOTE_WORD = re.compile(r"\b(?:votes?|polled|tally)\b", re.IGNORECASE)
_POSSESSIVE = re.compile(
    r"['’]s\s+(?:(?:vote\s+)?(?:tally|total|count|votes)\s+(?:was|stood at|of|at|:)\s+)?$",
    re.IGNORECASE,
)
_BARE_BEFORE = re.compile(
    r"\b(?:finished|ended|came|trailed|was left)\s+(?:second\s+|third\s+)?with\s+$|"
    r"\b(?:polled|bagged|secured|received|obtained|garnered|got|on)\s+$|"
    r"\b(?:tally|total)\s+(?:was|of|stood at)\s+$",
    re.IGNORECASE,
)
_VOTES_AFTER = re.compile(r"^\s*votes?\b", re.IGNORECASE)
_MARGIN_BEFORE = re.compile(
    r"(?:\bby|margin of|lead of|majority of|difference of|led by)\s+(?:a\s+)?$", re.IGNORECASE
)
_MARGIN_NOUN_BEFORE = re.compile(
    r"(?:\bby\s+(?:a\s+)?(?:[\w-]+\s+){0,2}margin of|\bmargin of|\blead of|\bahead by|"
    r"\bmargin\s+(?:(?:was|is|stood)\s+)?(?:(?:recorded|put|set)\s+)?at|\bmargin\s+(?:was|is)|"
    r"\bwon by|\bdefeated\b[^,.]*\bby)\s+(?:a\s+)?$",
    re.IGNORECASE,
)
_SEAT_AFTER = re.compile(
    r"^\s*(?P<words>(?:[A-Za-z'’-]+\s+){0,3}?)(?P<noun>seats?|constituencies)\b", re.IGNORECASE
)
_WIN = re.compile(
    r"\b(?:won|win|wins|winning|secured?|securing|bagged|bagging|grabbed|grab|clinched|"
    r"captured|swept|holds?|stood at|tally|remaining)\b",
    re.IGNORECASE,
)
_NONE_OF = re.compile(
    r"\b(?:not|n't|failed to|without)\s+(?:\w+\s+){0,2}(?:a single|any)\s+"
    r"(?:[\w'’-]+\s+){0,3}?seats?\b",
    re.IGNORECASE,
)
_SEAT_WORD = re.compile(r"\b(?:seats?|constituencies)\b", re.IGNORECASE)
_ELLIPTIC_SEATS = re.compile(
    r"(?:\s+(?:has|have|had|so|far|also|only|candidates|nominees))*\s+"
    r"(?:won|secured|bagged|got|grabbed|clinched|took|stood at|with)?\s*$",
    re.IGNORECASE,
)
_DEFEAT = re.compile(
    r"\b(?:defeat(?:ed|ing)?|beat(?:ing)?|trounc(?:ed|ing)|edg(?:ed|ing) out|leaving behind|"
    r"outpolled|against)\b",
    re.IGNORECASE,
)
_TRAILED = re.compile(r"\b(?:trail(?:ed|s|ing)|lost|behind)\b", re.IGNORECASE)
_MONEY_BEFORE = re.compile(r"(?:Rs\.?|PKR|\$|USD|Rupees?)\s*$", re.IGNORECASE)
_MONEY_AFTER = re.compile(r"^\s*(?:rupees|dollars|per\b|%|percent|per cent|kg|am|pm)", re.I)
_MAYOR = re.compile(r"\bmayor(?:al|'s|’s)?\b", re.IGNORECASE)
_APPOSITIVE = re.compile(
    r",\s*(?:who\s+is\s+(?:also\s+)?)?(?:the\s+|a\s+)?(?:brother|sister|son|daughter|wife|"
    r"husband|father|mother|nephew|niece|cousin|uncle|aide|relative)\s+of\b[^,.]*,",
    re.IGNORECASE,
)
_CLAUSE = re.compile(r",\s*(?:while|whereas|but)\b|;|\s+while\s+")
_REPORTED = re.compile(r"\breported\b|\bobtained by\b|\baccording to\b", re.IGNORECASE)
_PRONOUN = re.compile(r"\b(?:he|she|him|her|his|they|their|I|my)\b")
_LOOKBACK = 200  # characters: every phrase read before a number is shorter


def _tail(text: str, end: int) -> str:
    """The text just before `end`, from a word's start: patterns anchored at a number look
    this far back, so a sentence of thousands of numbers costs linear time, not quadratic."""
    start = max(0, end - _LOOKBACK)
    if start:
        space = text.find(" ", start, end)
        start = space + 1 if space >= 0 else end
    return text[start:end]


_REFUSED = re.compile(r"(?:refused to|not|never|won't|will not)\s+(?:\w+\s+){0,2}$", re.I)
_STATUS = [
    (
        StatusClaim.POSTPONED,
        re.compile(
            r"\b(?:postponed|deferred|put off|(?:will|would|could) not be held|won't be held)\b",
            re.IGNORECASE,
        ),
        re.compile(r"(?:re-?poll(?:ing)?|whether)\s+(?:\w+\s+){0,2}$", re.IGNORECASE),
    ),
    (
        StatusClaim.RE_POLL,
        re.compile(r"\bre-?poll(?:ing|ed|s)?\b|\bre-held\b|\bheld again\b", re.IGNORECASE),
        re.compile(r"(?:whether|\bno|\bif)\s+(?:\w+\s+){0,2}$", re.IGNORECASE),
    ),
    (
        StatusClaim.SUSPENDED,
        re.compile(r"\bsuspended\b", re.IGNORECASE),
        re.compile(r"(?:not|never)\s+(?:been\s+)?$", re.IGNORECASE),
    ),
    (
        StatusClaim.CONCEDED,
        re.compile(
            r"\b(?:conced(?:ed|es|e|ing)(?:\s+defeat)?|accept(?:ed|s)?\s+(?:my|his|her|their|"
            r"the)\s+(?:defeat|result|verdict)|admitted defeat|accept(?:ed|s)?\s+defeat|"
            r"accept(?:ed|s)?\s+the\s+(?:decision|verdict|mandate|judge?ment)\s+of\s+the\s+"
            r"(?:public|people|voters|electorate|nation)|accept(?:ed|s)?\s+the\s+(?:public|"
            r"people|voters)['’]s?\s+(?:decision|verdict|mandate))\b",
            re.IGNORECASE,
        ),
        _REFUSED,
    ),
    (
        StatusClaim.GAVE_UP_SEAT,
        re.compile(
            r"\b(?:gave up|give up|gives up|giving up|relinquish(?:ed|es)?|vacat(?:ed|es)|"
            r"surrender(?:ed|s)?)\s+(?:his|her|the|their|a)?\s*(?:[\w-]+\s+){0,3}?seat\b",
            re.IGNORECASE,
        ),
        _REFUSED,
    ),
]
_RE_POLL_DENIED = re.compile(r"^\s*(?:will|would|could)\s+not\b|^\s*was\s+not\b", re.IGNORECASE)
_CONGRATULATED = re.compile(
    r"\bcongratulat(?:ed|es|ing)\s+(?:[^.;]{1,80}?\s+(?:on|for)\s+(?:(?:his|her|their|a|the)\s+)?"
    r"(?:(?:clear|convincing|resounding|thumping|landslide|big|historic)\s+)?"
    r"(?:victory|win(?:ning)?|success|election)\b|the\s+winner\b|(?:his|her|their)\s+"
    r"(?:rival|opponent)s?\b)",
    re.IGNORECASE,
)
# someone in office congratulating a winner is not conceding ("Minister X congratulated Y")
_OFFICE = re.compile(
    r"\b(?:minister|president|governor|premier|spokes(?:man|person|woman)|ambassador|PM|CM)\b",
    re.IGNORECASE,
)
_CONTEST_WORD = r"(?:NA|PP|PS|PK|PB)[\s-]?\d{1,3}\b"
_WON = re.compile(  # a verb of winning whose object is the contest, not seats or votes
    r"\b(?:(?:won|wins|retained|retains|held\s+on\s+to|holds\s+on\s+to|clinched|captured|"
    r"bagged|secured|grabbed|snatched)\s+(?:(?:the|his|her|their)\s+)?(?:"
    r"(?:(?:National|Provincial|Punjab|Sindh|Khyber\s+Pakhtunkhwa|Balochistan)\s+Assembly\s+)?"
    r"seat\b(?!s)|" + _CONTEST_WORD + r"(?:\s+seat\b)?|(?:mayoral|mayor['’]s)\s+"
    r"(?:seat|race|contest|election)\b|(?:race|contest|election)\b(?!s))"
    r"|(?:won|wins)\s+with\b"
    r"|(?:secured|clinched|sealed|registered|recorded|won)\s+(?:a\s+)?(?:[\w-]+\s+)?victory\b"
    r"|emerged\s+(?:as\s+)?(?:the\s+)?(?:victorious|winner)\b"
    r"|(?:(?:was|were|is|has\s+been|had\s+been)\s+)?(?:declared|announced|notified)\s+(?:as\s+)?(?:the\s+)?(?:winner|elected|"
    r"returned\s+candidate)\b"
    r"|(?:was|were|has\s+been|had\s+been|got)\s+(?:re-?)?elected\b"
    r"|(?:defeated|defeats|defeating|beat|beats|beating|trounced|routed|edged\s+out|"
    r"outpolled)\b(?!\s+by\b))",
    re.IGNORECASE,
)
_SUBJECT_PRONOUN = re.compile(r"\b(?:he|she)\b", re.IGNORECASE)
_PASSIVE = re.compile(r"\b(?:was|were|is|are|been|being|got)\s+$", re.IGNORECASE)
_DECLARED_NAMED = re.compile(  # "declared PML-N's Anjum Aqeel Khan the winner"
    r"\bdeclared\s+(?P<whom>[^.,;]{1,80}?)\s+(?:as\s+)?(?:the\s+)?winner\b", re.IGNORECASE
)
_NOT_WON = re.compile(
    r"(?:\bnot|\bnever|n't|\bfailed\s+to|\b(?:expected|likely|set|poised|hop\w*|tipped)\s+to|"
    r"\bclaim\w*(?:\s+that)?|\bif|\bwhether|\bunless)\s+"
    r"(?:\w+\s+){0,1}$",
    re.IGNORECASE,
)


def extract(text: str, outlet: str = "", date: str = "") -> Extracted:
    """Every result claim in a report, with its sentence and span; links are left empty."""
    report = read_report(text, outlet, date)
    out = Extracted(report)
    context = _Scope()
    previous: list[Mention] = []
    for sentence in report.sentences:
        mentions = _mentions(sentence.text, context)
        claims = _claims(sentence, mentions, previous, context)
        if (quoted := _attribution(mentions)) and _REPORTED.search(sentence.text):
            out.outlets[quoted] += 1
        out.claims += claims
        for m in mentions:
            if m.kind == "contest":
                context.contest = m.text
        previous = mentions if any(m.kind in ("name", "party") for m in mentions) else previous
    return out


@dataclass
class _Scope:
    """What earlier sentences established: the current contest, and each name's party."""

    contest: str = ""
    parties: dict[tuple[str, ...], tuple[str, bool]] = field(default_factory=dict)
    vote_paragraph: int = -1  # the last paragraph that spoke of votes

    def remember(self, name: Mention) -> None:
        if name.party:
            self.parties[name_tokens(name.text)] = (name.party, name.backed)

    def party_of(self, name: str) -> tuple[str, bool]:
        tokens = set(name_tokens(name))
        for known, party in self.parties.items():
            if tokens and (tokens <= set(known) or set(known) <= tokens):
                return party
        return "", False


def _mentions(text: str, context: _Scope) -> list[Mention]:
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
    for m in _CONTEST.finditer(text):
        add(Mention("contest", m.start(), m.end(), f"{m.group(1)}-{int(m.group(2))}"))
    for m in _PARTY.finditer(text):
        add(_party(text, m))
    for m in _PLACE.finditer(text):
        add(Mention("place", m.start(), m.end(), PLACE_ALIASES.get(m.group(1), m.group(1))))
    local = _local_contest(text, found)
    if local:
        found.append(local)
    names = _names(text, taken)
    for name in names:
        _attach_party(text, name, found, context)
        found.append(name)
    for aside in _APPOSITIVE.finditer(text):
        for m in found:
            if aside.start() <= m.start < aside.end():
                m.aside = True
    return sorted(found, key=lambda m: m.start)


def _party(text: str, m: re.Match[str]) -> Mention:
    end = m.end()
    abbreviation = re.match(r"\s*\(([A-Z][\w-]*)\)", text[end:])
    if abbreviation and abbreviation.group(1) in PARTY_BY_ALIAS:
        end += abbreviation.end()
    after = _BACKED_AFTER.match(text[m.end() :])
    backed = bool(after or _BACKED_BEFORE.search(_tail(text, m.start())))
    if after:
        end = max(end, m.end() + after.end())
    return Mention("party", m.start(), end, m.group(1), PARTY_BY_ALIAS[m.group(1)], backed)


def _local_contest(text: str, found: list[Mention]) -> Mention | None:
    """ "mayor of Dera Ismail Khan", "the Mardan mayoral seat": the place nearest the word."""
    mayor = _MAYOR.search(text)
    places = [m for m in found if m.kind == "place"]
    if not mayor or not places:
        return None
    place = min(places, key=lambda p: abs(p.start - mayor.start()))
    return Mention("contest", mayor.start(), mayor.end(), f"{place.text} mayor")


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


def _attach_party(text: str, name: Mention, found: list[Mention], context: _Scope) -> None:
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


def _claims(
    sentence: Sentence, mentions: list[Mention], previous: list[Mention], context: _Scope
) -> list[Claim]:
    text = sentence.text
    in_contest = bytearray(len(text))  # "NA-122" holds a number that is no count
    for m in mentions:
        if m.kind == "contest":
            in_contest[m.start : m.end] = b"\x01" * (m.end - m.start)
    numbers = [n for n in find_numbers(text) if _is_count(text, n, in_contest)]
    used: set[int] = set()
    claims = []
    voted = bool(_VOTE_WORD.search(text))
    vote_context = voted or context.vote_paragraph == sentence.paragraph
    if voted:
        context.vote_paragraph = sentence.paragraph
    for n in numbers:
        claim = _vote_claim(sentence, n, mentions, previous, context, vote_context)
        if claim is not None:
            claims.append(claim)
            used.add(n.start)
    claims += _seat_claims(sentence, numbers, mentions, used)
    claims += _status_claims(sentence, mentions, previous, context)
    claims += _winner_claims(sentence, mentions, previous, context)
    attributed = _attribution(mentions)
    return [replace(c, attributed_to=attributed) for c in claims] if attributed else claims


def _is_count(text: str, n: Number, in_contest: bytearray) -> bool:
    if in_contest[n.start]:
        return False
    if _MONEY_BEFORE.search(_tail(text, n.start)) or _MONEY_AFTER.match(text[n.end :]):
        return False
    return not re.match(r"^[-/]\d", text[n.end :])  # dates such as 2024-02-09


def _qualifier(text: str, n: Number) -> tuple[Qualifier, int]:
    before = _tail(text, n.start)
    m = _QUALIFIER.search(before)
    if not m:
        return Qualifier.EXACT, n.start
    word = m.group("q").lower()
    return _QUALIFIERS.get(word, Qualifier.APPROXIMATELY), n.start - len(before) + m.start()


def _who(actor: Mention | None) -> dict[str, Any]:
    """A claim's candidate (when the actor is a name), party and backing."""
    if actor is None:
        return {}
    name = actor.text if actor.kind == "name" else ""
    return {"candidate": name, "party": actor.party, "backed": actor.backed}


def _actors(mentions: list[Mention]) -> list[Mention]:
    return [
        m
        for m in mentions
        if not m.aside and (m.kind == "name" or (m.kind == "party" and not m.attached))
    ]


def _vote_claim(
    sentence: Sentence,
    n: Number,
    mentions: list[Mention],
    previous: list[Mention],
    context: _Scope,
    vote_context: bool,
) -> Claim | None:
    """A vote count or a margin: a number followed by "votes", or a bare number where the
    paragraph is about votes (after "finished with", "tally was", "against X's")."""
    text = sentence.text
    votes = _VOTES_AFTER.match(text[n.end :])
    owner = _possessive_owner(text, n, mentions)
    if not votes and not owner:
        owner = _following_owner(text, n, n.end, mentions, against=True)
    bare = not votes and not owner and _bare_count(text, n)
    if not votes and not owner and not bare:
        return None
    if not votes and not vote_context:
        return None
    qualifier, start = _qualifier(text, n)
    end = n.end + (votes.end() if votes else 0)
    before = _tail(text, start)
    margin = bool(_MARGIN_NOUN_BEFORE.search(before) or _MARGIN_BEFORE.search(before))
    if margin:
        start = _margin_start(before, start)
        actor = _winner(text, start, mentions, previous)
    else:
        actor = owner or _following_owner(text, n, end, mentions)
        actor = actor or _nearest(mentions, start) or _fallback(text, previous)
    return _numeric_claim(
        ClaimKind.MARGIN if margin else ClaimKind.VOTES,
        sentence,
        (start, end),
        n,
        qualifier,
        actor,
        _contest_before(mentions, start, context),
    )


def _margin_start(before: str, start: int) -> int:
    """Where a margin's phrase begins; `before` is the text that ends at `start`."""
    m = re.search(r"(?:\bby\b|\bmargin of\b|\blead of\b)[^.]*$", before, re.IGNORECASE)
    at = start - len(before) + m.start() if m else start
    return at if start - at < 60 else start


def _possessive_owner(text: str, n: Number, mentions: list[Mention]) -> Mention | None:
    """ "to Rafique's 77,907", "Sandhu's tally was 1,01,002": the name in the possessive."""
    before = _tail(text, n.start)
    m = _POSSESSIVE.search(before)
    if not m:
        return None
    at = n.start - len(before) + m.start()
    names = [x for x in mentions if x.kind == "name" and 0 <= at - x.end <= 1]
    return names[-1] if names else None


def _bare_count(text: str, n: Number) -> bool:
    """A number with no noun after it, right after a verb of polling: "finished with 41,090"."""
    if n.value < 100 or re.match(r"^\s*[A-Za-z%]", text[n.end :]):
        return False
    return bool(_BARE_BEFORE.search(_tail(text, n.start)))


def _following_owner(
    text: str, n: Number, end: int, mentions: list[Mention], against: bool = False
) -> Mention | None:
    """ "1,00,803 votes of the PTI-backed candidate X"; and, for a bare number after
    "against", "against 38,891 for JUI-F's Kafeel Ahmed"."""
    if against and not re.search(r"\bagainst\s+$", _tail(text, n.start)):
        return None
    m = re.match(r"^\s*(?:for|of)\s+", text[end:])
    if not m:
        return None
    names = [x for x in mentions if x.kind == "name" and end < x.start <= end + 70]
    return names[0] if names else None


def _nearest(mentions: list[Mention], position: int) -> Mention | None:
    before = [m for m in _actors(mentions) if m.end <= position]
    return before[-1] if before else None


@lru_cache(maxsize=16)
def _has_pronoun(sentence: str) -> bool:
    return bool(_PRONOUN.search(sentence))


def _fallback(text: str, previous: list[Mention]) -> Mention | None:
    """A pronoun ("he had polled nearly 26,000 votes"): the previous sentence's subject."""
    if not _has_pronoun(text):
        return None
    actors = _actors(previous)
    names = [m for m in actors if m.kind == "name"]
    return names[0] if names else (actors[0] if actors else None)


def _winner(
    text: str, position: int, mentions: list[Mention], previous: list[Mention]
) -> Mention | None:
    """A margin belongs to the winner: the sentence's subject when a verb of defeat comes
    between ("Khosa defeated Rafique by ..."), else the nearest actor."""
    actors = [m for m in _actors(mentions) if m.end <= position]
    if actors and _DEFEAT.search(text[actors[0].end : position]):
        return actors[0]
    if actors and _TRAILED.search(text[actors[-1].end : position]):
        winners = [m for m in _actors(previous) if m.kind == "name"]
        return winners[0] if winners else None  # the loser is named: the winner went before
    return actors[-1] if actors else _fallback(text, previous)


def _contest_before(mentions: list[Mention], position: int, context: _Scope) -> str:
    contests = [m for m in mentions if m.kind == "contest" and m.start < position]
    if contests:
        return contests[-1].text
    later = [m for m in mentions if m.kind == "contest"]
    return later[0].text if later else context.contest


def _numeric_claim(
    kind: ClaimKind,
    sentence: Sentence,
    span: tuple[int, int],
    n: Number,
    qualifier: Qualifier,
    actor: Mention | None,
    contest: str,
) -> Claim:
    start, end = sentence.span(*span)
    return Claim(
        kind, sentence.text, start, end, n.value, qualifier, n.unit, contest=contest, **_who(actor)
    )


def _seat_claims(
    sentence: Sentence, numbers: list[Number], mentions: list[Mention], used: set[int]
) -> list[Claim]:
    text = sentence.text
    out = []
    win = _WIN.search(text)  # a verb of winning somewhere before the number
    for n in numbers:
        if n.start in used:
            continue
        seat = _SEAT_AFTER.match(text[n.end :])
        if not seat or not win or win.end() > n.start:
            continue
        end = n.end + seat.end()
        used.add(n.start)
        n = _share_of(text, n, numbers)  # "nine of the 14 seats": nine
        used.add(n.start)
        qualifier, start = _qualifier(text, n)
        parties = _seat_parties(text, start, end, mentions)
        assembly = _assembly(text[n.start : end])
        out += [_seat_claim(sentence, (start, end), n, qualifier, p, assembly) for p in parties]
    if out or _SEAT_WORD.search(text):
        assembly = out[0].contest if out else _assembly(text)
        out += _elliptic_seats(sentence, numbers, mentions, used, assembly)
    out += _no_seats(sentence, mentions)
    return out


def _share_of(text: str, n: Number, numbers: list[Number]) -> Number:
    before = _tail(text, n.start)
    part = re.search(r"\bof\s+(?:the\s+)?$", before)
    if not part:
        return n
    gap = n.start - len(before) + part.start()
    earlier = [m for m in numbers if m.end <= gap and not text[m.end : gap].strip()]
    return earlier[-1] if earlier else n


def _seat_parties(
    text: str, position: int, end: int, mentions: list[Mention]
) -> list[Mention | None]:
    """The party before the count; with "each", every party of the clause."""
    parties = [m for m in mentions if m.kind == "party" and m.end <= position]
    if parties and re.match(r"^\s*each\b", text[end:]):
        return list(_joined(text, parties))
    if parties:
        return [parties[-1]]
    return [_nearest(mentions, position)]


def _assembly(text: str) -> str:
    for code, names in ASSEMBLIES.items():
        if any(name.lower() in text.lower() for name in names):
            return code
    return ""


def _seat_claim(
    sentence: Sentence,
    span: tuple[int, int],
    n: Number,
    qualifier: Qualifier,
    party: Mention | None,
    assembly: str,
) -> Claim:
    start, end = sentence.span(*span)
    return Claim(
        ClaimKind.SEATS,
        sentence.text,
        start,
        end,
        n.value,
        qualifier,
        1,
        contest=assembly,
        **_who(party),
    )


def _elliptic_seats(
    sentence: Sentence,
    numbers: list[Number],
    mentions: list[Mention],
    used: set[int],
    assembly: str,
) -> list[Claim]:
    """After a seat count, "while the ANP won one", "and the PPP 54": the same kind of
    claim for the party named right before a bare number."""
    text = sentence.text
    out = []
    for n in numbers:
        if n.start in used or _VOTES_AFTER.match(text[n.end :]):
            continue
        parties = [m for m in mentions if m.kind == "party" and m.end <= n.start]
        if not parties or not _ELLIPTIC_SEATS.fullmatch(text[parties[-1].end : n.start]):
            continue
        used.add(n.start)
        qualifier, start = _qualifier(text, n)
        owners = [parties[-1]]
        if re.match(r"^\s*each\b", text[n.end :]):  # "the JUI-F and PML-N took two each"
            owners = _joined(text, parties)
        start = min(start, owners[0].start)
        out += [_seat_claim(sentence, (start, n.end), n, qualifier, p, assembly) for p in owners]
    return out


def _joined(text: str, parties: list[Mention]) -> list[Mention]:
    """The parties listed together ("A, B and C") ending with the last one."""
    owners = [parties[-1]]
    for p in reversed(parties[:-1]):
        if not re.fullmatch(r"\s*(?:,|and|&)\s*(?:the\s+)?", text[p.end : owners[0].start], re.I):
            break
        owners.insert(0, p)
    return owners


def _no_seats(sentence: Sentence, mentions: list[Mention]) -> list[Claim]:
    """ "could not grab a single mayor's seat": zero seats for the party before it."""
    out = []
    for m in _NONE_OF.finditer(sentence.text):
        parties = [p for p in mentions if p.kind == "party" and p.end <= m.start()]
        party = parties[-1] if parties else None
        start, end = sentence.span(m.start(), m.end())
        out.append(
            Claim(
                ClaimKind.SEATS,
                sentence.text,
                start,
                end,
                0,
                Qualifier.EXACT,
                contest=_assembly(m.group(0)),
                **_who(party),
            )
        )
    return out


def _status_claims(
    sentence: Sentence, mentions: list[Mention], previous: list[Mention], context: _Scope
) -> list[Claim]:
    text = sentence.text
    out = []
    for status, pattern, negation in _STATUS:
        for m in pattern.finditer(text):
            if negation.search(text[: m.start()]):
                continue
            if status is StatusClaim.RE_POLL and _RE_POLL_DENIED.match(text[m.end() :]):
                continue
            if status is StatusClaim.SUSPENDED and not re.search(
                r"\b(?:poll(?:ing|s)?|voting|vote|counting|elections?)\b", text, re.IGNORECASE
            ):
                continue
            out += _status(sentence, status, (m.start(), m.end()), mentions, previous, context)
            break  # one claim of each status per sentence
    if not any(c.status is StatusClaim.CONCEDED for c in out):
        out += _congratulation(sentence, mentions, previous, context)
    return out


def _congratulation(
    sentence: Sentence, mentions: list[Mention], previous: list[Mention], context: _Scope
) -> list[Claim]:
    """ "Rafique congratulated Khosa on his victory": a concession by the sentence's subject
    (the first name before the verb, or the previous sentence's for a pronoun), unless the
    subject holds an office ("Federal Minister Asad Umar ... congratulated") or it is negated."""
    text = sentence.text
    m = _CONGRATULATED.search(text)
    if not m or _REFUSED.search(text[: m.start()]):
        return []
    names = [a for a in _actors(mentions) if a.kind == "name" and a.end <= m.start()]
    actor = names[0] if names else _fallback(text, previous)
    if actor is None or (names and _OFFICE.search(text[: names[0].start])):
        return []
    start, end = sentence.span(m.start(), m.end())
    contest = _contest_before(mentions, len(text), context)
    status = StatusClaim.CONCEDED
    return [
        Claim(ClaimKind.STATUS, text, start, end, status=status, contest=contest, **_who(actor))
    ]


def _winner_claims(
    sentence: Sentence, mentions: list[Mention], previous: list[Mention], context: _Scope
) -> list[Claim]:
    """ "X won NA-130", "won the seat", "won with 63,251 votes", "was declared the winner",
    "declared X the winner", "was elected", "emerged victorious", "secured victory", "X
    defeated Y": the winner is the name before the verb (after "declared" in "declared X the
    winner"), or the previous sentence's subject for a pronoun. A party with no name ("JUI-F
    won a clean victory"), a negation ("did not win", "was defeated"), a hope ("expected to
    win") and a claim of victory ("claimed victory") make none; "won by N votes" is a margin."""
    text = sentence.text
    found: list[tuple[int, int, Mention | None]] = []
    for m in _DECLARED_NAMED.finditer(text):
        inside = [
            a
            for a in _actors(mentions)
            if a.kind == "name" and m.start("whom") <= a.start < m.end()
        ]
        if inside and not _NOT_WON.search(_tail(text, m.start())):
            found.append((m.start(), m.end(), inside[0]))
    for m in _WON.finditer(text):
        if any(s <= m.start() < e for s, e, _ in found) or _NOT_WON.search(_tail(text, m.start())):
            continue
        if _PASSIVE.search(_tail(text, m.start())) and _DEFEAT.match(m.group(0)):
            continue  # "was defeated": the loser
        found.append((m.start(), m.end(), _nearest(mentions, m.start())))
    out: list[Claim] = []
    seen: set[str] = set()
    for start, end, actor in sorted(found, key=lambda f: f[0]):
        if actor is None and _SUBJECT_PRONOUN.search(text[:start]):
            subjects = [a for a in _actors(previous) if a.kind == "name"]
            actor = subjects[0] if subjects else None
        if actor is None or actor.kind != "name" or actor.text in seen:
            continue
        seen.add(actor.text)
        contest = _contest_before(mentions, end, context)
        span = sentence.span(start, end)
        out.append(Claim(ClaimKind.WINNER, text, *span, contest=contest, **_who(actor)))
    return out


def _status(
    sentence: Sentence,
    status: StatusClaim,
    span: tuple[int, int],
    mentions: list[Mention],
    previous: list[Mention],
    context: _Scope,
) -> list[Claim]:
    text = sentence.text
    start, end = sentence.span(*span)
    contests = _clause_contests(text, span, mentions)
    if status in (StatusClaim.POSTPONED, StatusClaim.SUSPENDED, StatusClaim.RE_POLL):
        targets = contests or [context.contest]
        actor = None
    else:
        targets = [_contest_before(mentions, len(text), context)]
        actor = _nearest(mentions, span[0]) or _fallback(text, previous)
        if actor is None:
            later = _actors(mentions)
            actor = later[0] if later else None
    return [
        Claim(
            ClaimKind.STATUS,
            text,
            start,
            end,
            status=status,
            contest=contest,
            **_who(actor),
        )
        for contest in targets
    ]


def _clause_contests(text: str, span: tuple[int, int], mentions: list[Mention]) -> list[str]:
    """The contests of the clause the status phrase is in ("NA-8 was postponed, while
    NA-9 will be re-held"), else of the whole sentence."""
    cuts = [0, *(m.end() for m in _CLAUSE.finditer(text)), len(text)]
    lo = max(c for c in cuts if c <= span[0])
    hi = min(c for c in cuts if c >= span[1])
    inside = [m.text for m in mentions if m.kind == "contest" and lo <= m.start < hi]
    return inside or [m.text for m in mentions if m.kind == "contest"]


def _attribution(mentions: list[Mention]) -> str:
    outlets = [m.text for m in mentions if m.kind == "outlet"]
    return re.sub(r"^(?:the|The)\s+(?=\w+\s+\w)", "", outlets[0]) if outlets else ""
