"""Seat counts: a number of seats or constituencies after a verb of winning, the elliptic
ones after it ("and the PPP 54"), and "not a single seat"."""

from __future__ import annotations

import re

from tallyproof.claims.gazetteer import ASSEMBLIES
from tallyproof.claims.mentions import Mention, nearest, who
from tallyproof.claims.numbers import Number, qualifier_of
from tallyproof.claims.text import Sentence, tail
from tallyproof.claims.votes import VOTES_AFTER
from tallyproof.domain.claims import Claim, ClaimKind, Qualifier

_SEAT_AFTER = re.compile(
    r"^[\"'”’]?\s*(?P<words>(?:[A-Za-z'’-]+\s+){0,3}?|of\s+(?:[A-Za-z'’-]+\s+){1,5}?)"
    r"(?P<noun>seats?|constituencies|chairmanships?|mayoralties)\b",
    re.IGNORECASE,
)
_WIN = re.compile(
    r"\b(?:won|win|wins|winning|secured?|securing|bagged|bagging|grabbed|grab|clinched|"
    r"captured|swept|holds?|stood at|tally|remaining|gained|gaining)\b",
    re.IGNORECASE,
)
_NONE_OF = re.compile(
    r"\b(?:not|n't|failed to|without)\s+(?:\w+\s+){0,2}(?:a single|any)\s+"
    r"(?:[\w'’-]+\s+){0,3}?seats?\b",
    re.IGNORECASE,
)
_SEAT_WORD = re.compile(r"\b(?:seats?|constituencies|chairmanships?|mayoralties)\b", re.I)
_ELLIPTIC_SEATS = re.compile(
    r"(?:\s+(?:has|have|had|so|far|also|only|candidates|nominees))*\s+"
    r"(?:won|secured|bagged|got|grabbed|clinched|took|stood at|with)?\s*$",
    re.IGNORECASE,
)


def seat_claims(
    sentence: Sentence,
    numbers: list[Number],
    mentions: list[Mention],
    used: set[int],
    last_party: Mention | None = None,
) -> list[Claim]:
    """Seat counts in a sentence; `last_party` is the party an earlier sentence named last."""
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
        qualifier, start = qualifier_of(text, n)
        parties = _seat_parties(text, start, end, mentions, last_party)
        assembly = _assembly(text[n.start : end])
        out += [_seat_claim(sentence, (start, end), n, qualifier, p, assembly) for p in parties]
    if out or _SEAT_WORD.search(text):
        assembly = out[0].contest if out else _assembly(text)
        out += _elliptic_seats(sentence, numbers, mentions, used, assembly)
    out += _tally(sentence, numbers, mentions, used)
    out += _no_seats(sentence, mentions)
    return out


_THE_PARTY = re.compile(r"\b(?:the|our)\s+party\b(?![\w-])", re.IGNORECASE)
_TALLY_GAP = re.compile(
    r"^\s*(?:(?:independents?|candidates|nominees)\s*)?(?:[:=\u2013\u2014-]|stood\s+at|at|on|with)?"
    r"\s*$",
    re.IGNORECASE,
)
_TALLY_WORD = re.compile(r"\b(?:tally|scoreboard|standings?|count|seats?|stood\s+at)\b", re.I)
_NOT_SEATS_AFTER = re.compile(r"^\s*(?:votes?|%|per\s*cent|percent|lakh|thousand)\b", re.I)
TALLY_MOST = 400  # more than any assembly's seats: a count of votes, not seats


def _tally(
    sentence: Sentence, numbers: list[Number], mentions: list[Mention], used: set[int]
) -> list[Claim]:
    """A party tally: "PTI 115 | PML-N 64 | PPP 43", "the PTI stood at 82, the PML-N at 51":
    two or more parties each right before a small number, or one in a sentence about seats."""
    text = sentence.text
    parties = [m for m in mentions if m.kind == "party"]
    pairs = []
    for n in numbers:
        before = [p for p in parties if p.end <= n.start]
        if n.start in used or not before or n.value > TALLY_MOST:
            continue
        if _NOT_SEATS_AFTER.match(text[n.end :]) or not _TALLY_GAP.match(
            text[before[-1].end : n.start]
        ):
            continue
        pairs.append((before[-1], n))
    if len(pairs) < 2 and not (pairs and _TALLY_WORD.search(text)):
        return []
    assembly = _assembly(text)
    out = []
    for party, n in pairs:
        used.add(n.start)
        out.append(_seat_claim(sentence, (party.start, n.end), n, Qualifier.EXACT, party, assembly))
    return out


def _share_of(text: str, n: Number, numbers: list[Number]) -> Number:
    before = tail(text, n.start)
    part = re.search(r"\bof\s+(?:the\s+)?$", before)
    if not part:
        return n
    gap = n.start - len(before) + part.start()
    earlier = [m for m in numbers if m.end <= gap and not text[m.end : gap].strip()]
    return earlier[-1] if earlier else n


def _seat_parties(
    text: str, position: int, end: int, mentions: list[Mention], last_party: Mention | None
) -> list[Mention | None]:
    """The party before the count; with "each", every party of the clause; "43 seats of
    PML(N)": the party right after."""
    after = [m for m in mentions if m.kind == "party" and m.start >= end]
    if after and re.fullmatch(
        r"\s*(?:of|for|to|went\s+to)\s+(?:the\s+)?", text[end : after[0].start]
    ):
        return [after[0]]
    parties = [m for m in mentions if m.kind == "party" and m.end <= position]
    if not parties and last_party is not None and _THE_PARTY.search(text[:position]):
        return [last_party]  # "The party has also bagged 84 seats": the one just named
    if parties and re.match(r"^\s*each\b", text[end:]):
        return list(_joined(text, parties))
    if parties:
        return [parties[-1]]
    return [nearest(mentions, position)]


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
        **who(party),
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
        if n.start in used or VOTES_AFTER.match(text[n.end :]):
            continue
        parties = [m for m in mentions if m.kind == "party" and m.end <= n.start]
        if not parties or not _ELLIPTIC_SEATS.fullmatch(text[parties[-1].end : n.start]):
            continue
        used.add(n.start)
        qualifier, start = qualifier_of(text, n)
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
                **who(party),
            )
        )
    return out
