"""Form 46 over HTTP: POST /v1/ballot-accounts, the station answer listing the accounts and a
form's evidence, and the finding in the findings list."""

from __future__ import annotations

import hashlib

from tallyproof.ledger.entries import EntryKind, sign
from tests.helpers import ELECTION, form_doc

SHA = hashlib.sha256(b"scan").hexdigest()
ACCOUNT = {
    "election": ELECTION,
    "station": "S1",
    "contest": "NA-1",
    "source": "presiding_officer",
    "received": 1000,
    "issued": 580,
    "spoilt": 5,
    "unused": 415,
    "time": "2024-02-08T18:30:00+05:00",
}


def test_an_account_is_posted_shown_on_its_station_and_found_against_the_form(served_sqlite):
    e, http = served_sqlite.election, served_sqlite.http
    form = sign(EntryKind.FORM, form_doc(evidence={"sha256": SHA}), e.po["S1"]).envelope()
    assert http.post("/v1/forms", json=form).status_code == 201
    bad = sign(EntryKind.BALLOT_ACCOUNT, ACCOUNT | {"unused": 1}, e.po["S1"]).envelope()
    refused = http.post("/v1/ballot-accounts", json=bad)
    assert refused.status_code == 422 and refused.json()["code"] == "ballots.account_mismatch"
    good = sign(EntryKind.BALLOT_ACCOUNT, ACCOUNT, e.po["S1"]).envelope()
    posted = http.post("/v1/ballot-accounts", json={"ballot_accounts": [good]})
    assert posted.status_code == 200 and posted.json()["accepted"] == 1
    station = http.get(f"/v1/elections/{ELECTION}/stations/S1").json()["station"]
    listed = http.get(f"/v1/elections/{ELECTION}/stations/S1/ballot-accounts").json()
    (account,) = listed["ballot_accounts"]
    assert (account["issued"], account["current"]) == (580, True)
    assert station["forms"][0]["evidence"] == {"sha256": SHA}
    findings = http.get(f"/v1/elections/{ELECTION}/findings").json()["findings"]
    assert [f["code"] for f in findings] == ["ballots.issued_differs_from_polled"]
