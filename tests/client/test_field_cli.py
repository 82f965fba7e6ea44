"""`tallyproof field` in process: setting up a device, signing forms offline, what `status`
shows, the receipts handed over as `verify-receipt` reads them, and the exit codes."""

from __future__ import annotations

import json
import random

import pytest
from typer.testing import CliRunner

from tallyproof.cli import app
from tallyproof.client.outbox import Outbox, State
from tallyproof.client.sync import RetryPolicy, Sync, SyncOptions
from tallyproof.ledger.keys import Signer
from tests.client.conftest import SERVER, device_forms
from tests.helpers import ELECTION, form_doc
from tests.serving import free_port

RUNNER = CliRunner()


def field(*args: str, code: int = 0):
    result = RUNNER.invoke(app, ["field", *args], env={"TALLYPROOF_FIELD_DIR": None})
    assert result.exit_code == code, result.output
    return result


@pytest.fixture
def device(field_log, tmp_path):
    """A device set up from the command line, its key and the log's key in files."""
    key = tmp_path / "device.key"
    key.write_text(field_log.device.private_text() + "\n")
    vkey = tmp_path / "log.vkey"
    vkey.write_text(field_log.log_key.vkey + "\n")
    directory = tmp_path / "dev"
    field("init", str(directory), "--server", SERVER, "--log-key", str(vkey), "--key", str(key))
    return directory


def write_forms(path, docs):
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    return path


def test_init_keeps_the_log_key_given_and_refuses_a_second_init(device, field_log, tmp_path):
    outbox = Outbox.open(device)
    assert outbox.device().log_key == field_log.log_key
    assert outbox.device().key == field_log.device.public
    outbox.close()
    again = field(
        "init", str(device), "--server", SERVER, "--log-key", field_log.log_key.vkey,
        "--key", str(tmp_path / "device.key"), code=3,
    )  # fmt: skip
    assert "outbox.exists" in again.output


def test_init_refuses_a_bad_address_or_log_key(tmp_path, field_log):
    key = tmp_path / "k"
    key.write_text(field_log.device.private_text())
    vkey = field_log.log_key.vkey
    bad_url = field("init", str(tmp_path / "a"), "--server", "ftp://x", "--log-key", vkey,
                    "--key", str(key), code=2)  # fmt: skip
    assert "http" in bad_url.output
    bad_key = field("init", str(tmp_path / "b"), "--server", SERVER, "--log-key", "nonsense",
                    "--key", str(key), code=3)  # fmt: skip
    assert "key.invalid" in bad_key.output
    assert not (tmp_path / "b").exists()


def test_sign_keeps_each_form_once_and_says_what_is_to_send(device, tmp_path):
    forms = write_forms(tmp_path / "forms.jsonl", device_forms(4))
    assert "signed 8 forms into the outbox (0 were there already); 8 to send" in (
        field("sign", str(forms), "--dir", str(device)).output
    )
    again = field("sign", str(forms), "--dir", str(device), "--json")
    doc = json.loads(again.output)
    assert doc["to_send"] == 8 and not any(row["new"] for row in doc["signed"])
    assert doc["signed"][0]["input"] == "forms.jsonl:1"


def test_a_file_with_a_malformed_form_adds_nothing(device, tmp_path):
    bad = form_doc("S2")
    bad["votes"]["NA-1/a"] = "many"
    forms = write_forms(tmp_path / "forms.jsonl", [form_doc("S1"), bad, {"station": "S3"}])
    result = field("sign", str(forms), "--dir", str(device), code=1)
    assert "forms.jsonl:2: votes.not_integer" in result.output
    assert "forms.jsonl:3: schema.missing" in result.output
    assert "nothing was added" in result.output
    outbox = Outbox.open(device)
    assert outbox.forms() == []
    outbox.close()


def test_sign_refuses_a_key_that_is_not_the_devices(device, tmp_path):
    other = tmp_path / "other.key"
    other.write_text(Signer.from_seed_text("po/other", "x").private_text())
    forms = write_forms(tmp_path / "forms.jsonl", [form_doc("S1")])
    result = field("sign", str(forms), "--dir", str(device), "--key", str(other), code=3)
    assert "outbox.key" in result.output


def test_commands_on_a_directory_without_an_outbox_say_so(tmp_path):
    result = field("status", "--dir", str(tmp_path / "nowhere"), code=3)
    assert "outbox.missing" in result.output and "field init" in result.output


def test_sync_with_the_log_out_of_reach_keeps_everything_and_exits_3(field_log, tmp_path):
    key = tmp_path / "device.key"
    key.write_text(field_log.device.private_text())
    directory = tmp_path / "dev"
    closed = f"http://127.0.0.1:{free_port()}"
    field("init", str(directory), "--server", closed, "--log-key", field_log.log_key.vkey,
          "--key", str(key))  # fmt: skip
    field("sign", str(write_forms(tmp_path / "f.jsonl", device_forms(2))), "--dir", str(directory))
    result = field("sync", "--dir", str(directory), "--once", code=3)
    assert "4 still to send" in result.output and "unreachable" in result.output
    status = json.loads(field("status", "--dir", str(directory), "--json").output)
    assert status["counts"] == {"pending": 0, "sent": 4, "accepted": 0, "refused": 0}
    assert all(f["attempts"] == 1 and f["last_error"] for f in status["forms"])


def test_status_names_every_refused_form_and_receipts_verify(device, field_log, tmp_path):
    bad = form_doc("S2", contest="PP-1", votes=(1, 1), polled=5)
    docs = [*device_forms(2), bad]
    field("sign", str(write_forms(tmp_path / "forms.jsonl", docs)), "--dir", str(device))
    outbox = Outbox.open(device)
    policy = RetryPolicy(0.0, 0.0)
    with field_log.client() as http:
        Sync(outbox, http, SyncOptions(policy=policy), rng=random.Random(1)).run()
    (refused,) = outbox.forms(State.REFUSED)
    outbox.close()
    text = field("status", "--dir", str(device)).output
    assert "pending 0 · sent 0 · accepted 4 · refused 1" in text
    assert f"S2 PP-1 {refused.entry_id}: ballots.accounting_mismatch at polled" in text
    receipts, signed = tmp_path / "receipts.jsonl", tmp_path / "signed.jsonl"
    field("receipts", "--dir", str(device), "--out", str(receipts), "--signed", str(signed))
    assert len(receipts.read_text().splitlines()) == 4
    verified = RUNNER.invoke(app, ["verify-receipt", str(receipts), "--log-key",
                                   field_log.log_key.vkey, "--entry", str(signed)])  # fmt: skip
    assert verified.exit_code == 0, verified.output
    assert verified.output.count("ok: form") == 4
    printed = field("receipts", "--dir", str(device)).output
    assert printed == receipts.read_text()


def test_a_refused_csv_form_is_named_by_its_file_line_and_column(device, tmp_path):
    """The device reads a form CSV as `submit` does: a cell that breaks a rule is named by
    the file, the line and the column, and nothing is added to the outbox."""
    header = ["election", "station", "contest", "source", "time", "rejected", "polled"]
    header += ["votes.NA-1/a", "votes.NA-1/b", "votes.NA-1/c"]
    good = [ELECTION, "S1", "NA-1", "presiding_officer", "2024-02-08T18:00:00+05:00", "10"]
    rows = [header, [*good, "610", "300", "200", "100"], [*good, "610", "300", "-5", "100"]]
    forms = tmp_path / "forms.csv"
    forms.write_text("".join(",".join(r) + "\n" for r in rows))
    refused = field("sign", str(forms), "--dir", str(device), code=1)
    assert "forms.csv line 3" in refused.output and "column votes.NA-1/b" in refused.output
    outbox = Outbox.open(device)
    assert outbox.forms(State.PENDING) == []
    outbox.close()
