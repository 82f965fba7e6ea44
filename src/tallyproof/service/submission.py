"""Submitting result forms (Form 45) and declared results (Form 47): read the envelope,
check the signature, apply the rules against everything already accepted, append to the
ledger with the index rows and tally deltas in one transaction, then hand out receipts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tallyproof.domain.authority import check_signer
from tallyproof.domain.declarations import DeclaredResult, check_declaration, parse_declaration
from tallyproof.domain.forms import ResultForm, parse_form
from tallyproof.domain.problems import Problem, Rejected
from tallyproof.domain.status import StationStatus
from tallyproof.domain.validation import (
    StoredForm,
    check_form,
    check_status,
    check_succession,
)
from tallyproof.ledger.entries import EntryKind, EnvelopeError, Signed, read_envelope
from tallyproof.service.context import Appended, Batch, Context
from tallyproof.service.outcomes import Outcome
from tallyproof.service.state import LedgerState
from tallyproof.store import schema

Document = ResultForm | DeclaredResult


@dataclass(frozen=True, slots=True)
class Pending:
    """A submission that parsed and whose signature is still to be judged."""

    index: int
    signed: Signed
    entry_id: str
    doc: Document


def submit_forms(ctx: Context, envelopes: Sequence[object]) -> list[Outcome]:
    """Submit signed result forms as one transaction; each is accepted or refused alone."""
    return _submit(ctx, envelopes, EntryKind.FORM, parse_form, _admit_form)


def submit_declarations(ctx: Context, envelopes: Sequence[object]) -> list[Outcome]:
    """Submit signed declared results (a returning officer's Form 47, a party's totals)."""
    return _submit(ctx, envelopes, EntryKind.DECLARATION, parse_declaration, _admit_declaration)


Admit = Callable[[Batch, Pending, "_Counts"], list[Problem]]


def _submit(
    ctx: Context,
    envelopes: Sequence[object],
    kind: EntryKind,
    parse: Callable[[Any], Document],
    admit: Admit,
) -> list[Outcome]:
    pending, outcomes = read_submissions(envelopes, kind, parse)
    verified, refused = verify_signatures(ctx, pending)
    outcomes += refused
    outcomes += _commit(ctx, verified, admit)
    return sorted(outcomes, key=lambda o: o.index)


def read_submissions(
    envelopes: Iterable[object], kind: EntryKind, parse: Callable[[Any], Document]
) -> tuple[list[Pending], list[Outcome]]:
    """Envelope and document shape, before any state is consulted."""
    pending: list[Pending] = []
    refused: list[Outcome] = []
    for i, envelope in enumerate(envelopes):
        try:
            signed = read_envelope(envelope, kind)
        except EnvelopeError as err:
            refused.append(Outcome(i, kind, problems=(Problem(err.code, err.field, str(err)),)))
            continue
        try:
            doc = parse(signed.body)
        except Rejected as err:
            refused.append(Outcome(i, kind, signed.body_id, problems=err.problems))
            continue
        pending.append(Pending(i, signed, signed.body_id, doc))
    return pending, refused


def verify_signatures(
    ctx: Context, pending: Sequence[Pending]
) -> tuple[list[Pending], list[Outcome]]:
    """Check each signature against its registered key, outside the writer's lock."""
    state = ctx.state
    if any(p.signed.key_id not in state.keys for p in pending):
        state = ctx.refresh()
    known = [p for p in pending if p.signed.key_id in state.keys]
    refused = [
        Outcome(
            p.index,
            p.signed.kind,
            p.entry_id,
            (
                Problem(
                    "signature.unknown_key",
                    "signature.key",
                    f"key {p.signed.key_id!r} is not registered",
                ),
            ),
        )
        for p in pending
        if p.signed.key_id not in state.keys
    ]
    checks = ctx.signatures.check(
        [(state.keys[p.signed.key_id].raw, p.signed.message, p.signed.signature) for p in known]
    )
    verified = []
    for p, ok in zip(known, checks, strict=True):
        if ok:
            verified.append(p)
        else:
            refused.append(
                Outcome(
                    p.index,
                    p.signed.kind,
                    p.entry_id,
                    (
                        Problem(
                            "signature.invalid",
                            "signature.value",
                            "the signature does not match the document and key",
                        ),
                    ),
                )
            )
    return verified, refused


class _Counts:
    """Votes of forms the tally deltas subtract when a form is superseded."""

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.pending: dict[str, tuple[dict[str, int], int, int]] = {}

    def of(self, form_id: str) -> tuple[dict[str, int], int, int]:
        if form_id in self.pending:
            return self.pending[form_id]
        row = self.batch.writer.form(form_id)
        assert row is not None, "a superseded form is always stored"
        return json.loads(row.votes), row.rejected, row.polled


def _commit(ctx: Context, verified: Sequence[Pending], admit: Admit) -> list[Outcome]:
    duplicates: list[Pending] = []
    accepted: list[tuple[Pending, Appended]] = []
    refused: list[Outcome] = []
    if verified:
        with ctx.transaction() as batch:
            counts = _Counts(batch)
            for p in verified:
                if (str(p.signed.kind), p.entry_id) in batch.state.entries:
                    duplicates.append(p)
                    continue
                problems = admit(batch, p, counts)
                if problems:
                    refused.append(Outcome(p.index, p.signed.kind, p.entry_id, tuple(problems)))
                else:
                    accepted.append((p, batch.appended[-1]))
    size = ctx.state.size
    outcomes = [
        Outcome(
            p.index,
            a.kind,
            a.entry_id,
            receipt=ctx.receipt(a.seq, size, a.kind, a.entry_id, a.received_at),
        )
        for p, a in accepted
    ]
    outcomes += [_duplicate(ctx, p) for p in duplicates]
    return outcomes + refused


def _duplicate(ctx: Context, p: Pending) -> Outcome:
    receipt = ctx.receipt_for_entry(str(p.signed.kind), p.entry_id)
    index = ctx.state.forms if p.signed.kind is EntryKind.FORM else ctx.state.declarations
    stored = index.get(p.entry_id)
    note = "already in the ledger; this is its original receipt"
    if stored is not None and stored.superseded:
        note += "; it has since been superseded"
    return Outcome(p.index, p.signed.kind, p.entry_id, receipt=receipt, duplicate=True, note=note)


def _admit_form(batch: Batch, p: Pending, counts: _Counts) -> list[Problem]:
    """All rules for one form against the ledger so far; on success, append it."""
    state = batch.state
    form = p.doc
    assert isinstance(form, ResultForm)
    structure = state.elections.get(form.election)
    if structure is None:
        return [Problem("form.unknown_election", "election", f"no election {form.election!r}")]
    problems = check_signer(
        state.grants.get(p.signed.key_id),
        p.signed.key_id in state.revoked,
        form.source,
        form.station,
        form.contest,
        form.election,
    )
    problems = problems or check_form(structure, form)
    if problems:
        return problems
    contest_status, _ = state.contest_status_of(form.election, form.contest)
    station_status, _, ordered_at = state.station_status_of(form.election, form.station)
    problems = check_status(form, contest_status, station_status)
    chain = (form.election, form.station, form.contest, form.chain)
    head = state.head(state.forms, chain)
    target = state.forms.get(form.supersedes) if form.supersedes else None
    re_poll_at = ordered_at if station_status is StationStatus.RE_POLL_ORDERED else None
    problems = problems or check_succession(form, head, target, re_poll_at)
    if problems:
        return problems
    appended = batch.append(p.signed, form.election, p.entry_id)
    stored = StoredForm(
        p.entry_id, appended.seq, form.election, form.station, form.contest, form.chain, False
    )
    state.add_form(form.election, stored, form.supersedes)
    batch.add_rows(schema.forms, [_form_row(p.entry_id, appended.seq, form)])
    if form.source.official:
        registered = structure.station(form.station).registered_voters  # type: ignore[union-attr]
        batch.add_rows(schema.tally_deltas, [_tally_deltas(p.entry_id, form, counts, registered)])
    counts.pending[p.entry_id] = (dict(form.votes), form.rejected, form.polled)
    return []


def _form_row(form_id: str, seq: int, form: ResultForm) -> dict[str, Any]:
    return {
        "form_id": form_id,
        "seq": seq,
        "election_id": form.election,
        "station": form.station,
        "contest": form.contest,
        "source": form.source.label,
        "chain": form.chain,
        "official": form.source.official,
        "supersedes": form.supersedes,
        "reason": str(form.reason) if form.reason else None,
        "votes": json.dumps(dict(form.votes), separators=(",", ":")),
        "rejected": form.rejected,
        "polled": form.polled,
    }


def _tally_deltas(
    form_id: str, form: ResultForm, counts: _Counts, registered: int
) -> dict[str, Any]:
    """What this form changes in its contest's consolidation: the whole form if it is the
    station's first, else the difference from the form it supersedes."""
    new: dict[str, int] = {**form.votes, ":rejected": form.rejected, ":polled": form.polled}
    if form.supersedes:
        old_votes, old_rejected, old_polled = counts.of(form.supersedes)
        old = {**old_votes, ":rejected": old_rejected, ":polled": old_polled}
    else:
        old = {}
        new |= {":stations": 1, ":registered": registered}
    deltas = {f: new.get(f, 0) - old.get(f, 0) for f in sorted(set(new) | set(old))}
    return {
        "election_id": form.election,
        "contest": form.contest,
        "form_id": form_id,
        "deltas": json.dumps({f: d for f, d in deltas.items() if d}, separators=(",", ":")),
    }


def _admit_declaration(batch: Batch, p: Pending, _counts: _Counts) -> list[Problem]:
    state: LedgerState = batch.state
    decl = p.doc
    assert isinstance(decl, DeclaredResult)
    structure = state.elections.get(decl.election)
    if structure is None:
        return [Problem("form.unknown_election", "election", f"no election {decl.election!r}")]
    problems = check_signer(
        state.grants.get(p.signed.key_id),
        p.signed.key_id in state.revoked,
        decl.source,
        None,
        decl.contest,
        decl.election,
    )
    problems = problems or check_declaration(structure, decl)
    if problems:
        return problems
    chain = (decl.election, "", decl.contest, decl.chain)
    head = state.head(state.declarations, chain)
    target = state.declarations.get(decl.supersedes) if decl.supersedes else None
    problems = check_succession(decl, head, target)
    if problems:
        return problems
    appended = batch.append(p.signed, decl.election, p.entry_id)
    stored = StoredForm(
        p.entry_id, appended.seq, decl.election, "", decl.contest, decl.chain, False
    )
    state.add_declaration(decl.election, stored, decl.supersedes)
    batch.add_rows(
        schema.declarations,
        [
            {
                "declaration_id": p.entry_id,
                "seq": appended.seq,
                "election_id": decl.election,
                "contest": decl.contest,
                "source": decl.source.label,
                "chain": decl.chain,
                "supersedes": decl.supersedes,
            }
        ],
    )
    return []
