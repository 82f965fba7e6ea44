"""Reserved seats and the government table, on worked examples computed by hand."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tallyproof.domain.government import (
    TOTAL_SEATS,
    GeneralSeat,
    Joining,
    Scenario,
    government,
    largest_remainder,
    na_province,
)
from tallyproof.domain.problems import Rejected
from tallyproof.domain.structure import (
    Assembly,
    AssemblyLevel,
    Candidate,
    Contest,
    Election,
    ElectionKind,
    ElectionStructure,
    Party,
)

# (province's first NA number, [(party or None, backed_by), ...]) — one seat a tuple
PUNJAB = [("A", None)] * 10 + [("B", None)] * 6 + [("C", None)] * 4 + [(None, "P")]
SINDH = [("A", None), ("B", None), ("C", None), ("C", None)]
KP = [("A", None)] * 2 + [("B", None)] * 2 + [(None, "P"), (None, "P")]
BALOCHISTAN = [("C", None), ("B", None), ("B", None)]
ISLAMABAD = [("A", None)]
NOTIFIED = "2024-02-13"


def _build() -> tuple[ElectionStructure, list[GeneralSeat]]:
    contests, seats = [], []
    for first, winners in (
        (49, PUNJAB),
        (190, SINDH),
        (1, KP),
        (251, BALOCHISTAN),
        (46, ISLAMABAD),
    ):
        for n, (party, backed) in enumerate(winners, start=first):
            code = f"NA-{n}"
            k = Candidate(f"{code}-w", f"Winner {code}", party, backed)
            contests.append(Contest(code, "NA", code, (k,)))
            seats.append(GeneralSeat(code, na_province(code), k.id, party, backed, True))
    structure = ElectionStructure(
        Election("t", "t", ElectionKind.GENERAL, "2024-02-08"),
        tuple(Party(p, p) for p in ("A", "B", "C", "P", "SIC")),
        (Assembly("NA", "National Assembly", AssemblyLevel.NATIONAL),),
        tuple(contests),
        (),
    )
    return structure, seats


# KP's two independents: NA-5 joins A within the window, NA-6 joins B after it
JOININGS = [
    Joining("NA-5-w", "NA-5", "A", "2024-02-15"),
    Joining("NA-6-w", "NA-6", "B", "2024-02-20"),
]


def _awarded(gov, pool):
    """A pool's seats by party, the parties given none left out."""
    return {
        p: n for p, n in next(a for a in gov.allocations if a.pool == pool).awarded.items() if n
    }


def test_province_from_the_2024_numbering():
    assert [na_province(c) for c in ("NA-1", "NA-46", "NA-189", "NA-190", "NA-266")] == [
        "Khyber Pakhtunkhwa",
        "Islamabad",
        "Punjab",
        "Sindh",
        "Balochistan",
    ]
    assert na_province("NA-267") is None and na_province("PP-1") is None


def test_worked_example_by_hand():
    structure, seats = _build()
    gov = government(structure, seats, JOININGS, Scenario(notified=NOTIFIED))
    # Punjab, 32: A 10, B 6, C 4 of 20 (the unjoined independent is not counted).
    #   A 32*10/20 = 16, B 32*6/20 = 9.6, C 32*4/20 = 6.4; whole parts 31, the one left to the
    #   largest remainder, B's .6 -> A 16, B 10, C 6
    assert _awarded(gov, "women:Punjab") == {"A": 16, "B": 10, "C": 6}
    # Sindh, 14: A 1, B 1, C 2 of 4: A 3.5, B 3.5, C 7; one seat left and a tie at .5 between
    #   A and B: A has more general seats nationally (15 against 11) -> A 4, B 3, C 7
    assert _awarded(gov, "women:Sindh") == {"A": 4, "B": 3, "C": 7}
    # KP, 10: A 2 + the independent who joined in time = 3, B 2 (the one who joined on the
    #   20th, past 13th + 3 days, does not count) of 5: A 10*3/5 = 6, B 4, exact
    assert _awarded(gov, "women:Khyber Pakhtunkhwa") == {"A": 6, "B": 4}
    # Balochistan, 4: C 1, B 2 of 3: C 4/3 = 1.33, B 8/3 = 2.67; whole 3, the last to B (.67)
    assert _awarded(gov, "women:Balochistan") == {"B": 3, "C": 1}
    # Non-Muslims, 10, nationally (Islamabad's seat counts here only): A 10+1+3+1 = 15,
    #   B 6+1+2+2 = 11, C 4+2+1 = 7 of 33: A 150/33 = 4.55, B 110/33 = 3.33, C 70/33 = 2.12;
    #   whole 9, the last to A (.55)
    assert _awarded(gov, "non-muslim") == {"A": 5, "B": 3, "C": 2}
    lines = {line.side: line for line in gov.lines}
    # A: general 15 (14 returned + NA-5), women 16+4+6 = 26, non-Muslim 5 -> 46
    assert (lines["A"].before, lines["A"].after, lines["A"].women, lines["A"].total) == (
        14,
        15,
        26,
        46,
    )
    # B: general 11 + the late joiner = 12 in the house; women 10+3+4+3 = 20; 3 -> 35
    assert (lines["B"].after, lines["B"].women, lines["B"].non_muslim, lines["B"].total) == (
        12,
        20,
        3,
        35,
    )
    assert lines["C"].total == 7 + 14 + 2
    # the independents backed by P: 3 returned, 1 (Punjab) still independent
    assert (lines["IND (P-backed)"].before, lines["IND (P-backed)"].after) == (3, 1)
    assert lines["IND (P-backed)"].independent
    assert [in_time for _, in_time in gov.joinings] == [True, False]
    assert sum(a.seats for a in gov.allocations) == 70 and gov.total_seats == TOTAL_SEATS == 336
    assert gov.majority == 169
    assert gov.undecided == 266 - 35


def test_an_excluded_party_gets_none_and_the_rest_share_its_quota():
    structure, seats = _build()
    gov = government(
        structure, seats, JOININGS, Scenario(exclude=frozenset({"C"}), notified=NOTIFIED)
    )
    # Punjab: A 10, B 6 of 16: A 32*10/16 = 20, B 12
    assert _awarded(gov, "women:Punjab") == {"A": 20, "B": 12}
    # Sindh: A 1, B 1 of 2: 7 each
    assert _awarded(gov, "women:Sindh") == {"A": 7, "B": 7}
    # Balochistan: B 2 alone: all 4
    assert _awarded(gov, "women:Balochistan") == {"B": 4}
    # national: A 15, B 11 of 26: 150/26 = 5.77, 110/26 = 4.23; whole 9, the last to A
    assert _awarded(gov, "non-muslim") == {"A": 6, "B": 4}
    assert {line.side: line.women + line.non_muslim for line in gov.lines}["C"] == 0


def test_without_a_notification_date_every_joining_counts():
    structure, seats = _build()
    gov = government(structure, seats, JOININGS)
    # KP: A 3, B 3 of 6: 5 each
    assert _awarded(gov, "women:Khyber Pakhtunkhwa") == {"A": 5, "B": 5}


def test_a_party_that_won_no_seat_as_a_party():
    structure, seats = _build()
    # both KP independents join SIC in time: SIC 2 of KP's 6 counted seats
    sic = [Joining("NA-5-w", "NA-5", "SIC"), Joining("NA-6-w", "NA-6", "SIC")]
    gov = government(structure, seats, sic)
    # KP: A 2, B 2, SIC 2 of 6: 10*2/6 = 3.33 each; whole 9, the last by remainder tie
    #   (.33 each) to the most general seats nationally: A 14 -> A 4, B 3, SIC 3
    assert _awarded(gov, "women:Khyber Pakhtunkhwa") == {"A": 4, "B": 3, "SIC": 3}
    # the same, asking a general seat won under the party's own ticket: SIC is out,
    #   KP: A 2, B 2 of 4: 5 each
    gov = government(structure, seats, sic, Scenario(min_general_seats=1))
    assert _awarded(gov, "women:Khyber Pakhtunkhwa") == {"A": 5, "B": 5}
    assert {line.side: line.total for line in gov.lines}["SIC"] == 2


def test_a_leading_seat_counts_in_the_house_not_for_reserved_seats():
    structure, seats = _build()
    seats = [replace(s, won=s.contest != "NA-251") for s in seats]
    gov = government(structure, seats, ())
    # Balochistan: B 2 alone once C's seat only leads: all 4
    assert _awarded(gov, "women:Balochistan") == {"B": 4}
    assert {line.side: line.leading for line in gov.lines}["C"] == 1


def test_bad_joinings_are_refused_naming_field_and_rule():
    structure, seats = _build()
    with pytest.raises(Rejected) as refused:
        government(
            structure,
            seats,
            [
                Joining("nobody", "NA-1", "A"),
                Joining("NA-49-w", "NA-49", "B"),
                Joining("NA-5-w", "NA-5", "ZZ"),
            ],
        )
    assert refused.value.codes == [
        "government.unknown_candidate",
        "government.not_independent",
        "government.unknown_party",
    ]
    assert refused.value.problems[2].field == "joinings[2].party"
    with pytest.raises(Rejected) as refused:
        government(structure, seats, (), Scenario(exclude=frozenset({"XX"})))
    assert refused.value.problems[0].field == "exclude"


def test_a_remainder_tie_between_equals_goes_alphabetically():
    # 1 seat, X 1 and Y 1 of 2: 0.5 each, equal weight -> X
    assert largest_remainder(1, {"Y": 1, "X": 1}) == ({"Y": 0, "X": 1}, ("X",))
    assert largest_remainder(5, {}) == ({}, ())


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=0, max_value=70),
    st.dictionaries(
        st.sampled_from(["A", "B", "C", "D", "E", "F"]), st.integers(0, 200), max_size=6
    ),
)
def test_allocation_sums_to_the_quota_and_gives_each_its_whole_share(quota, basis):
    awarded, extra = largest_remainder(quota, basis)
    total = sum(basis.values())
    if total == 0:
        assert sum(awarded.values()) == 0
        return
    assert sum(awarded.values()) == quota
    for party, seats in basis.items():
        share = Fraction(quota * seats, total)
        assert share.numerator // share.denominator <= awarded[party] <= share + 1
    assert len(extra) == len(set(extra)) < max(len(basis), 1) + 1


def test_a_province_given_overrides_the_numbering():
    structure, seats = _build()
    # NA-49 (A) counted in Sindh instead of Punjab
    seats = [replace(s, province="Sindh") if s.contest == "NA-49" else s for s in seats]
    gov = government(structure, seats, JOININGS, Scenario(notified=NOTIFIED))
    # Punjab: A 9, B 6, C 4 of 19: 288/19 = 15.16, 192/19 = 10.11, 128/19 = 6.74; whole
    #   15 + 10 + 6 = 31, the last to C (.74) -> A 15, B 10, C 7
    assert _awarded(gov, "women:Punjab") == {"A": 15, "B": 10, "C": 7}
    # Sindh: A 2, B 1, C 2 of 5: 5.6, 2.8, 5.6; whole 12, two left: B (.8), then the tie
    #   at .6 between A and C to A (15 general seats nationally against 7) -> A 6, B 3, C 5
    assert _awarded(gov, "women:Sindh") == {"A": 6, "B": 3, "C": 5}


def test_a_province_input_is_checked():
    structure, seats = _build()
    with pytest.raises(Rejected) as refused:
        government(
            structure, seats, (), Scenario(provinces={"NA-49": "Kashmir", "NA-999": "Sindh"})
        )
    assert refused.value.codes == ["government.unknown_province", "government.unknown_contest"]
    assert refused.value.problems[0].field == "provinces.NA-49"


# ---- the 2024 National Assembly as the Form 47 data set has it ------------------------------

CSV_PROVINCE = {
    "KP": "Khyber Pakhtunkhwa",
    "ICT": "Islamabad",
    "Punjab": "Punjab",
    "Sindh": "Sindh",
    "Balochistan": "Balochistan",
}


def _na_2024() -> tuple[ElectionStructure, list[GeneralSeat], dict[str, str]]:
    """Each seat's Form 47 winner from the 2024 data set; PTI-IND: an independent backed by
    PTI. Answers the structure, the seats, and each seat's province as the data set says."""
    import csv

    from tests.conftest import shared_data

    path = shared_data("pk2024-na-form45-vs-form47") / "na2024_top2_form47_vs_form45.csv"
    with path.open(encoding="utf-8") as f:
        winners = [r for r in csv.DictReader(f) if r["rank"] == "1"]
    contests, seats, said = [], [], {}
    for r in winners:
        party = None if r["party"] in ("PTI-IND", "IND") else r["party"]
        backed = "PTI" if r["party"] == "PTI-IND" else None
        k = Candidate(f"{r['seat']}/w", r["candidate"], party, backed)
        contests.append(Contest(r["seat"], "NA", r["region"], (k,)))
        seats.append(GeneralSeat(r["seat"], na_province(r["seat"]), k.id, party, backed, True))
        said[r["seat"]] = CSV_PROVINCE[r["province"]]
    parties = sorted({s.party for s in seats if s.party} | {"PTI", "SIC"})
    structure = ElectionStructure(
        Election("pk-2024", "2024", ElectionKind.GENERAL, "2024-02-08"),
        tuple(Party(p, p) for p in parties),
        (Assembly("NA", "National Assembly", AssemblyLevel.NATIONAL),),
        tuple(contests),
        (),
    )
    return structure, seats, said


def test_the_2024_numbering_gives_every_seat_the_province_the_data_set_names():
    _, seats, said = _na_2024()
    assert len(seats) == 266
    assert {s.contest: s.province for s in seats} == said


def test_2024_reserved_seats_with_and_without_the_independents_joining_sic():
    structure, seats, _ = _na_2024()
    gov = government(structure, seats, ())
    # Balochistan, 4, on 13 party seats (PML-N 3; BNP, JUI-F, PPP 2; BAP, NP, PKMAP, PNAP 1):
    #   PML-N 12/13 = .92, BNP, JUI-F, PPP 8/13 = .62 each, the rest 4/13 = .31: no whole seat;
    #   the four remainders first: PML-N, BNP, JUI-F, PPP one each
    assert _awarded(gov, "women:Balochistan") == {"BNP": 1, "JUI-F": 1, "PML-N": 1, "PPP": 1}
    # KP, 10, on 6 party seats (JUI-F 2, PML-N 2, MWM 1, PPP 1; 39 independents not counted):
    #   3.33, 3.33, 1.67, 1.67; whole 8, the two left to MWM and PPP (.67)
    kp = {"JUI-F": 3, "PML-N": 3, "MWM": 2, "PPP": 2}
    assert _awarded(gov, "women:Khyber Pakhtunkhwa") == kp
    # every PTI-backed independent joins SIC in time: KP on 44 (SIC 38): SIC 380/44 = 8.64,
    #   JUI-F and PML-N 20/44 = .45, MWM and PPP 10/44 = .23; whole 8, two left: SIC (.64),
    #   then the tie at .45 to PML-N (48 general seats nationally against JUI-F's 4)
    joining = [
        Joining(s.candidate, s.contest, "SIC", "2024-02-15") for s in seats if s.backed_by == "PTI"
    ]
    sic = government(structure, seats, joining, Scenario(notified="2024-02-14"))
    assert _awarded(sic, "women:Khyber Pakhtunkhwa") == {
        "SIC": 9,
        "PML-N": 1,
    }
    # ...and the Election Commission's reading of March 2024: SIC may not receive them
    denied = government(structure, seats, joining, Scenario(exclude=frozenset({"SIC"})))
    assert _awarded(denied, "women:Khyber Pakhtunkhwa") == kp
    for g in (gov, sic, denied):
        assert sum(sum(a.awarded.values()) for a in g.allocations) == 70
        assert sum(line.after for line in g.lines) == 266
