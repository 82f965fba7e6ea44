"""Reading untrusted JSON values into typed fields, collecting a Problem per broken rule."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from tallyproof.domain.problems import Problem, Rejected
from tallyproof.domain.sources import Source, parse_source

IDENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}")  # always fullmatch: `$` lets "\n" in
_MISSING = object()
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# RFC 3339 date-time: Python's fromisoformat alone also takes a NUL or other byte where the
# seconds end ("18:00:00\x00+05:00"), so the shape is checked first.
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:Z|[+-][0-9]{2}:[0-9]{2})"
)


# What a time written another way looks like: a space for the T, no seconds, a lower-case t
# or z, an offset without its colon or after a space. Read only to suggest the RFC 3339 form.
_LOOSE_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]+([0-9]{1,2}):([0-9]{2})(?::([0-9]{2})(\.[0-9]{1,9})?)?"
    r" *([Zz]|[+-][0-9]{2}:?[0-9]{2})?"
)
# The offset a suggestion gives a time written without one: the election's, Pakistan's
# (PKT, UTC+5), in which the forms are written (docs/formats.md).
ELECTION_OFFSET = "+05:00"


def time_problem(value: str) -> str:
    """Why `value` is not an RFC 3339 date-time, with the value as it should be written:
    with the election's offset (`+05:00`) when it has none; `Z` is UTC, not local time."""
    example = f"2024-02-08T18:00:00{ELECTION_OFFSET}"
    loose = _LOOSE_TIME.fullmatch(value.strip()) if len(value) <= 40 else None
    if loose is None:
        return f"{value!r} is not an RFC 3339 date-time with its UTC offset (e.g. {example})"
    year, month, day, hour, minute, second, fraction, offset = loose.groups()
    try:
        datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0))
    except ValueError:
        return f"{value!r} names no real day and time (write it as e.g. {example})"
    local = f"{year}-{month}-{day}T{int(hour):02d}:{minute}:{second or '00'}{fraction or ''}"
    missing = "no"
    if offset is not None and offset not in "Zz":
        offset = offset if ":" in offset else f"{offset[:3]}:{offset[3:]}"
        if int(offset[1:3]) > 23 or int(offset[4:]) > 59:
            offset, missing = None, "no real"  # suggest the election's
    if offset is None:
        return (
            f"{value!r} has {missing} UTC offset: write the election's, as in "
            f"{local}{ELECTION_OFFSET} (Z only for a time in UTC)"
        )
    if offset in "Zz":
        offset = "Z"
    return f"{value!r} is not an RFC 3339 date-time: write it as {local}{offset}"


def is_timestamp(text: str) -> bool:
    """An RFC 3339 date-time with its zone that names a real day and time."""
    if len(text) > 40 or not _DATE_TIME.fullmatch(text):
        return False
    try:
        datetime.fromisoformat(text)  # not 2024-02-30T25:00
    except ValueError:
        return False
    return True


class FieldReader:
    """Reads fields of one JSON object; every problem is recorded, not raised, so a caller
    can report all of them at once."""

    def __init__(self, doc: object, path: str, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        if isinstance(doc, Mapping):
            self.doc: Mapping[str, Any] = doc
        else:
            self.doc = {}
            self.fail("schema.type", path or "$", "must be a JSON object")

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, code: str, field: str, message: str) -> None:
        self.problems.append(Problem(code, field, message))

    def reject_unknown(self, allowed: set[str]) -> None:
        """Refuse fields we do not know, so a typo is never silently ignored."""
        for key in self.doc:
            if key not in allowed:
                self.fail("schema.unknown_field", self.at(key), f"unknown field {key!r}")

    def _get(self, key: str, required: bool) -> Any:
        value = self.doc.get(key, _MISSING)
        if value is _MISSING or value is None:
            if required:
                self.fail("schema.missing", self.at(key), "is required")
            return _MISSING
        return value

    def text(self, key: str, *, required: bool = True, max_len: int = 200) -> str | None:
        value = self._get(key, required)
        if value is _MISSING:
            return None
        if not isinstance(value, str):
            self.fail("schema.type", self.at(key), "must be a string")
            return None
        if required and not value.strip():
            self.fail("schema.empty", self.at(key), "must not be empty")
            return None
        if len(value) > max_len:
            self.fail("schema.too_long", self.at(key), f"must be at most {max_len} characters")
            return None
        if not well_formed(value):
            self.fail("schema.text", self.at(key), "must be valid text without control characters")
            return None
        return value

    def ident(self, key: str, *, required: bool = True) -> str | None:
        value = self.text(key, required=required, max_len=64)
        if value is not None and not check_identifier(value, self.at(key), self.problems):
            return None
        return value

    def count(self, key: str, *, required: bool = True) -> int | None:
        """A non-negative whole number, as votes and voter counts are."""
        value = self._get(key, required)
        if value is _MISSING:
            return None
        return check_count(value, self.at(key), self.problems)

    def choice(self, key: str, options: set[str], *, required: bool = True) -> str | None:
        value = self.text(key, required=required, max_len=64)
        if value is not None and value not in options:
            allowed = ", ".join(sorted(options))
            self.fail("schema.choice", self.at(key), f"{value!r} must be one of {allowed}")
            return None
        return value

    def source(self, key: str) -> Source | None:
        try:
            return parse_source(self.doc.get(key), self.at(key))
        except Rejected as err:
            self.problems.extend(err.problems)
            return None

    def timestamp(self, key: str) -> str | None:
        """An RFC 3339 date-time with its zone, kept as written (it is signed as text)."""
        value = self.text(key, max_len=40)
        if value is None:
            return None
        if not is_timestamp(value):
            self.fail("schema.timestamp", self.at(key), time_problem(value))
            return None
        return value

    def date(self, key: str) -> str | None:
        """A calendar date written YYYY-MM-DD."""
        value = self.text(key, max_len=40)
        if value is None:
            return None
        try:
            valid = _DATE.fullmatch(value) is not None and bool(date.fromisoformat(value))
        except ValueError:
            valid = False
        if not valid:
            self.fail("schema.date", self.at(key), f"{value!r} is not a date (YYYY-MM-DD)")
            return None
        return value

    def items(self, key: str, *, required: bool = True) -> list[Any]:
        value = self._get(key, required)
        if value is _MISSING:
            return []
        if not isinstance(value, list):
            self.fail("schema.type", self.at(key), "must be a JSON array")
            return []
        return value

    def counts(self, key: str, *, required: bool = True) -> Mapping[str, Any]:
        """A mapping of counts (a form's or a declaration's votes), at most MAX_COUNTS of
        them, so a document naming 200,000 candidates is refused before any is read."""
        raw = self.mapping(key, required=required)
        if len(raw) > MAX_COUNTS:
            self.fail(
                "votes.too_many", self.at(key), f"{len(raw):,} counts; the limit is {MAX_COUNTS}"
            )
            return {}
        return raw

    def mapping(self, key: str, *, required: bool = True) -> Mapping[str, Any]:
        value = self._get(key, required)
        if value is _MISSING:
            return {}
        if not isinstance(value, Mapping):
            self.fail("schema.type", self.at(key), "must be a JSON object")
            return {}
        return value


MAX_COUNT = 2**31 - 1
MAX_COUNTS = 500  # candidates (counts) in one form or declaration; real contests have < 100


def check_identifier(value: object, field: str, problems: list[Problem]) -> bool:
    """An id (election, station, candidate, form): letters, digits and . _ : / -."""
    if isinstance(value, str) and IDENT.fullmatch(value):
        return True
    problems.append(
        Problem(
            "schema.identifier",
            field,
            f"{value!r} must be letters, digits and . _ : / - (at most 64)",
        )
    )
    return False


def check_count(value: object, field: str, problems: list[Problem]) -> int | None:
    """Accept a whole number >= 0 written as one: 12, not 12.0, "12" or true. (A document of
    strings and integers has one canonical form, which is what gets signed.)"""
    if type(value) is not int:
        problems.append(Problem("votes.not_integer", field, f"{value!r} is not a whole number"))
        return None
    if value < 0:
        problems.append(Problem("votes.negative", field, f"{value} is negative"))
        return None
    if value > MAX_COUNT:
        problems.append(Problem("votes.too_large", field, f"{value} is beyond any real count"))
        return None
    return value


_ILL_FORMED = re.compile("[\x00-\x08\x0b-\x1f\ud800-\udfff]")


def well_formed(text: str) -> bool:
    """No lone surrogates (they cannot be encoded) and no control characters but newline/tab."""
    return _ILL_FORMED.search(text) is None
