"""Linking claims to the structure, and reconciling them: intervals, outlets, official."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from tallyproof.claims.extract import extract
from tallyproof.claims.link import link_claims
from tallyproof.domain.claims import (
    Claim,
    ClaimKind,
    Qualifier,
    StoredClaim,
    claims_agree,
    reconcile_claims,
)
from tallyproof.domain.consolidation import ContestResult, ResultBasis
from tallyproof.domain.status import ContestStatus
from tallyproof.domain.structure import Candidate, parse_structure

STRUCTURE = parse_structure(
    {
        "election": {"id": "e", "name": "E", "kind": "general", "date": "2024-02-08"},
        "parties": [{"code": "PTI", "name": "PTI"}, {"code": "PML-N", "name": "PML-N"}],
        "assemblies": [{"code": "NA", "name": "National Assembly", "level": "national"}],
        "contests": [
            {
                "code": "NA-122",
                "assembly": "NA",
                "name": "Lahore-VI",
                "candidates": [
                    {"id": "NA-122/khosa", "name": "Sardar Latif Khosa", "backed_by": "PTI"},
                    {"id": "NA-122/rafique", "name": "Khawaja Saad Rafique", "party": "PML-N"},
                ],
            },
            {
                "code": "NA-10",
                "assembly": "NA",
                "name": "Buner",
                "candidates": [
                    {"id": "NA-10/gohar", "name": "Barrister Gohar Ali Khan", "backed_by": "PTI"},
                    {"id": "NA-10/rauf", "name": "Abdul Rauf Khan", "party": "PML-N"},
                ],
            },
        ],
        "stations": [],
    }
)


def linked(body: str) -> list[Claim]:
    return link_claims(extract(body).claims, [STRUCTURE])


def test_name_variants_link_to_one_candidate():
    for name in ("Khawaja Saad Rafique", "Saad Rafique", "Rafique"):
        (c,) = linked(f"In NA-122, {name} got 77,907 votes.")
        assert (c.candidate_id, c.party_code, c.unlinked) == ("NA-122/rafique", "PML-N", "")
    (c,) = linked("Latif Khosa polled 117,109 votes in NA-122.")
    assert (c.candidate_id, c.party_code) == ("NA-122/khosa", "PTI")


def test_a_candidate_named_without_a_contest_links_when_only_one_contest_has_him():
    (c,) = linked("Saad Rafique managed to get 77,907 votes.")
    assert (c.contest_code, c.candidate_id) == ("NA-122", "NA-122/rafique")


def test_unlinkable_claims_say_why_and_are_kept():
    (c,) = linked("In NA-58, Tariq Awan received 98,402 votes.")
    assert not c.linked and c.unlinked == "no contest 'NA-58' in e"
    (c,) = linked("In NA-122, Hamza Ali got 1,204 votes.")
    assert c.unlinked == "no candidate named 'Hamza Ali' in NA-122"
    (c,) = linked("In NA-10, Khan got 1,204 votes.")
    assert c.unlinked.startswith("named 'Khan' could be any of Barrister Gohar Ali Khan, Abdul")
    (c,) = linked("Somebody Else managed to get 5,000 votes.")
    assert "no contest named" in c.unlinked


def claim(value: int, qualifier: Qualifier = Qualifier.EXACT, unit: int = 1) -> Claim:
    return Claim(ClaimKind.VOTES, "s", 0, 1, value, qualifier, unit)


def test_a_claim_holds_within_its_qualifier_and_rounding():
    assert claim(26000, Qualifier.MORE_THAN, 1000).allows(26412)
    assert not claim(26000, Qualifier.MORE_THAN, 1000).allows(25412)
    assert claim(26000, unit=1000).allows(26412)  # "26,000" as reports round
    assert not claim(26000, unit=1000).allows(26600)
    assert claim(26000, Qualifier.APPROXIMATELY, 1000).allows(27200)  # within 5 %
    assert not claim(77907).allows(77709)
    assert claim(77907, Qualifier.JUST).allows(77907)
    assert claim(500, Qualifier.LESS_THAN).allows(499) and not claim(
        500, Qualifier.LESS_THAN
    ).allows(500)


@given(
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.sampled_from(list(Qualifier)),
    st.sampled_from(list(Qualifier)),
    st.integers(0, 10**6),
)
def test_agreement_is_symmetric_and_a_shared_value_means_agreement(a, b, qa, qb, x):
    ca, cb = claim(a, qa), claim(b, qb)
    assert claims_agree(ca, cb) == claims_agree(cb, ca)
    if ca.allows(x) and cb.allows(x):
        assert claims_agree(ca, cb)


def stored(c: Claim, outlet: str, n: int) -> StoredClaim:
    return StoredClaim(f"r{n}:0", f"r{n}", outlet, "2024-02-09", c)


def result(rafique: int, reported: int = 10) -> ContestResult:
    return ContestResult(
        "NA-122",
        "Lahore-VI",
        "NA",
        ContestStatus.PROVISIONAL,
        "",
        ResultBasis.STATIONS,
        (
            Candidate("NA-122/khosa", "Sardar Latif Khosa", "PTI"),
            Candidate("NA-122/rafique", "Khawaja Saad Rafique", "PML-N"),
        ),
        {"NA-122/khosa": 117109, "NA-122/rafique": rafique},
        0,
        0,
        reported,
        10,
        0,
        0,
    )


def test_outlets_disagree_and_the_official_count_decides():
    (a,) = linked("In NA-122, Saad Rafique got 77,907 votes.")
    (b,) = linked("In NA-122, Saad Rafique got 77,709 votes.")
    (c,) = linked("In NA-122, Rafique got more than 77,000 votes.")
    claims = [stored(a, "One", 1), stored(b, "Two", 2), stored(c, "Three", 3)]
    found = reconcile_claims(claims, {"NA-122": result(77907)})
    codes = sorted(
        (f.code, tuple(x["outlet"] for x in f.evidence.get("claims", []))) for f in found
    )
    # "more than 77,000" agrees with both figures: only One and Two disagree
    assert codes == [
        ("claim.contradicts_official", ()),
        ("claim.outlets_disagree", ("One", "Two")),
    ]
    (official,) = [f for f in found if f.code == "claim.contradicts_official"]
    assert official.evidence["claim"]["outlet"] == "Two" and official.evidence["official"] == 77907


def test_same_outlet_repeating_itself_and_incomplete_counts_raise_nothing():
    (a,) = linked("In NA-122, Saad Rafique got 77,709 votes.")
    (b,) = linked("In NA-122, Saad Rafique got 77,907 votes.")
    claims = [stored(a, "One", 1), stored(b, "One", 2)]
    assert reconcile_claims(claims, {"NA-122": result(70000, reported=9)}) == []


def test_a_margin_for_the_wrong_winner_is_a_contradiction():
    (m,) = linked("In NA-122, Saad Rafique won by 1,000 votes.")
    (f,) = reconcile_claims([stored(m, "One", 1)], {"NA-122": result(77907)})
    assert f.code == "claim.contradicts_official" and "Sardar Latif Khosa is ahead" in f.message
    (m,) = linked("In NA-122, Latif Khosa won by more than 39,000 votes.")
    assert reconcile_claims([stored(m, "One", 1)], {"NA-122": result(77907)}) == []
    assert reconcile_claims([stored(replace(m, value=40000), "One", 1)], {"NA-122": result(77907)})
