"""The fast canonical path must equal the rfc8785 package wherever it is taken."""

from __future__ import annotations

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from tallyproof.ledger.canonical import canonical, content_id

text = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
ascii_keys = st.text(st.characters(min_codepoint=0, max_codepoint=127), max_size=12)
plain = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(ascii_keys, children, max_size=5)
    ),
    max_leaves=25,
)


@given(plain)
@settings(max_examples=400)
def test_fast_path_equals_rfc8785(doc):
    assert canonical(doc) == rfc8785.dumps(doc)


any_json = st.recursive(
    st.none()
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(text, children, max_size=4),
    max_leaves=15,
)


@given(any_json)
@settings(max_examples=300)
def test_any_document_is_encoded_as_rfc8785(doc):
    assert canonical(doc) == rfc8785.dumps(doc)


def test_key_order_and_escapes():
    assert canonical({"b": 1, "a": "\n\u2028é", "\u20ac": 2, "😀": 3}) == rfc8785.dumps(
        {"b": 1, "a": "\n\u2028é", "\u20ac": 2, "😀": 3}
    )
    assert canonical({"x": 1.0}) == b'{"x":1}'


def test_same_content_same_id():
    assert content_id({"a": 1, "b": [1, 2]}) == content_id({"b": [1, 2], "a": 1})
    assert content_id({"a": 1}) != content_id({"a": 2})
