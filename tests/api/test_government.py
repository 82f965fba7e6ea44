"""GET .../government: the arithmetic over HTTP, as of a size, with what-ifs and
eligibility in the query, refused with a rule code when the scenario is wrong."""

from __future__ import annotations

from tallyproof.ledger.entries import EntryKind, sign
from tests.helpers import ELECTION, form_doc

E = f"/v1/elections/{ELECTION}"


def _declare(served):
    """NA-1 won by Aamir, an independent backed by PTI (500 to 200 to 100)."""
    e, http = served.election, served.http
    http.post("/v1/forms", json=sign(EntryKind.FORM, form_doc(), e.po["S1"]).envelope())
    body = {
        "election": ELECTION,
        "contest": "NA-1",
        "source": "returning_officer",
        "votes": {"NA-1/a": 500, "NA-1/b": 200, "NA-1/c": 100},
        "time": "2024-02-09T10:00:00Z",
    }
    done = http.post("/v1/declarations", json=sign(EntryKind.DECLARATION, body, e.ro).envelope())
    assert done.status_code == 201, done.text
    return done.json()["receipt"]["tree_size"]


def test_government_with_a_what_if_and_an_exclusion(served_sqlite):
    size = _declare(served_sqlite)
    http = served_sqlite.http
    plain = http.get(f"{E}/government")
    assert plain.status_code == 200, plain.text
    doc = plain.json()
    assert doc["tree_size"] == size == int(plain.headers["tallyproof-tree-size"])
    assert (doc["total_seats"], doc["majority"], doc["undecided"]) == (336, 169, 265)
    assert doc["parties"] == [
        {
            "side": "IND (PTI-backed)",
            "independent": True,
            "general_before": 1,
            "general_after": 1,
            "leading": 0,
            "women": 0,
            "non_muslim": 0,
            "total": 1,
        }
    ]
    # if he joins PML-N: KP's 10 women's seats (10 * 1/1) and the 10 non-Muslims' seats
    joined = http.get(f"{E}/government", params={"what_if": "NA-1/a=PML-N"}).json()
    pmln = next(p for p in joined["parties"] if p["side"] == "PML-N")
    assert (pmln["general_after"], pmln["women"], pmln["non_muslim"], pmln["total"]) == (
        1,
        10,
        10,
        21,
    )
    kp = next(r for r in joined["reserved"] if r["pool"] == "women:Khyber Pakhtunkhwa")
    assert kp["awarded"] == {"PML-N": 10} and kp["basis"] == {"PML-N": 1}
    assert joined["joinings"] == [
        {
            "candidate": "NA-1/a",
            "contest": "NA-1",
            "party": "PML-N",
            "date": None,
            "in_window": True,
            "hypothetical": True,
        }
    ]
    out = http.get(
        f"{E}/government", params={"what_if": "backed:PTI=PML-N", "exclude": "PML-N"}
    ).json()
    assert sum(r["unallocated"] for r in out["reserved"]) == 70


def test_a_wrong_scenario_is_refused_with_its_rule(served_sqlite):
    _declare(served_sqlite)
    http = served_sqlite.http
    for params, code in (
        ({"what_if": "NA-1/a"}, "government.what_if"),
        ({"what_if": "NA-1/c=PTI"}, "government.not_returned"),
        ({"exclude": "NOPE"}, "government.unknown_party"),
        ({"notified": "2024-02-31"}, "government.date"),
        ({"province": "NA-1"}, "government.province"),
        ({"province": "NA-1=Kashmir"}, "government.unknown_province"),
    ):
        got = http.get(f"{E}/government", params=params)
        assert got.status_code == 422, (params, got.text)
        assert code in got.text
    assert http.get("/v1/elections/nope/government").status_code == 404
