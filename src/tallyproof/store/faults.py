"""The store's own faults named for what they are: a disk that is full and a store that is
read-only refuse a write for a reason an operator can act on (free space, make it writable),
not for a fault in the document; so they carry a code of their own (`store.full`,
`store.read_only`) and a message that says so, where a raw driver error would say neither."""

from __future__ import annotations

import errno

FULL = "store.full"
READ_ONLY = "store.read_only"
_SQLITE = {13: FULL, 8: READ_ONLY}  # SQLITE_FULL, SQLITE_READONLY (its extended codes too)
_SQLSTATE = {"53100": FULL, "25006": READ_ONLY}  # disk_full, read_only_sql_transaction
_ERRNO = {errno.ENOSPC: FULL, errno.EDQUOT: FULL, errno.EROFS: READ_ONLY}
_WORDS = {
    FULL: "the disk holding the log is full",
    READ_ONLY: "the store is read-only",
}
_ACTION = {
    FULL: "free space",
    READ_ONLY: "make the store writable",
}


class StoreRefused(RuntimeError):  # noqa: N818 - a state of the store, named by its code
    """A write the store could not take because of the disk under it, not the document."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def fault_code(error: BaseException) -> str | None:
    """`store.full` or `store.read_only` when the error (a SQLAlchemy error around the
    driver's, or an OSError) is one, else None."""
    if isinstance(error, OSError):
        return _ERRNO.get(error.errno or 0)
    orig = getattr(error, "orig", None)
    if orig is None:
        return None
    sqlite_code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int):
        return _SQLITE.get(sqlite_code & 0xFF)
    sqlstate = getattr(orig, "sqlstate", None)
    return _SQLSTATE.get(sqlstate) if isinstance(sqlstate, str) else None


def refusal(error: BaseException, committed: bool = False) -> StoreRefused | None:
    """The error as a StoreRefused with its cause in words, if it is a store fault.
    `committed`: the transaction had committed (only keeping its checkpoint beside the log
    key failed), so sending again answers with the receipts rather than logging anything."""
    code = fault_code(error)
    if code is None:
        return None
    cause = str(getattr(error, "orig", None) or error).strip().splitlines()[0]  # not its HINT
    if committed:
        outcome = "the write was logged, but its checkpoint could not be kept beside the log key"
        after = "sending it again returns its receipts"
    else:
        outcome = "nothing of this write was logged"
        after = "send it again (a document already logged is answered with its receipt)"
    return StoreRefused(code, f"{_WORDS[code]} ({cause}): {outcome}; {_ACTION[code]}, then {after}")
