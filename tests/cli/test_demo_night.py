"""`tallyproof demo` is an election night: the dashboard answers while the simulated night
streams in, the night arrives whole, and Ctrl-C stops the server and the demo cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.serving import free_port


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"{what} within {timeout} s")


def _demo(tmp_path, speed: str) -> tuple[subprocess.Popen[bytes], str, Path]:
    """`tallyproof demo` on a fresh home and port (600 stations), its output in a log."""
    port = free_port()
    log = tmp_path / "demo.log"
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("TALLYPROOF_DATABASE_URL", None)
    command = [sys.executable, "-m", "tallyproof", "--home", str(tmp_path / "home"), "demo",
               "--stations", "600", "--speed", speed, "--port", str(port)]  # fmt: skip
    with log.open("wb") as sink:
        demo = subprocess.Popen(command, stdout=sink, stderr=sink, env=env)
    url = f"http://127.0.0.1:{port}"
    # the address is printed once the dashboard answers (the server may answer a moment
    # before the demo has seen it do so)
    try:
        _wait_for(lambda: f"Dashboard: {url}/" in log.read_text("utf-8"), 120, "the address")
    except BaseException:
        demo.send_signal(signal.SIGINT)
        demo.wait(60)
        raise
    return demo, url, log


def _stopped(demo: subprocess.Popen[bytes], url: str, log: Path, signal_number: int) -> None:
    """Signal the demo; it ends with 0, says it is stopping, and its server and its
    witnesses are gone."""
    printed = log.read_text("utf-8")
    witnesses = re.findall(r"http://127\.0\.0\.1:[0-9]+(?=[,\s])", printed.split("cosigning")[1])
    assert len(witnesses) == 2, printed
    demo.send_signal(signal_number)
    code = demo.wait(60)
    assert code == 0, log.read_text("utf-8")[-3000:]
    assert "stopping" in log.read_text("utf-8")
    for gone in (f"{url}/v1/health", *(f"{w}/{'0' * 64}/checkpoint" for w in witnesses)):
        with pytest.raises(httpx.HTTPError):
            httpx.get(gone, timeout=2)


@pytest.mark.slow
def test_the_demo_serves_the_dashboard_streams_the_night_and_stops_on_ctrl_c(tmp_path):
    demo, url, log = _demo(tmp_path, "0")
    try:
        assert httpx.get(f"{url}/", timeout=5).status_code == 200
        elections = httpx.get(f"{url}/v1/elections", timeout=10).json()["elections"]
        assert "pk-ge-2024" in {e["id"] for e in elections}  # the sample, before the night

        _wait_for(lambda: "The night is in" in log.read_text("utf-8"), 240, "the whole night")
        sim = "/v1/elections/pk-ge-2024-sim"
        contests = httpx.get(f"{url}{sim}/contests", timeout=30).json()["contests"]
        assert len(contests) == 266 + 593
        assert sum(c["stations_reported"] for c in contests) > 0.95 * sum(
            c["stations_total"] for c in contests if c["status"] != "postponed"
        )
        findings = httpx.get(f"{url}{sim}/findings", timeout=60).json()["findings"]
        assert "consolidation.winner_differs" in {f["code"] for f in findings}
        # the demo's two witnesses catch up with the whole night
        newest = httpx.get(f"{url}/v1/checkpoints/latest", timeout=10).json()["tree_size"]
        state = lambda: httpx.get(f"{url}/v1/witnesses", timeout=10).json()  # noqa: E731
        _wait_for(lambda: state()["witnessed"] == newest, 60, "the witnesses' quorum")
        assert len(state()["witnesses"]) == 2 and state()["quorum"] == 2
    except BaseException:
        demo.send_signal(signal.SIGINT)
        demo.wait(60)
        raise
    _stopped(demo, url, log, signal.SIGINT)


def test_sigterm_mid_night_stops_the_server_with_the_demo(tmp_path):
    """The server runs in a session of its own: killed politely, the demo takes it down too
    rather than leaving it serving with no one to stop it."""
    demo, url, log = _demo(tmp_path, "60")
    _stopped(demo, url, log, signal.SIGTERM)
