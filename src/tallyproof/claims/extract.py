"""Rule-based extraction of result claims from a news report: the driver. Each sentence
is read once into mentions (claims/mentions.py) and numbers, and every rule runs over it:
vote counts and margins (votes.py), seats (seats.py), statuses (status.py) and winners
(winners.py). What a sentence establishes (the contest, each name's party, whether the
paragraph is about votes) carries to the next."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace

from tallyproof.claims.mentions import Mention, Scope, attribution, find_mentions
from tallyproof.claims.numbers import Number, find_numbers
from tallyproof.claims.seats import seat_claims
from tallyproof.claims.status import status_claims
from tallyproof.claims.text import Report, Sentence, read_report, tail
from tallyproof.claims.votes import VOTE_WORD, vote_claim
from tallyproof.claims.winners import winner_claims
from tallyproof.domain.claims import Claim


@dataclass
class Extracted:
    """A report read: its metadata, its sentences, the claims, and what was set aside."""

    report: Report
    claims: list[Claim] = field(default_factory=list)
    outlets: Counter[str] = field(default_factory=Counter)  # outlets the sentences quote


_MONEY_BEFORE = re.compile(r"(?:Rs\.?|PKR|\$|USD|Rupees?)\s*$", re.IGNORECASE)
_MONEY_AFTER = re.compile(r"^\s*(?:rupees|dollars|per\b|%|percent|per cent|kg|am|pm)", re.I)
_REPORTED = re.compile(r"\breported\b|\bobtained by\b|\baccording to\b", re.IGNORECASE)


def extract(text: str, outlet: str = "", date: str = "") -> Extracted:
    """Every result claim in a report, with its sentence and span; links are left empty."""
    report = read_report(text, outlet, date)
    out = Extracted(report)
    context = Scope()
    previous: list[Mention] = []
    for sentence in report.sentences:
        mentions = find_mentions(sentence.text, context)
        claims = _claims(sentence, mentions, previous, context)
        if (quoted := attribution(mentions)) and _REPORTED.search(sentence.text):
            out.outlets[quoted] += 1
        out.claims += claims
        for m in mentions:
            if m.kind == "contest":
                context.contest = m.text
        previous = mentions if any(m.kind in ("name", "party") for m in mentions) else previous
    return out


def _claims(
    sentence: Sentence, mentions: list[Mention], previous: list[Mention], context: Scope
) -> list[Claim]:
    text = sentence.text
    in_contest = bytearray(len(text))  # "NA-122" holds a number that is no count
    for m in mentions:
        if m.kind == "contest":
            in_contest[m.start : m.end] = b"\x01" * (m.end - m.start)
    numbers = [n for n in find_numbers(text) if _is_count(text, n, in_contest)]
    used: set[int] = set()
    claims = []
    voted = bool(VOTE_WORD.search(text))
    vote_context = voted or context.vote_paragraph == sentence.paragraph
    if voted:
        context.vote_paragraph = sentence.paragraph
    for n in numbers:
        claim = vote_claim(sentence, n, mentions, previous, context, vote_context)
        if claim is not None:
            claims.append(claim)
            used.add(n.start)
    claims += seat_claims(sentence, numbers, mentions, used)
    claims += status_claims(sentence, mentions, previous, context)
    claims += winner_claims(sentence, mentions, previous, context)
    attributed = attribution(mentions)
    return [replace(c, attributed_to=attributed) for c in claims] if attributed else claims


def _is_count(text: str, n: Number, in_contest: bytearray) -> bool:
    if in_contest[n.start]:
        return False
    if _MONEY_BEFORE.search(tail(text, n.start)) or _MONEY_AFTER.match(text[n.end :]):
        return False
    return not re.match(r"^[-/]\d", text[n.end :])  # dates such as 2024-02-09
