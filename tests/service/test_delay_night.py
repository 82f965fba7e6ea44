"""Results delay on a simulated election night (600 stations, every fault), loaded through the
ordinary use cases with the writer's clock on the night's own: each contest's delays equal
what the night's events say, recomputed here from the events themselves."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tallyproof.domain.delay import slowest
from tallyproof.importers.plan import Step, run_step
from tallyproof.sample.national import build_national
from tallyproof.sample.night import Event, Faults, Night
from tallyproof.service.reading import ReadModel
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter

ACTIONS = {"structure": "structure", "key_registration": "register_keys", "status": "status",
           "form": "forms", "declaration": "declarations", "claim": "claims"}  # fmt: skip
CLOSE = datetime.fromisoformat("2024-02-08T17:00:00+05:00")


def logged(event: Event) -> str:
    """The log's time for an event: its minute, in the log's UTC form."""
    moment = datetime.fromisoformat(event.time).astimezone(UTC).replace(second=0)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class NightClock:
    now = ""

    def __call__(self) -> str:
        return self.now


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """The night in batches of one kind and one minute, each logged at that minute; with
    every accepted event."""
    home = tmp_path_factory.mktemp("night-delay")
    clock = NightClock()
    writer = LedgerWriter.initialise(Settings.at(home), clock=clock)
    accepted: list[Event] = []
    batch: list[Event] = []

    def flush() -> None:
        if batch:
            clock.now = logged(batch[0])
            step = Step(ACTIONS[batch[0].kind], batch[0].story, [e.envelope for e in batch])
            for event, outcome in zip(batch, run_step(writer, step), strict=True):
                if outcome.accepted and not outcome.duplicate:
                    accepted.append(event)
            batch.clear()

    night = Night(build_national(seed=11, stations=600), Faults(re_poll=0.01, correction=0.02))
    for event in night.events():
        if batch and (batch[0].kind != event.kind or logged(batch[0]) != logged(event)):
            flush()
        batch.append(event)
    flush()
    writer.close()
    return home, accepted


def expected(accepted: list[Event]) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """From the events: each contest's stations' first official form time, and its first
    returning officer's declaration time."""
    reports: dict[str, dict[str, str]] = {}
    declared: dict[str, str] = {}
    for e in accepted:
        body = e.envelope.get(e.kind, {})
        if e.kind == "form" and body["source"] == "presiding_officer":
            reports.setdefault(body["contest"], {}).setdefault(body["station"], logged(e))
        if e.kind == "declaration" and body["source"] == "returning_officer":
            declared.setdefault(body["contest"], logged(e))
    return reports, declared


def seconds(at: str) -> float:
    return (datetime.fromisoformat(at) - CLOSE).total_seconds()


def test_each_contest_delay_is_what_the_night_logged(loaded):
    home, accepted = loaded
    reports, declared = expected(accepted)
    model = ReadModel.open(Settings.at(home))
    try:
        answer = model.delay(None)
        structure = model.structure(None).value
    finally:
        model.close()
    value = answer.value
    assert len(value.contests) == len(structure.contests)
    finished = 0
    for c in value.contests:
        times = reports.get(c.contest, {})
        assert c.reported == len(times), c.contest
        assert c.to_first_form == (seconds(min(times.values())) if times else None)
        if len(times) == len(structure.stations_of(c.contest)) and times:
            finished += 1
            assert c.to_all_forms == seconds(max(times.values())), c.contest
        else:
            assert c.to_all_forms is None, c.contest
        want = declared.get(c.contest)
        assert c.to_declared == (seconds(want) if want else None), c.contest
    assert finished > 0.9 * len(structure.contests)
    assert sum(c.to_declared is not None for c in value.contests) > 0.9 * finished
    assert value.national.points[-1].reported == len(
        {s for times in reports.values() for s in times}
    )
    assert sum(a.points[-1].reported for a in value.assemblies if a.points) == sum(
        len(t) for t in reports.values()
    )
    postponed = [c.contest for c in value.contests if c.postponed]
    assert len(postponed) == 4  # the four contests postponed after candidates died
    top = slowest(value, 10)
    assert not {c.contest for c in top} & set(postponed)
    took = [c.to_all_forms or value.elapsed for c in top]
    assert took == sorted(took, reverse=True)  # type: ignore[type-var]
