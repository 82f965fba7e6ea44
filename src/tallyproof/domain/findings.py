"""Findings: problems the system found, with severity and the evidence that shows them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    CRITICAL = "critical"  # could change who won
    HIGH = "high"  # official numbers contradict each other
    MEDIUM = "medium"  # sources disagree, or a count is incomplete
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


@dataclass(frozen=True)
class Finding:
    """One discrepancy. `evidence` holds ids (forms, declarations, claims) and the numbers."""

    code: str
    severity: Severity
    message: str
    contest: str | None = None
    station: str | None = None
    candidate: str | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """Stable across runs: the same discrepancy on the same evidence has the same id."""
        key = json.dumps(
            [self.code, self.contest, self.station, self.candidate, self.evidence],
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "code": self.code,
            "severity": str(self.severity),
            "contest": self.contest,
            "station": self.station,
            "candidate": self.candidate,
            "message": self.message,
            "evidence": dict(self.evidence),
        }


_SUBJECTS = ("declaration", "declarations", "forms", "claims")


def finding_key(finding: Finding) -> tuple[Any, ...]:
    """What makes a finding the same finding as its evidence grows: its code, place and the
    documents it is about (a declaration, the two forms that disagree, the claims). A mismatch
    whose totals move as stations report stays one finding; a corrected form makes a new one."""
    subject = next((finding.evidence[k] for k in _SUBJECTS if k in finding.evidence), None)
    if finding.code.startswith("consolidation."):
        subject = finding.evidence.get("declaration", subject)
    about = json.dumps(subject, sort_keys=True, default=str)
    return (finding.code, finding.contest, finding.station, finding.candidate, about)


def by_severity(findings: list[Finding]) -> list[Finding]:
    """Most severe first, then by contest and station so listings are stable."""
    return sorted(
        findings,
        key=lambda f: (
            f.severity.rank,
            f.contest or "",
            f.station or "",
            f.candidate or "",
            f.code,
        ),
    )
