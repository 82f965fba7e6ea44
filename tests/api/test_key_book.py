"""A worker reads keys as their registrations commit, not when the first document one of
them signs arrives (a national roll is 91,200 keys: that read would fall on the first
presiding officer's form)."""

from __future__ import annotations

import asyncio
import time

from tallyproof.api.runtime import Runtime
from tallyproof.api.settings import ServeSettings
from tallyproof.ledger.entries import EntryKind
from tallyproof.service.settings import Settings
from tests.service.test_loading import fresh, po, registration


def test_a_worker_reads_keys_as_they_are_registered(tmp_path):
    home = tmp_path / "home"
    fresh(home, stations=40).close()  # the election, and no key but its admin's
    settings = ServeSettings(Settings.at(home))

    async def run() -> tuple[int, set[str], float]:
        rt = await Runtime.open(settings)
        try:
            before = len(rt.keys.keys)
            outcomes = await rt.submit(
                EntryKind.KEY_REGISTRATION, [registration(i) for i in range(1, 31)]
            )
            assert all(o.accepted for o in outcomes), [o.problems for o in outcomes]
            began = time.monotonic()
            wanted = {po(i).public.key_id for i in range(1, 31)}
            while not wanted <= rt.keys.keys.keys() and time.monotonic() - began < 10:
                await asyncio.sleep(0.05)
            return before, set(rt.keys.keys), time.monotonic() - began
        finally:
            await rt.close()

    before, known, waited = asyncio.run(run())
    assert before == 0
    assert {po(i).public.key_id for i in range(1, 31)} <= known, "never read without a form"
    assert waited < 5
