"""Numbers as reports write them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tallyproof.claims.numbers import find_numbers

ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def words(n: int) -> str:
    """English words for 0 <= n < 1,000,000, as a reporter writes them."""
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("-" + ONES[n % 10] if n % 10 else "")
    if n < 1000:
        rest = n % 100
        return ONES[n // 100] + " hundred" + (" and " + words(rest) if rest else "")
    rest = n % 1000
    head = words(n // 1000) + " thousand"
    if not rest:
        return head
    return head + (" and " if rest < 100 else " ") + words(rest)


def lakh(n: int) -> str:
    """South Asian grouping: the last three digits, then pairs."""
    digits = str(n)
    if len(digits) <= 3:
        return digits
    head, tail = digits[:-3], digits[-3:]
    pairs = []
    while len(head) > 2:
        pairs.insert(0, head[-2:])
        head = head[:-2]
    return ",".join([head, *pairs, tail])


def values(text: str) -> list[int]:
    return [n.value for n in find_numbers(text)]


@given(st.integers(0, 10**9))
def test_western_and_south_asian_groupings_read_the_same(n):
    assert values(f"got {n:,} votes") == [n]
    assert values(f"got {lakh(n)} votes") == [n]
    assert values(f"got {n} votes") == [n]


@given(st.integers(0, 999_999))
def test_numbers_in_words(n):
    assert values(f"got {words(n)} votes") == [n]


def test_the_forms_the_reports_use():
    assert values("117,109 and 30302 and 1,05,960 and 1,00,803") == [117109, 30302, 105960, 100803]
    assert values("1.2 lakh votes, 2 lakh, 1.5 million voters") == [120000, 200000, 1500000]
    assert values("thirty thousand three hundred and two") == [30302]


def test_rounding_is_kept_as_the_unit():
    units = {n.value: n.unit for n in find_numbers("26,000 and 31,500 and 117,109 and 2 lakh")}
    assert units == {26000: 1000, 31500: 100, 117109: 1, 200000: 100000}


def test_malformed_groups_and_decimals_are_not_counts():
    assert values("1,2345 votes") == []
    assert values("turnout 38.4 per cent") == []
    assert [n.value for n in find_numbers("NA-122")] == [122]  # contests are masked later
