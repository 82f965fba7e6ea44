"""Winner claims and concessions: extracted, linked, and held against the declared winner
(Form 47) and the forms' leader (Form 45); backed independents labelled as such; counts in
the command's summaries in the right number."""

from __future__ import annotations

from dataclasses import replace

import pytest
from rich.console import Console

from tallyproof.claims.extract import extract
from tallyproof.claims.link import link_claims
from tallyproof.console import claims_table, counted
from tallyproof.domain.claims import (
    Claim,
    ClaimKind,
    StatusClaim,
    StoredClaim,
    WinnerCheck,
    check_winner,
    reconcile_claims,
)
from tallyproof.domain.consolidation import ContestResult, ResultBasis
from tallyproof.domain.findings import Severity
from tallyproof.domain.status import ContestStatus
from tallyproof.domain.structure import Candidate
from tallyproof.service.claims import ReadClaims
from tests.claims.test_link_and_reconcile import STRUCTURE

KHOSA, RAFIQUE = "NA-122/khosa", "NA-122/rafique"


def of_kind(body: str, kind: ClaimKind) -> list[Claim]:
    return [c for c in extract(body).claims if c.kind is kind]


def winners(body: str) -> list[tuple[str, str]]:
    return [(c.candidate, c.contest) for c in of_kind(body, ClaimKind.WINNER)]


def conceded(body: str) -> list[str]:
    found = of_kind(body, ClaimKind.STATUS)
    return [c.candidate for c in found if c.status is StatusClaim.CONCEDED]


# --- extraction -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "Nawaz Sharif won NA-130.",
        "Nawaz Sharif won NA-130 Lahore comfortably.",
        "Nawaz Sharif was declared the winner of NA-130.",
        "Nawaz Sharif has been declared winner of NA-130 by the returning officer.",
        "In NA-130, Nawaz Sharif won the seat.",
        "In NA-130, Nawaz Sharif won with 179,310 votes.",
        "Nawaz Sharif emerged victorious in NA-130.",
        "Nawaz Sharif emerged as the winner in NA-130.",
        "Nawaz Sharif secured a thumping victory in NA-130.",
        "In NA-130, Nawaz Sharif was elected for a fourth time.",
        "Nawaz Sharif retained his National Assembly seat NA-130.",
        "Nawaz Sharif defeated Yasmin Rashid in NA-130.",
        "The returning officer declared PML-N's Nawaz Sharif the winner in NA-130.",
    ],
)
def test_a_winner_claim_names_the_candidate_and_the_contest(sentence):
    assert winners(sentence) == [("Nawaz Sharif", "NA-130")]


def test_a_pronoun_winner_is_the_previous_sentences_subject():
    found = winners("In NA-130, Nawaz Sharif polled 179,310 votes. He won the seat easily.")
    assert found == [("Nawaz Sharif", "NA-130")]


@pytest.mark.parametrize(
    "sentence",
    [
        "Nawaz Sharif did not win NA-130.",
        "Nawaz Sharif was not declared the winner of NA-130.",
        "Yasmin Rashid was defeated in NA-130.",
        "Yasmin Rashid is expected to win NA-130.",
        "Yasmin Rashid claimed victory in NA-130.",
        "The PML-N won a clean victory in Lahore.",  # a party, no candidate
        "PML-N candidates won six seats.",  # a seat count
        "In NA-130, Nawaz Sharif won by 55,981 votes.",  # a margin claim, not a winner claim
    ],
)
def test_what_is_not_a_winner_claim(sentence):
    assert winners(sentence) == []


@pytest.mark.parametrize(
    "sentence",
    [
        "In NA-122, Saad Rafique conceded defeat.",
        "In NA-122, Saad Rafique accepts the decision of the public.",
        "In NA-122, Saad Rafique accepted the people's verdict.",
        "In NA-122, Saad Rafique congratulated Latif Khosa on winning.",
        "Saad Rafique congratulated Latif Khosa on his victory in NA-122.",
    ],
)
def test_a_concession_is_a_status_claim_by_the_one_who_lost(sentence):
    assert conceded(sentence) == ["Saad Rafique"]


@pytest.mark.parametrize(
    "sentence",
    [
        "Federal Minister Asad Umar congratulated Latif Khosa on his victory in NA-122.",
        "Saad Rafique has not congratulated Latif Khosa on his victory in NA-122.",
        "Saad Rafique refused to accept the decision of the public.",
    ],
)
def test_what_is_not_a_concession(sentence):
    assert conceded(sentence) == []


# --- linking --------------------------------------------------------------------------


def test_winner_claims_link_to_the_roster_and_a_backed_independent_is_labelled_so():
    body = "Sardar Latif Khosa (PTI) won NA-122. Khawaja Saad Rafique won NA-122."
    khosa, rafique = link_claims(of_kind(body, ClaimKind.WINNER), [STRUCTURE])
    assert (khosa.candidate_id, khosa.party_code, khosa.backed) == (KHOSA, "PTI", True)
    assert khosa.side == "IND (PTI-backed)"  # the report wrote "(PTI)"; the roster knows
    assert (rafique.candidate_id, rafique.side) == (RAFIQUE, "PML-N")
    (unlinked,) = extract("PTI-backed Sardar Latif Khosa won NA-122.").claims
    assert unlinked.side == "IND (PTI-backed)"


# --- reconciliation -------------------------------------------------------------------


def result(
    khosa: int, rafique: int, basis: ResultBasis = ResultBasis.STATIONS, reported: int = 10
) -> ContestResult:
    return ContestResult(
        "NA-122",
        "Lahore-VI",
        "NA",
        ContestStatus.PROVISIONAL,
        "",
        basis,
        (
            Candidate(KHOSA, "Sardar Latif Khosa", backed_by="PTI"),
            Candidate(RAFIQUE, "Khawaja Saad Rafique", "PML-N"),
        ),
        {KHOSA: khosa, RAFIQUE: rafique},
        0,
        0,
        reported if basis is ResultBasis.STATIONS else 0,
        10 if basis is ResultBasis.STATIONS else 0,
        0,
        0,
    )


KHOSA_AHEAD = result(117109, 77907)
RAFIQUE_AHEAD = result(77907, 117109)
DECLARED_KHOSA = result(117109, 77907, ResultBasis.DECLARED)
DECLARED_RAFIQUE = result(77907, 117109, ResultBasis.DECLARED)


def said(body: str, outlet: str = "Dawn", n: int = 1) -> list[StoredClaim]:
    found = link_claims(extract(body).claims, [STRUCTURE])
    return [StoredClaim(f"r{n}:{i}", f"r{n}", outlet, "2024-02-09", c) for i, c in enumerate(found)]


def findings(body: str, forms=None, declared=None, results=None):
    results = results if results is not None else {"NA-122": forms or declared}
    computed = {"NA-122": forms} if forms else {}
    declared = {"NA-122": declared} if declared else {}
    stored = [s for s in said(body) if s.claim.kind in (ClaimKind.WINNER, ClaimKind.STATUS)]
    found = reconcile_claims(stored, results, computed=computed, declared=declared)
    return [(f.code, f.severity) for f in found], found


KHOSA_WON = "In NA-122, Sardar Latif Khosa won the seat."


def test_a_winner_both_halves_name_raises_nothing():
    assert findings(KHOSA_WON, KHOSA_AHEAD, DECLARED_KHOSA)[0] == []
    assert findings(KHOSA_WON, forms=KHOSA_AHEAD)[0] == []
    assert findings(KHOSA_WON, declared=DECLARED_KHOSA)[0] == []


def test_a_winner_only_the_declaration_names_is_not_leading_on_the_forms():
    codes, (f,) = findings(KHOSA_WON, RAFIQUE_AHEAD, DECLARED_KHOSA)
    assert codes == [("claim.winner_not_leading", Severity.HIGH)]
    assert "Form 47" in f.message and "put Khawaja Saad Rafique ahead" in f.message
    assert f.evidence["check"] == "declared_only" and f.evidence["forms_leader"] == RAFIQUE
    partial = result(77907, 117109, reported=4)
    assert findings(KHOSA_WON, partial, DECLARED_KHOSA)[0] == [
        ("claim.winner_not_leading", Severity.MEDIUM)
    ]


def test_a_winner_only_the_forms_name_is_not_the_declared_one():
    codes, (f,) = findings(KHOSA_WON, KHOSA_AHEAD, DECLARED_RAFIQUE)
    assert codes == [("claim.winner_not_declared", Severity.LOW)]
    assert f.evidence["declared_winner"] == RAFIQUE


def test_a_winner_neither_half_names_contradicts_the_official_result():
    assert findings(KHOSA_WON, RAFIQUE_AHEAD, DECLARED_RAFIQUE)[0] == [
        ("claim.contradicts_official", Severity.HIGH)
    ]
    assert findings(KHOSA_WON, declared=DECLARED_RAFIQUE)[0] == [
        ("claim.contradicts_official", Severity.HIGH)
    ]


def test_a_winner_the_forms_do_not_show_leading_is_a_finding_high_once_counted():
    assert findings(KHOSA_WON, forms=RAFIQUE_AHEAD)[0] == [
        ("claim.winner_not_leading", Severity.HIGH)
    ]
    partial = result(50000, 60000, reported=4)
    assert findings(KHOSA_WON, forms=partial)[0] == [("claim.winner_not_leading", Severity.MEDIUM)]
    assert findings(KHOSA_WON, forms=result(60000, 50000, reported=4))[0] == []


def test_without_the_halves_the_official_result_stands_for_its_own_basis():
    codes, _ = findings(KHOSA_WON, results={"NA-122": RAFIQUE_AHEAD})
    assert codes == [("claim.winner_not_leading", Severity.HIGH)]  # a declaration unknown
    codes, _ = findings(KHOSA_WON, results={"NA-122": DECLARED_RAFIQUE})
    assert codes == [("claim.contradicts_official", Severity.HIGH)]
    assert findings(KHOSA_WON, results={"NA-122": DECLARED_KHOSA})[0] == []


def test_check_winner_outcomes():
    (c,) = [s.claim for s in said(KHOSA_WON)]
    assert check_winner(c, KHOSA_AHEAD, DECLARED_KHOSA) is WinnerCheck.AGREES
    assert check_winner(c, RAFIQUE_AHEAD, DECLARED_KHOSA) is WinnerCheck.DECLARED_ONLY
    assert check_winner(c, KHOSA_AHEAD, DECLARED_RAFIQUE) is WinnerCheck.FORMS_ONLY
    assert check_winner(c, RAFIQUE_AHEAD, DECLARED_RAFIQUE) is WinnerCheck.NEITHER
    assert check_winner(c, None, None) is WinnerCheck.UNCHECKED
    assert check_winner(c, RAFIQUE_AHEAD, None) is WinnerCheck.NOT_LEADING
    assert check_winner(c, None, DECLARED_RAFIQUE) is WinnerCheck.NEITHER
    assert check_winner(c, result(1, 1), None) is WinnerCheck.NOT_LEADING  # a tie: nobody leads
    assert check_winner(replace(c, candidate_id=""), KHOSA_AHEAD, None) is WinnerCheck.UNCHECKED


def test_outlets_naming_different_winners_disagree():
    claims = said(KHOSA_WON, "Dawn", 1) + said("Saad Rafique won NA-122.", "Geo News", 2)
    found = [f for f in reconcile_claims(claims, {}) if f.code == "claim.outlets_disagree"]
    (f,) = found
    assert f.severity is Severity.MEDIUM and "won NA-122" in f.message
    same = said(KHOSA_WON, "Dawn", 1) + said("Latif Khosa won NA-122.", "Geo News", 2)
    assert reconcile_claims(same, {}) == []


def test_a_concession_by_the_forms_leader_is_a_finding():
    body = "In NA-122, Sardar Latif Khosa conceded defeat."
    codes, (f,) = findings(body, forms=KHOSA_AHEAD)
    assert codes == [("claim.concession_by_leader", Severity.HIGH)]
    assert "all 10 stations" in f.message and f.candidate == KHOSA
    assert findings(body, forms=result(60000, 50000, reported=4))[0] == [
        ("claim.concession_by_leader", Severity.MEDIUM)
    ]
    congratulated = "Sardar Latif Khosa congratulated Saad Rafique on his victory in NA-122."
    assert findings(congratulated, forms=KHOSA_AHEAD)[0] == [
        ("claim.concession_by_leader", Severity.HIGH)
    ]
    assert findings("In NA-122, Saad Rafique conceded defeat.", forms=KHOSA_AHEAD)[0] == []
    assert findings(body, declared=DECLARED_KHOSA)[0] == []  # the forms' leader only


# --- the command's output -------------------------------------------------------------


def test_counts_take_the_right_number():
    assert [counted(n, "claim") for n in (0, 1, 2)] == ["0 claims", "1 claim", "2 claims"]
    assert counted(1, "report") == "1 report" and counted(1200, "report") == "1,200 reports"


def rendered(read: ReadClaims) -> str:
    console = Console(width=200, record=True)
    console.print(claims_table("r.txt", read))
    return console.export_text()


def test_the_claims_table_names_a_backed_independent_and_counts_in_the_right_number():
    body = "PTI-backed Sardar Latif Khosa won NA-122."
    (claim,) = link_claims(extract(body).claims, [STRUCTURE])
    read = ReadClaims("Dawn", "2024-02-09", "", "0" * 64, [claim])
    text = rendered(read)
    assert "r.txt: 1 claim from Dawn" in text
    assert "Sardar Latif Khosa, IND (PTI-backed)" in text and "(PTI)" not in text
    assert "winner" in text and " won " in text
    assert "2 claims from" in rendered(replace(read, claims=[claim, claim]))
