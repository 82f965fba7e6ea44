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
    r"['’]s\s+(?:(?:(?:vote\s+)?(?:tally|total|count|votes)\s+)?(?:was|stood at|of|at|:)\s+)?$",
    re.IGNORECASE,
)
_BARE_BEFORE = re.compile(
    r"\b(?:finished|ended|came|trailed|was left)\s+(?:second\s+|third\s+)?with\s+$|"
    r"\b(?:polled|bagged|secured|received|obtained|garnered|got|on|securing|receiving|polling|took|"
    r"gather(?:ed)?|mustered|managed|collected|"
    r"bagging|obtaining|getting|garnering)\s+$|"
    r"\b(?:tally|total|count)\s+(?:was|of|stood at|at)\s+$|"
    r"\b(?:reduced|cut|dropped|fell|slashed|brought down|raised|rose|jumped)\s+(?:to|from)\s+$|"
    r"\bfrom\s+[\d,]+\s+to\s+$|\bto\s+[\d,]+\s+from\s+$|"
    r"\b(?:puts?|placed?|shows?|gives?)\s+[^,.;]{2,60}?\s+at\s+$|"
    r"\b(?:margin|majority|lead)(?:\s+(?:of|was|is|stood\s+at))?\s*[:=]?\s+$|"
    r"\b(?:won|wins|win|winning|leads?|leading|ahead|retain\w*|held|holds|beat\w*|defeat\w*|"
    r"trounc\w*|edged|prevailed|survived|ousted|unseated|victor|winner)\b[^.;]{0,60}\bby\s+$|"
    r"\bfinal(?:\s+(?:count|tally|result))?\s*[:\u2014-]\s*$|"
    r"\bfollowed\s+by\s+[^.;]{2,80}?\s+with\s+$|\bwith\s+$|[\u2014\u2013]\s*$|"
    r"\b(?:had|has|have)\s+$|\bfigure\s+of\s+$|"
    r"\b(?:goes|went|rose|jumped|fell|dropped|climbs?|climbed)\s+from\s+$|"
    r"\bfrom\s+[\d,]+\s+(?:[^.;]{0,40}?\s+)?to\s+$|"
    r"\b(?:tally|count|total|figure|sheets?|form\s*4[57]s?)\s+(?:showed|shows|puts?|gave|gives|"
    r"credits?|credited)\s+(?:\w+\s+)?(?:at\s+|with\s+)?$",
    re.IGNORECASE,
)
# after a count, words that end its phrase: "received 45,958 and ...", "62,388." (not a noun)
_AFTER_BARE = re.compile(
    r"^\s*(?:$|[,.;:)|\u2014\u2013\u00b7\u2022-]|(?:and|while|whereas|but|against|as|to|from|in|when|after|"
    r"compared|according|vs|versus|v|over|on|ahead|behind|for)\b)",
    re.IGNORECASE,
)
# totals that are no candidate's: turnout, votes polled in all, registered, rejected
_TOTAL_BEFORE = re.compile(
    r"\b(?:turnout|total\s+(?:number\s+of\s+)?(?:votes|ballots)|registered|rejected|invalid|"
    r"(?:votes|ballots)\s+(?:cast|polled)(?:\s+in\s+(?:all|total))?)\b[^,.;]{0,30}$",
    re.IGNORECASE,
)
_TOTAL_AFTER = re.compile(
    r"^\s*(?:votes?\s+)?(?:were\s+|had\s+been\s+)?(?:polled|cast)\s+(?:in\s+all|in\s+total|"
    r"overall|altogether)\b|^\s*(?:registered|rejected|invalid|valid\s+votes|voters|ballots)\b|"
    r"^\s*votes?\s+(?:were\s+)?(?:polled|cast)\s*(?:[.;,]|$|\s+(?:and|in\s+the|at)\b)",
    re.IGNORECASE,
)
_FOLLOWED_BY = re.compile(r"\bfollowed\s+by\s+$", re.IGNORECASE)
_LOST_TO = re.compile(
    r"\b(?:was|were|got|been)\s+(?:defeated|beaten|trounced|routed|outpolled)\s+by\b|"
    r"\blost\s+(?:[\w-]+\s+){0,3}?to\b",
    re.IGNORECASE,
)
# a name then its count, after a count of another ("received 101,596 and Chaudhry 49,678")
_ELLIPTIC_GAP = re.compile(
    r"^\s*(?:\([^()]{1,30}\)\s*|(?:of|from)\s+the\s+\S+\s*|,[^,;.]{1,80},\s*)?"
    r"[:,\u2013\u2014-]?\s*(?:at|with|on|got|polled)?\s*$",
    re.IGNORECASE,
)
VOTES_AFTER = re.compile(r"^\s*votes?\b", re.IGNORECASE)
_MARGIN_BEFORE = re.compile(
    r"(?:\bby|margin of|lead of|majority of|difference of|led by)\s+(?:a\s+)?$", re.IGNORECASE
)
_MARGIN_NOUN_BEFORE = re.compile(
    r"(?:\bby\s+(?:a\s+)?(?:[\w-]+\s+){0,2}margin of|\bmargin of|\blead of|\bahead by|"
    r"\bmargin\s+(?:(?:was|is|stood)\s+)?(?:(?:recorded|put|set)\s+)?at|\bmargin\s+(?:was|is)|"
    r"\bwon by|\bdefeated\b[^,.]*\bby|\bmargin\s*[:=]?)\s+(?:a\s+)?$",
    re.IGNORECASE,
)
DEFEAT = re.compile(
    r"\b(?:defeat(?:ed|ing)?|beat(?:ing)?|trounc(?:ed|ing)|edg(?:ed|ing) (?:out|past)|"
    r"leaving behind|outpolled|against|unseat(?:ed|ing)|oust(?:ed|ing)|toppl(?:ed|ing)|upset|"
    r"knock(?:ed|ing) out)\b",
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
    if _TOTAL_BEFORE.search(tail(text, n.start)) or _TOTAL_AFTER.match(text[n.end :]):
        return None
    votes = VOTES_AFTER.match(text[n.end :])
    owner = _possessive_owner(text, n, mentions)
    if not votes and not owner:
        owner = _following_owner(text, n, n.end, mentions, against=True)
    if not votes and not owner:
        owner = _score_line(text, n, mentions)
    if not votes and not owner:
        owner = _elliptic_owner(text, n, mentions, vote_context) or _figure_for(text, n, mentions)
    bare = not votes and not owner and _bare_count(text, n)
    if not votes and not owner and not bare:
        return None
    if not votes and not vote_context:
        return None
    qualifier, start = qualifier_of(text, n)
    end = n.end + (votes.end() if votes else 0)
    before = tail(text, start)
    margin = bool(_MARGIN_NOUN_BEFORE.search(before) or _MARGIN_BEFORE.search(before))
    margin = margin and not _FOLLOWED_BY.search(before) and not _SCORE_FIRST.match(text[n.end :])
    ahead = _AHEAD.match(text[n.end :])
    if ahead and not margin:
        margin, end = True, n.end + ahead.end()
    if margin:
        start = _margin_start(before, start)
        actor = _margin_for(text, end, mentions) or _margin_owner(text, start, mentions, previous)
    else:
        actor = (
            owner or _following_owner(text, n, end, mentions) or _subject_of(text, start, mentions)
        )
        actor = actor or _object_pronoun(text, start, previous)
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
    found = list(re.finditer(r"\bby\b|\bmargin of\b|\blead of\b", before, re.IGNORECASE))
    m = found[-1] if found and "." not in before[found[-1].start() :] else None
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
    if n.value < 100 or not _AFTER_BARE.match(text[n.end :]):
        return False
    _, start = qualifier_of(text, n)  # "had about 1.55 lakh": the verb before the hedge
    return bool(_BARE_BEFORE.search(tail(text, start)))


def _following_owner(
    text: str, n: Number, end: int, mentions: list[Mention], against: bool = False
) -> Mention | None:
    """ "1,00,803 votes of the PTI-backed candidate X"; and, for a bare number after
    "against", "against 38,891 for JUI-F's Kafeel Ahmed"."""
    if against and not re.search(r"\bagainst\s+(?:the\s+)?$|\bthe\s+$", tail(text, n.start)):
        return None
    m = re.match(
        r"^\s*(?:for|of|by|went\s+to|(?:were\s+|was\s+)?(?:cast\s+|polled\s+)?(?:in\s+favou?r\s+of|"
        r"for|by))\s+",
        text[end:],
        re.IGNORECASE,
    )
    if not m:
        return None
    names = [x for x in mentions if x.kind == "name" and end < x.start <= end + 70]
    if not names or re.search(r"[,;]", text[end : names[0].start]):
        return None  # "in favour of the Chairman, against 34,499 for X": not X's
    return names[0]


_FIGURE_FOR = re.compile(
    r"\b(?:figure|tally|total|count|votes)\s+(?:for|of)\s+(?P<who>[^.;]{2,60}?)\s+"
    r"(?:is|was|stood\s+at|at|:)\s+$",
    re.IGNORECASE,
)


def _figure_for(text: str, n: Number, mentions: list[Mention]) -> Mention | None:
    """ "the declared figure for Amir is about 1.03 lakh": the name after "for"."""
    _, start = qualifier_of(text, n)
    before = tail(text, start)
    m = _FIGURE_FOR.search(before)
    if not m:
        return None
    lo, hi = start - len(before) + m.start("who"), start - len(before) + m.end("who")
    names = [x for x in mentions if x.kind == "name" and lo <= x.start < hi]
    return names[-1] if names else None


_BEAT = re.compile(
    r"\b(?:defeat(?:ed|s)|beat|trounced|routed|edged\s+(?:out|past)|unseated|ousted|outpolled|"
    r"prevailed|won|wins|carried|took|retained|held\s+on|holds\s+on|beats|trounces)\b",
    re.IGNORECASE,
)
_SCORE_FIRST = re.compile(
    r"^\s*(?:votes?\s+)?to\s+(?:(?:his|her|their)\s+)?\d[\d,]*(?!\s*(?:votes?\s+)?(?:for|of)\b)"
)
_SCORE_SECOND = re.compile(r"\d[\d,]*\s+(?:votes?\s+)?to\s+(?:(?:his|her|their)\s+)?$")
# the subject's own count: ", securing 76,046", "X defeated Y with 38,875 votes"
_PARTICIPLE = re.compile(
    r",\s*(?:securing|polling|bagging|getting|receiving|obtaining|garnering)\s+$", re.I
)
_WITH = re.compile(r"\bwith\s+$", re.IGNORECASE)
_AHEAD = re.compile(r"^\s*(?:votes?\s+)?ahead\s+of\b", re.IGNORECASE)
_MARGIN_FOR = re.compile(r"^\s*,?\s*(?:in\s+favou?r\s+of|for)\s+(?:the\s+)?", re.IGNORECASE)


def _margin_for(text: str, end: int, mentions: list[Mention]) -> Mention | None:
    """ "the declared margin was 3,255 votes, for the MQM-P's X": the name after "for"."""
    m = _MARGIN_FOR.match(text[end:])
    if not m:
        return None
    names = [
        x for x in mentions if x.kind == "name" and end + m.end() <= x.start <= end + m.end() + 25
    ]
    return names[0] if names else None


_FOLLOWED = re.compile(r"\b(?:followed|trailed|chased)\s+by\b", re.IGNORECASE)
_OBJECT_PRONOUN = re.compile(r"\b(?:him|her)\s+(?:at|with|on)\s+$", re.IGNORECASE)


def _subject_of(text: str, start: int, mentions: list[Mention]) -> Mention | None:
    """The sentence's subject owns a count in a participle clause (", securing 76,046") or
    after a defeat ("X edged past Y with 38,875 votes")."""
    names = [m for m in actors_in(mentions) if m.kind == "name" and m.end <= start]
    if not names:
        return None
    before = tail(text, start)
    if _PARTICIPLE.search(before):
        return names[0]
    one_clause = ";" not in text[names[0].start : start] and not _FOLLOWED.search(
        text, names[0].end, start
    )
    beat = len(names) > 1 and _BEAT.search(text, names[0].end, names[1].start)
    if _WITH.search(before) and one_clause and beat:
        return names[0]
    return None


def _object_pronoun(text: str, start: int, previous: list[Mention]) -> Mention | None:
    """ "shows him at 29,758": the one person the sentence before named, if only one."""
    if not _OBJECT_PRONOUN.search(tail(text, start)):
        return None
    names = {m.text: m for m in actors_in(previous) if m.kind == "name"}
    return next(iter(names.values())) if len(names) == 1 else None


def _score_line(text: str, n: Number, mentions: list[Mention]) -> Mention | None:
    """ "X edged past Y by 33 votes, 78,911 to 78,878": the first count is the one who beat,
    the second the one beaten (names on each side of a verb of defeat)."""
    first, second = _SCORE_FIRST.match(text[n.end :]), _SCORE_SECOND.search(tail(text, n.start))
    if not first and not second:
        return None
    names = [m for m in actors_in(mentions) if m.kind == "name" and m.end <= n.start]
    verb = _BEAT.search(text, names[0].end if names else 0, n.start)
    if not names or not verb:
        return None
    after = [m for m in actors_in(mentions) if m.kind == "name" and m.start >= verb.end()]
    beaten = [m for m in after if m is not names[0]]
    if first:
        return names[0]
    return beaten[0] if beaten else None


def _elliptic_owner(
    text: str, n: Number, mentions: list[Mention], vote_context: bool
) -> Mention | None:
    """ "received 101,596 and Tariq Fazal Chaudhry 49,678", "puts Chaudhry at 1,01,397 and
    Shaheen at 86,794": a name right before a count, in a sentence that counted another."""
    if not vote_context or n.value < 100 or not _AFTER_BARE.match(text[n.end :]):
        return None
    _, start = qualifier_of(text, n)
    who = [m for m in actors_in(mentions) if m.end <= start]
    if not who:
        return None
    gap = text[who[-1].end : start]
    if who[-1].kind == "party":  # "; the ANP leader 59,483": the party's candidate
        gap = re.sub(r"^\s*(?:['’]s\s+)?(?:leader|chief|candidate|nominee|man|woman)\b", "", gap)
    return who[-1] if _ELLIPTIC_GAP.match(gap) else None


def _margin_owner(
    text: str, position: int, mentions: list[Mention], previous: list[Mention]
) -> Mention | None:
    """A margin belongs to the winner: the sentence's subject when a verb of defeat comes
    between ("Khosa defeated Rafique by ..."), else the nearest actor."""
    actors = [m for m in actors_in(mentions) if m.end <= position]
    if re.search(r"\b(?:was|were|been)\s+(?:\w+\s+)?(?:defeated|beaten)\s+$", text[:position]):
        return None  # "Mian Sahib was thus defeated by just 718": the winner is not here
    lost = _LOST_TO.search(text, actors[0].end if actors else 0, position)
    if lost:  # "Abbasi was defeated by Imran Khan by ...": the one after "by"
        after = [m for m in actors if m.start >= lost.end()]
        return after[0] if after else None
    verbs = list(_BEAT.finditer(text, actors[0].end if actors else 0, position))
    if actors and verbs:  # "... where X beat him by 21,368": the one before the verb
        winners = [m for m in actors if m.end <= verbs[-1].start()]
        named = [m for m in winners if m.kind == "name"]
        return (named or winners or actors)[-1]
    if actors and DEFEAT.search(text[actors[0].end : position]):
        return actors[0]
    if actors and _TRAILED.search(text[actors[-1].end : position]):
        winners = [m for m in actors_in(previous) if m.kind == "name"]
        return winners[0] if winners else None  # the loser is named: the winner went before
    names = [m for m in actors if m.kind == "name"]
    if names and re.search(r"\b(?:hold|gain|retained)\b", text[names[-1].end : position]):
        return names[0]  # a results line's verdict: the margin is its leader's
    if not actors:  # "Margin 15,479.": the winner the sentence before named first
        subjects = [m for m in actors_in(previous) if m.kind == "name"]
        return fallback(text, previous) or (subjects[0] if subjects else None)
    return actors[-1]


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
