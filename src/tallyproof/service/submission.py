"""Submitting result forms (Form 45) and declared results (Form 47). Worker processes read,
parse, verify and encode each submission (service/preparation.py); the writer then applies
the rules against everything already accepted and appends the ledger leaf and the index
rows in one transaction, and hands out receipts."""

from __future__ import annotations

import gc
import itertools
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial

from tallyproof.domain.authority import check_signer
from tallyproof.domain.ballots import BallotAccount, check_ballot_account
from tallyproof.domain.claims import ClaimReport, check_claim_links
from tallyproof.domain.declarations import DeclaredResult, check_declaration
from tallyproof.domain.forms import ResultForm
from tallyproof.domain.problems import Problem
from tallyproof.domain.status import StationStatus
from tallyproof.domain.validation import StoredForm, check_form, check_status, check_succession
from tallyproof.ledger.entries import EntryKind, claimed_key_id
from tallyproof.service.outcomes import Outcome
from tallyproof.service.preparation import Prepared
from tallyproof.service.state import LedgerState
from tallyproof.service.writer import Appended, Batch, LedgerWriter
from tallyproof.store.records import (
    BallotAccountIndex,
    ClaimIndex,
    DeclarationIndex,
    FormIndex,
    ReportIndex,
)


def submit_forms(writer: LedgerWriter, envelopes: Sequence[object]) -> list[Outcome]:
    """Submit signed result forms as one transaction; each is accepted or refused alone."""
    return _finish(writer, _start(writer, EntryKind.FORM, envelopes), _FORM_RULES)


def submit_declarations(writer: LedgerWriter, envelopes: Sequence[object]) -> list[Outcome]:
    """Submit signed declared results (a returning officer's Form 47, a party's totals)."""
    return _finish(writer, _start(writer, EntryKind.DECLARATION, envelopes), _DECLARATION_RULES)


def submit_claim_reports(writer: LedgerWriter, envelopes: Sequence[object]) -> list[Outcome]:
    """Submit signed claim reports (a news report's claims, signed for `media:<outlet>`)."""
    return _finish(writer, _start(writer, EntryKind.CLAIM, envelopes), _CLAIM_RULES)


def submit_ballot_accounts(writer: LedgerWriter, envelopes: Sequence[object]) -> list[Outcome]:
    """Submit signed ballot paper accounts (Form 46), each signed by its station's presiding
    officer."""
    return _finish(writer, _start(writer, EntryKind.BALLOT_ACCOUNT, envelopes), _ACCOUNT_RULES)


def submit_prepared(
    writer: LedgerWriter, kind: EntryKind, prepared: Sequence[Prepared]
) -> list[Outcome]:
    """Documents already read, verified and encoded elsewhere (by an HTTP worker, with the
    keys the log registered), judged against the ledger and logged as one transaction."""
    done = list(prepared)
    return _finish(writer, Started(kind, lambda: iter([done])), _RULES[kind])


def ingest_forms(
    writer: LedgerWriter, batches: Iterable[Sequence[object]]
) -> Iterator[list[Outcome]]:
    """Submit a stream of batches, one transaction each; while a batch is being committed
    the workers prepare the next two, so neither side waits for the other. Outcomes come
    back batch by batch, indexed within their batch.

    A bulk ingest holds the ledger state and its input — about a million objects at a
    national night — and the cyclic collector would walk them all on every full collection;
    they live for the whole run, so they are frozen out of its sight first (refcounting
    still frees what is dropped)."""
    gc.freeze()
    waiting: deque[Started] = deque()
    for envelopes in batches:
        waiting.append(_start(writer, EntryKind.FORM, envelopes))
        if len(waiting) > _AHEAD:
            yield _finish(writer, waiting.popleft(), _FORM_RULES)
    while waiting:
        yield _finish(writer, waiting.popleft(), _FORM_RULES)


_AHEAD = 2  # batches being prepared while one commits


class Started:
    """A batch handed to the workers; its time is assigned when it is logged. `chunks`
    yields the prepared submissions in order, a chunk as soon as the workers finish it."""

    def __init__(self, kind: EntryKind, chunks: Callable[[], Iterator[list[Prepared]]]) -> None:
        self.kind, self.chunks = kind, chunks


def start(writer: LedgerWriter, kind: EntryKind, envelopes: Sequence[object]) -> Started:
    """Hand a batch of documents to the verify workers, however small, to be judged later
    by `finish` (service/loading.py starts the batches ahead of the one being judged)."""
    return _start(writer, kind, envelopes, inline_below=0)


def finish(writer: LedgerWriter, started: Started) -> list[Outcome]:
    """Judge and log a batch `start` handed to the workers."""
    return _finish(writer, started, _RULES[started.kind])


def _start(
    writer: LedgerWriter,
    kind: EntryKind,
    envelopes: Sequence[object],
    inline_below: int | None = None,
) -> Started:
    key_ids = [claimed_key_id(e) for e in envelopes]
    state = writer.state
    if not writer.in_bulk and any(k is not None and k not in state.keys for k in key_ids):
        state = writer.refresh()  # (in a bulk transaction the state is the writer's own)
    items = [
        (i, e, state.keys[k].raw if k in state.keys else None)
        for i, (e, k) in enumerate(zip(envelopes, key_ids, strict=True))
    ]
    return Started(kind, writer.workers.submit(str(kind), items, inline_below))


Authorise = Callable[[LedgerState, Prepared], list[Problem]]
Admit = Callable[[Batch, Prepared], list[Problem]]


def _finish(
    writer: LedgerWriter, started: Started, rules: tuple[Authorise, Admit]
) -> list[Outcome]:
    """Judge each prepared submission against the ledger so far: first whether its key may
    sign it (so a copy re-signed by the wrong key is refused, not called a duplicate), then
    whether it is already logged, then every other rule."""
    authorise, admit = rules
    kind = str(started.kind)
    chunks = started.chunks()
    first = next(chunks, [])
    outcomes: list[Outcome] = []
    duplicates: list[Prepared] = []
    accepted: list[tuple[Prepared, Appended]] = []
    more = next(chunks, None)
    if more is None and all(p.problems for p in first):  # nothing to log: no transaction
        outcomes += [Outcome(p.index, kind, p.entry_id, p.problems) for p in first]
    else:
        with writer.transaction() as batch:
            for chunk in itertools.chain([first], [] if more is None else [more], chunks):
                for p in chunk:
                    if p.problems:
                        outcomes.append(Outcome(p.index, kind, p.entry_id, p.problems))
                        continue
                    problems = authorise(batch.state, p)
                    if not problems and (kind, p.entry_id) in batch.state.entries:
                        duplicates.append(p)
                        continue
                    problems = problems or admit(batch, p)
                    if problems:
                        outcomes.append(Outcome(p.index, kind, p.entry_id, tuple(problems)))
                    else:
                        accepted.append((p, batch.appended[-1]))
    outcomes += [
        Outcome(p.index, a.kind, a.entry_id, make_receipt=partial(writer.receipt_of, batch, a))
        for p, a in accepted
    ]
    outcomes += [_duplicate(writer, kind, p) for p in duplicates]
    return sorted(outcomes, key=lambda o: o.index)


def _duplicate(writer: LedgerWriter, kind: str, p: Prepared) -> Outcome:
    assert p.entry_id is not None
    receipt = partial(writer.receipt_for_entry, kind, p.entry_id)
    indexes = {
        EntryKind.FORM: writer.state.forms,
        EntryKind.DECLARATION: writer.state.declarations,
        EntryKind.BALLOT_ACCOUNT: writer.state.ballot_accounts,
    }
    stored = indexes.get(EntryKind(kind), {}).get(p.entry_id)
    note = "already in the ledger; this is its original receipt"
    if stored is not None and stored.superseded:
        note += "; it has since been superseded"
    return Outcome(p.index, kind, p.entry_id, duplicate=True, note=note, make_receipt=receipt)


def _authorise(
    state: LedgerState, p: Prepared, station: str | None, contests: Sequence[str]
) -> list[Problem]:
    """The document's election exists and its key may sign it at `station` (None for a
    contest-wide document) for every contest it names (docs/rules.md, "Who may sign what")."""
    doc = p.doc
    assert doc is not None
    if doc.election not in state.elections:
        return _no_election(doc.election)
    grant, revoked = state.grants.get(p.key_id), p.key_id in state.revoked
    for contest in contests:
        problems = check_signer(grant, revoked, doc.source, station, contest, doc.election)
        if problems:
            return problems
    return []


def _authorise_form(state: LedgerState, p: Prepared) -> list[Problem]:
    form = p.doc
    assert isinstance(form, ResultForm)
    return _authorise(state, p, form.station, [form.contest])


def _admit_form(batch: Batch, p: Prepared) -> list[Problem]:
    """Every other rule for one form against the ledger so far; on success, append it."""
    state = batch.state
    form = p.doc
    assert isinstance(form, ResultForm) and p.entry_id is not None
    problems = check_form(state.elections[form.election], form)
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
    appended = _append(batch, EntryKind.FORM, form.election, p)
    stored = StoredForm(
        p.entry_id, appended.seq, form.election, form.station, form.contest, form.chain, False
    )
    state.add_form(form.election, stored, form.supersedes)
    batch.add(_form_index(p.entry_id, appended.seq, form))
    return []


def _append(batch: Batch, kind: EntryKind, election: str, p: Prepared) -> Appended:
    """Log a submission whose leaf the workers prepared."""
    assert p.entry_id is not None and p.leaf is not None
    return batch.append_leaf(kind, election, p.entry_id, p.key_id, p.leaf)


def _no_election(election: str) -> list[Problem]:
    return [Problem("form.unknown_election", "election", f"no election {election!r}")]


def _form_index(form_id: str, seq: int, form: ResultForm) -> FormIndex:
    return FormIndex(
        form_id,
        seq,
        form.election,
        form.station,
        form.contest,
        form.source.label,
        form.chain,
        form.source.official,
        form.supersedes,
        str(form.reason) if form.reason else None,
        form.votes,
        form.rejected,
        form.polled,
        form.issued,
        form.valid,
        form.evidence.document() if form.evidence else None,
    )


def _authorise_declaration(state: LedgerState, p: Prepared) -> list[Problem]:
    decl = p.doc
    assert isinstance(decl, DeclaredResult)
    return _authorise(state, p, None, [decl.contest])


def _admit_declaration(batch: Batch, p: Prepared) -> list[Problem]:
    state = batch.state
    decl = p.doc
    assert isinstance(decl, DeclaredResult) and p.entry_id is not None
    problems = check_declaration(state.elections[decl.election], decl)
    if problems:
        return problems
    chain = (decl.election, "", decl.contest, decl.chain)
    head = state.head(state.declarations, chain)
    target = state.declarations.get(decl.supersedes) if decl.supersedes else None
    problems = check_succession(decl, head, target)
    if problems:
        return problems
    appended = _append(batch, EntryKind.DECLARATION, decl.election, p)
    stored = StoredForm(
        p.entry_id, appended.seq, decl.election, "", decl.contest, decl.chain, False
    )
    state.add_declaration(decl.election, stored, decl.supersedes)
    batch.add(
        DeclarationIndex(
            p.entry_id,
            appended.seq,
            decl.election,
            decl.contest,
            decl.source.label,
            decl.chain,
            decl.supersedes,
        )
    )
    return []


def _authorise_claims(state: LedgerState, p: Prepared) -> list[Problem]:
    """A report's claims: signed for its outlet, for every contest it speaks of."""
    report = p.doc
    assert isinstance(report, ClaimReport)
    contests = sorted({c.contest_code for c in report.claims if c.contest_code}) or [""]
    return _authorise(state, p, None, contests)


def _admit_claims(batch: Batch, p: Prepared) -> list[Problem]:
    """Claims are linked only to what the election has."""
    report = p.doc
    assert isinstance(report, ClaimReport) and p.entry_id is not None
    problems = check_claim_links(batch.state.elections[report.election], report)
    if problems:
        return problems
    appended = _append(batch, EntryKind.CLAIM, report.election, p)
    batch.add(_report_index(p.entry_id, appended.seq, report))
    batch.add(*_claim_indexes(p.entry_id, appended.seq, report))
    return []


def _authorise_account(state: LedgerState, p: Prepared) -> list[Problem]:
    account = p.doc
    assert isinstance(account, BallotAccount)
    return _authorise(state, p, account.station, [account.contest])


def _admit_account(batch: Batch, p: Prepared) -> list[Problem]:
    """A Form 46 against the election and the accounts before it: its station serves the
    contest, and a second account for the same station and contest corrects the first."""
    state = batch.state
    account = p.doc
    assert isinstance(account, BallotAccount) and p.entry_id is not None
    problems = check_ballot_account(state.elections[account.election], account)
    if problems:
        return problems
    chain = (account.election, account.station, account.contest, account.chain)
    head = state.head(state.ballot_accounts, chain)
    target = state.ballot_accounts.get(account.supersedes) if account.supersedes else None
    problems = check_succession(account, head, target)
    if problems:
        return problems
    appended = _append(batch, EntryKind.BALLOT_ACCOUNT, account.election, p)
    stored = StoredForm(
        p.entry_id, appended.seq, account.election, account.station, account.contest,
        account.chain, False,
    )  # fmt: skip
    state.add_ballot_account(account.election, stored, account.supersedes)
    batch.add(
        BallotAccountIndex(
            p.entry_id,
            appended.seq,
            account.election,
            account.station,
            account.contest,
            account.supersedes,
            account.received,
            account.issued,
            account.spoilt,
            account.unused,
            account.tendered,
            account.evidence.document() if account.evidence else None,
        )
    )
    return []


_FORM_RULES = (_authorise_form, _admit_form)
_ACCOUNT_RULES = (_authorise_account, _admit_account)
_DECLARATION_RULES = (_authorise_declaration, _admit_declaration)
_CLAIM_RULES = (_authorise_claims, _admit_claims)
_RULES = {
    EntryKind.FORM: _FORM_RULES,
    EntryKind.DECLARATION: _DECLARATION_RULES,
    EntryKind.CLAIM: _CLAIM_RULES,
    EntryKind.BALLOT_ACCOUNT: _ACCOUNT_RULES,
}


def _report_index(report_id: str, seq: int, report: ClaimReport) -> ReportIndex:
    return ReportIndex(
        report_id,
        seq,
        report.election,
        report.outlet,
        report.published,
        report.title or None,
        report.text_sha256,
        len(report.claims),
    )


def _claim_indexes(report_id: str, seq: int, report: ClaimReport) -> list[ClaimIndex]:
    return [
        ClaimIndex(
            f"{report_id}:{i}",
            report_id,
            seq,
            report.election,
            report.outlet,
            c.attributed_to or report.outlet,
            str(c.kind),
            c.contest_code or None,
            c.candidate_id or None,
            c.party_code or c.party or None,
            c.value,
            str(c.status) if c.status else None,
            c.linked,
            c.document(),
        )
        for i, c in enumerate(report.claims)
    ]
