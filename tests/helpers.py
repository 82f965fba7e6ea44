"""A small election to test with: structure, admin and submitter keys, signed documents."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.ledger.keys import Signer
from tallyproof.service import admin, submission
from tallyproof.service.outcomes import Outcome
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter
from tallyproof.store.scratch import scratch_schema

ELECTION = "test-2024"
CANDIDATES = ("NA-1/a", "NA-1/b", "NA-1/c")


def structure_doc(admin_key: str | None = None, stations: int = 4) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "election": {
            "id": ELECTION,
            "name": "Test election",
            "kind": "general",
            "date": "2024-02-08",
        },
        "parties": [
            {"code": "PTI", "name": "Pakistan Tehreek-e-Insaf"},
            {"code": "PML-N", "name": "Pakistan Muslim League (N)"},
        ],
        "assemblies": [
            {"code": "NA", "name": "National Assembly", "level": "national"},
            {"code": "PP", "name": "Punjab", "level": "provincial"},
        ],
        "contests": [
            {
                "code": "NA-1",
                "assembly": "NA",
                "name": "First",
                "candidates": [
                    {"id": "NA-1/a", "name": "Aamir", "backed_by": "PTI"},
                    {"id": "NA-1/b", "name": "Bushra", "party": "PML-N"},
                    {"id": "NA-1/c", "name": "Chaudhry"},
                ],
            },
            {
                "code": "PP-1",
                "assembly": "PP",
                "name": "Punjab first",
                "candidates": [
                    {"id": "PP-1/x", "name": "Xara", "party": "PTI"},
                    {"id": "PP-1/y", "name": "Yasir", "party": "PML-N"},
                ],
            },
        ],
        "stations": [
            {
                "id": f"S{i}",
                "name": f"Station {i}",
                "contests": ["NA-1", "PP-1"],
                "registered_voters": 1000,
            }
            for i in range(1, stations + 1)
        ],
    }
    if admin_key:
        doc["admin_key"] = admin_key
    return doc


def form_doc(
    station: str = "S1",
    votes: tuple[int, ...] = (300, 200, 100),
    rejected: int = 10,
    source: str = "presiding_officer",
    contest: str = "NA-1",
    **extra: Any,
) -> dict[str, Any]:
    ids = CANDIDATES if contest == "NA-1" else ("PP-1/x", "PP-1/y")
    vote_map = dict(zip(ids, votes, strict=False))
    doc = {
        "election": ELECTION,
        "station": station,
        "contest": contest,
        "source": source,
        "votes": vote_map,
        "rejected": rejected,
        "polled": sum(vote_map.values()) + rejected,
        "time": "2024-02-08T18:00:00+05:00",
    }
    doc.update(extra)
    return doc


def counter_clock() -> Any:
    """A clock that ticks one second a call, so receipts and leaves are reproducible."""
    ticks = itertools.count()
    return lambda: f"2024-02-08T13:{(n := next(ticks)) // 60 % 60:02d}:{n % 60:02d}.000Z"


@dataclass
class ElectionFixture:
    """A service with the test election imported and keys registered."""

    ctx: LedgerWriter
    admin: Signer
    po: dict[str, Signer] = field(default_factory=dict)
    ro: Signer | None = None
    agent: Signer | None = None

    def submit(self, *docs: dict[str, Any], key: Signer | None = None) -> list[Outcome]:
        envelopes = [sign(EntryKind.FORM, d, key or self.po[d["station"]]).envelope() for d in docs]
        return submission.submit_forms(self.ctx, envelopes)

    def submit_one(self, doc: dict[str, Any], key: Signer | None = None) -> Outcome:
        return self.submit(doc, key=key)[0]

    def declare(self, doc: dict[str, Any], key: Signer | None = None) -> Outcome:
        envelope = sign(EntryKind.DECLARATION, doc, key or self.ro).envelope()  # type: ignore[arg-type]
        return submission.submit_declarations(self.ctx, [envelope])[0]

    def order(self, scope: str, target: str, status: str, reason: str = "") -> Outcome:
        body = {
            "election": ELECTION,
            "scope": scope,
            "target": target,
            "status": status,
            "reason": reason,
            "time": "2024-02-08T12:00:00Z",
        }
        return admin.order_status(self.ctx, sign(EntryKind.STATUS, body, self.admin).envelope())

    def register(self, name: str, source: str, **scope: list[str]) -> Signer:
        key = Signer.from_seed_text(name, "test:" + name)
        body = {
            "election": ELECTION,
            "key": {"name": name, "public_key": key.public.b64},
            "source": source,
            "time": "2024-02-08T06:00:00Z",
            **scope,
        }
        outcome = admin.register_key(
            self.ctx, sign(EntryKind.KEY_REGISTRATION, body, self.admin).envelope()
        )
        assert outcome.accepted, outcome.problems
        return key


def make_election(home: Path, url: str | None = None, stations: int = 4) -> ElectionFixture:
    ctx = LedgerWriter.initialise(Settings.at(home, url), clock=counter_clock())
    admin_key = Signer.from_seed_text("test/admin", "test:admin")
    doc = structure_doc(admin_key.public.b64, stations)
    outcome = admin.import_structure(ctx, sign(EntryKind.STRUCTURE, doc, admin_key).envelope())
    assert outcome.accepted, outcome.problems
    election = ElectionFixture(ctx, admin_key)
    for i in range(1, stations + 1):
        election.po[f"S{i}"] = election.register(
            f"po/S{i}", "presiding_officer", stations=[f"S{i}"]
        )
    election.ro = election.register("ro/NA-1", "returning_officer", contests=["NA-1", "PP-1"])
    election.agent = election.register("agent/PTI", "agent:PTI")
    return election


def fresh_pg_schema(server_url: str) -> Iterator[str]:
    """A new schema on the PostgreSQL server, as a URL that uses it; dropped afterwards."""
    return scratch_schema(server_url, "t")


def cli(
    home: Path, *args: str, check: int | None = 0, database_url: str | None = None
) -> subprocess.CompletedProcess:
    """Run the installed command in a fresh process against `home` (and its store at
    `database_url`, if not the home's SQLite file); check its exit code."""
    env = {**os.environ, "COLUMNS": "200", "TALLYPROOF_HOME": str(home)}
    env.pop("TALLYPROOF_DATABASE_URL", None)
    if database_url:
        env["TALLYPROOF_DATABASE_URL"] = database_url
    done = subprocess.run(
        [sys.executable, "-m", "tallyproof", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    if check is not None:
        assert done.returncode == check, done.stdout + done.stderr
    return done


def register_po_key(
    home: Path, keys: Path, stations: tuple[str, ...] = ("S1", "S2", "S3", "S4")
) -> None:
    """`register-key` for the presiding officer's key in keys/po.key, signed by keys/admin.key."""
    cli(
        home,
        "register-key",
        "--source",
        "presiding_officer",
        "--admin-key",
        str(keys / "admin.key"),
        "--key-file",
        str(keys / "po.key"),
        *[a for s in stations for a in ("--station", s)],
    )
