"""The real thing: a device signs 200 forms while the log is down; the log comes up; the
device syncs; the log is SIGKILLed while a batch is in flight (committed, its answer lost)
and restarted; the device is SIGKILLed while another batch is in flight and restarted. In
the end every form is in the log exactly once, and the device holds a verifying receipt for
each, which `verify-receipt` accepts too."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from typer.testing import CliRunner

from tallyproof.cli import app
from tallyproof.client.outbox import Outbox, State
from tallyproof.ledger.keys import PublicKey
from tallyproof.store.database import Store
from tests.client.conftest import Served, device_forms, logged_forms, verify_kept

RUNNER = CliRunner()
# `python -m tallyproof` once the package registers `field`; this loads it either way
FIELD = [sys.executable, "-c", "from tallyproof.cli import field, main; main()", "field"]
FAST = ["--batch-size", "20", "--retry-base", "0.05", "--retry-cap", "0.3", "--now"]


def field(*args: str, code: int = 0) -> str:
    result = RUNNER.invoke(app, ["field", *args], env={"TALLYPROOF_FIELD_DIR": None})
    assert result.exit_code == code, result.output
    return result.output


def field_process(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "TALLYPROOF_FIELD_DIR"}
    return subprocess.Popen(
        [*FIELD, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )


def set_up_offline(served: Served, directory: Path) -> None:
    """Set up the device and sign every form while the log cannot be reached."""
    field("init", str(directory), "--server", served.relay.url, "--log-key", served.log_vkey,
          "--key", str(served.device_key))  # fmt: skip
    forms = directory.parent / "forms.jsonl"
    forms.write_text("".join(json.dumps(d) + "\n" for d in device_forms(served.stations)))
    assert "200 to send" in field("sign", str(forms), "--dir", str(directory))
    offline = field("sync", "--dir", str(directory), "--once", code=3)
    assert "200 still to send" in offline


def test_forms_signed_offline_land_exactly_once_through_kills_of_both_sides(served, tmp_path):
    directory = tmp_path / "device"
    set_up_offline(served, directory)
    server_killed, client_killed = threading.Event(), threading.Event()
    client: list[subprocess.Popen[str]] = []

    def kill_server() -> None:
        served.server.kill()
        server_killed.set()

    def kill_client() -> None:
        client[0].send_signal(signal.SIGKILL)
        client[0].wait(10)
        client_killed.set()

    served.relay.cut = {3: kill_server, 6: kill_client}  # the 3rd and 6th batches' answers
    client.append(field_process("sync", "--dir", str(directory), *FAST))  # retrying already
    served.server.start()  # the network returns
    assert server_killed.wait(60), "the third batch never reached the log"
    served.server.start()
    assert client_killed.wait(60), "the sixth batch never reached the log"
    assert client[0].wait(10) == -signal.SIGKILL
    output = field("sync", "--dir", str(directory), "--check", "--max-wait", "60", *FAST)
    assert "ok: 200 receipts" in output
    check_landed_once(served, directory)


def check_landed_once(served: Served, directory: Path) -> None:
    store = Store(served.database_url)
    try:
        logged = logged_forms(store)
    finally:
        store.close()
    outbox = Outbox.open(directory)
    try:
        kept = outbox.forms()
        assert len(kept) == 200 and all(k.state is State.ACCEPTED for k in kept)
        assert set(logged) == {k.entry_id for k in kept}
        assert set(logged.values()) == {1}  # no form counted twice
        assert sum(k.duplicate for k in kept) >= 40  # both cut batches were resent
        assert verify_kept(outbox, PublicKey.from_vkey(served.log_vkey)) == 200
    finally:
        outbox.close()
    receipts, signed = directory.parent / "r.jsonl", directory.parent / "s.jsonl"
    field("receipts", "--dir", str(directory), "--out", str(receipts), "--signed", str(signed))
    verified = RUNNER.invoke(app, ["verify-receipt", str(receipts), "--log-key",
                                   served.log_vkey, "--entry", str(signed)])  # fmt: skip
    assert verified.exit_code == 0 and verified.output.count("ok: form") == 200
