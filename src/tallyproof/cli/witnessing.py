"""Witnesses, both sides: `tallyproof witness ...` runs a witness (an observer group's or a
party's), and `add-witness`, `witnesses` and `collect-cosignatures` configure and ask the
witnesses of this home's log (docs/witnesses.md)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tallyproof.cli.common import ExitCode, JsonOpt, app, err, known_errors, open_writer, out, raw
from tallyproof.cli.proofs import log_key_from
from tallyproof.ledger.cosignature import Witness, WitnessKey, WitnessPolicy
from tallyproof.service.witness import WitnessService
from tallyproof.service.witnessing import read_policy, witnessed_size, write_policy
from tallyproof.store import witnesses as rows

witness_app = typer.Typer(
    help="Run a witness: cosign a log's checkpoints only when each extends the last one "
    "cosigned (C2SP tlog-witness), so the log cannot show two histories (docs/witnesses.md).",
    no_args_is_help=True,
)
app.add_typer(witness_app, name="witness")


@contextmanager
def _witness(opening: Callable[[], WitnessService]) -> Iterator[WitnessService]:
    """The witness's service, opened (an error of the table becomes its message and exit
    code) and closed after the command."""
    with known_errors():
        service = opening()
    try:
        with known_errors():
            yield service
    finally:
        service.close()


@witness_app.command("init")
def witness_init(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The witness's name, e.g. observers.example/w1.")],
) -> None:
    """Create a witness in the home (--home): its key and its store. Prints its cosignature
    verifier key, which logs and readers configure."""
    with _witness(lambda: WitnessService.initialise(ctx.obj, name)) as service:
        raw(service.key.vkey + "\n")


@witness_app.command("follow")
def witness_follow(
    ctx: typer.Context,
    log_key: Annotated[str, typer.Argument(help="The log's vkey (tallyproof log-key), or a file.")],
) -> None:
    """Follow a log: cosign its checkpoints from now on."""
    key = log_key_from(log_key)
    with _witness(lambda: WitnessService.open(ctx.obj)) as service:
        _, added = service.follow(key.vkey)
    state = "now following" if added else "already following"
    out.print(escape(f"{state} {key.name} ({key.vkey})"), soft_wrap=True)


@witness_app.command("status")
def witness_status(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """The logs this witness follows, the newest size cosigned for each, and forks refused."""
    with _witness(lambda: WitnessService.open(ctx.obj)) as service:
        followed, refused = service.followed(), service.refusals()
        key = service.key.vkey
    if as_json:
        logs = [dataclasses.asdict(f) for f in followed]
        out.print_json(data={"witness": key, "logs": logs, "forks_refused": len(refused)})
        return
    table = Table("log", "newest size cosigned", "at", title=f"witness {key}")
    for f in followed:
        size = f"{f.size:,}" if f.size is not None else "none yet"
        table.add_row(escape(f.origin), size, f.cosigned_at or "")
    out.print(table)
    out.print(f"forks refused and kept as evidence: {len(refused)}")


@witness_app.command("refusals")
def witness_refusals(ctx: typer.Context) -> None:
    """Every validly signed checkpoint this witness refused as not extending what it had
    cosigned, with the request as sent and the note it had cosigned (JSON Lines): evidence
    that the log showed two histories."""
    import orjson

    with _witness(lambda: WitnessService.open(ctx.obj)) as service:
        found = service.refusals()
    for row in found:
        raw(orjson.dumps(dataclasses.asdict(row)).decode() + "\n")


@witness_app.command("serve")
def witness_serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 7380,
    keep_forks: Annotated[
        bool, typer.Option(help="Keep each refused, validly signed fork as evidence.")
    ] = True,
) -> None:
    """Serve tlog-witness: POST /add-checkpoint, GET /<origin hash>/checkpoint."""
    import uvicorn

    from tallyproof.api.witness import create_witness_app

    with known_errors():
        WitnessService.open(ctx.obj).close()
    err.print(f"witness serving http://{host}:{port}/add-checkpoint")
    uvicorn.run(
        create_witness_app(ctx.obj, keep_forks=keep_forks),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
    )


# --- the log's side -------------------------------------------------------------------------


@app.command("add-witness")
def add_witness(
    ctx: typer.Context,
    vkey: Annotated[str, typer.Argument(help="The witness's vkey (witness init prints it).")],
    url: Annotated[str, typer.Option(help="Where the witness serves add-checkpoint.")],
    quorum: Annotated[
        int | None,
        typer.Option(min=1, help="How many witnesses must cosign (default: a majority)."),
    ] = None,
) -> None:
    """Ask this witness to cosign the log's checkpoints (kept in the home's witnesses.json;
    `serve` asks them as checkpoints come, `collect-cosignatures` once)."""
    with known_errors("witness"):
        key = WitnessKey.from_vkey(vkey)
        policy = read_policy(ctx.obj)
        others = tuple(w for w in policy.witnesses if w.name != key.name)
        witnesses = (*others, Witness(key, url.rstrip("/")))
        needed = quorum if quorum is not None else len(witnesses) // 2 + 1
        policy = WitnessPolicy(witnesses, needed)
        write_policy(ctx.obj, policy)
    out.print(
        escape(f"witness {key.name} at {url}; quorum {policy.quorum} of {len(witnesses)}"),
        soft_wrap=True,
    )


@app.command("witnesses")
def witnesses(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """The witnesses this log asks, its quorum, and the newest checkpoint they witnessed."""
    with known_errors("witnesses.json"):
        policy = read_policy(ctx.obj)
    with open_writer(ctx) as service, service.read() as reader:
        sizes = rows.cosigned_sizes(reader)
        newest = witnessed_size(reader, policy)
    if as_json:
        out.print_json(data={**policy.as_dict(), "cosigned": sizes, "witnessed": newest})
        return
    table = Table("witness", "url", "newest size cosigned", title="witnesses of this log")
    for w in policy.witnesses:
        size = sizes.get(w.name)
        table.add_row(escape(w.name), escape(w.url), f"{size:,}" if size is not None else "none")
    out.print(table)
    state = f"size {newest:,}" if newest is not None else "none yet"
    out.print(f"quorum {policy.quorum} of {len(policy.witnesses)}; newest witnessed: {state}")


@app.command("collect-cosignatures")
def collect_cosignatures(
    ctx: typer.Context,
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds to wait for a witness.")] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Ask every witness once to cosign the newest checkpoint (what `serve` does as
    checkpoints come; this is for a log that is not served, or a cron job). Exit 1 when the
    quorum has not cosigned the newest checkpoint."""
    from tallyproof.api.witnessing import collect_once

    with known_errors("witnesses.json"):
        policy = read_policy(ctx.obj)
    with open_writer(ctx):
        pass  # an uninitialised home is refused plainly, before any witness is asked
    if not policy.witnesses:
        err.print("no witness configured: add one with `tallyproof add-witness`")
        raise typer.Exit(ExitCode.NOT_READY)
    done = asyncio.run(collect_once(ctx.obj, policy, timeout))
    if as_json:
        out.print_json(data=dataclasses.asdict(done))
    else:
        for asked in done.asked:
            out.print(escape(f"{asked.witness}: {asked.detail} (size {asked.tree_size:,})"))
        state = f"size {done.witnessed:,}" if done.witnessed is not None else "none"
        out.print(f"newest checkpoint witnessed by the quorum: {state}")
    if done.tree_size is not None and done.witnessed != done.tree_size:
        raise typer.Exit(ExitCode.REFUSED)
