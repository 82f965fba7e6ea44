"""Errors as values: every refused input carries a stable code, the field and a message."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One broken rule: `code` is stable (e.g. `votes.sum_mismatch`), `field` names the input."""

    code: str
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "field": self.field, "message": self.message}

    def __str__(self) -> str:
        return f"{self.code} at {self.field}: {self.message}"


class Rejected(Exception):  # noqa: N818 - a refusal, not an internal error
    """Raised when input breaks one or more rules; nothing was changed."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        if not self.problems:
            raise ValueError("Rejected needs at least one problem")
        super().__init__("; ".join(str(p) for p in self.problems))

    @property
    def codes(self) -> list[str]:
        return [p.code for p in self.problems]


def reject(code: str, field: str, message: str) -> Rejected:
    """Build a single-problem refusal, for `raise reject(...)`."""
    return Rejected([Problem(code, field, message)])
