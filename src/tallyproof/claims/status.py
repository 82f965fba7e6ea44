"""Status claims (postponed, re-poll, suspended, conceded, gave up the seat) from fixed
phrases guarded against negation, and a concession read from congratulating the winner."""

from __future__ import annotations

import re

from tallyproof.claims.mentions import (
    Mention,
    Scope,
    actors_in,
    contest_before,
    fallback,
    nearest,
    who,
)
from tallyproof.claims.text import Sentence
from tallyproof.domain.claims import Claim, ClaimKind, StatusClaim

_CLAUSE = re.compile(r",\s*(?:while|whereas|but)\b|;|\s+while\s+")
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
            r"\b(?:gave up|give up|gives up|giving up|given up|relinquish(?:ed|es)?|vacat(?:ed|es)|"
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


def status_claims(
    sentence: Sentence, mentions: list[Mention], previous: list[Mention], context: Scope
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
    sentence: Sentence, mentions: list[Mention], previous: list[Mention], context: Scope
) -> list[Claim]:
    """ "Rafique congratulated Khosa on his victory": a concession by the sentence's subject
    (the first name before the verb, or the previous sentence's for a pronoun), unless the
    subject holds an office ("Federal Minister Asad Umar ... congratulated") or it is negated."""
    text = sentence.text
    m = _CONGRATULATED.search(text)
    if not m or _REFUSED.search(text[: m.start()]):
        return []
    names = [a for a in actors_in(mentions) if a.kind == "name" and a.end <= m.start()]
    actor = names[0] if names else fallback(text, previous)
    if actor is None or (names and _OFFICE.search(text[: names[0].start])):
        return []
    start, end = sentence.span(m.start(), m.end())
    contest = contest_before(mentions, len(text), context)
    status = StatusClaim.CONCEDED
    return [Claim(ClaimKind.STATUS, text, start, end, status=status, contest=contest, **who(actor))]


def _status(
    sentence: Sentence,
    status: StatusClaim,
    span: tuple[int, int],
    mentions: list[Mention],
    previous: list[Mention],
    context: Scope,
) -> list[Claim]:
    text = sentence.text
    start, end = sentence.span(*span)
    contests = _clause_contests(text, span, mentions)
    if status in (StatusClaim.POSTPONED, StatusClaim.SUSPENDED, StatusClaim.RE_POLL):
        targets = contests or [context.contest]
        actor = None
    else:
        right_after = [m for m in mentions if m.kind == "contest" and 0 <= m.start - span[1] <= 30]
        targets = [
            right_after[0].text if right_after else contest_before(mentions, len(text), context)
        ]
        actor = nearest(mentions, span[0]) or fallback(text, previous)
        if actor is None:
            later = actors_in(mentions)
            actor = later[0] if later else None
    return [
        Claim(
            ClaimKind.STATUS,
            text,
            start,
            end,
            status=status,
            contest=contest,
            **who(actor),
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
