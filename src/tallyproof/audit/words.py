"""Values from a bundle put into plain words for the audit's messages: numbers with thousands
separators, lists and mappings as words, never a Python repr; text from the bundle (which
may be hostile) kept on one line."""

from __future__ import annotations

import re
from typing import Any

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def text(value: Any) -> str:
    """A value from the bundle as one line of text: control characters (a newline too) are
    written as their escapes."""
    said = value if isinstance(value, str) else words(value)
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", said)


def named(value: Any) -> str:
    """An identifier from the bundle, or "(none)" when it is missing or empty."""
    return "(none)" if value is None or value == "" else text(value)


def words(value: Any) -> str:
    """A JSON value in words: 1,805; yes / no; nothing; a, b, c; key value, key value."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:,}"
    if isinstance(value, str):
        return text(value)
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return ", ".join(words(v) for v in items) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{text(k)} {words(v)}" for k, v in value.items()) or "none"
    return text(str(value))


def listing(values: Any, most: int = 10) -> str:
    """Up to `most` names, then how many more."""
    items = sorted(values, key=str) if isinstance(values, set | frozenset) else list(values)
    shown = ", ".join(named(v) for v in items[:most]) or "none"
    return shown + (f" and {len(items) - most:,} more" if len(items) > most else "")


def error_words(error: BaseException) -> str:
    """What an exception says, without its repr: a missing key is named as a missing field."""
    if isinstance(error, KeyError) and error.args:
        return f"it has no {named(error.args[0])} field"
    if isinstance(error, OSError) and error.strerror:
        return text(error.strerror)
    said = text(str(error)) if str(error) else ""
    kind = type(error).__name__
    return f"{said} ({kind})" if said else kind
