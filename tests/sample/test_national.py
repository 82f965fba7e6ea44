"""The national election of the simulator: Pakistan's 2024 general election in shape (its
seats under their real codes, its voters, stations and parties), at full scale for what is
cheap to build, and small enough for a test night while keeping every contest."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tallyproof.domain.structure import parse_structure
from tallyproof.ledger.canonical import canonical
from tallyproof.sample.national import (
    NATIONAL_STATIONS,
    POSTPONED,
    REGIONS,
    allocate,
    build_national,
)

URDU = re.compile(r"[\u0600-\u06ff]")
NA_RANGES = {"KP": (1, 45), "ICT": (46, 48), "PUNJAB": (49, 189), "SINDH": (190, 250),
             "BALOCHISTAN": (251, 266)}  # fmt: skip


@pytest.fixture(scope="module")
def national():
    return build_national()


@pytest.fixture(scope="module")
def small():
    return build_national(seed=11, stations=600)


def test_every_seat_under_its_real_code(national):
    by_assembly = Counter(c.assembly for c in national.contests.values())
    assert by_assembly == {"NA": 266, "PP": 297, "PS": 130, "PK": 115, "PB": 51}
    assert sum(n for a, n in by_assembly.items() if a != "NA") == 593
    for code, plan in national.contests.items():
        assembly, number = code.split("-")
        assert 1 <= int(number) <= by_assembly[assembly]
        if assembly == "NA":
            low, high = NA_RANGES[plan.region]
            assert low <= int(number) <= high, code
    assert national.contests["NA-122"].name == "Lahore-VI"
    assert national.contests["NA-8"].district == "Bajaur"


def test_the_four_postponed_contests(national):
    postponed = {c.code: c.postponed for c in national.contests.values() if c.postponed}
    assert postponed == POSTPONED
    assert set(postponed) == {"NA-8", "PK-22", "PK-91", "PP-266"}
    assert all("candidate" in reason for reason in postponed.values())


def test_voters_and_stations_at_national_scale(national):
    assert len(national.stations) == NATIONAL_STATIONS
    assert abs(national.registered - 128_000_000) / 128_000_000 < 0.03
    by_region = Counter()
    for s in national.stations:
        by_region[s.region] += s.registered
    for region in REGIONS:
        assert abs(by_region[region.code] - region.voters) / region.voters < 0.03, region.code
    assert 1_000 < national.registered / len(national.stations) < 2_000


def test_each_station_votes_for_one_national_and_one_provincial_seat(national):
    for s in national.stations:
        assembly = {c.split("-")[0] for c in s.contests}
        if s.region == "ICT":
            assert assembly == {"NA"}
        else:
            provincial = next(r.assembly for r in REGIONS if r.code == s.region)
            assert assembly == {"NA", provincial}, s.id
    assert sum(len(s.contests) for s in national.stations) > 1.98 * NATIONAL_STATIONS


def test_candidates_parties_and_the_pti_backed_independents(national):
    doc = national.document
    parties = {p["code"] for p in doc["parties"]}
    assert {"PTI", "PML-N", "PPP", "MQM-P", "JUI-F", "JI", "TLP", "IPP", "BAP", "BNP", "ANP",
            "PML-Q", "PTI-P"} <= parties  # fmt: skip
    sizes = [len(c["candidates"]) for c in doc["contests"]]
    assert 11 <= sum(sizes) / len(sizes) <= 13
    for contest in doc["contests"]:
        backed = [k for k in contest["candidates"] if k.get("backed_by") == "PTI"]
        assert len(backed) == 1 and "party" not in backed[0], contest["code"]
        assert not any(k.get("party") == "PTI" for k in contest["candidates"])
        for k in contest["candidates"]:
            assert k["name"].isascii() and URDU.search(k["name_ur"]), k
            assert not re.search("[A-Za-z]", k["name_ur"]), k


def test_regional_strength_shows_in_who_leads(national):
    """The strongest side by expected share: PPP in rural Sindh, MQM-P in Karachi, the
    PTI-backed independents across KP, Punjab split between them and PML-N."""
    leaders: dict[str, Counter] = {}
    for plan in national.contests.values():
        top = max(range(len(plan.shares)), key=lambda i: plan.shares[i])
        side = _side(national, plan.code, plan.candidates[top])
        key = "KARACHI" if plan.district.startswith("Karachi") else plan.region
        leaders.setdefault(key, Counter())[side] += 1
    assert leaders["SINDH"].most_common(1)[0][0] == "PPP"
    assert leaders["KARACHI"].most_common(1)[0][0] == "MQM-P"
    assert leaders["KP"].most_common(1)[0][0] == "PTI"
    assert {"PTI", "PML-N"} == {s for s, _ in leaders["PUNJAB"].most_common(2)}
    assert len(leaders["BALOCHISTAN"]) >= 4


def _side(national, code, cid):
    contest = next(c for c in national.document["contests"] if c["code"] == code)
    k = next(k for k in contest["candidates"] if k["id"] == cid)
    return k.get("party") or k.get("backed_by") or "IND"


def test_turnout_is_about_47_percent(national):
    polled = registered = 0
    for s in national.stations[::25]:
        count = national.count(s.id, s.contests[0])
        polled += count.polled
        registered += s.registered
    assert 0.45 < polled / registered < 0.50


def test_the_structure_is_accepted_by_the_domain(small):
    structure = parse_structure(small.document)
    assert len(structure.contests) == 859 and len(structure.stations) == 600
    assert structure.contest("NA-1").candidates[0].name_ur
    assert all(structure.stations_of(c.code) for c in structure.contests)


def test_a_small_election_keeps_every_contest(small):
    assert len(small.stations) == 600
    assert all(small.stations_of[code] for code in small.contests)
    assert len(small.contests) == 266 + 593


def test_the_same_seed_gives_the_same_election(small):
    again = build_national(seed=11, stations=600)
    assert canonical(again.document) == canonical(small.document)
    other = build_national(seed=12, stations=600)
    assert canonical(other.document) != canonical(small.document)
    s = small.stations[17]
    assert again.count(s.id, s.contests[0]) == small.count(s.id, s.contests[0])


@given(
    total=st.integers(0, 5000),
    parts=st.lists(
        st.tuples(st.just(0.0) | st.floats(0.01, 10.0), st.integers(0, 40)), min_size=1, max_size=12
    ),
)
def test_allocate_meets_every_floor_and_sums_exactly(total, parts):
    weights, floors = [w for w, _ in parts], [f for _, f in parts]
    got = allocate(total, weights, floors)
    assert all(g >= f for g, f in zip(got, floors, strict=True))
    if any(w > 0 for w in weights):
        assert sum(got) == max(total, sum(floors))


@settings(max_examples=10)  # an election a seed: a quarter of a second each
@given(seed=st.integers(0, 2**32 - 1))
def test_every_count_accounts_for_its_ballots_whatever_the_seed(seed):
    election = build_national(seed=seed, stations=600)
    for station in election.stations:
        for contest in station.contests:
            count = election.count(station.id, contest)
            assert sum(count.votes.values()) + count.rejected == count.polled
            assert count.polled <= station.registered
            assert set(count.votes) == set(election.contests[contest].candidates)
            assert min(count.votes.values()) >= 0
