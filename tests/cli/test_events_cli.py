"""`tallyproof event` signs and records events; `tallyproof history CONTEST` shows them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import home  # noqa: F401 - the fixture
from tests.helpers import cli, form_doc


def test_events_from_the_command_line(home: Path, tmp_path: Path) -> None:  # noqa: F811
    forms = tmp_path / "forms.jsonl"
    forms.write_text("\n".join(json.dumps(form_doc(station=f"S{i}")) for i in range(1, 5)))
    cli(home, "submit", str(forms), "--key", str(tmp_path / "po.key"))
    admin = str(tmp_path / "admin.key")
    wrong = cli(
        home, "event", "renunciation", "NA-1", "--candidate", "NA-1/b", "--key", admin, check=1
    )
    assert "event.not_the_winner" in wrong.stdout
    said = "the forms were changed"
    done = cli(
        home, "event", "renunciation", "NA-1", "--candidate", "NA-1/a", "--statement", said,
        "--key", admin,
    )  # fmt: skip
    assert "event" in done.stdout and "at leaf" in done.stdout
    refused = cli(
        home, "event", "complaint", "NA-1", "--source", "agent:PTI", "--summary", "s",
        "--evidence", "1", "--key", str(tmp_path / "po.key"), check=1,
    )  # fmt: skip
    assert "signature.wrong_source" in refused.stdout
    history = json.loads(cli(home, "history", "NA-1", "--json").stdout)["history"]
    assert history[-1]["kind"] == "event" and said in history[-1]["summary"]
    table = cli(home, "history", "NA-1").stdout
    assert "renounced the seat" in table
    results = json.loads(cli(home, "results", "--json").stdout)["results"]
    assert next(r for r in results if r["contest"] == "NA-1")["status"] == "vacated"
