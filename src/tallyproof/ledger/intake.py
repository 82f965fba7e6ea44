"""Outside bytes to JSON values, strictly and within limits, before any parsing work: every
document anyone submits, imports, audits or verifies comes in through here (docs/rules.md,
"Input limits"). Python's own reader takes the last of two equal keys, reads NaN and
1e400, and recurses without bound; each of those is a refusal with its own code here."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from tallyproof.domain.problems import Problem

MAX_DOCUMENT_BYTES = 1 << 20  # one submitted document: a form, a declaration, a report
MAX_REPORT_BYTES = 32 << 10  # a news report's text (claim extraction grows faster than its size)
MAX_STRUCTURE_BYTES = 256 << 20  # an election's structure (a national one is ~20 MB)
MAX_FILE_BYTES = 2 << 30  # one input file of documents
MAX_DEPTH = 32  # nested arrays and objects; real documents use 5
MAX_STRING = 65_536  # characters in any one string (key or value)
MAX_SAFE_INTEGER = 2**53 - 1  # beyond it a JSON number means different things to different readers

_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A document refused before it was parsed, standing in its place in a batch."""

    problems: tuple[Problem, ...]


class InputError(ValueError):
    """Input refused before parsing, with the rule it broke."""

    def __init__(self, code: str, field: str, message: str) -> None:
        super().__init__(f"{code} at {field}: {message}")
        self.problem = Problem(code, field, message)


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise InputError("input.duplicate_key", key, f"the key {key!r} is given twice")
        out[key] = value
    return out


def _constant(name: str) -> Any:
    raise InputError("input.number", "$", f"{name} is not a number a count can be")


def _int(text: str) -> int:
    if len(text) > 17 or abs(value := int(text)) > MAX_SAFE_INTEGER:
        shown = text if len(text) <= 40 else text[:20] + "..."
        raise InputError(
            "input.number_range",
            "$",
            f"{shown} is beyond 2^53 - 1, the largest integer every JSON reader keeps exact",
        )
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InputError("input.number", "$", f"{text[:40]} is not a finite number")
    return value


def decode(data: bytes, where: str = "$") -> str:
    """UTF-8 (a leading byte-order mark is dropped), or refused as `input.encoding`."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(
            "input.encoding", where, f"not UTF-8 at byte {err.start}: {err.reason}"
        ) from None


def load_json(data: bytes | str, *, max_bytes: int = MAX_DOCUMENT_BYTES, where: str = "$") -> Any:
    """One JSON value, or InputError naming the first rule it breaks. Size is checked before
    anything is parsed; depth, strings and numbers before anyone reads the value."""
    size = len(data)
    if size > max_bytes:
        raise InputError("input.too_large", where, f"{size:,} bytes; the limit is {max_bytes:,}")
    text = decode(data, where) if isinstance(data, bytes) else data
    try:
        value = json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_constant=_constant,
            parse_int=_int,
            parse_float=_float,
        )
    except InputError as refusal:
        field = where if refusal.problem.field == "$" else refusal.problem.field
        raise InputError(refusal.problem.code, field, refusal.problem.message) from None
    except RecursionError:
        raise InputError(
            "input.too_deep", where, f"nested deeper than {MAX_DEPTH} levels"
        ) from None
    except json.JSONDecodeError as err:
        raise InputError("input.json", where, f"not JSON: {err}") from None
    check_value(value, where)
    return value


def check_value(value: Any, where: str = "$") -> None:
    """Depth, string length and well-formed text of an already-parsed value (iteratively,
    so depth itself cannot exhaust the stack)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_string(item, where)
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise InputError("input.too_deep", where, f"nested deeper than {MAX_DEPTH} levels")
            if isinstance(item, dict):
                for key in item:
                    _check_string(key, where)
                stack.extend((v, depth + 1) for v in item.values())
            else:
                stack.extend((v, depth + 1) for v in item)


def _check_string(text: str, where: str) -> None:
    if len(text) > MAX_STRING:
        raise InputError(
            "input.string_too_long",
            where,
            f"a string of {len(text):,} characters; the limit is {MAX_STRING:,}",
        )
    if not text.isascii() and _SURROGATE.search(text):  # ASCII holds no surrogate
        raise InputError("input.text", where, "a string holds a lone surrogate, which is not text")
