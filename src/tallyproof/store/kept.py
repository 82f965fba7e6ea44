"""Every checkpoint the log signs is also kept in an append-only file beside its key, so a
store rolled back behind the log's back (rows deleted, checkpoint rows too) is noticed."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

from tallyproof.store.faults import refusal

_TAIL = 1 << 13  # ~25 checkpoints: the newest are at the end; reading more is not needed


class KeptCheckpoints:
    """`checkpoints.log`: one {"tree_size", "note"} line per signed checkpoint, fsynced."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # what `latest` found, and the file's size and time then: while they are unchanged
        # (no process appended, nobody rewrote it) the file need not be read again
        self._known: tuple[tuple[int, int], tuple[int, str] | None] | None = None

    def append(self, size: int, note: str) -> None:
        """One write of one line (O_APPEND), so writers in several processes never interleave.
        A disk that fills mid-line leaves no part of it: the next line would run on from the
        fragment and the file could no longer be read, so a short write is cut off again and
        raised as the full disk it is (StoreRefused, store.full)."""
        line = (json.dumps({"tree_size": size, "note": note}) + "\n").encode("utf-8")
        try:
            after = self._write(line)
        except OSError as error:
            refused = refusal(error, committed=True)
            if refused is None:
                raise
            raise refused from error
        known = self._known
        if known is not None and known[0][0] + len(line) == after.st_size:  # ours alone
            best = known[1] if known[1] is not None and known[1][0] > size else (size, note)
            self._known = ((after.st_size, after.st_mtime_ns), best)
        else:
            self._known = None

    def _write(self, line: bytes) -> os.stat_result:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = os.write(fd, line)
            if written != len(line):  # O_APPEND put the fragment at the end: cut it off
                os.ftruncate(fd, os.fstat(fd).st_size - written)
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.path))
            os.fsync(fd)
            return os.fstat(fd)
        finally:
            os.close(fd)

    def latest(self) -> tuple[int, str] | None:
        """The largest checkpoint among the newest lines. Lines are appended after each
        commit, so only neighbours can be out of order and the largest is in the tail."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        if self._known is not None and self._known[0] == (stat.st_size, stat.st_mtime_ns):
            return self._known[1]
        best = self._read()
        self._known = ((stat.st_size, stat.st_mtime_ns), best)
        return best

    def _read(self) -> tuple[int, str] | None:
        try:
            with self.path.open("rb") as handle:
                handle.seek(max(0, handle.seek(0, os.SEEK_END) - _TAIL))
                tail = handle.read()
        except FileNotFoundError:
            return None
        best: tuple[int, str] | None = None
        for line in tail.split(b"\n")[1:-1] if len(tail) == _TAIL else tail.split(b"\n")[:-1]:
            record = json.loads(line)
            if best is None or record["tree_size"] > best[0]:
                best = (record["tree_size"], record["note"])
        return best
