"""Vote counts and margins: a number followed by "votes", or a bare number where the
paragraph is about votes; a margin when "by" or "margin of" comes before it. A count takes
its owner (a possessive, "votes of X", the nearest actor before it); a margin its winner."""

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
from tallyproof.claims.numbers import Number, qualifier_of
from tallyproof.claims.text import Sentence, tail
from tallyproof.domain.claims import Claim, ClaimKind, Qualifier

VOTE_WORD = re.compile(r"\b(?:votes?|polled|tally)\b", re.IGNORECASE)
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
VOTES_AFTER = re.compile(r"^\s*votes?\b", re.IGNORECASE)
_MARGIN_BEFORE = re.compile(
    r"(?:\bby|margin of|lead of|majority of|difference of|led by)\s+(?:a\s+)?$", re.IGNORECASE
)
_MARGIN_NOUN_BEFORE = re.compile(
    r"(?:\bby\s+(?:a\s+)?(?:[\w-]+\s+){0,2}margin of|\bmargin of|\blead of|\bahead by|"
    r"\bmargin\s+(?:(?:was|is|stood)\s+)?(?:(?:recorded|put|set)\s+)?at|\bmargin\s+(?:was|is)|"
    r"\bwon by|\bdefeated\b[^,.]*\bby)\s+(?:a\s+)?$",
    re.IGNORECASE,
)
DEFEAT = re.compile(
    r"\b(?:defeat(?:ed|ing)?|beat(?:ing)?|trounc(?:ed|ing)|edg(?:ed|ing) out|leaving behind|"
    r"outpolled|against)\b",
    re.IGNORECASE,
)
_TRAILED = re.compile(r"\b(?:trail(?:ed|s|ing)|lost|behind)\b", re.IGNORECASE)


def vote_claim(
    sentence: Sentence,
    n: Number,
    mentions: list[Mention],
    previous: list[Mention],
    context: Scope,
    vote_context: bool,
) -> Claim | None:
    """A vote count or a margin: a number followed by "votes", or a bare number where the
    paragraph is about votes (after "finished with", "tally was", "against X's")."""
    text = sentence.text
    votes = VOTES_AFTER.match(text[n.end :])
    owner = _possessive_owner(text, n, mentions)
    if not votes and not owner:
        owner = _following_owner(text, n, n.end, mentions, against=True)
    bare = not votes and not owner and _bare_count(text, n)
    if not votes and not owner and not bare:
        return None
    if not votes and not vote_context:
        return None
    qualifier, start = qualifier_of(text, n)
    end = n.end + (votes.end() if votes else 0)
    before = tail(text, start)
    margin = bool(_MARGIN_NOUN_BEFORE.search(before) or _MARGIN_BEFORE.search(before))
    if margin:
        start = _margin_start(before, start)
        actor = _margin_owner(text, start, mentions, previous)
    else:
        actor = owner or _following_owner(text, n, end, mentions)
        actor = actor or nearest(mentions, start) or fallback(text, previous)
    return _numeric_claim(
        ClaimKind.MARGIN if margin else ClaimKind.VOTES,
        sentence,
        (start, end),
        n,
        qualifier,
        actor,
        contest_before(mentions, start, context),
    )


def _margin_start(before: str, start: int) -> int:
    """Where a margin's phrase begins; `before` is the text that ends at `start`."""
    m = re.search(r"(?:\bby\b|\bmargin of\b|\blead of\b)[^.]*$", before, re.IGNORECASE)
    at = start - len(before) + m.start() if m else start
    return at if start - at < 60 else start


def _possessive_owner(text: str, n: Number, mentions: list[Mention]) -> Mention | None:
    """ "to Rafique's 77,907", "Sandhu's tally was 1,01,002": the name in the possessive."""
    before = tail(text, n.start)
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
    return bool(_BARE_BEFORE.search(tail(text, n.start)))


def _following_owner(
    text: str, n: Number, end: int, mentions: list[Mention], against: bool = False
) -> Mention | None:
    """ "1,00,803 votes of the PTI-backed candidate X"; and, for a bare number after
    "against", "against 38,891 for JUI-F's Kafeel Ahmed"."""
    if against and not re.search(r"\bagainst\s+$", tail(text, n.start)):
        return None
    m = re.match(r"^\s*(?:for|of)\s+", text[end:])
    if not m:
        return None
    names = [x for x in mentions if x.kind == "name" and end < x.start <= end + 70]
    return names[0] if names else None


def _margin_owner(
    text: str, position: int, mentions: list[Mention], previous: list[Mention]
) -> Mention | None:
    """A margin belongs to the winner: the sentence's subject when a verb of defeat comes
    between ("Khosa defeated Rafique by ..."), else the nearest actor."""
    actors = [m for m in actors_in(mentions) if m.end <= position]
    if actors and DEFEAT.search(text[actors[0].end : position]):
        return actors[0]
    if actors and _TRAILED.search(text[actors[-1].end : position]):
        winners = [m for m in actors_in(previous) if m.kind == "name"]
        return winners[0] if winners else None  # the loser is named: the winner went before
    return actors[-1] if actors else fallback(text, previous)


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
        kind, sentence.text, start, end, n.value, qualifier, n.unit, contest=contest, **who(actor)
    )
