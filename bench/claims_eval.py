"""Claim extraction scored against labelled reports: precision and recall per claim kind,
on the held-out set (the evaluation of record), the development set, and the real seed
reports (when ../shared/seeds is beside the repository). `--show` lists every mismatch."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from record import write_results
from tallyproof.claims.evaluate import Mismatch, Score, labels_from, score
from tallyproof.claims.extract import extract
from tallyproof.claims.link import link_claims
from tallyproof.domain.structure import ElectionStructure, parse_structure
from tallyproof.sample.generator import build_sample

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "claims" / "corpus"
SEEDS = ROOT.parent / "shared" / "seeds"
console = Console()


def sample_structures() -> list[ElectionStructure]:
    plan = build_sample()
    return [
        parse_structure(step.envelopes[0]["structure"])
        for step in plan.steps
        if step.action == "structure"
    ]


def corpus(name: str) -> list[tuple[str, str, list]]:
    """(report name, text, label items) for a labelled set."""
    if name == "seeds":
        if not SEEDS.exists():
            return []
        labels = json.loads((CORPUS / "seeds.json").read_text("utf-8"))
        return [(f, (SEEDS / f).read_text("utf-8"), items) for f, items in labels.items()]
    directory = CORPUS / name
    labels = json.loads((directory / "labels.json").read_text("utf-8"))
    return [(f, (directory / f).read_text("utf-8"), items) for f, items in labels.items()]


def evaluate(
    name: str, structures: list[ElectionStructure]
) -> tuple[dict[str, Score], list[Mismatch]]:
    reports = []
    for report, text, items in corpus(name):
        claims = link_claims(extract(text).claims, structures)
        reports.append((report, claims, labels_from(text, items)))
    return score(reports)


def _score_figures(s: Score) -> dict[str, float]:
    return {
        "labelled": s.true_positive + s.false_negative,
        "found": s.true_positive + s.false_positive,
        "correct": s.true_positive,
        "precision": round(s.precision, 4),
        "recall": round(s.recall, 4),
    }


def table(name: str, scores: dict[str, Score]) -> Table:
    out = Table(title=f"{name}: claim extraction", title_justify="left")
    for column in ("kind", "labelled", "found", "correct", "precision", "recall"):
        out.add_column(column, justify="left" if column == "kind" else "right")
    for kind, s in scores.items():
        out.add_row(
            kind,
            str(s.true_positive + s.false_negative),
            str(s.true_positive + s.false_positive),
            str(s.true_positive),
            f"{s.precision:.3f}",
            f"{s.recall:.3f}",
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "sets", nargs="*", default=["heldout", "heldout2", "heldout3", "dev", "seeds"]
    )
    parser.add_argument("--show", action="store_true", help="list every mismatch")
    args = parser.parse_args()
    structures = sample_structures()
    figures: dict[str, dict[str, dict[str, float]]] = {}
    for name in args.sets:
        scores, misses = evaluate(name, structures)
        console.print(table(name, scores))
        figures[name] = {kind: _score_figures(s) for kind, s in scores.items()}
        if args.show:
            for m in misses:
                if m.claim is not None:
                    c = m.claim
                    console.print(
                        f"  [red]extra[/] {m.report}: {c.kind} {c.value} {c.qualifier} "
                        f"{c.status or ''} {c.candidate!r} {c.party} {c.contest_code or c.contest}"
                    )
                elif m.label is not None:
                    console.print(f"  [yellow]missed[/] {m.report}: {m.label}")
    console.print(f"figures: {write_results('claims-eval', {'sets': figures})}")


if __name__ == "__main__":
    main()
