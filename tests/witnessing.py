"""Real witnesses for tests: `tallyproof witness serve` processes on loopback, each in a home
of its own, following a log; and a log home configured to ask them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tallyproof.ledger.cosignature import Witness, WitnessKey, WitnessPolicy
from tallyproof.service.settings import Settings
from tallyproof.service.witness import WitnessService
from tallyproof.service.witnessing import write_policy
from tests.serving import free_port, stop_group


@dataclass
class WitnessServer:
    """A witness named `name` in `home`, following the log whose vkey is `log_vkey`."""

    home: Path
    name: str
    log_vkey: str
    port: int = field(default_factory=free_port)
    args: tuple[str, ...] = ()
    process: subprocess.Popen | None = None
    key: WitnessKey | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def witness(self) -> Witness:
        assert self.key is not None
        return Witness(self.key, self.url)

    def start(self, timeout: float = 30.0) -> WitnessServer:
        service = WitnessService.initialise(Settings.at(self.home), self.name)
        try:
            service.follow(self.log_vkey)
            self.key = service.key
        finally:
            service.close()
        env = {**os.environ, "TALLYPROOF_HOME": str(self.home)}
        env.pop("TALLYPROOF_DATABASE_URL", None)
        command = [sys.executable, "-m", "tallyproof", "witness", "serve", "--port", str(self.port)]
        log = (self.home.parent / f"witness-{self.port}.log").open("ab")
        self.process = subprocess.Popen(
            [*command, *self.args], env=env, stdout=log, stderr=log, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"witness {self.name} exited")
            try:
                httpx.get(f"{self.url}/{'0' * 64}/checkpoint", timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"no witness on {self.url}")

    def stop(self) -> None:
        stop_group(self.process)


def configure(log_home: Path, servers: list[WitnessServer], quorum: int) -> WitnessPolicy:
    """Make the log in `log_home` ask these witnesses, with this quorum."""
    policy = WitnessPolicy(tuple(s.witness for s in servers), quorum)
    write_policy(Settings.at(log_home), policy)
    return policy
