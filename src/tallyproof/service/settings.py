"""The one typed settings object every use case receives."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """Where the data lives and how the log behaves.

    `home` holds the log's private key (and, by default, the SQLite file); `database_url`
    may point at PostgreSQL instead, and `read_database_url` at a streaming replica of it for
    the HTTP service's reads and feed. Every commit signs a checkpoint (its receipts carry
    it), so there is no checkpoint schedule to set.
    """

    home: Path
    database_url: str
    log_origin: str = "tallyproof.local/log"
    # processes that check and encode submissions; 0 = one per core, 1 = inline
    verify_workers: int = 0
    read_database_url: str | None = None

    @property
    def reads_url(self) -> str:
        """Where answers are read: the replica if there is one, else the store itself."""
        return self.read_database_url or self.database_url

    @classmethod
    def at(cls, home: Path | str, database_url: str | None = None, **kw: object) -> Settings:
        home = Path(home)
        url = database_url or f"sqlite:///{home / 'tallyproof.sqlite'}"
        return cls(home=home, database_url=url, **kw)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls) -> Settings:
        """TALLYPROOF_HOME (default ./var/tallyproof), TALLYPROOF_DATABASE_URL and
        TALLYPROOF_READ_DATABASE_URL."""
        home = Path(os.environ.get("TALLYPROOF_HOME", "var/tallyproof"))
        origin = os.environ.get("TALLYPROOF_LOG_ORIGIN", "tallyproof.local/log")
        return cls.at(
            home,
            os.environ.get("TALLYPROOF_DATABASE_URL"),
            log_origin=origin,
            read_database_url=os.environ.get("TALLYPROOF_READ_DATABASE_URL") or None,
        )

    @property
    def log_key_path(self) -> Path:
        return self.home / "log.key"

    @property
    def witnesses_path(self) -> Path:
        """The witnesses this log asks to cosign its checkpoints, and the quorum it needs."""
        return self.home / "witnesses.json"

    @property
    def witness_key_path(self) -> Path:
        """In a witness's home: the key it cosigns with."""
        return self.home / "witness.key"
