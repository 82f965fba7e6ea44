"""Exports: every form as the long CSV, the contest results as CSV, and the election as a
NIST SP 1500-100 Election Results CDF document, each true at a tree size named on stderr."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from tallyproof.cli.common import ElectionOpt, app, err
from tallyproof.cli.reading import AsOfOpt, as_of_value, read_model
from tallyproof.export.nist_cdf import election_report_json
from tallyproof.export.results_csv import csv_chunks, results_table, stations_table
from tallyproof.service.reading import Answer

export_app = typer.Typer(
    help="Export an election's results: every form as a long CSV, the contest results as "
    "CSV, or a NIST SP 1500-100 Election Results CDF document. Each is true at one tree "
    "size, printed on standard error.",
    no_args_is_help=True,
)
app.add_typer(export_app, name="export")

OutOpt = Annotated[
    Path | None,
    typer.Option("--out", help="Write here (in full, or not at all) instead of standard output."),
]


@export_app.command("stations-csv")
def stations_csv(
    ctx: typer.Context,
    election: ElectionOpt = None,
    contest: Annotated[str | None, typer.Option(help="Only this contest.")] = None,
    as_of: AsOfOpt = None,
    out_file: OutOpt = None,
) -> None:
    """One row per station, contest, candidate and form, from every source, current and
    superseded: the long shape newsroom tools read (columns in docs/exports.md)."""
    at = as_of_value(as_of)
    with read_model(ctx) as model:
        answer = stations_table(model, election, at, contest=contest)
        _write(answer, csv_chunks(answer.value), out_file)


@export_app.command("results-csv")
def results_csv(
    ctx: typer.Context,
    election: ElectionOpt = None,
    as_of: AsOfOpt = None,
    out_file: OutOpt = None,
) -> None:
    """One row per contest and candidate: declared beside computed, their difference, the
    official figure, status, stations and ballots."""
    at = as_of_value(as_of)
    with read_model(ctx) as model:
        answer = results_table(model, election, at)
        _write(answer, csv_chunks(answer.value), out_file)


@export_app.command("cdf")
def cdf(
    ctx: typer.Context,
    election: ElectionOpt = None,
    stations: Annotated[
        bool, typer.Option(help="Each station's counts too (large for a national election).")
    ] = False,
    as_of: AsOfOpt = None,
    out_file: OutOpt = None,
) -> None:
    """The election as a NIST SP 1500-100 v2 Election Results CDF `ElectionReport` (JSON):
    the official result as `total`, the forms' sum beside it, rejected ballots, statuses."""
    at = as_of_value(as_of)
    with read_model(ctx) as model:
        answer = election_report_json(model, election, at, stations=stations)
        _write(answer, chain(_decoded(answer.value), ["\n"]), out_file)


def _decoded(chunks: Iterable[bytes]) -> Iterator[str]:
    for chunk in chunks:
        yield chunk.decode()


def _write(answer: Answer[Any], chunks: Iterable[str], out_file: Path | None) -> None:
    """Write the chunks as they are made, then name the tree size they are true at."""
    if out_file is None:
        with _stdout_closed_early():
            _copy(chunks, sys.stdout)
        err.print(f"tree size {answer.tree_size}", soft_wrap=True)
        return
    partial = out_file.with_name(out_file.name + ".part")
    try:
        with partial.open("w", encoding="utf-8", newline="") as stream:
            _copy(chunks, stream)
        partial.replace(out_file)
    finally:
        partial.unlink(missing_ok=True)  # gone once renamed; a failed export leaves nothing
    err.print(f"{out_file}: tree size {answer.tree_size}", soft_wrap=True)


def _copy(chunks: Iterable[str], stream: IO[str]) -> None:
    for chunk in chunks:
        stream.write(chunk)
    stream.flush()


@contextmanager
def _stdout_closed_early() -> Iterator[None]:
    """`export ... | head`: a reader that stops early ends the export quietly."""
    try:
        yield
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(0) from None
