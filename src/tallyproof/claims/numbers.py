"""Numbers as Pakistani news reports write them: 117,109; 30302; the South Asian grouping
1,05,960 (one lakh five thousand nine hundred and sixty); 26,000; 1.2 million; 2 lakh; and
words ("seventeen", "thirty thousand three hundred and two")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tallyproof.claims.text import tail
from tallyproof.domain.claims import Qualifier
from tallyproof.domain.fields import MAX_COUNT

_UNITS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_SCALES = {"hundred": 100, "thousand": 1000, "lakh": 100_000, "million": 1_000_000}
_MULTIPLIERS = {"thousand": 1000, "lakh": 100_000, "lac": 100_000, "million": 1_000_000}
_WORD = "|".join(sorted([*_UNITS, *_TENS, *_SCALES], key=len, reverse=True))

# a stray space after the comma ("11, 505") is the typesetter's, not two numbers
DIGITS = r"\d{1,3}, \d{3}(?!\d|,\d)|\d{1,3}(?:,\d{2,3})+(?![\d,]*\d)|\d+(?:\.\d+)?(?!,\d)"
NUMBER = re.compile(
    rf"(?<![\w.,])(?:(?P<digits>{DIGITS})(?:\s+(?P<mult>thousand|lakh|lac|million)\b)?"
    rf"|(?P<words>(?:{_WORD})(?:(?:\s+and\s+|[\s-]+)(?:{_WORD}))*))(?![\w])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Number:
    value: int
    start: int
    end: int
    unit: int  # the rounding as written: 1 for 117,109, 1000 for 26,000 or "26 thousand"


def _grouped(text: str) -> int | None:
    """Western (117,109) or South Asian (1,05,960) grouping; None for anything else."""
    groups = text.split(",")
    if len(groups) == 1:
        return int(groups[0])
    western = all(len(g) == 3 for g in groups[1:])
    lakh = len(groups[-1]) == 3 and all(len(g) == 2 for g in groups[1:-1])
    return int("".join(groups)) if western or lakh else None


def _words(text: str) -> int | None:
    total, current = 0, 0
    for word in re.split(r"[\s-]+", text.lower()):
        if word == "and":
            continue
        if word in _UNITS:
            current += _UNITS[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        elif word in _SCALES:
            total += max(current, 1) * _SCALES[word]
            current = 0
        else:
            return None
    return total + current


def _rounding(value: int) -> int:
    unit = 1
    while value and value % (unit * 10) == 0:
        unit *= 10
    return unit


def find_numbers(text: str) -> list[Number]:
    """Every number in `text`, with its span; ambiguous digit groups are skipped."""
    out = []
    for m in NUMBER.finditer(text):
        if m.group("digits"):
            digits = m.group("digits").replace(", ", ",")
            if "." in digits and not m.group("mult"):
                continue  # a decimal alone is a percentage or a price, never a count
            whole = float(digits) if "." in digits else _grouped(digits)
            if whole is None:
                continue
            mult = _MULTIPLIERS.get((m.group("mult") or "").lower(), 1)
            value = round(whole * mult)
            unit = mult if mult > 1 and "." not in digits else _rounding(value)
        else:
            parsed = _words(m.group("words"))
            if parsed is None:
                continue
            value, unit = parsed, 1
        if value > MAX_COUNT:
            continue  # beyond any count: a phone number, an amount, an id
        out.append(Number(value, m.start(), m.end(), unit))
    return out


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


def qualifier_of(text: str, n: Number) -> tuple[Qualifier, int]:
    before = tail(text, n.start)
    m = _QUALIFIER.search(before)
    if not m:
        return Qualifier.EXACT, n.start
    word = m.group("q").lower()
    return _QUALIFIERS.get(word, Qualifier.APPROXIMATELY), n.start - len(before) + m.start()
