"""The public keys registered in the log, by key id, as a process that verifies signatures
but does not write (an HTTP worker) needs them: read from the store, and read again when a
document names a key not yet seen (it may have been registered a moment ago)."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterable

from tallyproof.store.database import Store


class KeyBook:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.keys: dict[str, bytes] = {}
        self._seen = -1  # leaf index of the newest registration read
        self._lock = threading.Lock()

    def public_keys(self, key_ids: Iterable[str | None]) -> dict[str, bytes]:
        """The raw public key of each registered key among `key_ids`."""
        wanted = {k for k in key_ids if k is not None}
        if not wanted <= self.keys.keys():
            self.refresh()
        return {k: self.keys[k] for k in wanted if k in self.keys}

    def refresh(self) -> None:
        """Read the keys registered since the last read (nothing new: one indexed query)."""
        with self._lock, self.store.read() as reader:
            for key in reader.index_since("keys", self._seen):
                self.keys[key.key_id] = base64.b64decode(key.public_key)
                self._seen = key.seq
