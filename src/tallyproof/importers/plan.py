"""A plan: signed submissions in ledger order, with the keys that signed them, run through
the same use cases as any other submission."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.ledger.keys import Signer
from tallyproof.service import admin, events, submission
from tallyproof.service.outcomes import Outcome
from tallyproof.service.writer import LedgerWriter

_SINGLE: dict[str, Callable[[LedgerWriter, object], Outcome]] = {
    "structure": admin.import_structure,
    "register_key": admin.register_key,
    "status": admin.order_status,
}
_BATCH: dict[str, Callable[[LedgerWriter, list[object]], list[Outcome]]] = {
    "register_keys": admin.register_keys,  # type: ignore[dict-item]
    "forms": submission.submit_forms,  # type: ignore[dict-item]
    "declarations": submission.submit_declarations,  # type: ignore[dict-item]
    "claims": submission.submit_claim_reports,  # type: ignore[dict-item]
    "events": events.submit_events,  # type: ignore[dict-item]
}
_KIND = {
    "structure": EntryKind.STRUCTURE,
    "register_key": EntryKind.KEY_REGISTRATION,
    "register_keys": EntryKind.KEY_REGISTRATION,
    "status": EntryKind.STATUS,
    "forms": EntryKind.FORM,
    "declarations": EntryKind.DECLARATION,
    "claims": EntryKind.CLAIM,
    "events": EntryKind.EVENT,
}


@dataclass(frozen=True)
class Step:
    """One batch to submit: `action` names the use case."""

    action: str  # structure, register_key(s), status, forms, declarations
    title: str
    envelopes: list[dict[str, Any]]


@dataclass
class Plan:
    elections: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    keys: dict[str, Signer] = field(default_factory=dict)

    def key(self, name: str, secret: str | None = None) -> Signer:
        """The named key; derived from `secret` when given (reproducible data), else new."""
        if name not in self.keys:
            self.keys[name] = (
                Signer.from_seed_text(name, secret) if secret else Signer.generate(name)
            )
        return self.keys[name]

    def add(
        self, action: str, title: str, bodies: list[dict[str, Any]], signers: list[Signer]
    ) -> None:
        envelopes = [
            sign(_KIND[action], b, k).envelope() for b, k in zip(bodies, signers, strict=True)
        ]
        if envelopes:
            self.steps.append(Step(action, title, envelopes))

    def write_keys(self, directory: Path) -> None:
        """Save the private keys (0600) so a user can go on submitting with them."""
        directory.mkdir(parents=True, exist_ok=True)
        for name, signer in self.keys.items():
            path = directory / (name.replace("/", "_").replace(":", "-") + ".key")
            path.write_text(signer.private_text() + "\n")
            path.chmod(0o600)


def run_step(writer: LedgerWriter, step: Step) -> list[Outcome]:
    if step.action in _SINGLE:
        return [_SINGLE[step.action](writer, e) for e in step.envelopes]
    return _BATCH[step.action](writer, list(step.envelopes))


def run_plan(
    writer: LedgerWriter, plan: Plan, on_step: Callable[[Step, list[Outcome]], None] | None = None
) -> list[Outcome]:
    """Submit every step. A plan is built to be accepted in full, so a refusal means the
    data and the rules disagree: that raises, naming the step and the rule."""
    outcomes: list[Outcome] = []
    for step in plan.steps:
        done = run_step(writer, step)
        refused = [o for o in done if not o.accepted]
        if refused:
            problems = "; ".join(str(p) for o in refused[:5] for p in o.problems)
            raise RuntimeError(f"step {step.title!r}: {len(refused)} refused: {problems}")
        if on_step:
            on_step(step, done)
        outcomes += done
    return outcomes
