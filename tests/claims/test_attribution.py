"""Who and where: the roster resolves names, places and contests; a claim that cannot be
settled without guessing is kept unsure and raises no finding. One test a failure pattern."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tallyproof.claims.evaluate import labels_from, score
from tallyproof.claims.extract import extract
from tallyproof.claims.link import link_claims
from tallyproof.claims.numbers import find_numbers
from tallyproof.claims.roster import Roster, party_code, skeleton
from tallyproof.domain.claims import Claim, ClaimKind, StoredClaim, reconcile_claims
from tallyproof.domain.consolidation import ContestResult, ResultBasis
from tallyproof.domain.status import ContestStatus
from tallyproof.domain.structure import ElectionStructure, parse_structure


def _contest(code: str, name: str, *people: tuple[str, str]) -> dict:
    return {
        "code": code,
        "assembly": "NA",
        "name": name,
        "candidates": [
            {"id": f"{code}/{i}", "name": n} | ({"party": p} if p else {})
            for i, (n, p) in enumerate(people)
        ],
    }


STRUCTURE: ElectionStructure = parse_structure(
    {
        "election": {"id": "e", "name": "E", "kind": "general", "date": "2018-07-25"},
        "parties": [
            {"code": "Pakistan-Tehreek-e-Insaf", "name": "PTI"},
            {"code": "Pakistan-Muslim-League-N", "name": "PML-N"},
            {"code": "Tehreek-e-Labbaik-Pakistan", "name": "TLP"},
        ],
        "assemblies": [{"code": "NA", "name": "National Assembly", "level": "national"}],
        "contests": [
            _contest(
                "NA-53",
                "Islamabad-II",
                ("Imran Ahmed Khan Niazi", "Pakistan-Tehreek-e-Insaf"),
                ("Shahid Khaqan Abbasi", "Pakistan-Muslim-League-N"),
            ),
            _contest(
                "NA-56",
                "Attock-II",
                ("Tahir Sadiq", "Pakistan-Tehreek-e-Insaf"),
                ("Malik Sohail Khan", "Pakistan-Muslim-League-N"),
                ("Syed Faisal Mehmood Shah", "Tehreek-e-Labbaik-Pakistan"),
            ),
            _contest(
                "NA-95",
                "Mianwali-I",
                ("Imran Ahmed Khan Niazi", "Pakistan-Tehreek-e-Insaf"),
                ("Obaid Ullah Khan Shadi Khel", "Pakistan-Muslim-League-N"),
            ),
            _contest(
                "NA-130",
                "Lahore-XIV",
                ("Dr. Yasmeen Rashid", "Pakistan-Tehreek-e-Insaf"),
                ("Mian Muhammad Nawaz Sharif", "Pakistan-Muslim-League-N"),
            ),
        ],
        "stations": [],
    }
)
ROSTER = Roster.of([STRUCTURE])


def claims(text: str) -> list[Claim]:
    return link_claims(extract(text, roster=ROSTER).claims, [STRUCTURE])


def votes(text: str) -> list[tuple[int | None, str, str, str]]:
    """(value, candidate id, contest, unsure) of every vote count."""
    return [
        (c.value, c.candidate_id, c.contest_code or c.contest, c.unsure)
        for c in claims(text)
        if c.kind is ClaimKind.VOTES
    ]


def test_a_contest_does_not_carry_into_a_paragraph_about_another_seat():
    text = (
        "In NA-53, Shahid Khaqan Abbasi got 44,314 votes.\n\n"
        "Attock-II\n\n"
        "Tahir Sadiq bagged 163,325 votes.\n\n"
        "Separately, Imran Khan received 92,891 votes.\n"
    )
    got = votes(text)
    assert got[0] == (44314, "NA-53/1", "NA-53", "")
    assert got[1] == (163325, "NA-56/0", "NA-56", "")  # the heading names the seat
    value, candidate, _, why = got[2]  # Imran stood in NA-53 and NA-95: the paragraph says neither
    assert (value, candidate) == (92891, "") and "stands in 2 contests" in why


def test_the_roster_confirms_a_carried_contest_for_its_own_candidate():
    text = "In NA-53, Imran Khan won.\n\nAbbasi polled 44,314 votes.\n"
    assert votes(text) == [(44314, "NA-53/1", "NA-53", "")]


def test_words_that_are_nobody_are_not_candidates():
    text = "Across town in NA-53, 44,314 votes were cast in favour of Shahid Khaqan Abbasi."
    assert votes(text) == [(44314, "NA-53/1", "NA-53", "")]
    sub_name = claims("In Attock-II's NA-56, Tahir Sadiq polled 163,325 votes.")
    assert [c.candidate for c in sub_name] == ["Tahir Sadiq"]


def test_a_title_before_a_known_name_is_dropped():
    (c,) = claims("In NA-56, Senior Vice President Tahir Sadiq polled 163,325 votes.")
    assert c.candidate == "Tahir Sadiq" and c.candidate_id == "NA-56/0"


def test_followed_by_votes_of_someone_is_their_count_not_a_margin():
    got = claims("In NA-53, Imran Khan bagged 92,891 votes, followed by 44,314 votes of Abbasi.")
    assert [(c.kind, c.value, c.candidate_id) for c in got] == [
        (ClaimKind.VOTES, 92891, "NA-53/0"),
        (ClaimKind.VOTES, 44314, "NA-53/1"),
    ]


def test_the_winner_of_a_passive_defeat_is_after_by():
    (margin,) = [
        c
        for c in claims("In NA-53, Abbasi was defeated by Imran Khan by a margin of 48,577 votes.")
        if c.kind is ClaimKind.MARGIN
    ]
    assert (margin.value, margin.candidate_id) == (48577, "NA-53/0")


def test_counts_without_the_word_votes():
    text = "In NA-56, Tahir Sadiq received 163,325 and Malik Sohail Khan 99,404, the count shows."
    assert [(v, k) for v, k, _, _ in votes(text)] == [(163325, "NA-56/0"), (99404, "NA-56/1")]


def test_turnout_and_totals_are_no_ones_votes():
    text = (
        "In NA-53, Imran Khan bagged 92,891 votes. Turnout was 58 per cent and 176,456 votes "
        "were polled in all, with 1,480 rejected."
    )
    assert [v for v, *_ in votes(text)] == [92891]


def test_a_spelling_the_roster_does_not_have_still_finds_the_candidate():
    assert skeleton("Yasmin") == skeleton("Yasmeen") and skeleton("Mansehra") == skeleton(
        "Maneshra"
    )
    got = votes("In NA-130, PTI's Dr Yasmin Rashid polled 104,485 votes.")
    assert got == [(104485, "NA-130/0", "NA-130", "")]


def test_a_party_slug_is_the_party_a_report_names():
    assert party_code("Pakistan-Muslim-League-N") == "PML-N"
    assert party_code("Tehreek-e-Labbaik-Pakistan") == "TLP"
    assert party_code("JUI-Fazl") == "JUI-F"
    text = "In NA-56, the Tehreek-e-Labbaik Pakistan nominee got 62,257 votes."
    assert votes(text) == [(62257, "NA-56/2", "NA-56", "")]


def test_a_claim_the_report_does_not_attribute_is_unsure():
    text = "In NA-53, Imran Khan and Shahid Khaqan Abbasi fought, and one of them got 40,112 votes."
    ((value, candidate, _, why),) = votes(text)
    assert (value, candidate) == (40112, "") and why == "the report does not say whose"


def _result(code: str, votes_by: dict[str, int]) -> ContestResult:
    contest = STRUCTURE.contest(code)
    assert contest is not None
    return ContestResult(
        code, contest.name, "NA", ContestStatus.FINAL, "", ResultBasis.DECLARED,
        contest.candidates, votes_by, 0, 0, 0, 0, 0, 0,
    )  # fmt: skip


def test_an_unsure_claim_raises_no_finding_where_a_sure_one_does():
    sure, unsure = (
        claims("In NA-53, Imran Khan got 10,000 votes.")[0],
        claims("In NA-53, Imran Khan and Abbasi ran; one of them got 10,000 votes.")[0],
    )
    assert sure.linked and not unsure.linked and unsure.unsure
    official = {"NA-53": _result("NA-53", {"NA-53/0": 92891, "NA-53/1": 44314})}
    findings = reconcile_claims(
        [
            StoredClaim("a", "r1", "Dawn", "2018-07-26", sure),
            StoredClaim("b", "r2", "Geo", "2018-07-26", unsure),
        ],
        official,
    )
    assert [f.code for f in findings] == ["claim.contradicts_official"]
    assert findings[0].evidence["claim"]["claim"] == "a"


@given(st.integers(min_value=1000, max_value=999_999))
def test_a_stray_space_after_the_comma_is_one_number(n):
    written = f"{n // 1000}, {n % 1000:03d}"
    (found,) = find_numbers(f"She received {written} votes.")
    assert found.value == n


def test_strict_scoring_counts_whose_and_leaves_unsure_claims_out():
    text = "In NA-53, Imran Khan and Abbasi ran; one of them got 40,112 votes. Abbasi got 44,314 votes."
    got = claims(text)
    labels = labels_from(
        text,
        [
            {"kind": "votes", "quote": "40,112 votes", "value": 40112, "candidate": None,
             "contest": "NA-53", "ambiguous": True},
            {"kind": "votes", "quote": "44,314 votes", "value": 44314,
             "candidate": "Imran Ahmed Khan Niazi", "contest": "NA-53"},
        ],
    )  # fmt: skip
    strict, _ = score([("r", got, labels)], "strict")
    value, _ = score([("r", got, labels)], "value")
    assert (strict["all"].true_positive, strict["all"].false_positive) == (1, 1)
    assert value["all"].true_positive == 2


def test_an_unnamed_rival_is_not_the_subject():
    text = "In NA-56, Tahir Sadiq polled 163,325 votes. His nearest rival got 99,404."
    assert votes(text) == [
        (163325, "NA-56/0", "NA-56", ""),
        (99404, "", "NA-56", "the rival is not named"),
    ]
    named = "In NA-56, Tahir Sadiq won. His rival, Malik Sohail Khan, got 99,404 votes."
    assert votes(named) == [(99404, "NA-56/1", "NA-56", "")]


def test_seats_of_a_party_named_after_the_count():
    (c,) = [
        c for c in claims("The tally stood at 43 seats of PML(N) in the Punjab.") if c.value == 43
    ]
    assert (c.kind, c.party) == (ClaimKind.SEATS, "PML-N")


def test_votes_to_win_is_a_win_and_hoping_to_win_is_not():
    got = claims("In NA-56, Tahir Sadiq bagged 163,325 votes to win the seat.")
    assert [(c.kind, c.candidate_id) for c in got if c.kind is ClaimKind.WINNER] == [
        (ClaimKind.WINNER, "NA-56/0")
    ]
    assert not [c for c in claims("In NA-56, Tahir Sadiq hopes to win the seat.")]


def test_a_surname_that_is_also_a_title_still_names_its_candidate():
    structure = parse_structure(
        {
            "election": {"id": "f", "name": "F", "kind": "general", "date": "2024-02-08"},
            "assemblies": [{"code": "NA", "name": "National Assembly", "level": "national"}],
            "contests": [
                _contest("NA-47", "ICT-II", ("Tariq Fazal Chaudhry", ""), ("Shoaib Shaheen", ""))
            ],
            "stations": [],
        }
    )
    text = "In NA-47, the result puts Chaudhry at 1,01,397 and Shaheen at 86,794."
    got = link_claims(extract(text, roster=Roster.of([structure])).claims, [structure])
    assert [(c.value, c.candidate_id) for c in got] == [(101397, "NA-47/0"), (86794, "NA-47/1")]


def test_live_blog_and_results_list_lines_are_read():
    text = (
        "11:42 PM — In NA-56, Tahir Sadiq leads with 163,325 votes\n\n"
        "NA-53 Islamabad-II: Imran Khan (PTI) 92,891; Shahid Khaqan Abbasi (PML-N) 44,314\n\n"
        "Results at a glance\n"
    )
    assert [(v, k) for v, k, _, _ in votes(text)] == [
        (163325, "NA-56/0"),
        (92891, "NA-53/0"),
        (44314, "NA-53/1"),
    ]


def test_an_honorific_alone_is_the_one_person_carrying_it_or_nobody():
    one = (
        "In NA-53, Shahid Khaqan Abbasi and Malik Sohail Khan spoke. Abbasi Sahib got 44,314 votes."
    )
    assert votes(one)[-1][:2] == (44314, "NA-53/1")
    text = "In NA-56, Malik Sohail Khan polled 99,404 votes. The Malik thanked voters."
    assert votes(text) == [(99404, "NA-56/1", "NA-56", "")]
    nobody = "In NA-53, the Maulana got 5,000 votes."
    ((value, candidate, _, why),) = votes(nobody)
    assert (value, candidate, why) == (5000, "", "the report names nobody for it")


def test_a_party_tally_is_seats_not_votes():
    got = claims("Our scoreboard so far:\n\nPTI 115 | PML-N 64 | PPP 43\n")
    assert [(c.kind, c.party, c.value) for c in got] == [
        (ClaimKind.SEATS, "PTI", 115),
        (ClaimKind.SEATS, "PML-N", 64),
        (ClaimKind.SEATS, "PPP", 43),
    ]


def test_a_results_line_verdict_names_the_leader_the_winner():
    text = "NA-56 Attock-II: Tahir Sadiq (PTI) 163,325; Malik Sohail Khan (PML-N) 99,404 — PTI gain"
    got = claims(text)
    assert [(c.kind, c.value, c.candidate_id) for c in got] == [
        (ClaimKind.VOTES, 163325, "NA-56/0"),
        (ClaimKind.VOTES, 99404, "NA-56/1"),
        (ClaimKind.WINNER, None, "NA-56/0"),
    ]


def test_a_margin_with_no_name_is_the_declared_winners_or_unsure():
    text = "In NA-53, Imran Khan was declared the winner. Margin 48,577."
    (margin,) = [c for c in claims(text) if c.kind is ClaimKind.MARGIN]
    assert (margin.value, margin.candidate_id) == (48577, "NA-53/0")
    (alone,) = [c for c in claims("In NA-53, the margin was 48,577.") if c.kind is ClaimKind.MARGIN]
    assert alone.unsure == "the report names no winner for it" and not alone.linked


def test_followed_by_someone_with_a_count_is_theirs_not_the_winners():
    text = (
        "In NA-56, Tahir Sadiq won with 163,325 votes, followed by Malik Sohail Khan with 99,404."
    )
    assert [(v, k) for v, k, _, _ in votes(text)] == [(163325, "NA-56/0"), (99404, "NA-56/1")]
    beaten = "In NA-56, Tahir Sadiq edged past Malik Sohail Khan with 163,325 votes."
    assert [(v, k) for v, k, _, _ in votes(beaten)] == [(163325, "NA-56/0")]
