"""Results delay as JSON documents: what `GET /v1/elections/{election}/delay` and
`tallyproof delay --json` answer (docs/api.md, "Results delay")."""

from __future__ import annotations

from typing import Any

from tallyproof.domain.delay import ContestDelay, Curve, ElectionDelay, SlowestBy, slowest
from tallyproof.formats.answers import answer_record
from tallyproof.service.reading import Answer


def contest_delay_record(c: ContestDelay) -> dict[str, Any]:
    """One contest's delays: times as logged (UTC), durations in seconds after the close."""
    return {
        "contest": c.contest,
        "assembly": c.assembly,
        "stations": c.stations,
        "reported": c.reported,
        "complete": c.complete,
        "postponed": c.postponed,
        "first_form_at": c.first_form_at,
        "all_forms_at": c.all_forms_at,
        "declared_at": c.declared_at,
        "to_first_form": c.to_first_form,
        "to_all_forms": c.to_all_forms,
        "to_declared": c.to_declared,
    }


def curve_record(curve: Curve) -> dict[str, Any]:
    return {
        "name": curve.name,
        "stations": curve.stations,
        "points": [
            {"minute": p.minute, "after_close": p.after_close, "reported": p.reported}
            for p in curve.points
        ],
    }


def _times(value: ElectionDelay) -> dict[str, Any]:
    return {
        "election": value.election,
        "close": value.close,
        "as_of_time": value.as_of_time,
        "elapsed": value.elapsed,
    }


def delay_document(
    answer: Answer[ElectionDelay], top: int = 10, by: SlowestBy = SlowestBy.ALL_FORMS
) -> dict[str, Any]:
    """The election's delays: every contest, the `top` slowest, and the reporting curves."""
    value = answer.value
    doc = answer_record(answer, "delay", _times(value))
    doc["delay"] |= {
        "slowest_by": by.value,
        "slowest": [c.contest for c in slowest(value, top, by)],
        "contests": [contest_delay_record(c) for c in value.contests],
        "national": curve_record(value.national),
        "assemblies": [curve_record(a) for a in value.assemblies],
    }
    return doc


def contest_delay_document(answer: Answer[ElectionDelay], code: str) -> dict[str, Any]:
    """One contest's delays (the caller has checked the contest exists)."""
    value = answer.value
    found = value.contest(code)
    assert found is not None, code
    return answer_record(answer, "delay", _times(value) | contest_delay_record(found))
