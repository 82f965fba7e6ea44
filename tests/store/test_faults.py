"""A full disk and a read-only store are named for what they are (store.full,
store.read_only), from the driver's own error codes, and nothing else is."""

from __future__ import annotations

import errno
import sqlite3

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from tallyproof.store.faults import FULL, READ_ONLY, fault_code, refusal


class _DriverError(Exception):
    """A driver error as psycopg raises it: a SQLSTATE and no SQLite code."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"SQLSTATE {sqlstate}")
        self.sqlstate = sqlstate


def wrapped(orig: BaseException) -> DBAPIError:
    return DBAPIError("INSERT ...", {}, orig)  # type: ignore[arg-type]


def sqlite_error(code: int) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError("database or disk is full")
    error.sqlite_errorcode = code  # type: ignore[attr-defined]
    return error


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), FULL),
        (OSError(errno.EDQUOT, "Disk quota exceeded"), FULL),
        (OSError(errno.EROFS, "Read-only file system"), READ_ONLY),
        (OSError(errno.EACCES, "Permission denied"), None),
        (wrapped(sqlite_error(13)), FULL),
        (wrapped(sqlite_error(8 | (1 << 8))), READ_ONLY),  # SQLITE_READONLY_RECOVERY
        (wrapped(sqlite_error(5)), None),  # SQLITE_BUSY is not a fault of the disk
        (wrapped(_DriverError("53100")), FULL),
        (wrapped(_DriverError("25006")), READ_ONLY),
        (wrapped(_DriverError("23505")), None),  # a unique violation is the writer's business
        (ValueError("no"), None),
    ],
)
def test_each_driver_code_is_named_and_no_other(error, code):
    assert fault_code(error) == code


def test_a_real_read_only_sqlite_store_is_refused_in_words(tmp_path):
    path = tmp_path / "store.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
    engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    with pytest.raises(DBAPIError) as caught, engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
    refused = refusal(caught.value)
    assert refused is not None and refused.code == READ_ONLY
    assert "the store is read-only" in str(refused)
    assert "nothing of this write was logged" in str(refused)


def test_a_checkpoint_kept_too_late_says_the_write_was_logged():
    refused = refusal(OSError(errno.ENOSPC, "No space left on device"), committed=True)
    assert refused is not None and refused.code == FULL
    assert "the write was logged" in str(refused) and "returns its receipts" in str(refused)
