"""A synthetic national election night of any size: stations, contests, candidates, keys and
signed forms, reproducible from a seed. Used by the benchmarks and the crash tests."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tallyproof.importers.plan import Plan
from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.sample.generator import split_total

_CLOSE = "2024-02-08T17:00:00+05:00"


@dataclass(frozen=True)
class SyntheticSpec:
    """Each station serves one national and one provincial contest."""

    stations: int = 1000
    na_contests: int = 10
    pa_contests: int = 20
    candidates: int = 8
    seed: int = 1
    election_id: str = "synthetic"

    @property
    def forms(self) -> int:
        return 2 * self.stations


def _contests(spec: SyntheticSpec) -> list[dict[str, Any]]:
    out = []
    for assembly, count in (("NA", spec.na_contests), ("PP", spec.pa_contests)):
        for i in range(1, count + 1):
            code = f"{assembly}-{i}"
            cands = [
                {"id": f"{code}/{k}", "name": f"Candidate {k} of {code}", "party": f"P{k}"}
                for k in range(1, spec.candidates + 1)
            ]
            out.append({"code": code, "assembly": assembly, "name": code, "candidates": cands})
    return out


def synthetic_structure(spec: SyntheticSpec, admin_key: str) -> dict[str, Any]:
    rng = random.Random(spec.seed)
    stations = [
        {
            "id": f"ST{i:06d}",
            "name": f"Station {i}",
            "contests": [f"NA-{i % spec.na_contests + 1}", f"PP-{i % spec.pa_contests + 1}"],
            "registered_voters": rng.randint(600, 1400),
        }
        for i in range(spec.stations)
    ]
    return {
        "election": {
            "id": spec.election_id,
            "name": "Synthetic national election",
            "kind": "general",
            "date": "2024-02-08",
        },
        "parties": [{"code": f"P{k}", "name": f"Party {k}"} for k in range(1, spec.candidates + 1)],
        "assemblies": [
            {"code": "NA", "name": "National Assembly", "level": "national"},
            {"code": "PP", "name": "Provincial Assembly", "level": "provincial"},
        ],
        "contests": _contests(spec),
        "stations": stations,
        "admin_key": admin_key,
    }


def station_forms(spec: SyntheticSpec, structure: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every station's count for each of its contests: turnout around one half, candidate
    shares from the contest's popularity with station-level noise."""
    rng = random.Random(spec.seed + 1)
    popularity = {
        c["code"]: [rng.gammavariate(2.0, 1.0) for _ in c["candidates"]]
        for c in structure["contests"]
    }
    roster = {c["code"]: [k["id"] for k in c["candidates"]] for c in structure["contests"]}
    for n, station in enumerate(structure["stations"]):
        for code in station["contests"]:
            turnout = min(0.95, max(0.05, rng.gauss(0.5, 0.12)))
            polled = round(station["registered_voters"] * turnout)
            rejected = round(polled * rng.uniform(0.005, 0.03))
            weights = [p * math.exp(rng.gauss(0, 0.3)) for p in popularity[code]]
            votes = dict(zip(roster[code], split_total(polled - rejected, weights), strict=True))
            yield {
                "election": spec.election_id,
                "station": station["id"],
                "contest": code,
                "source": "presiding_officer",
                "votes": votes,
                "rejected": rejected,
                "polled": polled,
                "time": f"2024-02-08T{17 + n % 5:02d}:{n % 60:02d}:00+05:00",
            }


def synthetic_plan(spec: SyntheticSpec, batch: int = 2000) -> tuple[Plan, list[dict[str, Any]]]:
    """The set-up plan (structure and keys) and, apart, the signed form envelopes."""
    plan = Plan(elections=[spec.election_id])
    secret = f"synthetic:{spec.seed}:"
    admin = plan.key(f"{spec.election_id}/admin", secret + "admin")
    structure = synthetic_structure(spec, admin.public.b64)
    plan.add("structure", "structure", [structure], [admin])
    registrations = []
    for station in structure["stations"]:
        name = f"{spec.election_id}/po/{station['id']}"
        key = plan.key(name, secret + name)
        registrations.append(
            {
                "election": spec.election_id,
                "source": "presiding_officer",
                "key": {"name": name, "public_key": key.public.b64},
                "stations": [station["id"]],
                "time": "2024-02-08T06:00:00+05:00",
            }
        )
    for start in range(0, len(registrations), batch):
        chunk = registrations[start : start + batch]
        plan.add("register_keys", "presiding officers' keys", chunk, [admin] * len(chunk))
    envelopes = [
        sign(EntryKind.FORM, form, plan.keys[f"{spec.election_id}/po/{form['station']}"]).envelope()
        for form in station_forms(spec, structure)
    ]
    return plan, envelopes
