"""The election administration's entries, each signed by the election's admin key:
the structure itself, key registrations and revocations, and status orders."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import partial

from tallyproof.domain.authority import (
    grant_of,
    parse_key_registration,
    parse_key_revocation,
)
from tallyproof.domain.problems import Problem, Rejected
from tallyproof.domain.status import (
    ContestStatus,
    check_transition,
    judged_from,
    parse_status_order,
)
from tallyproof.domain.structure import ElectionStructure, parse_structure
from tallyproof.ledger.entries import EntryKind, Signed
from tallyproof.ledger.keys import KeyTextError, PublicKey
from tallyproof.service.outcomes import Outcome
from tallyproof.service.preparation import OpenedAdmin, read_admin
from tallyproof.service.queries import UnknownElection, structure_of
from tallyproof.service.writer import Appended, Batch, LedgerWriter
from tallyproof.store.records import ElectionIndex, KeyIndex, RevocationIndex, StatusIndex

Apply = Callable[[Batch, Signed, str, bytes | None], list[Problem]]  # ..., verified by


def import_structure(writer: LedgerWriter, envelope: object) -> Outcome:
    """Register a new election. The structure names its admin key and is signed by it."""
    return _admin_entry(writer, envelope, EntryKind.STRUCTURE, _apply_structure)


def register_key(writer: LedgerWriter, envelope: object) -> Outcome:
    """Register a submitter's key for a source and its stations or contests."""
    return _admin_entry(writer, envelope, EntryKind.KEY_REGISTRATION, _apply_registration)


def register_keys(writer: LedgerWriter, envelopes: Sequence[object]) -> list[Outcome]:
    """Register many keys in one transaction (a commission's roll of presiding officers)."""
    return finish_registrations(writer, start_registrations(writer, envelopes), envelopes)


Opened = Callable[[], Iterator[OpenedAdmin]]


def start_registrations(writer: LedgerWriter, envelopes: Sequence[object]) -> Opened:
    """Have the verify workers read the registrations and check their admin signatures (a
    national roll is 91,200 of them), with the admin keys the writer knows now."""
    admins = {election: key.raw for election, key in writer.state.admin_keys.items()}
    items = list(enumerate(envelopes))
    return writer.workers.open_admin(str(EntryKind.KEY_REGISTRATION), items, admins)


def finish_registrations(
    writer: LedgerWriter, opened: Opened, envelopes: Sequence[object]
) -> list[Outcome]:
    """Judge and log registrations `start_registrations` handed to the workers."""
    kind = EntryKind.KEY_REGISTRATION
    return _admin_entries(writer, envelopes, kind, _apply_registration, opened())


def revoke_key(writer: LedgerWriter, envelope: object) -> Outcome:
    """Revoke a key: from this entry on, nothing it signs is accepted."""
    return _admin_entry(writer, envelope, EntryKind.KEY_REVOCATION, _apply_revocation)


def order_status(writer: LedgerWriter, envelope: object) -> Outcome:
    """Postpone or suspend a contest, suspend a station, order a re-poll, declare final."""
    return _admin_entry(writer, envelope, EntryKind.STATUS, _apply_status)


def election_for_admin(writer: LedgerWriter, election: str | None, admin: PublicKey) -> str:
    """The named election; else the only one; else the one `admin` is the admin key of.
    Refused (form.unknown_election, naming the choices) when none or several match."""
    state = writer.refresh()
    if election is not None or len(state.elections) <= 1:
        return structure_of(writer, election).election.id
    matches = sorted(e for e, key in state.admin_keys.items() if key.raw == admin.raw)
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise UnknownElection(
            "form.unknown_election",
            f"name the election (--election): key {admin.key_id} is the admin key of "
            f"{', '.join(matches)}",
        )
    raise UnknownElection(
        "form.unknown_election",
        f"name the election (--election): key {admin.key_id} is no election's admin key; "
        f"elections: {', '.join(sorted(state.elections))}",
    )


def _admin_entry(writer: LedgerWriter, envelope: object, kind: EntryKind, apply: Apply) -> Outcome:
    return _admin_entries(writer, [envelope], kind, apply)[0]


def _admin_entries(
    writer: LedgerWriter,
    envelopes: Sequence[object],
    kind: EntryKind,
    apply: Apply,
    opened: Iterator[OpenedAdmin] | None = None,
) -> list[Outcome]:
    """Each envelope is judged alone against everything before it, in one transaction.
    `opened`: the envelopes as the workers read them, their signatures checked there."""
    outcomes: list[Outcome] = []
    duplicates: list[tuple[int, str]] = []
    appended: list[tuple[int, Appended]] = []
    with writer.transaction() as batch:
        for index, envelope in enumerate(envelopes):
            done = next(opened) if opened is not None else read_admin(index, envelope, kind)
            if done.signed is None:
                assert done.problem is not None
                outcomes.append(Outcome(index, kind, problems=(done.problem,)))
                continue
            signed, verified = done.signed, done.verified_by
            entry_id = signed.body_id
            if (str(kind), entry_id) in batch.state.entries:
                # the signer first: a logged document re-signed by another key is refused
                problems = _admin_signature(batch, signed, _logged_election(signed), verified)
                if problems:
                    outcomes.append(Outcome(index, kind, entry_id, tuple(problems)))
                else:
                    duplicates.append((index, entry_id))
                continue
            try:
                problems = apply(batch, signed, entry_id, verified)
            except Rejected as err:
                problems = list(err.problems)
            if problems:
                outcomes.append(Outcome(index, kind, entry_id, tuple(problems)))
            else:
                appended.append((index, batch.appended[-1]))
    for index, a in appended:
        receipt = partial(writer.receipt_of, batch, a)
        outcomes.append(Outcome(index, kind, a.entry_id, make_receipt=receipt))
    for index, entry_id in duplicates:
        receipt = partial(writer.receipt_for_entry, str(kind), entry_id)
        outcomes.append(
            Outcome(
                index,
                kind,
                entry_id,
                make_receipt=receipt,
                duplicate=True,
                note="already in the ledger; this is its original receipt",
            )
        )
    return sorted(outcomes, key=lambda o: o.index)


def _admin_signature(
    batch: Batch, signed: Signed, election: str, verified: bytes | None = None
) -> list[Problem]:
    """Signed by the election's admin key: the key named, and the signature good (unless
    a worker already verified it with that very key)."""
    admin = batch.state.admin_keys.get(election)
    if admin is None:
        return [Problem("form.unknown_election", "election", f"no election {election!r}")]
    if signed.key_id != admin.key_id:
        return [
            Problem(
                "signature.not_admin",
                "signature.key",
                f"only {election}'s admin key {admin.key_id} signs this",
            )
        ]
    if verified != admin.raw and not admin.verify(signed.message, signed.signature):
        return [Problem("signature.invalid", "signature.value", "the admin signature is wrong")]
    return []


def _logged_election(signed: Signed) -> str:
    """The election an admin document (already logged, so well formed) belongs to."""
    election = signed.body.get("election")
    if signed.kind is EntryKind.STRUCTURE and isinstance(election, dict):
        election = election.get("id")
    return election if isinstance(election, str) else ""


def _election_of(batch: Batch, signed: Signed) -> tuple[str, ElectionStructure | None]:
    election = signed.body.get("election")
    election = election if isinstance(election, str) else ""
    return election, batch.state.elections.get(election)


def _apply_structure(
    batch: Batch, signed: Signed, entry_id: str, verified: bytes | None
) -> list[Problem]:
    structure = parse_structure(signed.body)
    election = structure.election.id
    if structure.admin_key is None:
        return [Problem("schema.missing", "admin_key", "the structure names its admin key")]
    try:
        admin = PublicKey.from_b64(f"{election}/admin", structure.admin_key)
    except KeyTextError as err:
        return [Problem("key.invalid", "admin_key", str(err))]
    if election in batch.state.elections:
        return [Problem("election.exists", "election.id", f"election {election!r} exists")]
    problems = _replaced_seats(batch, structure)
    if problems:
        return problems
    if signed.key_id != admin.key_id or not admin.verify(signed.message, signed.signature):
        return [
            Problem(
                "signature.invalid", "signature", "the structure must be signed by its admin key"
            )
        ]
    appended = batch.append(signed, election, entry_id)
    batch.state.elections[election] = structure
    batch.state.admin_keys[election] = admin
    batch.add(ElectionIndex(election, appended.seq))
    return []


def _replaced_seats(batch: Batch, structure: ElectionStructure) -> list[Problem]:
    """A by-election's contest may replace only a contest the ledger has made vacated."""
    problems = []
    for i, contest in enumerate(structure.contests):
        if contest.replaces is None:
            continue
        election, code = contest.replaces
        known = batch.state.elections.get(election)
        status = batch.state.contest_status_of(election, code)[0]
        if known is None or known.contest(code) is None:
            message = f"no contest {code!r} in election {election!r} to replace"
        elif status is not ContestStatus.VACATED:
            message = f"{election} {code} is {status}, not vacated: there is no seat to fill"
        else:
            continue
        problems.append(
            Problem("structure.replaces_not_vacated", f"contests[{i}].replaces", message)
        )
    return problems


def _apply_registration(
    batch: Batch, signed: Signed, entry_id: str, verified: bytes | None
) -> list[Problem]:
    election, structure = _election_of(batch, signed)
    problems = _admin_signature(batch, signed, election, verified)
    if problems or structure is None:
        return problems
    reg = parse_key_registration(signed.body, structure)
    try:
        key = PublicKey.from_b64(reg.name, reg.public_key)
    except KeyTextError as err:
        return [Problem("key.invalid", "key.public_key", str(err))]
    state = batch.state
    if key.key_id in state.keys or key.key_id == state.admin_keys[election].key_id:
        return [Problem("key.exists", "key.public_key", f"key {key.key_id} is already registered")]
    appended = batch.append(signed, election, entry_id)
    state.keys[key.key_id] = key
    state.grants[key.key_id] = grant_of(key.key_id, reg)
    batch.add(
        KeyIndex(
            key.key_id,
            election,
            reg.name,
            reg.public_key,
            reg.source.label,
            tuple(reg.stations) if reg.stations is not None else None,
            tuple(reg.contests) if reg.contests is not None else None,
            appended.seq,
        )
    )
    return []


def _apply_revocation(
    batch: Batch, signed: Signed, entry_id: str, verified: bytes | None
) -> list[Problem]:
    election, _ = _election_of(batch, signed)
    problems = _admin_signature(batch, signed, election, verified)
    if problems:
        return problems
    revocation = parse_key_revocation(signed.body)
    state = batch.state
    grant = state.grants.get(revocation.key_id)
    if grant is None or grant.election != election:
        return [Problem("key.unknown", "key_id", f"no key {revocation.key_id} in {election}")]
    if revocation.key_id in state.revoked:
        return [Problem("key.revoked", "key_id", f"key {revocation.key_id} is already revoked")]
    appended = batch.append(signed, election, entry_id)
    state.revoked.add(revocation.key_id)
    batch.add(RevocationIndex(revocation.key_id, revocation.reason, appended.seq))
    return []


def _apply_status(
    batch: Batch, signed: Signed, entry_id: str, verified: bytes | None
) -> list[Problem]:
    election, structure = _election_of(batch, signed)
    problems = _admin_signature(batch, signed, election, verified)
    if problems or structure is None:
        return problems
    order = parse_status_order(signed.body, structure)
    current = batch.state.status_now(election, order.scope, order.target)
    if order.scope == "contest":
        ordered, _ = batch.state.contest_status_of(election, order.target)
        current = judged_from(ordered, current, order.status)
    illegal = check_transition(order.scope, current, order.status)
    if illegal is not None:
        return [illegal]
    appended = batch.append(signed, election, entry_id)
    batch.state.set_status(
        election, order.scope, order.target, order.status, order.reason, appended.seq
    )
    batch.add(
        StatusIndex(appended.seq, election, order.scope, order.target, order.status, order.reason)
    )
    return []
