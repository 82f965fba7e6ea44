"""Pakistan 2024 National Assembly: the commission's declared Form 47 totals against a
party's claimed Form 45 totals, for the winner and runner-up of all 266 general seats.

Imported as two sources declaring each contest: `returning_officer` (Form 47) and
`agent:PTI` (the party's sum of its Form 45 copies); every seat where they disagree is a
`declaration.source_conflict` finding."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tallyproof.importers.datasets import party_code, register
from tallyproof.importers.plan import Plan

ELECTION = "pk-ge-2024-na"
FILE = "updatedRes2024.json"
_WHEN = "2024-02-09T12:00:00+05:00"


def _candidate(seat: str, rank: int, row: dict[str, Any]) -> dict[str, Any]:
    """`PTI-IND` is a PTI-backed independent; `IND` an independent."""
    cand: dict[str, Any] = {"id": f"{seat}/{rank}", "name": row["candidate"]}
    party = str(row["party"])
    if party == "PTI-IND":
        cand["backed_by"] = "PTI"
    elif party != "IND":
        cand["party"] = party_code(party)
    return cand


def build(directory: Path) -> Plan:
    seats = json.loads((directory / FILE).read_text("utf-8"))
    parties = {"PTI"} | {
        party_code(r["party"])
        for s in seats
        for r in s["result"]
        if r["party"] not in ("PTI-IND", "IND")
    }
    structure = {
        "election": {
            "id": ELECTION,
            "name": "Pakistan general election 2024, National Assembly",
            "kind": "general",
            "date": "2024-02-08",
        },
        "parties": [{"code": p, "name": p} for p in sorted(parties)],
        "assemblies": [{"code": "NA", "name": "National Assembly", "level": "national"}],
        "contests": [
            {
                "code": s["seat"],
                "assembly": "NA",
                "name": s["region"],
                "candidates": [_candidate(s["seat"], i + 1, r) for i, r in enumerate(s["result"])],
            }
            for s in seats
        ],
    }
    plan = Plan(elections=[ELECTION])
    admin = f"{ELECTION}/admin"
    structure["admin_key"] = plan.key(admin).public.b64
    plan.add("structure", f"{ELECTION}: structure", [structure], [plan.key(admin)])
    codes = [s["seat"] for s in seats]
    sources = {"returning_officer": "declaredVotes", "agent:PTI": "actualVotes"}
    for source in sources:
        register(plan, ELECTION, admin, f"{ELECTION}/{source}", source, _WHEN, contests=codes)
    for source, column in sources.items():
        bodies = [
            {
                "election": ELECTION,
                "contest": s["seat"],
                "source": source,
                "time": _WHEN,
                "votes": {f"{s['seat']}/{i + 1}": r[column] for i, r in enumerate(s["result"])},
            }
            for s in seats
        ]
        signer = plan.key(f"{ELECTION}/{source}")
        plan.add("declarations", f"{ELECTION}: {source} totals", bodies, [signer] * len(bodies))
    return plan
