"""Rule-based extraction of result claims from a news report: the driver. Each sentence
is read once into mentions (claims/mentions.py) and numbers, and every rule runs over it:
vote counts and margins (votes.py), seats (seats.py), statuses (status.py) and winners
(winners.py). What a sentence establishes (the contest, each name's party, whether the
paragraph is about votes) carries to the next; a contest named in an earlier paragraph
carries only as a guess, which the roster confirms or replaces (the candidate stands in one
contest, or in one of the contests the paragraph's places name) or the claim is kept as
unsure and raises no finding."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace

from tallyproof.claims.mentions import (
    CONTEST_CODE,
    SEAT_NAME,
    Mention,
    Scope,
    attribution,
    find_mentions,
)
from tallyproof.claims.numbers import Number, find_numbers
from tallyproof.claims.roster import Roster
from tallyproof.claims.seats import seat_claims
from tallyproof.claims.status import status_claims
from tallyproof.claims.text import Report, Sentence, read_report, tail
from tallyproof.claims.votes import VOTE_WORD, vote_claim
from tallyproof.claims.winners import winner_claims
from tallyproof.domain.claims import Claim, ClaimKind, StatusClaim


@dataclass
class Extracted:
    """A report read: its metadata, its sentences, the claims, and what was set aside."""

    report: Report
    claims: list[Claim] = field(default_factory=list)
    outlets: Counter[str] = field(default_factory=Counter)  # outlets the sentences quote


_MONEY_BEFORE = re.compile(r"(?:Rs\.?|PKR|\$|USD|Rupees?)\s*$", re.IGNORECASE)
_MONEY_AFTER = re.compile(r"^\s*(?:rupees|dollars|per\b|%|percent|per cent|kg|am|pm)", re.I)
_REPORTED = re.compile(r"\breported\b|\bobtained by\b|\baccording to\b", re.IGNORECASE)
# a paragraph that speaks of votes or results: its bare numbers after "received" are votes
_RESULT_WORD = re.compile(
    r"\b(?:votes?|polled|tally|count(?:ed)?|results?|form[\s-]?4[57]|received|secured|bagged|"
    r"wins?|won|final|margin|leads?|hold|gain|retain(?:s|ed)?|winner|declared|elected|defeat\w*|"
    r"beat|trounced|edged|prevailed|trails?|trailing)\b",
    re.IGNORECASE,
)
# "his nearest rival got 31,205": someone other than the subject, by a pronoun
_RIVAL = re.compile(
    r"\b(?:his|her|their)\s+(?:nearest\s+|closest\s+|main\s+|only\s+)?(?:rival|opponent|"
    r"challenger|contender)s?\b[^.;]*$",
    re.IGNORECASE,
)
_SEAT_NAME = re.compile(SEAT_NAME)
# "Had the PML-N held even a third ...", "would have won by": what did not happen
_HYPOTHETICAL = re.compile(
    r"^\s*(?:Had|Were|Should)\s|\b(?:would|might|could)\s+(?:have|be)\s+(?:won|lost|ahead|\w+ed)\b"
)
_PERSONAL = (StatusClaim.CONCEDED, StatusClaim.GAVE_UP_SEAT)  # said of a person
_QUESTION = re.compile(r"\?[\"'”’)]*\s*$")
_WHICH_ONE = re.compile(
    r"\b(?:one of (?:them|the two(?:\s+[\w-]+)?|the candidates|the rivals)|either (?:of them|"
    r"candidate)|(?:could|would|did|will)\s*(?:not|n't)\s+(?:say|tell|confirm)\s+(?:which|who|whose)|"
    r"(?:not|un)\s*(?:clear|known)\s+(?:which|who|whose))\b",
    re.IGNORECASE,
)


def extract(text: str, outlet: str = "", date: str = "", roster: Roster | None = None) -> Extracted:
    """Every result claim in a report, with its sentence and span; links are left empty.
    With the elections' `roster`, names and places are read against it."""
    report = read_report(text, outlet, date)
    out = Extracted(report)
    context = Scope(roster=roster or Roster())
    context.vote_paragraphs = {s.paragraph for s in report.sentences if _RESULT_WORD.search(s.text)}
    previous: list[Mention] = []
    for sentence in report.sentences:
        if sentence.paragraph != context.paragraph:
            _new_paragraph(report, sentence.paragraph, context)
        mentions = _placed(find_mentions(sentence.text, context), context)
        claims = _claims(sentence, mentions, previous, context)
        if _QUESTION.search(sentence.text) or _HYPOTHETICAL.search(sentence.text):
            claims = []  # "Can a candidate shed eighty-eight thousand votes?": asked, not said
        named = any(m.kind == "contest" for m in mentions)
        claims = [_settle(c, sentence, named, context) for c in claims]
        if (quoted := attribution(mentions)) and _REPORTED.search(sentence.text):
            out.outlets[quoted] += 1
        out.claims += claims
        for m in mentions:
            if m.kind == "contest":
                context.contest, context.carried = m.text, False
                context.named.add(m.text)
            if m.kind == "party":
                context.last_party = m
        previous = mentions if any(m.kind in ("name", "party") for m in mentions) else previous
    return out


def _new_paragraph(report: Report, paragraph: int, context: Scope) -> None:
    """A new paragraph: the contest of its heading, if a heading comes right before it, else
    the earlier one as a guess."""
    heads = [n for n in report.headings if context.paragraph < n < paragraph]
    context.paragraph, context.carried, context.places = paragraph, True, frozenset()
    context.winner = ""
    if not heads:
        return
    heading = report.headings[heads[-1]]
    code = CONTEST_CODE.search(heading)
    if code:
        context.contest, context.carried = f"{code.group(1)}-{int(code.group(2))}", False
        return
    places = context.roster.contests_at(heading)
    if len(places) == 1:
        context.contest, context.carried = next(iter(places)), False
    elif places:
        context.places = frozenset(places)


def _placed(mentions: list[Mention], context: Scope) -> list[Mention]:
    """A place that is one contest's counts as naming it ("In Chakwal, ..."); a place that
    is several narrows the paragraph's contests to them."""
    out = list(mentions)
    if any(m.kind == "contest" for m in mentions):
        return out
    for m in mentions:
        if m.kind != "place":
            continue
        places = context.roster.contests_at(m.text)
        if len(places) == 1:
            out.append(Mention("contest", m.start, m.end, next(iter(places))))
        elif places:
            context.places = frozenset(places)
    return sorted(out, key=lambda m: m.start)


def _settle(claim: Claim, sentence: Sentence, named: bool, context: Scope) -> Claim:
    """Whose and which: a claim the report does not attribute, or whose contest cannot be
    told without guessing, is kept unsure with the reason."""
    if claim.kind is ClaimKind.SEATS:
        return claim
    if claim.kind is ClaimKind.WINNER and claim.candidate:
        context.winner = claim.candidate
    claim = _whose(claim, sentence, context)
    return claim if claim.unsure else _where(claim, sentence, named, context)


def _whose(claim: Claim, sentence: Sentence, context: Scope) -> Claim:
    """A count the report gives to "one of them" or to an unnamed rival, or to nobody, is
    unsure; a margin with no name is the paragraph's winner's, if it named one."""
    before = sentence.text[: claim.start - sentence.start]
    if claim.kind is ClaimKind.VOTES and _WHICH_ONE.search(sentence.text):
        return replace(claim, candidate="", party="", unsure="the report does not say whose")
    rival = _RIVAL.search(before) if claim.kind is ClaimKind.VOTES else None
    if rival and (not claim.candidate or claim.candidate not in rival.group(0)):
        return replace(claim, candidate="", party="", unsure="the rival is not named")
    personal = claim.kind is ClaimKind.VOTES or claim.status in _PERSONAL
    if personal and not claim.candidate and not claim.party:
        return replace(claim, unsure="the report names nobody for it")
    if claim.kind is ClaimKind.MARGIN and not claim.candidate and not claim.party:
        if not context.winner:
            return replace(claim, unsure="the report names no winner for it")
        return replace(claim, candidate=context.winner)
    return claim


def _where(claim: Claim, sentence: Sentence, named: bool, context: Scope) -> Claim:
    """A contest named in an earlier paragraph holds only where the roster confirms it."""
    roster = context.roster
    stands = roster.contests_of(claim.candidate) if claim.candidate and roster else set()
    if claim.contest and len(stands) == 1 and claim.contest not in stands and not named:
        return replace(claim, contest=next(iter(stands)))  # the roster knows better
    if len(stands) > 1 and not named and _SEAT_NAME.search(sentence.text):
        return replace(
            claim,
            unsure=f"{claim.candidate} stands in {len(stands)} contests and "
            "the sentence names its seat only by a name the roster does not have",
        )
    if named or not claim.contest or not context.carried or not roster:
        return claim  # named here, or nothing carried: the link judges it
    options = stands & context.places if context.places else stands
    if claim.contest and claim.contest in options:
        return claim
    if len(options) == 1:
        # the paragraph is about the contest its candidate settles: later sentences too
        context.contest, context.carried = next(iter(options)), False
        return replace(claim, contest=context.contest)
    if claim.contest and not stands and len(context.named) == 1:
        return claim  # a story of one contest: its later paragraphs are about it too
    if not claim.candidate and len(context.places) == 1:
        return replace(claim, contest=next(iter(context.places)))
    why = (
        f"{claim.candidate} stands in {len(stands)} contests and the paragraph names none"
        if len(stands) > 1
        else "the paragraph names no contest (the one before it did)"
    )
    return replace(claim, unsure=why)


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
    kinds = {m.kind for m in mentions}
    listed = {"contest", "name"} <= kinds  # a results line: "NA-53: X (PTI) 92,891; Y 44,314"
    vote_context = voted or listed or sentence.paragraph in context.vote_paragraphs
    for n in numbers:
        claim = vote_claim(sentence, n, mentions, previous, context, vote_context)
        if claim is not None:
            claims.append(claim)
            used.add(n.start)
    claims += seat_claims(sentence, numbers, mentions, used, context.last_party)
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
