"""The server's publisher: a process of its own that writes the static read side
(export/static.py) as checkpoints come — at most every `publish_seconds`, at the newest
checkpoint, and the witnesses' heads as they cosign — with a read model and a kept
`Publisher` of its own, so the hours a national night's files take never stand in the way
of a request."""

from __future__ import annotations

import logging
import multiprocessing
import time
from pathlib import Path
from typing import Any

from tallyproof.api import children
from tallyproof.export.static import Publisher
from tallyproof.ledger.keys import Signer
from tallyproof.service.reading import ReadModel
from tallyproof.service.settings import Settings
from tallyproof.service.witnessing import read_policy
from tallyproof.store import witnesses
from tallyproof.store.database import Store

logger = logging.getLogger("tallyproof.publish")


def run_publisher(ready: Any, settings: Settings, directory: Path, every: float) -> None:
    store = Store(settings.reads_url)
    log_key = Signer.from_private_text(settings.log_key_path.read_text()).public.vkey
    publisher = Publisher(directory, log_key=log_key, witnesses=read_policy(settings))
    model = ReadModel(store)
    ready.set()
    published, heard = -1, {}
    while True:
        started = time.monotonic()
        with store.read() as reader:
            newest = reader.checkpoint_at_or_before()
            cosigned = witnesses.cosigned_sizes(reader)
        try:
            if newest is not None and newest.tree_size > published:
                published = publisher.publish(model).tree_size
                heard = cosigned
            elif cosigned != heard:  # witnesses cosigned since: their heads only
                publisher.publish_witnessed(model)
                heard = cosigned
        except Exception:  # the next round tries again; the server goes on meanwhile
            logger.exception("publishing %s failed", directory)
        time.sleep(max(0.0, started + every - time.monotonic()))


def start_publisher(settings: Settings, directory: Path, every: float) -> multiprocessing.Process:
    return children.start("publisher", run_publisher, settings, directory, every)
