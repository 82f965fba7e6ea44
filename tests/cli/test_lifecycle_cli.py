"""The status state machine and re-polls from the command line: an illegal order is refused
by its rule code, and a contest's view shows its totals before and after a re-poll."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tallyproof.ledger.canonical import content_id
from tests.helpers import cli, form_doc, register_po_key, structure_doc


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An initialised home with the test election imported and a presiding officer's key."""
    home = tmp_path / "home"
    cli(home, "init", "--origin", "test.example/log")
    cli(home, "keygen", "test/admin", "--out", str(tmp_path / "admin.key"))
    cli(home, "keygen", "po/all", "--out", str(tmp_path / "po.key"))
    (tmp_path / "structure.json").write_text(json.dumps(structure_doc()))
    admin = ["--admin-key", str(tmp_path / "admin.key")]
    cli(home, "import-structure", str(tmp_path / "structure.json"), *admin)
    register_po_key(home, tmp_path)
    return home


def submit(home: Path, tmp_path: Path, doc: dict) -> str:
    """Submit one form; its id (the hash of what was signed)."""
    forms = tmp_path / "forms.jsonl"
    forms.write_text(json.dumps(doc) + "\n")
    cli(home, "submit", str(forms), "--key", str(tmp_path / "po.key"))
    return content_id(doc)


def order(home: Path, tmp_path: Path, *args: str, check: int = 0) -> str:
    admin = ["--admin-key", str(tmp_path / "admin.key")]
    return cli(home, "status", *args, *admin, check=check).stdout


def test_a_re_poll_from_the_command_line_shows_before_and_after(home, tmp_path):
    first = submit(home, tmp_path, form_doc(station="S1", votes=(500, 100, 10)))
    submit(home, tmp_path, form_doc(station="S2", votes=(40, 60, 5)))
    order(home, tmp_path, "S1", "re_poll_ordered", "--station", "--reason", "boxes snatched",
          "--re-poll-date", "2024-02-15")  # fmt: skip
    again = form_doc(station="S1", votes=(200, 300, 10), supersedes=first, reason="re_poll")
    submit(home, tmp_path, again)
    shown = cli(home, "results", "NA-1").stdout
    assert "before and after the re-poll" in shown
    assert "540" in shown and "240" in shown and "-300" in shown
    assert "S1: before a 500, b 100, c 10; after a 200, b 300, c 10" in " ".join(shown.split())
    data = json.loads(cli(home, "results", "NA-1", "--json").stdout)["results"][0]
    assert data["re_polls"]["before"] == {"NA-1/a": 540, "NA-1/b": 160, "NA-1/c": 15}
    pp = json.loads(cli(home, "results", "PP-1", "--json").stdout)["results"][0]
    assert pp["re_polls"]["stations"] == [{"station": "S1", "before": {}, "after": None}]


def test_an_illegal_order_is_refused_by_its_code(home, tmp_path):
    order(home, tmp_path, "NA-1", "final")
    refused = order(home, tmp_path, "NA-1", "polling", check=1)
    assert "status.illegal_transition" in refused
    bad_date = order(home, tmp_path, "NA-1", "vacated", "--reason", "renounced",
                     "--re-poll-date", "2024-02-15", check=1)  # fmt: skip
    assert "status.re_poll_date_not_allowed" in bad_date
