"""Pakistan 2018 general election: every candidate's votes in every National and Provincial
Assembly seat, with registered, polled, valid and rejected votes, as declared results of the
returning officers. The ballot-accounting rules then report every seat that does not add up."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tallyproof.importers.datasets import party_code, register
from tallyproof.importers.plan import Plan

ELECTION = "pk-ge-2018"
FILES = ("na2018_election_2018_ann.json", "pa2018_prov2018.json")
_WHEN = "2018-07-26T23:00:00+05:00"
ASSEMBLIES = {
    "NA": ("National Assembly", "national"),
    "PP": ("Provincial Assembly of the Punjab", "provincial"),
    "PS": ("Provincial Assembly of Sindh", "provincial"),
    "PK": ("Provincial Assembly of Khyber Pakhtunkhwa", "provincial"),
    "PB": ("Provincial Assembly of Balochistan", "provincial"),
}


def _candidates(seat: str, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for i, r in enumerate(results):
        cand: dict[str, Any] = {"id": f"{seat}/{i + 1}", "name": r["candidate"] or "(unnamed)"}
        if r["party"] and r["party"] != "Independent":
            cand["party"] = party_code(r["party"])
        out.append(cand)
    return out


def _declaration(s: dict[str, Any]) -> dict[str, Any]:
    seat = s["seat"]
    return {
        "election": ELECTION,
        "contest": seat,
        "source": "returning_officer",
        "time": _WHEN,
        "votes": {f"{seat}/{i + 1}": r["votes"] for i, r in enumerate(s["results"])},
        "registered": s["Registered Votes"],
        "polled": s["Votes Polled"],
        "valid": s["Valid Votes"],
        "rejected": s["Rejected Votes"],
    }


def build(directory: Path) -> Plan:
    seats = [s for name in FILES for s in json.loads((directory / name).read_text("utf-8"))]
    parties = {
        party_code(r["party"]): r["party"]
        for s in seats
        for r in s["results"]
        if r["party"] and r["party"] != "Independent"
    }
    structure = {
        "election": {
            "id": ELECTION,
            "name": "Pakistan general election 2018",
            "kind": "general",
            "date": "2018-07-25",
        },
        "parties": [{"code": c, "name": n} for c, n in sorted(parties.items())],
        "assemblies": [{"code": c, "name": n, "level": lv} for c, (n, lv) in ASSEMBLIES.items()],
        "contests": [
            {
                "code": s["seat"],
                "assembly": s["seat"].split("-")[0],
                "name": s["seat"],
                "candidates": _candidates(s["seat"], s["results"]),
            }
            for s in seats
        ],
    }
    plan = Plan(elections=[ELECTION])
    admin = f"{ELECTION}/admin"
    structure["admin_key"] = plan.key(admin).public.b64
    plan.add("structure", f"{ELECTION}: structure", [structure], [plan.key(admin)])
    name = f"{ELECTION}/returning_officer"
    register(
        plan, ELECTION, admin, name, "returning_officer", _WHEN, contests=[s["seat"] for s in seats]
    )
    bodies = [_declaration(s) for s in seats]
    plan.add(
        "declarations", f"{ELECTION}: declared results", bodies, [plan.key(name)] * len(bodies)
    )
    return plan
