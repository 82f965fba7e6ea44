"""The `tallyproof` command: set up a home, import an election, submit and declare results,
read them, and prove them. One module per group of commands; exit codes in one place."""

from tallyproof.cli import (
    admin,
    claims,
    data,
    demonstrating,
    events,
    exporting,
    field,
    proofs,
    publishing,
    reading,
    serving,
    simulating,
    submitting,
    witnessing,
)
from tallyproof.cli.common import app

__all__ = [
    "admin",
    "app",
    "claims",
    "data",
    "demonstrating",
    "events",
    "exporting",
    "field",
    "main",
    "proofs",
    "publishing",
    "reading",
    "serving",
    "simulating",
    "submitting",
    "witnessing",
]


def main() -> None:
    app()
