"""Form 45 documents: every malformed field is refused with its code and field."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tallyproof.domain.forms import (
    FORM_FIELDS,
    SupersedeReason,
    _well_formed_form,
    parse_form,
    read_form,
)
from tallyproof.domain.problems import Rejected
from tests.helpers import form_doc


def problems_of(doc: object) -> set[tuple[str, str]]:
    with pytest.raises(Rejected) as caught:
        parse_form(doc)
    return {(p.code, p.field) for p in caught.value.problems}


def test_a_well_formed_form_parses_with_its_counts():
    form = parse_form(form_doc(votes=(300, 200, 100), rejected=10))
    assert form.valid_total == 600
    assert form.polled == 610
    assert form.source.official and form.chain == "official"
    assert form.document() == form_doc(votes=(300, 200, 100), rejected=10)


def test_an_agent_copy_has_its_own_chain():
    form = parse_form(form_doc(source="agent:PTI"))
    assert not form.source.official
    assert form.chain == "agent:PTI"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (-1, "votes.negative"),
        (1.5, "votes.not_integer"),
        ("12", "votes.not_integer"),
        (True, "votes.not_integer"),
        (10**12, "votes.too_large"),
    ],
)
def test_bad_vote_counts_are_refused_naming_the_candidate(value, code):
    doc = form_doc()
    doc["votes"]["NA-1/b"] = value
    assert (code, "votes.NA-1/b") in problems_of(doc)


def test_counts_are_written_as_integers_not_floats():
    doc = form_doc()
    doc["rejected"] = 10.0
    assert ("votes.not_integer", "rejected") in problems_of(doc)


def test_candidate_ids_in_votes_must_be_identifiers():
    doc = form_doc()
    doc["votes"]["NA 1/ä"] = 0
    assert ("schema.identifier", "votes.NA 1/ä") in problems_of(doc)


form_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 2**40),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.sampled_from(
        [
            "S1",
            "NA-1",
            "presiding_officer",
            "agent:PTI",
            "2024-02-08T18:00:00Z",
            "2024-02-08",
            "correction",
            "re_poll",
            "a" * 64,
        ]
    ),
)


@given(st.dictionaries(st.sampled_from(sorted(FORM_FIELDS | {"extra"})), form_values), st.data())
@settings(max_examples=400)
def test_the_fast_reader_agrees_with_the_full_reader(mutations, data):
    """Whenever the one-pass reader accepts a document, the full reader gives the same form;
    whenever the full reader refuses one, the one-pass reader does not accept it."""
    doc = form_doc(
        **data.draw(
            st.sampled_from(
                [
                    {},
                    {"valid": 600},
                    {"remarks": "ok"},
                    {"supersedes": "a" * 64, "reason": "re_poll"},
                ]
            )
        )
    )
    doc.update(mutations)
    if data.draw(st.booleans()):
        doc["votes"] = data.draw(
            st.dictionaries(
                st.sampled_from(["NA-1/a", "NA-1/b", "x y", "é"]), form_values, max_size=3
            )
        )
    fast = _well_formed_form(doc)
    try:
        full = read_form(doc)
    except Rejected:
        assert fast is None
    else:
        assert fast is None or fast == full


def test_missing_fields_are_each_named():
    doc = form_doc()
    del doc["station"], doc["polled"]
    assert problems_of(doc) >= {("schema.missing", "station"), ("schema.missing", "polled")}


def test_unknown_fields_are_refused_not_ignored():
    assert ("schema.unknown_field", "turnout") in problems_of(form_doc(turnout=5))


def test_time_needs_a_time_zone():
    assert ("schema.timestamp", "time") in problems_of(form_doc(time="2024-02-08T18:00:00"))
    assert ("schema.timestamp", "time") in problems_of(form_doc(time="yesterday"))
    for odd in ("2024-02-08 18:00:00Z", "2024-02-30T10:00:00Z", "2024-02-08T18:00:00+0500"):
        assert ("schema.timestamp", "time") in problems_of(form_doc(time=odd)), odd
    assert ("schema.text", "time") in problems_of(form_doc(time="2024-02-08T18:00:00\x00+05:00"))
    assert parse_form(form_doc(time="2024-02-08T18:00:00.125+05:00")).time.endswith(".125+05:00")


@pytest.mark.parametrize("source", ["agent", "agent:", "pollster:x", "presiding_officer:x", 5])
def test_sources_must_be_known_kinds_with_names_where_needed(source):
    codes = {c for c, f in problems_of(form_doc(source=source)) if f == "source"}
    assert codes & {"source.unknown_kind", "source.name", "schema.type"}


def test_superseding_needs_both_the_form_and_the_reason():
    assert ("form.supersede_incomplete", "reason") in problems_of(form_doc(supersedes="ab" * 32))
    assert ("form.supersede_incomplete", "supersedes") in problems_of(form_doc(reason="correction"))
    form = parse_form(form_doc(supersedes="ab" * 32, reason="re_poll"))
    assert form.reason is SupersedeReason.RE_POLL


def test_remarks_may_be_any_script_but_not_control_characters():
    assert parse_form(form_doc(remarks="نتیجہ درست ہے")).remarks == "نتیجہ درست ہے"
    assert ("schema.text", "remarks") in problems_of(form_doc(remarks="bad\x00byte"))


def test_a_non_object_is_refused():
    assert ("schema.type", "$") in problems_of([1, 2])
