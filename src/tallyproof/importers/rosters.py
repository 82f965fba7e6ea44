"""The elections a labelled set of news reports is about, as structures the claim extractor
reads names and places against: a public data set by name (read in place, never copied), or
the set's own local contests with their candidates and places (`roster.json`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from tallyproof.domain.structure import ElectionStructure, parse_structure
from tallyproof.importers import pk2018, pk2024
from tallyproof.importers.plan import Plan

DATASETS: dict[str, Callable[[Path], Plan]] = {
    "pk2018-na-pa-candidates": pk2018.build,
    "pk2024-na-form45-vs-form47": pk2024.build,
}


def structure_of(plan: Plan) -> ElectionStructure:
    """The election structure a plan logs first."""
    step = next(s for s in plan.steps if s.action == "structure")
    return parse_structure(step.envelopes[0]["structure"])


@cache
def dataset_structure(name: str, data: Path) -> ElectionStructure:
    """A public data set's election, from its directory under `data`."""
    return structure_of(DATASETS[name](data / name))


def local_structure(eid: str, contests: list[dict[str, Any]]) -> ElectionStructure:
    """A set's own local contests as an election; a contest's places join its name, which
    is where the extractor looks for them."""
    parties = sorted({k["party"] for c in contests for k in c["candidates"] if k.get("party")})
    return parse_structure(
        {
            "election": {"id": eid, "name": eid, "kind": "local_government", "date": "2021-12-19"},
            "parties": [{"code": p, "name": p} for p in parties],
            "assemblies": [{"code": "LG", "name": "Local government", "level": "local"}],
            "contests": [
                {
                    "code": c["code"],
                    "assembly": "LG",
                    "name": " ".join([c["name"], *c.get("places", [])]),
                    "candidates": [
                        {"id": f"{c['code']}/{i + 1}", "name": k["name"]}
                        | ({"party": k["party"]} if k.get("party") else {})
                        for i, k in enumerate(c["candidates"])
                    ],
                }
                for c in contests
            ],
        }
    )


def rosters(directory: Path, data: Path) -> dict[str, tuple[ElectionStructure, ...]] | None:
    """Each report's elections, from the set's roster.json (None without one); the public
    data sets it names are read from `data`."""
    path = directory / "roster.json"
    if not path.exists():
        return None
    doc = json.loads(path.read_text("utf-8"))
    elections: dict[str, ElectionStructure] = {}
    for eid, spec in doc["elections"].items():
        if "dataset" in spec:
            elections[eid] = dataset_structure(spec["dataset"], data)
        else:
            elections[eid] = local_structure(eid, spec["contests"])
    return {report: tuple(elections[e] for e in ids) for report, ids in doc["reports"].items()}
