"""Winner claims: "X won NA-130", "was declared the winner", "declared X the winner",
"X defeated Y"."""

from __future__ import annotations

import re

from tallyproof.claims.mentions import (
    SEAT_NAME,
    Mention,
    Scope,
    actors_in,
    contest_before,
    nearest,
    who,
)
from tallyproof.claims.text import Sentence, tail
from tallyproof.claims.votes import DEFEAT
from tallyproof.domain.claims import Claim, ClaimKind

_CONTEST_WORD = r"(?:NA|PP|PS|PK|PB)[\s-]?\d{1,3}\b"
_WON = re.compile(  # a verb of winning whose object is the contest, not seats or votes
    r"\b(?:(?:won|wins|win|retained|retains|held\s+on\s+to|holds\s+on\s+to|clinched|captured|"
    r"bagged|secured|grabbed|snatched|kept|took|takes|wrested|carried|carries|held|holds)\s+"
    r"(?:(?:the|his|her|their)\s+)?(?:"
    r"(?:(?:National|Provincial|Punjab|Sindh|Khyber\s+Pakhtunkhwa|Balochistan)\s+Assembly\s+)?"
    r"(?:(?:provincial|national|home|own|assembly|family|ancestral)\s+)?seat\b(?!s)|"
    + SEAT_NAME
    + r"|"
    + _CONTEST_WORD
    + r"(?:\s+seat\b)?|(?:mayoral|mayor['’]s)\s+"
    r"(?:seat|race|contest|election)\b|(?:[\w-]+\s+){0,4}?(?:race|contest|election)\b(?!s))"
    r"|(?:won|wins)\s+with\b"
    r"|(?:secured|clinched|sealed|registered|recorded|won)\s+(?:a\s+)?(?:[\w-]+\s+)?victory\b"
    r"|emerged\s+(?:as\s+)?(?:the\s+)?(?:victorious|winner)\b"
    r"|(?:(?:was|were|is|has\s+been|had\s+been)\s+)?(?:declared|announced|notified)\s+(?:as\s+)?(?:the\s+)?(?:winner|elected|"
    r"returned\s+candidate)\b"
    r"|(?:was|were|has\s+been|had\s+been|got)\s+(?:re-?)?elected\b"
    r"|(?:was|were)\s+(?:declared|elected|returned)\s+(?:as\s+)?(?:the\s+)?(?:mayor|chairman|"
    r"chairperson|MNA|MPA)\b|(?:was|were|has\s+been)\s+returned\s+"
    r"(?:to\s+the\s+[\w\s]{3,30}?\s+)?(?:from|in)\b"
    r"|(?:has|have|had)\s+taken\s+" + _CONTEST_WORD + r"|\btook\s+[\d,]+\s+and\s+the\s+seat\b"
    r"|\bwho\s+won\b(?!\s+by)"
    r"|(?:defeated|defeats|defeating|beat|beats|beating|trounced|routed|edged\s+out|"
    r"outpolled|unseated|ousted|toppled|upset|knocked\s+out|edged\s+past)\b(?!\s+by\b)"
    r"|won\s+(?:comfortably|easily|handily|convincingly|narrowly|again|outright)\b"
    r"|(?:triumphed|prevailed|romped\s+home|sailed\s+through)\b"
    r"|(?:is|was)\s+the\s+(?:victor|winner)\b"
    r"|survived\b(?=\s+(?:by|with)\b)|finished\s+[\d,]+\s+(?:votes\s+)?ahead\s+of\b"
    r"|(?:topped\s+the\s+(?:poll|count|field)|finished\s+first|came\s+(?:out\s+on\s+top|first))\b"
    r"|(?:holds?|held)\s+on\b(?=\s+(?:by|in|with|over|to\s+win))"
    r"|\b(?:wins|won)\b(?=\s*[,.;]|\s+(?:at|again|here|there)\b)"
    r"|(?:is|became|becomes)\s+the\s+(?:new\s+)?(?:MNA|MPA|member)\s+(?:from|for)\b)",
    re.IGNORECASE,
)
# "was defeated by X", "lost NA-15 to X", "went to X": the winner comes after
_WINNER_AFTER = re.compile(
    r"\b(?:(?:was|were|been|got)\s+(?:defeated|beaten|trounced|routed|upset)\s+by|"
    r"(?:lost|loses|losing)\s+(?:[\w'’-]+\s+){0,5}?to|(?:seat|race|contest|crown)\s+went\s+to|"
    r"gave\s+the\s+(?:seat|contest|race)\s+to)\s+",
    re.IGNORECASE,
)
# "The victor, the PTI's young Faisal Vawda, ...": the winner named in the appositive
_THE_WINNER = re.compile(r"(?:^|[.;:]\s*)(?:the\s+)?(?:victor|winner)\s*,", re.IGNORECASE)
# "X's narrow victory", "victory for X"
_VICTORY_OF = re.compile(
    r"['’]s\s+(?:\w+\s+)?(?:win|victory)\b(?!\s+(?:margin|lead|speech|rally|claims?|procession))"
    r"|\b(?:win|victory)\s+(?:for|of)\s+",
    re.IGNORECASE,
)
# a results line's verdict: "— PTI gain", "PML-N hold", "retained": the line's first name
_VERDICT = re.compile(
    r"(?:\b[A-Z][\w()-]*\s+)?\b(?:gain|hold|retained)\b(?=\W*$|\s*,\s*(?:margin|majority)\b)"
)
_SUBJECT_PRONOUN = re.compile(r"\b(?:he|she)\b", re.IGNORECASE)
_PASSIVE = re.compile(r"\b(?:was|were|is|are|been|being|got)\s+$", re.IGNORECASE)
_DECLARED_NAMED = re.compile(  # "declared PML-N's Anjum Aqeel Khan the winner"
    r"\bdeclar(?:ed|es)\s+(?P<whom>[^.;]{1,100}?)\s+(?:as\s+)?(?:the\s+)?(?:winner|elected|"
    r"returned)\b",
    re.IGNORECASE,
)
_TO_WIN = re.compile(r"(?:\bvotes?|\d)\s+to\s+$", re.IGNORECASE)
_NOT_WON = re.compile(
    r"(?:\bnot|\bnever|n't|\bfailed\s+to|\b(?:expected|likely|set|poised|hop\w*|tipped)\s+to|"
    r"\bclaim\w*(?:\s+that)?|\bif|\bwhether|\bunless)\s+"
    r"(?:\w+\s+){0,1}$",
    re.IGNORECASE,
)


def winner_claims(
    sentence: Sentence, mentions: list[Mention], previous: list[Mention], context: Scope
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
            for a in actors_in(mentions)
            if a.kind == "name" and m.start("whom") <= a.start < m.end()
        ]
        if inside and not _NOT_WON.search(tail(text, m.start())):
            found.append((m.start(), m.end(), inside[0]))
    for m in _WINNER_AFTER.finditer(text):
        if _NOT_WON.search(tail(text, m.start())):
            continue
        after = [a for a in actors_in(mentions) if a.kind == "name" and a.start >= m.end()]
        if after and not text[m.end() : after[0].start].count(","):
            found.append((m.start(), m.end(), after[0]))
    for m in _THE_WINNER.finditer(text):
        after = [a for a in actors_in(mentions) if a.kind == "name" and m.end() <= a.start]
        if after and after[0].start - m.end() <= 40:
            found.append((m.start(), m.end(), after[0]))
    for m in _VICTORY_OF.finditer(text):
        if m.group(0).startswith(("'", "’")):
            owner = [a for a in mentions if a.kind == "name" and 0 <= m.start() - a.end <= 1]
        else:
            owner = [a for a in mentions if a.kind == "name" and 0 <= a.start - m.end() <= 30]
        if owner and not _NOT_WON.search(tail(text, m.start())):
            found.append((m.start(), m.end(), owner[0]))
    verdict = _VERDICT.search(text)
    names = [a for a in actors_in(mentions) if a.kind == "name"]
    contests = [a for a in mentions if a.kind == "contest"]
    if verdict and names and contests and contests[0].start < names[0].start:
        found.append((verdict.start(), verdict.end(), names[0]))
    for m in _WON.finditer(text):
        if any(s <= m.start() < e for s, e, _ in found) or _NOT_WON.search(tail(text, m.start())):
            continue
        if _PASSIVE.search(tail(text, m.start())) and DEFEAT.match(m.group(0)):
            continue  # "was defeated": the loser
        if m.group(0).split()[0].lower() == "win" and not _TO_WIN.search(tail(text, m.start())):
            continue  # "hopes to win", "will win": only "bagged 163,325 votes to win NA-56"
        found.append((m.start(), m.end(), nearest(mentions, m.start())))
    out: list[Claim] = []
    seen: set[str] = set()
    for start, end, actor in sorted(found, key=lambda f: f[0]):
        if actor is None and _SUBJECT_PRONOUN.search(text[:start]):
            subjects = [a for a in actors_in(previous) if a.kind == "name"]
            actor = subjects[0] if subjects else None
        if actor is None or actor.kind != "name" or actor.text in seen:
            continue
        seen.add(actor.text)
        contest = contest_before(mentions, end, context)
        span = sentence.span(start, end)
        out.append(Claim(ClaimKind.WINNER, text, *span, contest=contest, **who(actor)))
    return out
