"""Sending the outbox to the log, and checking what comes back. Forms go in batches, in the
order they were signed; each attempt is recorded before its request leaves; when the log
cannot be reached or asks for a pause the device backs off (exponential, full jitter,
never sooner than Retry-After). An answer settles a form only once it checks out: a
receipt must verify against the log's key given at setup and be for exactly the document
signed. Later, `check_log` asks the log to prove its newest tree extends every receipt's."""

from __future__ import annotations

import base64
import binascii
import json
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from tallyproof import __version__
from tallyproof.client.outbox import UNSETTLED, Kept, Outbox, State, Verdict
from tallyproof.domain.problems import Problem
from tallyproof.ledger.cosignature import PolicyError, Witnessed, WitnessPolicy
from tallyproof.ledger.keys import PublicKey
from tallyproof.ledger.note import Checkpoint, NoteError
from tallyproof.ledger.receipts import (
    OTHER_LOG,
    PUBLISHED_INVALID,
    SPLIT_VIEW,
    UNWITNESSED,
    Receipt,
    ReceiptError,
    check_extends,
)

# Refusals that say the log does not know something yet (the device's key is registered, or
# the election loaded, later that night): the form is held and sent again, not refused.
WAITING = frozenset({"signature.unknown_key", "form.unknown_election"})
UNPROVED = "receipt.unproved"  # the log did not give a consistency proof it should hold
MAX_RETRY_AFTER = 3600.0  # a Retry-After longer than this is read as this
FORMS_PATH = "/v1/forms"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter: after n misses in a row, a uniform wait up to
    base * 2^(n-1), at most `cap`, so that thousands of devices whose network returns at
    the same moment do not all call at the same moment."""

    base: float = 1.0
    cap: float = 120.0

    def ceiling(self, misses: int) -> float:
        return 0.0 if misses <= 0 else min(self.cap, self.base * 2.0 ** min(misses - 1, 60))

    def wait(self, misses: int, rng: random.Random, retry_after: float | None = None) -> float:
        """Seconds to wait after `misses` misses in a row; never less than the log asked."""
        return max(rng.uniform(0.0, self.ceiling(misses)), retry_after or 0.0)


@dataclass(frozen=True)
class SyncOptions:
    batch_size: int = 500
    once: bool = False  # one pass over the forms due; stop at the first miss
    max_wait: float | None = None  # seconds the run may last; None: until the outbox is empty
    timeout: float = 60.0  # seconds for one request to be read or written
    policy: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass
class SyncReport:
    """What one run did, for the officer and the exit code."""

    requests: int = 0
    accepted: int = 0  # new entries of the log
    duplicates: int = 0  # already in the log: their original receipts, verified
    refused: int = 0
    held: int = 0  # to send again later: the log does not know the key or election yet, or
    # its answer for the form did not check out
    unverified: list[tuple[str, str]] = field(default_factory=list)  # entry id, why
    misses: int = 0  # requests that got no answer (unreachable, timed out, 5xx, 429)
    last_error: str = ""
    stopped: str = ""  # why the run stopped early: the log refused the request itself
    remaining: int = 0  # forms still to send when the run ended

    @property
    def settled(self) -> int:
        return self.accepted + self.duplicates + self.refused


ProgressHook = Callable[[SyncReport, str], None]


class Missed(Exception):  # noqa: N818 - a state of the network, not an error of the code
    """No usable answer: unreachable, timed out, 3xx (a captive portal), 5xx, 429, or a 200
    that is not the log's answer."""

    def __init__(self, message: str, retry_after: float | None = None, slow: bool = False) -> None:
        super().__init__(message)
        self.retry_after, self.slow = retry_after, slow


class TooLarge(Exception):  # noqa: N818 - the log's 413, handled by sending less
    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class Stopped(Exception):  # noqa: N818 - the log refused the request itself (400, 404, 415)
    """Sending again would change nothing: a wrong address, or a server that is not a log."""


def http_client(server: str, timeout: float) -> httpx.Client:
    """Timeouts on every request; redirects are not followed (a captive portal's 302 is not
    the log's answer)."""
    return httpx.Client(
        base_url=server,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)),
        headers={"user-agent": f"tallyproof-field/{__version__}"},
        follow_redirects=False,
    )


class Sync:
    """One run of sending the outbox."""

    def __init__(
        self,
        outbox: Outbox,
        http: httpx.Client,
        options: SyncOptions,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        progress: ProgressHook | None = None,
    ) -> None:
        self.outbox, self.http, self.options = outbox, http, options
        self.clock, self.sleep = clock, sleep
        self.rng = rng or random.Random()
        self.progress = progress or (lambda _report, _message: None)
        self.log_key = outbox.device().log_key
        self.size = options.batch_size
        self.report = SyncReport()
        self._deadline = None if options.max_wait is None else clock() + options.max_wait

    def run(self) -> SyncReport:
        """Send until the outbox is empty (or, with `once`, one pass), out of time, or
        stopped by the log; each form's fate is on disk as soon as it is known."""
        cursor = 0
        while not self.report.stopped and self._in_time() and self._device_ready():
            batch = self.outbox.due(self.clock(), cursor, self.size)
            if batch:
                if self._send(batch):
                    cursor = batch[-1].seq
                elif self.options.once and self.report.misses:
                    break
            elif self.options.once or not self._forms_ready():
                break
            else:
                cursor = 0
        self.report.remaining = sum(self.outbox.counts()[s] for s in UNSETTLED)
        return self.report

    # --- waiting -------------------------------------------------------------------------

    def _in_time(self) -> bool:
        return self._deadline is None or self.clock() < self._deadline

    def _device_ready(self) -> bool:
        """Wait out the backoff after missed requests (kept in the outbox, so a restarted
        run honours it too); False if that runs past the deadline or `once` was asked."""
        retry_at = self.outbox.device().retry_at
        if retry_at <= self.clock():
            return True
        return not self.options.once and self._sleep_until(retry_at, "the log did not answer")

    def _forms_ready(self) -> bool:
        """Wait for the next form held back to fall due; False if none is left to send."""
        due = self.outbox.next_due()
        if due is None:
            return False
        return self._sleep_until(due, "forms held back")

    def _sleep_until(self, moment: float, why: str) -> bool:
        if self._deadline is not None and moment > self._deadline:
            return False
        wait = moment - self.clock()
        if wait > 0:
            self.progress(self.report, f"{why}; next try in {wait:.0f} s")
            self.sleep(wait)
        return True

    # --- sending -------------------------------------------------------------------------

    def _send(self, batch: list[Kept]) -> bool:
        """One request; True when the log answered it, form by form."""
        now = self.clock()
        self.outbox.sending([k.seq for k in batch], now)
        self.report.requests += 1
        self.progress(self.report, f"sending {len(batch)}")
        try:
            outcomes = self._post(batch)
        except TooLarge as error:
            return self._shrink(batch, error.problem)
        except Missed as error:
            self._missed(batch, error)
            return False
        except Stopped as error:
            self.report.stopped = str(error)
            return False
        verdicts = [self._judge(k, o, now) for k, o in zip(batch, outcomes, strict=True)]
        self.outbox.record(verdicts, self.clock())
        self._count(verdicts)
        self.progress(self.report, "sent")
        return True

    def _post(self, batch: Sequence[Kept]) -> list[Mapping[str, Any]]:
        """The batch exactly as kept (each envelope's signed bytes); the answer's outcomes in
        the batch's order."""
        body = b'{"forms":[' + b",".join(k.envelope for k in batch) + b"]}"
        try:
            response = self.http.post(
                FORMS_PATH, content=body, headers={"content-type": "application/json"}
            )
        except httpx.TimeoutException as error:
            raise Missed(f"timed out: {error or type(error).__name__}", slow=True) from None
        except httpx.RequestError as error:
            raise Missed(f"unreachable: {error or type(error).__name__}") from None
        if response.status_code == 200:
            return outcomes_of(response, len(batch))
        _raise_for(response)
        raise Missed(f"unexpected answer {response.status_code}")

    def _missed(self, batch: Sequence[Kept], error: Missed) -> None:
        """Back off: the wait grows with the misses in a row, kept in the outbox. A timeout
        on a slow link also halves the batch."""
        misses = self.outbox.device().failures + 1
        wait = self.options.policy.wait(misses, self.rng, error.retry_after)
        self.outbox.missed([k.seq for k in batch], str(error), self.clock() + wait)
        if error.slow:
            self.size = max(1, len(batch) // 2)
        self.report.misses += 1
        self.report.last_error = str(error)
        self.progress(self.report, f"{error}; next try in {wait:.0f} s")

    def _shrink(self, batch: Sequence[Kept], problem: Problem) -> bool:
        """413: send half as many; a single form the log will not take is refused."""
        if len(batch) > 1:
            self.size = max(1, len(batch) // 2)
            return False
        only = batch[0]
        self.outbox.record(
            [Verdict(only.entry_id, State.REFUSED, problems=(problem,))], self.clock()
        )
        self.report.refused += 1
        return True

    # --- judging answers -----------------------------------------------------------------

    def _judge(self, kept: Kept, outcome: Mapping[str, Any], now: float) -> Verdict:
        named = outcome.get("id", kept.entry_id)
        if named != kept.entry_id:
            return self._hold(kept, f"the answer names another form ({named})", now)
        if outcome.get("accepted") is True:
            return self._accepted(kept, outcome, now)
        problems = problems_of(outcome.get("problems"))
        if not problems:
            return self._hold(kept, "refused without a rule named", now)
        if any(p.code in WAITING for p in problems):
            return self._hold(kept, "; ".join(str(p) for p in problems), now)
        return Verdict(kept.entry_id, State.REFUSED, problems=problems, note=_text(outcome))

    def _accepted(self, kept: Kept, outcome: Mapping[str, Any], now: float) -> Verdict:
        """Accepted only if the receipt verifies: the log's key signed its checkpoint, the
        inclusion proof leads there, and the leaf is exactly this device's signed form."""
        try:
            receipt = verified_receipt(outcome.get("receipt"), self.log_key, kept)
        except ReceiptError as error:
            self.report.unverified.append((kept.entry_id, f"{error.code}: {error}"))
            return self._hold(kept, f"{error.code}: {error}", now)
        duplicate = outcome.get("duplicate") is True
        return Verdict(
            kept.entry_id, State.ACCEPTED, receipt.as_dict(), duplicate, note=_text(outcome)
        )

    def _hold(self, kept: Kept, why: str, now: float) -> Verdict:
        """Keep the form to send again later, backing off on its own attempts."""
        self.report.held += 1
        wait = self.options.policy.wait(kept.attempts + 1, self.rng)
        return Verdict(kept.entry_id, State.SENT, error=why, retry_at=now + wait)

    def _count(self, verdicts: Sequence[Verdict]) -> None:
        for v in verdicts:
            if v.state is State.ACCEPTED:
                self.report.duplicates += v.duplicate
                self.report.accepted += not v.duplicate
            elif v.state is State.REFUSED:
                self.report.refused += 1


def verified_receipt(doc: object, log_key: PublicKey, kept: Kept) -> Receipt:
    """The receipt, if it checks out against the log's key and the form as signed."""
    if not isinstance(doc, Mapping):
        raise ReceiptError("accepted without a receipt")
    receipt = Receipt.from_dict(doc)
    checkpoint = receipt.verify(log_key, kept.signed())
    if checkpoint.origin != log_key.name:
        raise ReceiptError(f"checkpoint of {checkpoint.origin!r}, not {log_key.name!r}", OTHER_LOG)
    return receipt


def outcomes_of(response: httpx.Response, count: int) -> list[Mapping[str, Any]]:
    """One outcome per form sent, by index; anything else is not the log's answer (a proxy's
    page, a truncated body) and is treated as no answer."""
    try:
        doc = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise Missed("the answer is not JSON") from None
    outcomes = doc.get("outcomes") if isinstance(doc, dict) else None
    if not isinstance(outcomes, list) or not all(isinstance(o, dict) for o in outcomes):
        raise Missed("the answer holds no outcomes")
    by_index = {o.get("index"): o for o in outcomes if type(o.get("index")) is int}
    if len(outcomes) != count or sorted(by_index) != list(range(count)):
        raise Missed(f"the answer has {len(outcomes)} outcomes for {count} forms")
    return [by_index[i] for i in range(count)]


def problems_of(doc: object) -> tuple[Problem, ...]:
    """The rules the log says a form broke, as sent (strings only)."""
    if not isinstance(doc, list):
        return ()
    found = []
    for p in doc:
        if isinstance(p, dict) and all(isinstance(p.get(k), str) for k in ("code", "message")):
            found.append(Problem(p["code"], str(p.get("field", "$")), p["message"]))
    return tuple(found)


def _text(outcome: Mapping[str, Any]) -> str:
    note = outcome.get("note")
    return note if isinstance(note, str) else ""


def _raise_for(response: httpx.Response) -> None:
    """Map a status other than 200: 413 send less; 429, 3xx, 408 and 5xx back off; any other
    4xx stops (the request itself is wrong for this server)."""
    status = response.status_code
    problem = _problem(response)
    if status == 413:
        raise TooLarge(problem)
    if status in (408, 429) or status >= 500 or 300 <= status < 400:
        raise Missed(f"{status} {problem}", retry_after=retry_after(response))
    if 400 <= status < 500:
        raise Stopped(f"the log refused the request: {status} {problem}")


def _problem(response: httpx.Response) -> Problem:
    """An RFC 9457 problem's code, field and detail, or the status alone."""
    try:
        doc = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("code"), str):
        field_name = doc.get("field") if isinstance(doc.get("field"), str) else "$"
        return Problem(doc["code"], field_name, str(doc.get("detail", "")))
    return Problem(f"http.{response.status_code}", "$", response.reason_phrase)


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After as seconds (a number or an HTTP date), at most MAX_RETRY_AFTER."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        moment = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return min(max(moment - time.time(), 0.0), MAX_RETRY_AFTER)


# --- the log, later ------------------------------------------------------------------------


@dataclass
class LogCheck:
    """Whether the log's newest tree extends every tree this device holds a receipt for."""

    latest: Checkpoint | None = None
    sizes: int = 0  # tree sizes checked (receipts of one commit share one)
    receipts: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)  # code, message
    unreachable: str = ""


def check_log(outbox: Outbox, http: httpx.Client) -> LogCheck:
    """Ask the log for its newest checkpoint and a consistency proof to it from each tree
    size the device holds a receipt of (and the newest checkpoint checked before): a smaller
    tree is a rollback, roots that do not extend a split view. The newest checkpoint is kept
    when everything holds, so the next check starts from it."""
    result = LogCheck()
    device = outbox.device()
    try:
        note = _get(http, "/v1/checkpoints/latest", {}).get("checkpoint")
        result.latest = latest = _published(note, device.log_key)
        held = _held(outbox, device.checkpoint, device.log_key, result)
        for size in sorted(held):
            _extends(http, held[size], latest, result)
    except Missed as error:
        result.unreachable = str(error)
        return result
    except ReceiptError as error:
        result.problems.append((error.code, str(error)))
        return result
    if not result.problems and isinstance(note, str):
        outbox.keep_checkpoint(note)
    return result


def _held(
    outbox: Outbox, kept_note: str | None, key: PublicKey, result: LogCheck
) -> dict[int, Checkpoint]:
    """Every checkpoint the device holds, by size; two of one size that differ are a split
    view already, whatever the log says now."""
    notes = [k.receipt["checkpoint"] for k in outbox.forms(State.ACCEPTED) if k.receipt]
    result.receipts = len(notes)
    held: dict[int, Checkpoint] = {}
    for note in [*notes, *([kept_note] if kept_note else [])]:
        try:
            checkpoint = Checkpoint.open(note, key)
        except NoteError as error:
            raise ReceiptError(f"a checkpoint the device kept: {error}") from None
        earlier = held.setdefault(checkpoint.size, checkpoint)
        if earlier != checkpoint:
            message = f"two checkpoints of size {checkpoint.size} with different roots"
            result.problems.append((SPLIT_VIEW, message))
    result.sizes = len(held)
    return held


def _extends(http: httpx.Client, held: Checkpoint, latest: Checkpoint, result: LogCheck) -> None:
    def prove(size: int) -> list[bytes]:
        return _consistency_proof(http, size, latest.size)

    try:
        check_extends(held, latest, prove)
    except ReceiptError as error:
        result.problems.append((error.code, str(error)))


def _published(note: object, key: PublicKey) -> Checkpoint:
    """The log's newest checkpoint must be signed by the key given at setup."""
    if not isinstance(note, str):
        raise Missed("the log's answer holds no checkpoint")
    try:
        checkpoint = Checkpoint.open(note, key)
    except NoteError as error:
        raise ReceiptError(f"the log's newest checkpoint: {error}", PUBLISHED_INVALID) from None
    if checkpoint.origin != key.name:
        raise ReceiptError(f"checkpoint of {checkpoint.origin!r}, not {key.name!r}", OTHER_LOG)
    return checkpoint


def _consistency_proof(http: httpx.Client, first: int, second: int) -> list[bytes]:
    if first == second:
        return []
    doc = _get(http, "/v1/proofs/consistency", {"first": first, "second": second})
    proof = doc.get("consistency_proof")
    try:
        if not isinstance(proof, list):
            raise TypeError(proof)
        return [base64.b64decode(h, validate=True) for h in proof]
    except (TypeError, ValueError, binascii.Error):
        raise ReceiptError(f"no consistency proof from size {first}", UNPROVED) from None


def _get(http: httpx.Client, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """A GET whose answer is a JSON object: no answer is a miss; a refusal (a size the log
    will not prove from) is a problem with the log."""
    try:
        response = http.get(path, params=dict(params))
    except httpx.RequestError as error:
        raise Missed(f"unreachable: {error or type(error).__name__}") from None
    if response.status_code in (408, 429) or response.status_code >= 500:
        raise Missed(f"{response.status_code} {_problem(response)}")
    if response.status_code != 200:
        problem = _problem(response)
        raise ReceiptError(f"{path}: {response.status_code} {problem}", UNPROVED)
    try:
        doc = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise Missed(f"{path}: the answer is not JSON") from None
    if not isinstance(doc, dict):
        raise Missed(f"{path}: the answer is not a JSON object")
    return doc


# --- witnessed receipts ---------------------------------------------------------------------


@dataclass
class WitnessedReceipts:
    """What the log gave for the device's accepted forms, against the newest checkpoint the
    witnesses' quorum cosigned: the receipts that check out and why the others do not."""

    receipts: list[Receipt] = field(default_factory=list)
    witnessed: list[Witnessed] = field(default_factory=list)
    not_yet: int = 0  # forms logged after the newest witnessed checkpoint
    problems: list[tuple[str, str]] = field(default_factory=list)  # code, message


def witnessed_receipts(
    outbox: Outbox, http: httpx.Client, policy: WitnessPolicy
) -> WitnessedReceipts:
    """Ask the log again for each accepted form's receipt, now against a witnessed tree:
    each must verify with the device's log key and its own signed form, as the first did,
    and its checkpoint must carry the quorum of `policy` (the device's, else the log's)."""
    found = WitnessedReceipts()
    log_key = outbox.device().log_key
    for kept in outbox.forms(State.ACCEPTED):
        entry_id = kept.receipt["entry_id"] if kept.receipt else None
        if entry_id is None:
            continue
        try:
            response = http.get(f"/v1/receipts/form/{entry_id}")
        except httpx.RequestError as error:
            raise Missed(f"unreachable: {error or type(error).__name__}") from None
        if response.status_code == 404 and _problem(response).code in NOT_WITNESSED:
            found.not_yet += 1
            continue
        try:
            if response.status_code != 200:
                raise ReceiptError(f"{response.status_code} {_problem(response)}", UNWITNESSED)
            receipt = verified_receipt(response.json(), log_key, kept)
            witnessed = policy.check(receipt.checkpoint)
            if not witnessed.holds:
                raise ReceiptError(witnessed.summary(), UNWITNESSED)
        except (ReceiptError, NoteError, ValueError) as error:
            code = getattr(error, "code", UNWITNESSED)
            found.problems.append((code, f"form {entry_id}: {error}"))
            continue
        found.receipts.append(receipt)
        found.witnessed.append(witnessed)
    return found


NOT_WITNESSED = ("witness.none", "witness.not_yet")


def server_policy(http: httpx.Client) -> WitnessPolicy:
    """The witnesses the log says it asks (the operator's choice, for a device with none)."""
    try:
        return WitnessPolicy.from_dict(_get(http, "/v1/witnesses", {}))
    except PolicyError as error:
        raise ReceiptError(f"the log's witnesses: {error}", UNWITNESSED) from None
