"""The processes `serve` starts beside its HTTP workers (the committer, the publisher): each
is spawned fresh, says when it is ready, and ends when the process that started it ends,
however that ends (a SIGKILL runs no clean-up, so the child watches for it itself)."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from typing import Any

Body = Callable[..., None]  # the child's work: body(ready, *args); it sets `ready` when it is


def start(name: str, body: Body, *args: Any) -> multiprocessing.Process:
    """Spawn `body` and wait until it is ready (or has failed to be)."""
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    process = context.Process(
        target=_child, args=(body, os.getpid(), ready, *args), name=f"tallyproof-{name}"
    )
    process.start()
    while not ready.wait(0.1):
        if not process.is_alive():
            raise RuntimeError(f"the {name} exited with code {process.exitcode}")
    return process


def stop(process: multiprocessing.Process) -> None:
    process.terminate()
    process.join(30)


def _child(body: Body, parent: int, ready: Any, *args: Any) -> None:
    threading.Thread(target=_outlive_not, args=(parent,), daemon=True).start()
    body(ready, *args)


def _outlive_not(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(0)
