"""Precision and recall of extraction against labelled claims. A predicted claim matches a
labelled one when it is of the same kind, its span overlaps the labelled span, and every
field the label gives agrees: value, qualifier, status, party, contest (linked code or as
written) and candidate (one name's words within the other's)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tallyproof.claims.gazetteer import name_tokens
from tallyproof.domain.claims import Claim, ClaimKind

_NOT_FIELDS = ("kind", "quote", "occurrence", "start", "end")


@dataclass(frozen=True)
class Label:
    kind: str
    start: int
    end: int
    fields: Mapping[str, Any]


def labels_from(text: str, items: Iterable[Mapping[str, Any]]) -> list[Label]:
    """Labels given by `quote` (and `occurrence`, from 0) or by `start`/`end` offsets."""
    out = []
    for item in items:
        fields = {k: v for k, v in item.items() if k not in _NOT_FIELDS}
        if "quote" in item:
            start = -1
            for _ in range(int(item.get("occurrence", 0)) + 1):
                start = text.index(item["quote"], start + 1)
            end = start + len(item["quote"])
        else:
            start, end = int(item["start"]), int(item["end"])
        out.append(Label(str(item["kind"]), start, end, fields))
    return out


def matches(claim: Claim, label: Label) -> bool:
    if str(claim.kind) != label.kind or not (claim.start < label.end and label.start < claim.end):
        return False
    got = {
        "value": claim.value,
        "qualifier": str(claim.qualifier),
        "status": str(claim.status) if claim.status else None,
        "party": claim.party_code or claim.party,
        "contest": claim.contest_code or claim.contest,
    }
    for key, want in label.fields.items():
        if key == "candidate":
            mine, theirs = set(name_tokens(claim.candidate)), set(name_tokens(str(want)))
            if not mine or not (mine <= theirs or theirs <= mine):
                return False
        elif got.get(key) != want:
            return False
    return True


@dataclass
class Score:
    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0

    @property
    def precision(self) -> float:
        found = self.true_positive + self.false_positive
        return self.true_positive / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positive + self.false_negative
        return self.true_positive / wanted if wanted else 1.0


@dataclass
class Mismatch:
    """A claim found but not labelled (`claim` set) or labelled but not found (`label` set)."""

    report: str
    claim: Claim | None = None
    label: Label | None = None


def score(
    reports: Iterable[tuple[str, list[Claim], list[Label]]],
) -> tuple[dict[str, Score], list[Mismatch]]:
    """Per claim kind (and "all"): true and false positives and false negatives, matching
    each label to at most one claim."""
    scores: dict[str, Score] = {str(k): Score() for k in ClaimKind} | {"all": Score()}
    misses: list[Mismatch] = []
    for name, claims, labels in reports:
        free = list(claims)
        for label in labels:
            hit = next((c for c in free if matches(c, label)), None)
            if hit is None:
                _count(scores, label.kind, "false_negative")
                misses.append(Mismatch(name, label=label))
            else:
                free.remove(hit)
                _count(scores, label.kind, "true_positive")
        for claim in free:
            _count(scores, str(claim.kind), "false_positive")
            misses.append(Mismatch(name, claim=claim))
    return scores, misses


def _count(scores: dict[str, Score], kind: str, what: str) -> None:
    for key in (kind, "all"):
        setattr(scores[key], what, getattr(scores[key], what) + 1)
