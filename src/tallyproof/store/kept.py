"""Every checkpoint the log signs is also kept in an append-only file beside its key, so a
store rolled back behind the log's back (rows deleted, checkpoint rows too) is noticed."""

from __future__ import annotations

import json
import os
from pathlib import Path

_TAIL = 1 << 13  # ~25 checkpoints: the newest are at the end; reading more is not needed


class KeptCheckpoints:
    """`checkpoints.log`: one {"tree_size", "note"} line per signed checkpoint, fsynced."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, size: int, note: str) -> None:
        """One write of one line (O_APPEND), so writers in several processes never interleave."""
        line = json.dumps({"tree_size": size, "note": note}) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

    def latest(self) -> tuple[int, str] | None:
        """The largest checkpoint among the newest lines. Lines are appended after each
        commit, so only neighbours can be out of order and the largest is in the tail."""
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
