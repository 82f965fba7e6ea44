"""`tallyproof government`: the table, the what-if, JSON, and refusals with their rule."""

from __future__ import annotations

import json

from tests.helpers import ELECTION, cli, form_doc, make_election


def _home(tmp_path):
    e = make_election(tmp_path / "h")
    e.submit(form_doc(station="S1", votes=(500, 200, 100)))
    body = {"election": ELECTION, "contest": "NA-1", "source": "returning_officer"}
    votes = {"NA-1/a": 500, "NA-1/b": 200, "NA-1/c": 100}
    assert e.declare(body | {"votes": votes, "time": "2024-02-09T10:00:00Z"}).accepted
    e.ctx.close()
    return tmp_path / "h"


def test_the_table_and_a_what_if(tmp_path):
    home = _home(tmp_path)
    plain = cli(home, "government").stdout
    assert "IND (PTI-backed)" in plain and "majority 169" in plain and "336 seats" in plain
    joined = cli(home, "government", "--what-if", "NA-1/a=PML-N").stdout
    # PML-N: the seat, KP's 10 women's seats and the 10 non-Muslims' seats
    row = next(line for line in joined.splitlines() if "PML-N" in line and "│" in line)
    assert row.split("│")[-2].strip() == "21"
    assert "women:Khyber Pakhtunkhwa (10): PML-N 10" in joined
    assert "what-if: NA-1/a (NA-1) -> PML-N" in joined
    doc = json.loads(
        cli(
            home, "government", "--what-if", "backed:PTI=PML-N", "--exclude", "PML-N", "--json"
        ).stdout
    )
    assert sum(r["unallocated"] for r in doc["reserved"]) == 70
    # NA-1 counted in Punjab: PML-N's seat takes Punjab's 32 women's seats instead of KP's 10
    doc = json.loads(
        cli(
            home, "government", "--what-if", "NA-1/a=PML-N", "--province", "NA-1=Punjab", "--json"
        ).stdout
    )
    pmln = next(p for p in doc["parties"] if p["side"] == "PML-N")
    assert (pmln["women"], pmln["total"]) == (32, 43)


def test_a_wrong_what_if_is_refused_naming_the_rule(tmp_path):
    home = _home(tmp_path)
    done = cli(home, "government", "--what-if", "NA-1/a", check=None)
    assert done.returncode != 0 and "government.what_if" in done.stdout + done.stderr
    done = cli(home, "government", "--province", "NA-1=Kashmir", check=None)
    assert done.returncode != 0 and "government.unknown_province" in done.stdout + done.stderr
    done = cli(home, "government", "--exclude", "NOPE", check=None)
    assert done.returncode != 0 and "government.unknown_party" in done.stdout + done.stderr
