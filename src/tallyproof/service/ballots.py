"""The read side of Form 46: a station's ballot paper accounts, current and corrected, and
the finding each current account makes against the station's counted Form 45."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tallyproof.domain.ballots import account_findings
from tallyproof.domain.findings import Finding
from tallyproof.store.records import BallotAccountIndex, BallotAccountRow


@dataclass(frozen=True)
class AccountEntry:
    """One logged account: current while no later account corrects it."""

    row: BallotAccountRow
    current: bool


def account_entries(rows: Sequence[BallotAccountRow]) -> list[AccountEntry]:
    gone = {r.account.supersedes for r in rows if r.account.supersedes}
    return [AccountEntry(r, r.account.account_id not in gone) for r in rows]


def account_dict(e: AccountEntry) -> dict[str, Any]:
    """An account as the API and the CLI show it."""
    a = e.row.account
    return {
        "account_id": a.account_id,
        "leaf_index": a.seq,
        "station": a.station,
        "contest": a.contest,
        "current": e.current,
        "supersedes": a.supersedes,
        "received": a.received,
        "issued": a.issued,
        "spoilt": a.spoilt,
        "unused": a.unused,
        "tendered": a.tendered,
        "evidence": dict(a.evidence) if a.evidence else None,
        "received_at": e.row.received_at,
    }


def station_account_findings(
    contest: str, station: str, account: BallotAccountIndex | None, counted: tuple[str, int] | None
) -> list[Finding]:
    """The station's current account against its counted official form, (form id, polled):
    nothing until both have arrived, in either order."""
    if account is None or counted is None:
        return []
    form_id, polled = counted
    return account_findings(contest, station, account.account_id, account.issued, form_id, polled)


def current_accounts(rows: Sequence[BallotAccountRow]) -> dict[tuple[str, str], BallotAccountIndex]:
    """Each (station, contest)'s current account: a correction supersedes the one before, so
    the latest logged is the current one."""
    return {(r.account.station, r.account.contest): r.account for r in rows}
