"""The audit's fast reading of a leaf accepts only what its strict reading accepts, and
gives the same leaf and body; everything else goes to the strict reader."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tallyproof.audit.run import _canonical_leaf, _split_leaf

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**60), 2**60) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=12,
)


def canonical(doc: object) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def line(raw: bytes) -> bytes:
    return b'{"index":0,"leaf":' + raw + b"}\n"


def strict(raw: bytes) -> tuple[dict, bytes] | None:
    """What the strict reader makes of it (the fast path turned off), or None if refused."""
    import tallyproof.audit.run as run

    fast, run._canonical_leaf = run._canonical_leaf, lambda _raw: None
    try:
        _, _, leaf, body = _split_leaf(line(raw))
        return leaf, body
    except (ValueError, UnicodeDecodeError):
        return None
    finally:
        run._canonical_leaf = fast


@given(
    body=st.dictionaries(TEXT, VALUES, max_size=4),
    kind=TEXT,
    extra=st.sampled_from(["", " ", "dup", "float", "deep"]),
)
def test_the_fast_reading_never_accepts_what_the_strict_one_refuses(body, kind, extra):
    leaf = {"body": body, "kind": kind, "received_at": "2024-02-08T12:00:00Z", "signature": {}}
    raw = canonical(leaf)
    if extra == " ":
        raw = raw.replace(b":", b": ", 1)
    elif extra == "dup":
        raw = raw.replace(b'{"body":{', b'{"body":{"k":1,"k":2' + (b"," if body else b""), 1)
    elif extra == "float":
        raw = raw.replace(b'"signature":{}', b'"signature":{"x":1.5}')
    elif extra == "deep":
        raw = raw.replace(b'"signature":{}', b'"signature":' + b"[" * 40 + b"]" * 40)
    fast = _canonical_leaf(raw)
    if fast is None:
        return
    held = strict(raw)
    assert held is not None, raw
    cut = raw.rfind(b',"kind":')
    assert (fast, raw[8:cut]) == held


@pytest.mark.parametrize(
    "raw",
    [
        b'{"body":{"a":"\\ud800"},"kind":"form","received_at":"t","signature":{}}',
        b'{"body":{"n":9007199254740993},"kind":"form","received_at":"t","signature":{}}',
        b'{"body":{"b":1,"a":2},"kind":"form","received_at":"t","signature":{}}',
        b'{"body":{},"kind":"form","received_at":"t","signature":{},"extra":1}',
    ],
)
def test_what_the_strict_reader_must_judge_is_left_to_it(raw):
    assert _canonical_leaf(raw) is None


def big_leaf(**body: object) -> bytes:
    """A declaration's size: every station's counts, far over MAX_STRING bytes and with
    thousands of containers, nested three deep."""
    stations = [{"station": f"S{i}", "votes": {"a": i, "b": 2 * i}} for i in range(3000)]
    leaf = {
        "body": {"stations": stations, **body},
        "kind": "declaration",
        "received_at": "2024-02-08T12:00:00Z",
        "signature": {"key": "k", "value": "v"},
    }
    return canonical(leaf)


def test_a_large_leaf_within_the_limits_is_read_fast_and_as_the_strict_reader_does():
    raw = big_leaf(note='a \\ backslash, a "quote" and Urdu: ووٹ')
    assert len(raw) > 65_536
    fast = _canonical_leaf(raw.replace(b'\\"', b"'"))  # an escaped quote goes the slow way
    assert fast is not None
    held = strict(raw.replace(b'\\"', b"'"))
    cut = raw.replace(b'\\"', b"'").rfind(b',"kind":')
    assert held == (fast, raw.replace(b'\\"', b"'")[8:cut])
    assert _canonical_leaf(raw) is None and strict(raw) is not None


@pytest.mark.parametrize(
    "extra",
    [
        {"long": "x" * 65_537},  # one string over the limit
        {"deep": json.loads("[" * 40 + "]" * 40)},  # nested over the limit
    ],
    ids=["long string", "too deep"],
)
def test_a_large_leaf_over_a_limit_is_left_to_the_strict_reader_which_refuses_it(extra):
    raw = big_leaf(**extra)
    assert _canonical_leaf(raw) is None
    assert strict(raw) is None
