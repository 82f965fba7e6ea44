"""Results delay over HTTP, on a real store: the answer names its tree size, a past size is
immutable, the per-contest route agrees with the election's, and bad questions are refused
with the field and the rule."""

from __future__ import annotations

import pytest

from tests.delaying import HOUR, build_night
from tests.helpers import ELECTION
from tests.serving import Server

E = f"/v1/elections/{ELECTION}"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    home = tmp_path_factory.mktemp("delay-api") / "home"
    before_s4 = build_night(home)
    server = Server(home).start()
    try:
        with server.client() as http:
            yield http, before_s4
    finally:
        server.stop()


def test_the_election_delay_names_its_size_and_the_slowest(served):
    http, _ = served
    got = http.get(f"{E}/delay")
    assert got.status_code == 200
    doc = got.json()
    assert doc["tree_size"] == int(got.headers["tallyproof-tree-size"])
    delay = doc["delay"]
    assert delay["close"] == "2024-02-08T17:00:00+05:00"
    assert delay["slowest"] == ["PP-1", "NA-1"]
    na = next(c for c in delay["contests"] if c["contest"] == "NA-1")
    assert (na["to_first_form"], na["to_all_forms"], na["to_declared"]) == (
        1.5 * HOUR,
        6 * HOUR,
        8 * HOUR,
    )
    assert [p["reported"] for p in delay["national"]["points"]] == [1, 2, 3, 4]
    assert [a["name"] for a in delay["assemblies"]] == ["NA", "PP"]
    top = http.get(f"{E}/delay", params={"slowest": 1, "by": "declared"}).json()
    assert top["delay"]["slowest"] == ["PP-1"] and top["delay"]["slowest_by"] == "declared"


def test_a_contest_as_of_a_past_size_is_immutable(served):
    http, before_s4 = served
    got = http.get(f"{E}/delay/NA-1", params={"as_of": before_s4})
    assert got.status_code == 200
    assert got.headers["cache-control"] == "public, max-age=31536000, immutable"
    delay = got.json()["delay"]
    assert (delay["reported"], delay["complete"], delay["to_all_forms"]) == (3, False, None)
    assert delay["as_of_time"] == "2024-02-08T16:15:30.000Z"
    later = http.get(f"{E}/delay/NA-1", params={"close": "2024-02-08T18:00:00+05:00"}).json()
    assert later["delay"]["to_first_form"] == 0.5 * HOUR


@pytest.mark.parametrize(
    ("path", "params", "status", "code", "field"),
    [
        ("/delay", {"close": "2024-02-08T17:00"}, 400, "delay.bad_close", "close"),
        ("/delay/NA-9", {}, 404, "form.unknown_contest", None),
        ("/delay", {"slowest": -1}, 400, "query.invalid", "slowest"),
    ],
)
def test_bad_questions_are_refused(served, path, params, status, code, field):
    http, _ = served
    got = http.get(E + path, params=params)
    assert got.status_code == status, got.text
    problem = got.json()
    if code:
        assert problem["code"] == code
    if field:
        assert problem["field"] == field
