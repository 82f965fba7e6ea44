"""Signature checks, spread over a process pool for large batches (Ed25519 is the bulk of
the CPU cost of ingest and audit)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

Item = tuple[bytes, bytes, bytes]  # public key, message, signature
_INLINE_BELOW = 256


def verify_items(items: Sequence[Item]) -> list[bool]:
    """Check each (public key, message, signature); never raises for a bad signature."""
    results = []
    keys: dict[bytes, VerifyKey] = {}
    for public, message, signature in items:
        key = keys.get(public)
        if key is None:
            key = keys[public] = VerifyKey(public)
        try:
            key.verify(message, signature)
            results.append(True)
        except (BadSignatureError, ValueError):
            results.append(False)
    return results


class SignatureChecker:
    """Checks batches inline when small, else across `workers` processes."""

    def __init__(self, workers: int = 0) -> None:
        self.workers = workers or (os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None

    def check(self, items: Sequence[Item]) -> list[bool]:
        if self.workers <= 1 or len(items) < _INLINE_BELOW:
            return verify_items(items)
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers)
        size = -(-len(items) // (self.workers * 4))
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        return [ok for chunk in self._pool.map(verify_items, chunks) for ok in chunk]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
