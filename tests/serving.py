"""A real tallyproof server on loopback for tests: `tallyproof serve` in its own process,
started on a free port, waited for, and stopped (or killed) by the test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def stop_group(process: subprocess.Popen | None, kill: bool = False) -> None:
    """SIGTERM a process started in a session of its own, and its children (SIGKILL if it
    hangs, or if `kill`: a crash, nothing run on the way out)."""
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGKILL if kill else signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """`tallyproof serve` on 127.0.0.1, in a session of its own so a SIGKILL takes its whole
    process group (workers and committer), as a power cut would; `args` are extra serve
    options. What it prints goes to `log` (beside the home unless given): a pipe nobody
    reads would stop it once full."""

    home: Path
    database_url: str | None = None
    args: tuple[str, ...] = ()
    port: int = field(default_factory=free_port)
    log: Path | None = None
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> Server:
        env = {**os.environ, "TALLYPROOF_HOME": str(self.home)}
        env.pop("TALLYPROOF_DATABASE_URL", None)
        if self.database_url:
            env["TALLYPROOF_DATABASE_URL"] = self.database_url
        command = [sys.executable, "-m", "tallyproof", "serve", "--port", str(self.port)]
        self.log = self.log or self.home.parent / f"serve-{self.port}.log"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*command, *self.args],
                env=env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        self._wait(timeout)
        return self

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.printed()}")
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"no server on {self.url} after {timeout} s: {self.printed()}")

    def printed(self) -> str:
        return self.log.read_text()[-2000:] if self.log and self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL, no goodbye: what is not committed is lost."""
        self.stop(kill=True)

    def stop(self, kill: bool = False) -> None:
        """SIGTERM (a graceful shutdown) or SIGKILL (a crash), to the whole process group."""
        stop_group(self.process, kill)

    def client(self, **kw: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kw)  # type: ignore[arg-type]
