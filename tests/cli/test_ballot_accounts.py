"""Form 46 and a form's evidence from the command line: `submit-account`, `ballot-accounts`,
`forms`, and `findings` naming the account against the count."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.helpers import ELECTION, cli, form_doc, structure_doc

SHA = hashlib.sha256(b"scan").hexdigest()


def test_an_account_and_a_form_with_evidence_from_the_command_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    admin, po = tmp_path / "admin.key", tmp_path / "po.key"
    cli(home, "init", "--origin", "test.example/log")
    for name, path in (("test/admin", admin), ("po/S1", po)):
        cli(home, "keygen", name, "--out", str(path))
    (tmp_path / "structure.json").write_text(json.dumps(structure_doc()))
    cli(home, "import-structure", str(tmp_path / "structure.json"), "--admin-key", str(admin))
    register = ["register-key", "--admin-key", str(admin), "--source", "presiding_officer"]
    cli(home, *register, "--key-file", str(po), "--station", "S1")
    form = form_doc(evidence={"sha256": SHA, "transcribed_by": "Sana"})
    (tmp_path / "f45.json").write_text(json.dumps(form))
    cli(home, "submit", str(tmp_path / "f45.json"), "--key", str(po))
    account = {
        "election": ELECTION,
        "station": "S1",
        "contest": "NA-1",
        "source": "presiding_officer",
        "received": 1000,
        "issued": 600,
        "spoilt": 5,
        "unused": 395,
        "time": "2024-02-08T18:30:00+05:00",
    }
    (tmp_path / "f46.json").write_text(json.dumps(account))
    cli(home, "submit-account", str(tmp_path / "f46.json"), "--key", str(po))
    (tmp_path / "bad.json").write_text(json.dumps(account | {"unused": 1}))
    refused = cli(home, "submit-account", str(tmp_path / "bad.json"), "--key", str(po), check=None)
    assert refused.returncode != 0 and "ballots.account_mismatch" in refused.stdout + refused.stderr

    shown = json.loads(cli(home, "ballot-accounts", "S1", "--json").stdout)
    (listed,) = shown["ballot_accounts"]
    assert (listed["received"], listed["issued"], listed["current"]) == (1000, 600, True)
    text = cli(home, "ballot-accounts", "S1").stdout
    assert "received 1,000 = issued 600 + spoilt 5 + unused 395" in text
    (f,) = json.loads(cli(home, "forms", "S1", "--json").stdout)["forms"]
    assert f["evidence"] == {"sha256": SHA, "transcribed_by": "Sana"}
    findings = cli(home, "findings", "--json").stdout
    assert "ballots.issued_differs_from_polled" in findings
