"""The server's witness collector: a process of its own that, every `every` seconds, asks
the home's witnesses (witnesses.json) to cosign the newest checkpoint, in parallel, each
with a timeout, and keeps the cosignatures they return — so a slow or absent witness never
holds up a commit or a read."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import time
from typing import Any

import httpx

from tallyproof.api import children
from tallyproof.ledger.cosignature import Witness, WitnessPolicy
from tallyproof.service.settings import Settings
from tallyproof.service.witnessing import Collector, Round, read_policy
from tallyproof.store.database import Store

logger = logging.getLogger("tallyproof.witnessing")


def poster(client: httpx.AsyncClient) -> Any:
    """POST an add-checkpoint body to a witness (tlog-witness), as (status, body)."""

    async def post(witness: Witness, body: bytes) -> tuple[int, bytes]:
        try:
            answer = await client.post(f"{witness.url}/add-checkpoint", content=body)
        except httpx.HTTPError as error:
            raise OSError(f"{type(error).__name__}: {error}") from None
        return answer.status_code, answer.content

    return post


async def collect_once(settings: Settings, policy: WitnessPolicy, timeout: float) -> Round:
    """One round, from a command line or a cron job."""
    store = Store(settings.database_url)
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            return await Collector(store, policy, poster(client), timeout).round()
    finally:
        store.close()


def run_collector(ready: Any, settings: Settings, every: float, timeout: float) -> None:
    asyncio.run(_collect(ready, settings, every, timeout))


async def _collect(ready: Any, settings: Settings, every: float, timeout: float) -> None:
    store = Store(settings.database_url)
    policy = read_policy(settings)
    async with httpx.AsyncClient(timeout=timeout) as client:
        collector = Collector(store, policy, poster(client), timeout)
        ready.set()
        while True:
            started = time.monotonic()
            try:
                await collector.round()
            except Exception:  # the next round tries again; the log goes on meanwhile
                logger.exception("asking the witnesses failed")
            await asyncio.sleep(max(0.0, started + every - time.monotonic()))


def start_collector(settings: Settings, every: float, timeout: float) -> multiprocessing.Process:
    return children.start("witnessing", run_collector, settings, every, timeout)
