"""Claim extraction scored against labelled reports: precision and recall per claim kind and
per report, three ways (`fields`: every field a label gives; `value`: what was claimed;
`strict`: what and whose: value, person and contest), with the share of claims held back as
unsure. The sets: the held-out ones, the development set, and the real seed reports (when
../shared/seeds is beside the repository). A set with a `roster.json` is linked to the
elections it names (public data sets are read in place from ../shared/data); the others to
the sample election. `--show` lists every mismatch."""

from __future__ import annotations

import argparse
import json
from functools import cache
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from record import write_results
from tallyproof.claims.evaluate import MODES, Mismatch, Score, labels_from, roster_named, score
from tallyproof.claims.extract import extract
from tallyproof.claims.link import link_claims
from tallyproof.claims.roster import Roster
from tallyproof.domain.claims import Claim
from tallyproof.domain.structure import ElectionStructure, parse_structure
from tallyproof.importers.rosters import rosters
from tallyproof.sample.generator import build_sample

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "claims" / "corpus"
SHARED = ROOT.parent / "shared"
SEEDS = SHARED / "seeds"
DEFAULT_SETS = [
    "heldout5",
    "heldout6",
    "heldout",
    "heldout2",
    "heldout3",
    "heldout4",
    "dev",
    "dev2",
    "dev3",
    "dev4",
    "seeds",
]
console = Console(width=130)


@cache
def sample_structures() -> tuple[ElectionStructure, ...]:
    plan = build_sample()
    return tuple(
        parse_structure(step.envelopes[0]["structure"])
        for step in plan.steps
        if step.action == "structure"
    )


def corpus(name: str) -> list[tuple[str, str, list[Any], tuple[ElectionStructure, ...]]]:
    """(report name, text, label items, elections to link to) for a labelled set."""
    if name == "seeds":
        if not SEEDS.exists():
            return []
        labels = json.loads((CORPUS / "seeds.json").read_text("utf-8"))
        found = [(f, (SEEDS / f).read_text("utf-8"), items) for f, items in labels.items()]
        return [(*r, sample_structures()) for r in found]
    directory = CORPUS / name
    labels = json.loads((directory / "labels.json").read_text("utf-8"))
    linked = rosters(directory, SHARED / "data")
    return [
        (f, (directory / f).read_text("utf-8"), items, (linked or {}).get(f, sample_structures()))
        for f, items in labels.items()
    ]


def read_set(name: str) -> list[tuple[str, list[Claim], list[Any]]]:
    out = []
    for report, text, items, structures in corpus(name):
        claims = link_claims(extract(text, roster=Roster.of(structures)).claims, list(structures))
        out.append((report, roster_named(claims, structures), labels_from(text, items)))
    return out


def _figures(s: Score) -> dict[str, float]:
    return {
        "labelled": s.true_positive + s.false_negative,
        "found": s.true_positive + s.false_positive,
        "correct": s.true_positive,
        "precision": round(s.precision, 4),
        "recall": round(s.recall, 4),
    }


def table(title: str, rows: dict[str, dict[str, Score]]) -> Table:
    out = Table(title=title, title_justify="left")
    out.add_column("")
    for mode in MODES:
        out.add_column(f"{mode} P", justify="right")
        out.add_column(f"{mode} R", justify="right")
    out.add_column("labelled", justify="right")
    for key, by_mode in rows.items():
        cells = [f"{getattr(by_mode[m], a):.3f}" for m in MODES for a in ("precision", "recall")]
        s = by_mode["value"]
        out.add_row(key, *cells, str(s.true_positive + s.false_negative))
    return out


def evaluate(name: str, show: bool) -> dict[str, Any]:
    reports = read_set(name)
    by_mode: dict[str, dict[str, Score]] = {}
    misses: list[Mismatch] = []
    for mode in MODES:
        by_mode[mode], found = score(reports, mode)
        misses = found if mode == "strict" else misses
    kinds = {k: {m: by_mode[m][k] for m in MODES} for k in by_mode["value"]}
    per_report = {r: {m: score([(r, c, ls)], m)[0]["all"] for m in MODES} for r, c, ls in reports}
    claims = [c for _, cs, _ in reports for c in cs]
    held = sum(1 for c in claims if c.unsure)
    # the claims that can raise a finding: linked to a candidate or party without guessing
    linked, _ = score([(r, [c for c in cs if c.linked], ls) for r, cs, ls in reports], "strict")
    console.print(table(f"{name}: by kind", kinds))
    console.print(table(f"{name}: by report", per_report))
    console.print(
        f"{name}: {held} of {len(claims)} claims held back as unsure; of the linked ones, "
        f"strict precision {linked['all'].precision:.3f} (recall {linked['all'].recall:.3f})"
    )
    if show:
        _show(misses)
    return {
        "by_kind": {k: {m: _figures(s) for m, s in v.items()} for k, v in kinds.items()},
        "by_report": {r: {m: _figures(s) for m, s in v.items()} for r, v in per_report.items()},
        "claims": len(claims),
        "held_back": held,
        "linked_strict": _figures(linked["all"]),
    }


def _show(misses: list[Mismatch]) -> None:
    for m in misses:
        if m.claim is not None:
            c = m.claim
            console.print(
                f"  [red]extra[/] {m.report}: {c.kind} {c.value} {c.qualifier} "
                f"{c.status or ''} {c.candidate!r} {c.party} {c.contest_code or c.contest}"
                f"{' unsure: ' + c.unsure if c.unsure else ''} | {c.sentence[:90]!r}"
            )
        elif m.label is not None:
            console.print(f"  [yellow]missed[/] {m.report}: {m.label}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="*", default=DEFAULT_SETS)
    parser.add_argument("--show", action="store_true", help="list every strict mismatch")
    args = parser.parse_args()
    figures = {name: evaluate(name, args.show) for name in args.sets}
    console.print(f"figures: {write_results('claims-eval', {'sets': figures})}")


if __name__ == "__main__":
    main()
