"""Append-only tables. Rows are inserted, never updated or deleted; the ledger is the truth
and every other table is an index over it."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    text,
)

REVISION = "0008"  # the Alembic head these tables describe (a test holds them equal)
metadata = MetaData()

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),  # the Merkle leaf index
    Column("election_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("entry_id", String(64), nullable=False),  # content id of the signed body
    Column("key_id", String(32), nullable=False),
    Column("leaf_data", LargeBinary, nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("received_at", String(40), nullable=False),
    Column("tree_size", Integer, nullable=False),  # log size once this entry's batch committed
    Index("ux_ledger_kind_entry", "kind", "entry_id", unique=True),
)

elections = Table(
    "elections",
    metadata,
    Column("election_id", String(64), primary_key=True),
    Column("seq", Integer, nullable=False, unique=True),
)

keys = Table(
    "keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("election_id", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("public_key", String(64), nullable=False),
    Column("source", String(100), nullable=False),
    Column("stations", Text),  # JSON list, NULL = every station
    Column("contests", Text),  # JSON list, NULL = every contest
    Column("seq", Integer, nullable=False, unique=True),
)

key_revocations = Table(
    "key_revocations",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("seq", Integer, nullable=False, unique=True),
)

forms = Table(
    "forms",
    metadata,
    Column("form_id", String(64), primary_key=True),
    Column("seq", Integer, nullable=False, unique=True),
    Column("election_id", String(64), nullable=False),
    Column("station", String(64), nullable=False),
    Column("contest", String(64), nullable=False),
    Column("source", String(100), nullable=False),
    Column("chain", String(100), nullable=False),
    Column("official", Boolean, nullable=False),
    Column("supersedes", String(64)),
    Column("reason", String(32)),
    Column("votes", Text, nullable=False),  # JSON {candidate: votes}
    Column("rejected", Integer, nullable=False),
    Column("polled", Integer, nullable=False),
    Column("issued", Integer),  # ballot papers issued, where the form states it (0002)
    Column("valid", Integer),  # the valid total the form states, where it does (0007)
    Column("evidence", Text),  # JSON {sha256, url, transcribed_by}, where given (0007)
    Index("ix_forms_position", "election_id", "seq"),  # the forms since a size (0004)
    Index("ix_forms_contest_position", "election_id", "contest", "seq"),  # (0004)
    Index("ix_forms_station_position", "election_id", "station", "seq"),  # (0006)
    Index(  # a form is superseded at most once
        "ux_forms_supersedes",
        "supersedes",
        unique=True,
        sqlite_where=text("supersedes IS NOT NULL"),
        postgresql_where=text("supersedes IS NOT NULL"),
    ),
    Index(
        "ux_forms_chain_start",
        "election_id",
        "station",
        "contest",
        "chain",
        unique=True,
        sqlite_where=text("supersedes IS NULL"),
        postgresql_where=text("supersedes IS NULL"),
    ),
)

declarations = Table(
    "declarations",
    metadata,
    Column("declaration_id", String(64), primary_key=True),
    Column("seq", Integer, nullable=False, unique=True),
    Column("election_id", String(64), nullable=False),
    Column("contest", String(64), nullable=False),
    Column("source", String(100), nullable=False),
    Column("chain", String(100), nullable=False),
    Column("supersedes", String(64)),
    Index("ix_declarations_contest", "election_id", "contest"),
    Index(
        "ux_declarations_supersedes",
        "supersedes",
        unique=True,
        sqlite_where=text("supersedes IS NOT NULL"),
        postgresql_where=text("supersedes IS NOT NULL"),
    ),
    Index(
        "ux_declarations_chain_start",
        "election_id",
        "contest",
        "chain",
        unique=True,
        sqlite_where=text("supersedes IS NULL"),
        postgresql_where=text("supersedes IS NULL"),
    ),
)

claim_reports = Table(  # a news report's claims: one ledger entry per report (0003)
    "claim_reports",
    metadata,
    Column("report_id", String(64), primary_key=True),
    Column("seq", Integer, nullable=False, unique=True),
    Column("election_id", String(64), nullable=False),
    Column("outlet", String(100), nullable=False),
    Column("published", String(40), nullable=False),
    Column("title", Text),
    Column("text_sha256", String(64), nullable=False),
    Column("claims", Integer, nullable=False),
    Index("ix_claim_reports_election", "election_id"),
)

claims = Table(  # every claim of every report, linked or not (0003)
    "claims",
    metadata,
    Column("claim_id", String(80), primary_key=True),  # report id : index in the report
    Column("report_id", String(64), nullable=False),
    Column("seq", Integer, nullable=False),  # the report's ledger entry
    Column("election_id", String(64), nullable=False),
    Column("outlet", String(100), nullable=False),
    Column("said_by", String(100), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("contest", String(64)),  # the linked contest code
    Column("candidate", String(100)),  # the linked candidate id
    Column("party", String(32)),
    Column("value", Integer),
    Column("status", String(32)),
    Column("linked", Boolean, nullable=False),
    Column("doc", Text, nullable=False),  # the claim as logged (JSON)
    Index("ix_claims_election", "election_id", "contest"),
)

status_orders = Table(
    "status_orders",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("election_id", String(64), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("target", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("reason", Text, nullable=False),
)

ballot_accounts = Table(  # Form 46, a presiding officer's ballot paper account (0007)
    "ballot_accounts",
    metadata,
    Column("account_id", String(64), primary_key=True),
    Column("seq", Integer, nullable=False, unique=True),
    Column("election_id", String(64), nullable=False),
    Column("station", String(64), nullable=False),
    Column("contest", String(64), nullable=False),
    Column("supersedes", String(64)),
    Column("received", Integer, nullable=False),
    Column("issued", Integer, nullable=False),
    Column("spoilt", Integer, nullable=False),
    Column("unused", Integer, nullable=False),
    Column("tendered", Integer),
    Column("evidence", Text),  # JSON {sha256, url, transcribed_by}, where given
    Index("ix_ballot_accounts_position", "election_id", "seq"),
    Index("ix_ballot_accounts_station", "election_id", "station", "seq"),
    Index(
        "ux_ballot_accounts_supersedes",
        "supersedes",
        unique=True,
        sqlite_where=text("supersedes IS NOT NULL"),
        postgresql_where=text("supersedes IS NOT NULL"),
    ),
)

events = Table(  # concessions, renunciations, complaints, petitions, joinings (0008)
    "events",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("seq", Integer, nullable=False, unique=True),
    Column("election_id", String(64), nullable=False),
    Column("contest", String(64), nullable=False),
    Column("type", String(32), nullable=False),
    Column("candidate", String(100)),
    Column("party", String(32)),
    Column("complaint", String(64)),  # the complaint an update moves
    Column("status", String(32)),  # a complaint's status after this event
    Index("ix_events_contest", "election_id", "contest", "seq"),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("tree_size", Integer, primary_key=True, autoincrement=False),
    Column("note", Text, nullable=False),
    Column("published_at", String(40), nullable=False),
)

# --- witnesses (docs/witnesses.md) -----------------------------------------------------------

cosignatures = Table(  # on the log's side: what each witness cosigned, as its line
    "cosignatures",
    metadata,
    Column("tree_size", Integer, primary_key=True, autoincrement=False),
    Column("witness", String(200), primary_key=True),
    Column("timestamp", BigInteger, nullable=False),
    Column("line", Text, nullable=False),
    Column("received_at", String(40), nullable=False),
)

witness_logs = Table(  # on a witness's side: the logs it follows, by origin and key
    "witness_logs",
    metadata,
    Column("origin", String(300), primary_key=True),
    Column("vkey", String(400), primary_key=True),
    Column("added_at", String(40), nullable=False),
)

witness_cosigned = Table(  # every checkpoint it cosigned; the newest per origin is its state
    "witness_cosigned",
    metadata,
    Column("origin", String(300), primary_key=True),
    Column("tree_size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", String(44), nullable=False),
    Column("note", Text, nullable=False),
    Column("cosignature", Text, nullable=False),
    Column("cosigned_at", String(40), nullable=False),
)

witness_refusals = Table(  # signed checkpoints it would not cosign: evidence of a fork
    "witness_refusals",
    metadata,
    Column("refusal", Integer, primary_key=True, autoincrement=True),
    Column("origin", String(300), nullable=False),
    Column("old_size", BigInteger, nullable=False),
    Column("tree_size", BigInteger, nullable=False),
    Column("code", String(40), nullable=False),
    Column("reason", Text, nullable=False),
    Column("request", Text, nullable=False),
    Column("cosigned_note", Text),
    Column("refused_at", String(40), nullable=False),
)
