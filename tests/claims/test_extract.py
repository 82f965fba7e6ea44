"""Extraction: each pattern the reports use, what must produce nothing, and spans."""

from __future__ import annotations

import pytest

from tallyproof.claims.extract import extract
from tallyproof.domain.claims import ClaimKind, Qualifier, StatusClaim


def claims(body: str, **front: str):
    header = "".join(f"{k}: {v}\n" for k, v in front.items())
    text = (header + "\n" if header else "") + body
    found = extract(text).claims
    for c in found:
        assert c.sentence in text and 0 <= c.start < c.end <= len(text)
        assert text[c.start : c.end] in c.sentence  # the span lies within its sentence
    return found


def one(body: str):
    (claim,) = claims(body)
    return claim


def besides_winners(body: str):
    """The claims of a sentence other than winner claims, and the winners' names."""
    found = claims(body)
    winners = [c.candidate for c in found if c.kind is ClaimKind.WINNER]
    return [c for c in found if c.kind is not ClaimKind.WINNER], winners


def test_votes_with_candidate_party_and_contest():
    found = claims(
        "PTI-backed independent Latif Khosa bagged 117,109 votes in NA-122 followed by "
        "PML-N's Khawaja Saad Rafique who secured 77,907 votes."
    )
    assert [(c.kind, c.value, c.candidate, c.party, c.backed, c.contest) for c in found] == [
        (ClaimKind.VOTES, 117109, "Latif Khosa", "PTI", True, "NA-122"),
        (ClaimKind.VOTES, 77907, "Khawaja Saad Rafique", "PML-N", False, "NA-122"),
    ]


@pytest.mark.parametrize(
    ("phrase", "qualifier", "value"),
    [
        ("more than 26,000 votes", Qualifier.MORE_THAN, 26000),
        ("over 26,000 votes", Qualifier.MORE_THAN, 26000),
        ("nearly 26,000 votes", Qualifier.APPROXIMATELY, 26000),
        ("about 26,000 votes", Qualifier.APPROXIMATELY, 26000),
        ("at least 26,000 votes", Qualifier.AT_LEAST, 26000),
        ("less than 26,000 votes", Qualifier.LESS_THAN, 26000),
        ("just 26,412 votes", Qualifier.JUST, 26412),
        ("26,412 votes", Qualifier.EXACT, 26412),
    ],
)
def test_qualifiers(phrase, qualifier, value):
    claim = one(f"Ali Khan polled {phrase} in NA-5.")
    assert (claim.qualifier, claim.value, claim.candidate) == (qualifier, value, "Ali Khan")


def test_margins_belong_to_the_winner():
    (c,), winners = besides_winners(
        "Sardar Latif Khosa defeated PML-N's Khawaja Saad Rafique by 39,202 votes."
    )
    assert (c.kind, c.value, c.candidate) == (ClaimKind.MARGIN, 39202, "Sardar Latif Khosa")
    assert winners == ["Sardar Latif Khosa"]  # "defeated" also says who won
    (c,), winners = besides_winners(
        "Umar Amin won the seat with a heavy margin of more than 24,000 votes."
    )
    assert winners == ["Umar Amin"]
    assert (c.kind, c.qualifier, c.candidate) == (
        ClaimKind.MARGIN,
        Qualifier.MORE_THAN,
        "Umar Amin",
    )


def test_seat_counts_including_each_none_and_elliptical():
    found = claims(
        "PTI candidates have won the elections in six constituencies while JUI-F secured four "
        "seats, and the ANP and JI managed to win one seat each."
    )
    assert sorted((c.party, c.value) for c in found) == [
        ("ANP", 1),
        ("JI", 1),
        ("JUI-F", 4),
        ("PTI", 6),
    ]
    c = one("The ruling party PTI could not grab a single mayor's seat out of the four.")
    assert (c.kind, c.party, c.value) == (ClaimKind.SEATS, "PTI", 0)
    found = claims("The PML-N won 75 National Assembly seats and the PPP 54.")
    assert [(c.party, c.value, c.contest) for c in found] == [
        ("PML-N", 75, "NA"),
        ("PPP", 54, "NA"),
    ]


def test_status_claims_and_their_negations():
    found = claims("Due to the death of a candidate, voting will not be held in NA 8 and PK 91.")
    assert [(c.status, c.contest) for c in found] == [
        (StatusClaim.POSTPONED, "NA-8"),
        (StatusClaim.POSTPONED, "PK-91"),
    ]
    assert one("Re-polling was held at 34 polling stations.").status is StatusClaim.RE_POLL
    assert one("Saad Rafique conceded defeat.").status is StatusClaim.CONCEDED
    c = one("Hafiz Naeem ur Rehman gave up his Sindh Assembly seat PS-129.")
    assert (c.status, c.candidate, c.contest) == (
        StatusClaim.GAVE_UP_SEAT,
        "Hafiz Naeem ur Rehman",
        "PS-129",
    )
    assert claims("The commission said a re-poll will not be held.") == []
    assert claims("It is not known whether a re-poll will be held.") == []
    assert claims("Rizwan Karim refused to accept the result.") == []
    assert claims("The JUI-F leader has not conceded.") == []


def test_other_scripts_sidebars_prices_and_ransoms_give_nothing():
    body = (
        "سردار لطیف کھوسہ صاحب کو 117,109 ووٹ\n\n"
        "Kidnappers demanded a ransom of Rs 5 million for the agent.\n\n"
        "Petrol rose to Rs 270 per litre.\n\n"
        "You may also like\nKhosa wins with 117,109 votes\nGold at Rs 215,000 per tola\n\n"
        "Over 128 million registered voters were to vote for 265 seats.\n"
    )
    assert claims(body) == []


def test_front_matter_inline_dates_and_outlet_attribution():
    report = extract(
        " date 2022-02-14 According to unofficial results obtained by Geo News, Umar Amin "
        "secured 63,753 votes."
    )
    assert report.report.date == "2022-02-14"
    (c,) = report.claims
    assert (c.value, c.attributed_to) == (63753, "Geo News")


def test_contest_context_carries_to_later_sentences_and_mayoralties_are_contests():
    found, winners = besides_winners(
        "Himayatullah was elected as the mayor of Mardan with 56,458 votes.\n\n"
        "Amanat Shah Haqqani got 49,938 votes."
    )
    assert [c.contest for c in found] == ["Mardan mayor", "Mardan mayor"]
    assert winners == ["Himayatullah"]
    assert one("Umar Amin got 63,753 votes as mayor of DIK.").contest == "Dera Ismail Khan mayor"


def test_a_pronoun_takes_the_previous_sentences_subject():
    found = claims(
        "According to Naeem, the forms showed Bari ahead. He said he had polled nearly 26,000 votes."
    )
    assert [(c.candidate, c.value) for c in found] == [("Naeem", 26000)]
