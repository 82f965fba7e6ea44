"""The one error table: each known error gets its rule code, exit code and HTTP status."""

from __future__ import annotations

import pytest

from tallyproof.domain.problems import Problem, Rejected
from tallyproof.errors import KNOWN, ExitCode, classify
from tallyproof.formats.structure import FileFormatError
from tallyproof.ledger.intake import InputError
from tallyproof.ledger.keys import KeyTextError
from tallyproof.service.queries import UnknownElection
from tallyproof.service.state import StoreInconsistent
from tallyproof.service.writer import NotInitialised
from tallyproof.store.faults import StoreRefused


@pytest.mark.parametrize(
    ("error", "code", "exit", "http"),
    [
        (StoreInconsistent("ledger.gap", "no entry 7"), "ledger.gap", ExitCode.AUDIT_FAILED, 500),
        (NotInitialised("no log key"), "home.not_initialised", ExitCode.NOT_READY, 503),
        (StoreRefused("store.full", "the disk is full"), "store.full", ExitCode.NOT_READY, 503),
        (StoreRefused("store.read_only", "read-only"), "store.read_only", ExitCode.NOT_READY, 503),
        (UnknownElection("form.unknown_contest", "no NA-9"), "form.unknown_contest", 3, 404),
        (FileFormatError("f.csv line 3", "csv.ragged"), "csv.ragged", ExitCode.NOT_READY, 400),
        (InputError("input.too_deep", "$", "33 levels"), "input.too_deep", ExitCode.REFUSED, 400),
        (KeyTextError("not a key"), "key.invalid", ExitCode.NOT_READY, 400),
        (Rejected([Problem("votes.negative", "votes.a", "-1")]), "votes.negative", 1, 422),
        (FileNotFoundError(2, "No such file", "x.json"), "input.unreadable", 3, 400),
    ],
)
def test_each_error_has_its_code_exit_and_status(error, code, exit, http):
    known = classify(error)
    assert (known.code, known.exit, known.http) == (code, exit, http)
    assert known.message.startswith(code)
    assert known.message.count(code) == 1  # a code the error already names is not repeated


def test_a_rejection_names_every_field_and_a_missing_file_its_name():
    rejected = Rejected([Problem("a.b", "x", "one"), Problem("c.d", "y", "two")])
    assert classify(rejected).message == "a.b at x: one; c.d at y: two"
    assert (
        "x.json: No such file" in classify(FileNotFoundError(2, "No such file", "x.json")).message
    )


def test_an_unknown_error_is_not_in_the_table():
    assert not isinstance(ZeroDivisionError(), KNOWN)
    with pytest.raises(StopIteration):
        classify(ZeroDivisionError())
