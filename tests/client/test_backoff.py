"""The retry schedule: full jitter under an exponential ceiling, capped, never sooner than the
log's Retry-After, and kept in the outbox so a restarted client honours it."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from tallyproof.client.sync import MAX_RETRY_AFTER, RetryPolicy, Sync, SyncOptions, retry_after
from tests.client.conftest import FakeClock, device_forms

POLICY = RetryPolicy(base=0.5, cap=30.0)


def test_the_ceiling_doubles_from_base_up_to_the_cap():
    assert [POLICY.ceiling(n) for n in range(0, 9)] == [0, 0.5, 1, 2, 4, 8, 16, 30, 30]
    assert POLICY.ceiling(10_000) == 30.0  # no overflow however long the outage


@pytest.mark.parametrize("misses", [1, 3, 6, 12])
def test_each_wait_is_uniform_between_zero_and_the_ceiling(misses):
    rng = random.Random(misses)
    waits = [POLICY.wait(misses, rng) for _ in range(4000)]
    ceiling = POLICY.ceiling(misses)
    assert all(0.0 <= w <= ceiling for w in waits)
    assert min(waits) < 0.02 * ceiling and max(waits) > 0.98 * ceiling  # full jitter
    assert abs(sum(waits) / len(waits) - ceiling / 2) < 0.05 * ceiling


def test_retry_after_is_a_floor():
    rng = random.Random(1)
    assert all(POLICY.wait(1, rng, 7.0) >= 7.0 for _ in range(100))
    assert all(POLICY.wait(20, rng, 7.0) <= 30.0 for _ in range(100))


def test_retry_after_is_read_as_seconds_or_a_date_and_bounded():
    def given(value):
        return retry_after(httpx.Response(429, headers={"Retry-After": value}))

    assert given("7") == 7.0
    assert given("999999") == MAX_RETRY_AFTER
    assert given("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    assert 85 <= given(later) <= 90
    assert retry_after(httpx.Response(503)) is None


def test_a_run_backs_off_within_the_ceilings_and_honours_retry_after(field_log, tmp_path):
    outbox = field_log.outbox(tmp_path / "dev")
    outbox.add([field_log.signed(d) for d in device_forms(4)], 1.0)
    field_log.faults = ["down", "down", "503", "down", "429", "down"]
    clock = FakeClock()
    with field_log.client() as http:
        sync = Sync(
            outbox, http, SyncOptions(policy=POLICY), clock=clock, sleep=clock.sleep,
            rng=random.Random(3),
        )  # fmt: skip
        report = sync.run()
    assert (report.misses, report.accepted) == (6, 8)
    assert len(clock.sleeps) == 6
    for misses, slept in enumerate(clock.sleeps, 1):
        floor = 7.0 if misses == 5 else 0.0
        assert floor <= slept <= max(POLICY.ceiling(misses), floor)
    assert outbox.device().failures == 0  # an answer ends the run of misses
    outbox.close()


def test_the_wait_survives_a_restart_of_the_client(field_log, tmp_path):
    outbox = field_log.outbox(tmp_path / "dev")
    outbox.add([field_log.signed(d) for d in device_forms(1)], 1.0)
    field_log.faults = ["429"]
    clock = FakeClock()
    options = SyncOptions(policy=POLICY, once=True)
    with field_log.client() as http:
        Sync(outbox, http, options, clock=clock, sleep=clock.sleep).run()
        assert outbox.device().retry_at >= clock.now + 7.0
        assert Sync(outbox, http, options, clock=clock, sleep=clock.sleep).run().requests == 0
        clock.now += 7.0
        again = Sync(outbox, http, options, clock=clock, sleep=clock.sleep).run()
    assert (again.requests, again.accepted) == (1, 2)
    outbox.close()


def test_max_wait_bounds_a_run_against_a_log_that_never_answers(field_log, tmp_path):
    outbox = field_log.outbox(tmp_path / "dev")
    outbox.add([field_log.signed(d) for d in device_forms(1)], 1.0)
    field_log.faults = ["down"] * 1000
    clock = FakeClock()
    options = SyncOptions(policy=POLICY, max_wait=120.0)
    started = time.monotonic()
    with field_log.client() as http:
        report = Sync(outbox, http, options, clock=clock, sleep=clock.sleep).run()
    assert report.remaining == 2 and report.misses < 100
    assert clock.now - 1_000_000.0 <= 120.0
    assert time.monotonic() - started < 5
    outbox.close()
