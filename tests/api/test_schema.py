"""Schemathesis against the served OpenAPI description: requests generated from every
operation's schema (and beyond it) never get a 5xx. The fast suite draws a few examples per
operation; `make test-api-fuzz` draws many more (TALLYPROOF_FUZZ_EXAMPLES)."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error

from tallyproof.ledger.entries import EntryKind, sign
from tests.helpers import form_doc, make_election
from tests.serving import Server

EXAMPLES = int(os.environ.get("TALLYPROOF_FUZZ_EXAMPLES", "12"))


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    """A served election with forms in it, so reads have something to answer with."""
    home = tmp_path_factory.mktemp("fuzz") / "home"
    e = make_election(home)
    e.submit(form_doc(station="S1"), form_doc(station="S2"))
    e.submit(form_doc(station="S1", source="agent:PTI", votes=(280, 200, 100)), key=e.agent)
    e.ctx.close()
    server = Server(home).start()
    yield server
    server.stop()


def operations(url: str) -> list:
    loaded = schemathesis.openapi.from_url(f"{url}/openapi.json")
    found = [result.ok() for result in loaded.get_all_operations()]
    return [op for op in found if op.path != "/v1/events"]  # a stream: it never ends itself


def test_no_request_gets_a_server_error(fuzzed):
    """Every operation, with bodies and parameters drawn from its schema (positive) and
    against it (negative)."""
    ops = operations(fuzzed.url)
    assert len(ops) >= 25
    for op, mode in ((op, mode) for op in ops for mode in schemathesis.GenerationMode):

        @given(case=op.as_strategy(mode))
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        def call(case) -> None:
            case.call_and_validate(base_url=fuzzed.url, checks=[not_a_server_error])

        try:
            call()
        except Unsatisfiable:  # an operation with nothing to get wrong (no parameters)
            assert mode is schemathesis.GenerationMode.NEGATIVE, op.path


def test_a_signed_form_still_lands_after_the_fuzzing(fuzzed):
    """The fuzzing left the service able to take real work (nothing wedged or poisoned)."""
    import httpx

    from tallyproof.ledger.keys import Signer

    key = Signer.from_seed_text("po/S3", "test:po/S3")
    env = sign(EntryKind.FORM, form_doc(station="S3"), key).envelope()
    answer = httpx.post(f"{fuzzed.url}/v1/forms", json=env, timeout=30)
    assert answer.status_code in (200, 201), answer.text
