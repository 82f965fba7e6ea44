"""The `tallyproof` command: set up a home, import an election, submit and declare results,
read them, and prove them. One module per group of commands; exit codes in one place."""

from tallyproof.cli import (
    admin,
    claims,
    data,
    delay,
    demonstrating,
    events,
    exporting,
    field,
    government,
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
    "delay",
    "demonstrating",
    "events",
    "exporting",
    "field",
    "government",
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
