"""Store conformance: SQLite and PostgreSQL must behave the same under the same tests."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from tallyproof.store import schema
from tallyproof.store.database import Store


@pytest.fixture
def store(store_url: str):
    s = Store(store_url)
    s.migrate()
    yield s
    s.close()


def entry(seq: int, kind: str = "form", entry_id: str | None = None) -> dict:
    return {
        "seq": seq,
        "election_id": "e",
        "kind": kind,
        "entry_id": entry_id or f"id{seq}",
        "key_id": "k",
        "leaf_data": b"{}",
        "leaf_hash": bytes(32),
        "received_at": "t",
        "tree_size": seq + 1,
    }


def form(form_id: str, seq: int, supersedes: str | None = None, station: str = "S1") -> dict:
    return {
        "form_id": form_id,
        "seq": seq,
        "election_id": "e",
        "station": station,
        "contest": "C",
        "source": "presiding_officer",
        "chain": "official",
        "official": True,
        "supersedes": supersedes,
        "reason": "correction" if supersedes else None,
        "votes": "{}",
        "rejected": 0,
        "polled": 0,
    }


def test_migrations_build_exactly_the_declared_schema(store):
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", "tallyproof.store:migrations")
    assert (
        store.schema_revision()
        == ScriptDirectory.from_config(config).get_current_head()
        == schema.REVISION
    )
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), schema.metadata) == []


def test_migrating_twice_changes_nothing(store):
    store.migrate()
    assert store.schema_revision() == schema.REVISION


def test_rows_are_read_back_in_ledger_order(store):
    with store.write() as w:
        w.insert(schema.ledger_entries, [entry(1), entry(0), entry(2)])
    with store.read() as r:
        assert r.ledger_size() == 3
        assert [row.seq for row in r.entries(1)] == [1, 2]
        assert [row.seq for row in r.since(schema.ledger_entries, 0)] == [1, 2]
        assert r.entry_by_id("form", "id2").seq == 2


def test_a_failed_transaction_leaves_nothing(store):
    with pytest.raises(IntegrityError), store.write() as w:
        w.insert(schema.ledger_entries, [entry(0)])
        w.insert(schema.ledger_entries, [entry(0, entry_id="other")])
    with store.read() as r:
        assert r.ledger_size() == 0


def test_the_same_entry_cannot_be_logged_twice(store):
    with pytest.raises(IntegrityError), store.write() as w:
        w.insert(schema.ledger_entries, [entry(0), entry(1, entry_id="id0")])


def test_only_one_chain_may_start_per_station_contest_and_source(store):
    with store.write() as w:
        w.insert(
            schema.forms, [form("A", 0), form("B", 1, supersedes="A"), form("X", 2, station="S2")]
        )
    with pytest.raises(IntegrityError), store.write() as w:
        w.insert(schema.forms, [form("C", 3)])


def test_a_form_is_superseded_at_most_once(store):
    with store.write() as w:
        w.insert(schema.forms, [form("A", 0), form("B", 1, supersedes="A")])
    with pytest.raises(IntegrityError), store.write() as w:
        w.insert(schema.forms, [form("C", 2, supersedes="A")])


def test_official_counts_are_read_per_contest(store):
    agent = form("D", 3, station="S9") | {
        "source": "agent:PTI",
        "chain": "agent:PTI",
        "official": False,
    }
    with store.write() as w:
        w.insert(
            schema.forms,
            [form("A", 0), form("B", 1, supersedes="A"), form("X", 2, station="S2"), agent],
        )
    with store.read() as r:
        assert sorted(row.form_id for row in r.official_counts("e", "C")) == ["A", "B", "X"]
        assert r.official_counts("e", "other") == []


def test_upgrading_from_0001_keeps_every_form_and_adds_issued(store_url):
    """A store made by the first release upgrades in place: old forms keep their numbers and
    state no ballots issued; new forms may state them."""
    from alembic import command
    from alembic.config import Config

    from tallyproof.store.database import _MIGRATIONS

    old = Store(store_url)
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with old.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        conn.exec_driver_sql(
            "INSERT INTO forms (form_id, seq, election_id, station, contest, source, chain, "
            "official, votes, rejected, polled) VALUES "
            "('f1', 0, 'e', 'S1', 'C', 'presiding_officer', 'official', true, '{\"a\": 7}', 1, 8)"
        )
    assert old.schema_revision() == "0001"
    old.migrate()
    assert old.schema_revision() == schema.REVISION
    with old.write() as w:
        w.insert(schema.forms, [form("f2", 1, station="S2") | {"issued": 9}])
    with old.read() as r:
        rows = {row.form_id: row for row in r.official_counts("e")}
    assert (rows["f1"].polled, rows["f1"].rejected, rows["f1"].issued) == (8, 1, None)
    assert rows["f2"].issued == 9
    old.close()


def test_sqlite_gives_the_writer_a_large_page_cache_and_each_read_a_small_one(tmp_path):
    """A pooled connection that has just written reads with the small cache again: a
    server's workers must not hold 128 MiB a connection for reads."""
    store = Store(f"sqlite:///{tmp_path / 'cache.sqlite'}")
    store.ensure_schema()

    def cache(conn) -> int:
        return conn.exec_driver_sql("PRAGMA cache_size").scalar()

    try:
        with store.write() as writer:
            assert cache(writer.conn) == -131072
        with store.read() as reader:
            assert cache(reader.conn) == -16384
        with store.write() as writer:
            assert cache(writer.conn) == -131072
    finally:
        store.close()
