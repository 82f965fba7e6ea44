"""The HTTP service's one settings object: the store's settings, where to listen, and the
limits every request meets (docs/api.md, "Limits")."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from tallyproof.service.settings import Settings

ENV = "TALLYPROOF_SERVE"  # how `tallyproof serve` hands its settings to uvicorn's workers


@dataclass(frozen=True)
class Limits:
    """What one client may ask of the service. Rates are per worker process: with N workers
    behind one address, a key may send up to N times `per_key_per_minute` in all."""

    body_bytes: int = 64 << 20  # a request's body; a batch of 2,000 forms is about 2 MB
    structure_bytes: int = 256 << 20  # an election's structure (a national one is ~20 MB)
    batch_documents: int = 2000  # documents in one POST
    per_key_per_minute: int = 6000  # documents one key may submit a minute (0: no limit)
    report_bytes: int = 32 << 10  # a news report's text to extract claims from
    sse_queue: int = 256  # feed chunks a slow reader may fall behind before it is dropped


@dataclass(frozen=True)
class ServeSettings:
    """Everything `create_app` needs."""

    store: Settings
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    limits: Limits = field(default_factory=Limits)
    feed_poll_seconds: float = 0.05  # how often the feed looks for other machines' commits
    feed_batch_seconds: float = 0.05  # commits within this are read (and sent) together
    warm_seconds: float = 1.0  # how often the read model's tallies are brought up to date
    switch_seconds: float = 0.0005  # the workers' GIL switch interval (Python's is 5 ms)
    ping_seconds: float = 15.0  # a comment on an idle feed, so proxies keep it open
    committer_path: str = ""  # the committer's socket: set by `serve` for its workers

    def to_env(self) -> str:
        """As JSON, for the workers uvicorn starts in fresh processes."""
        doc = asdict(self)
        doc["store"] = {k: v if v is None else str(v) for k, v in asdict(self.store).items()}
        return json.dumps(doc)

    @classmethod
    def from_env(cls) -> ServeSettings:
        text = os.environ.get(ENV)
        if not text:
            return cls(Settings.from_env())
        doc: dict[str, Any] = json.loads(text)
        store = doc.pop("store")
        settings = Settings.at(
            store["home"],
            store["database_url"],
            log_origin=store["log_origin"],
            verify_workers=int(store["verify_workers"]),
            read_database_url=store.get("read_database_url"),
        )
        limits = Limits(**doc.pop("limits"))
        known = {f.name for f in fields(cls)}
        return cls(
            settings,
            limits=limits,
            **{k: v for k, v in doc.items() if k in known},
        )
