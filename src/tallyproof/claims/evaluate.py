"""Precision and recall of extraction against labelled claims. A predicted claim matches a
labelled one when it is of the same kind, its span overlaps the labelled span, and the
fields the scoring mode compares agree:

- `fields`: every field the label gives (value, qualifier, status, party, contest, candidate);
- `value`: what was claimed, not whose: value, qualifier and status;
- `strict`: what and whose: value, qualifier, status, the person (the candidate; for seats,
  the party) and the contest, as far as the label gives them (`"candidate": null`: nobody).
  A claim the extractor held back as unsure is no prediction here, except that it is the
  right answer to a label a careful reader marked ambiguous.

Names match when one's words are within the other's; parties by any of their spellings;
contests by the linked code or as written."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from tallyproof.claims.gazetteer import PARTY_BY_ALIAS, name_tokens
from tallyproof.domain.claims import Claim, ClaimKind
from tallyproof.domain.structure import ElectionStructure

_NOT_FIELDS = ("kind", "quote", "occurrence", "start", "end", "ambiguous")
MODES = ("fields", "value", "strict")
_WHAT = ("value", "qualifier", "status")


@dataclass(frozen=True)
class Label:
    kind: str
    start: int
    end: int
    fields: Mapping[str, Any]
    ambiguous: bool = False  # a careful reader cannot tell whose claim it is


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
        ambiguous = bool(item.get("ambiguous"))
        out.append(Label(str(item["kind"]), start, end, fields, ambiguous))
    return out


def matches(claim: Claim, label: Label, mode: str = "fields") -> bool:
    if str(claim.kind) != label.kind or not (claim.start < label.end and label.start < claim.end):
        return False
    if mode == "fields":
        return all(_agrees(claim, k, v) for k, v in label.fields.items())
    what = all(_agrees(claim, k, v) for k, v in label.fields.items() if k in _WHAT)
    if mode == "value" or not what:
        return what
    if label.ambiguous:
        return bool(claim.unsure)
    if claim.unsure:
        return False
    whose = ("party",) if label.kind == "seats" else ("candidate",)
    return all(_agrees(claim, k, label.fields[k]) for k in (*whose, "contest") if k in label.fields)


def _agrees(claim: Claim, key: str, want: Any) -> bool:
    if key == "candidate":
        if want is None:
            return not claim.candidate
        mine, theirs = set(name_tokens(claim.candidate)), set(name_tokens(str(want)))
        return bool(mine) and (mine <= theirs or theirs <= mine)
    if key == "party":
        return _party(claim.party_code or claim.party) == _party(want)
    if key == "contest":
        return (claim.contest_code or claim.contest or None) == want
    got = {
        "value": claim.value,
        "qualifier": str(claim.qualifier),
        "status": str(claim.status) if claim.status else None,
    }
    return got.get(key) == want


def roster_named(claims: Iterable[Claim], structures: Iterable[ElectionStructure]) -> list[Claim]:
    """Linked claims carry the roster's name for their candidate, as a results page shows it,
    so that a spelling the roster resolved ("Yasmin") scores as the candidate it is."""
    names = {
        (s.election.id, k.id): k.name for s in structures for c in s.contests for k in c.candidates
    }
    return [
        replace(c, candidate=names[c.election, c.candidate_id]) if c.candidate_id else c
        for c in claims
    ]


def _party(name: Any) -> str | None:
    """A party by its code, whatever spelling or slug ("Pakistan-Tehreek-e-Insaf": PTI)."""
    if not name:
        return None
    text = str(name)
    return PARTY_BY_ALIAS.get(text) or PARTY_BY_ALIAS.get(text.replace("-", " ")) or text


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
    reports: Iterable[tuple[str, list[Claim], list[Label]]], mode: str = "fields"
) -> tuple[dict[str, Score], list[Mismatch]]:
    """Per claim kind (and "all"): true and false positives and false negatives, matching
    each label to at most one claim. In `strict` mode a claim held back as unsure that
    answers no ambiguous label is left out: it asserted nobody."""
    scores: dict[str, Score] = {str(k): Score() for k in ClaimKind} | {"all": Score()}
    misses: list[Mismatch] = []
    for name, claims, labels in reports:
        free = list(claims)
        for label in labels:
            hit = next((c for c in free if matches(c, label, mode)), None)
            if hit is None:
                _count(scores, label.kind, "false_negative")
                misses.append(Mismatch(name, label=label))
            else:
                free.remove(hit)
                _count(scores, label.kind, "true_positive")
        for claim in free:
            if mode == "strict" and claim.unsure:
                continue
            _count(scores, str(claim.kind), "false_positive")
            misses.append(Mismatch(name, claim=claim))
    return scores, misses


def _count(scores: dict[str, Score], kind: str, what: str) -> None:
    for key in (kind, "all"):
        setattr(scores[key], what, getattr(scores[key], what) + 1)
