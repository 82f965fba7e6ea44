"""The real `tallyproof` command, run as a subprocess on a real SQLite file."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.helpers import ELECTION, cli, form_doc, register_po_key, structure_doc


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An initialised home with the test election imported and a presiding officer's key."""
    home = tmp_path / "home"
    cli(home, "init", "--origin", "test.example/log")
    cli(home, "keygen", "test/admin", "--out", str(tmp_path / "admin.key"))
    cli(home, "keygen", "po/all", "--out", str(tmp_path / "po.key"))
    (tmp_path / "structure.json").write_text(json.dumps(structure_doc()))
    cli(
        home,
        "import-structure",
        str(tmp_path / "structure.json"),
        "--admin-key",
        str(tmp_path / "admin.key"),
    )
    register_po_key(home, tmp_path)
    return home


def test_without_init_the_command_says_so(tmp_path):
    done = cli(tmp_path / "none", "results", check=3)
    assert "tallyproof init" in done.stderr


def test_submit_jsonl_then_read_results_standings_and_findings(home, tmp_path):
    forms = tmp_path / "forms.jsonl"
    forms.write_text(
        "\n".join(
            json.dumps(form_doc(station=f"S{i}", votes=(300, 100 * i, 5))) for i in range(1, 5)
        )
    )
    receipts = tmp_path / "receipts.jsonl"
    done = cli(
        home, "submit", str(forms), "--key", str(tmp_path / "po.key"), "--receipts", str(receipts)
    )
    assert "accepted 4 new, 0 already in the ledger; refused 0" in done.stdout
    assert len(receipts.read_text().splitlines()) == 4
    again = cli(home, "submit", str(forms), "--key", str(tmp_path / "po.key"))
    assert "accepted 0 new, 4 already in the ledger" in again.stdout
    results = json.loads(cli(home, "results", "--json").stdout)["results"]
    na = next(r for r in results if r["contest"] == "NA-1")
    assert na["status"] == "provisional" and na["winner"] == "NA-1/a"
    assert [s["votes"] for s in na["ranking"]] == [1200, 1000, 20]
    table = cli(home, "results", "NA-1").stdout
    assert "Aamir" in table and "1,200" in table
    standings = json.loads(cli(home, "standings", "--json").stdout)["standings"]
    assert {
        "assembly": "NA",
        "side": "IND (PTI-backed)",
        "independent": True,
        "won": 1,
        "leading": 0,
    } in standings
    found = json.loads(cli(home, "findings", "--json").stdout)
    assert found["findings"] == [] and found["tree_size"] > 0
    assert found["checkpoint"].startswith(f"test.example/log\n{found['tree_size']}\n")


def test_bad_input_exits_1_with_the_rule_and_stores_nothing(home, tmp_path):
    bad = form_doc(votes=(300, -1, 5))
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    done = cli(home, "submit", str(path), "--key", str(tmp_path / "po.key"), check=1)
    assert "votes.negative" in done.stdout and "votes.NA-1/b" in done.stdout
    unsigned = cli(home, "submit", str(path), check=1)
    assert "signature.missing" in unsigned.stdout
    results = json.loads(cli(home, "results", "--json").stdout)["results"]
    assert all(r["stations_reported"] == 0 for r in results)


def test_submit_csv_names_the_bad_row_by_its_line(home, tmp_path):
    path = tmp_path / "forms.csv"
    header = [
        "election",
        "station",
        "contest",
        "source",
        "time",
        "rejected",
        "polled",
        "votes.NA-1/a",
        "votes.NA-1/b",
        "votes.NA-1/c",
    ]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerow(
            [ELECTION, "S1", "NA-1", "presiding_officer", "2024-02-08T18:00:00Z", 5, 65, 10, 20, 30]
        )
        writer.writerow(
            [
                ELECTION,
                "S2",
                "NA-1",
                "presiding_officer",
                "2024-02-08T18:00:00Z",
                5,
                "sixty",
                10,
                20,
                30,
            ]
        )
    done = cli(home, "submit", str(path), "--key", str(tmp_path / "po.key"), "--json", check=1)
    assert '"votes.not_integer"' in done.stdout and "forms.csv line 3" in done.stdout


def test_status_orders_and_structure_export_round_trip(home, tmp_path):
    cli(
        home,
        "status",
        "PP-1",
        "postponed",
        "--reason",
        "a candidate died",
        "--admin-key",
        str(tmp_path / "admin.key"),
    )
    no_reason = cli(
        home, "status", "NA-1", "suspended", "--admin-key", str(tmp_path / "admin.key"), check=1
    )
    assert "status.reason_required" in no_reason.stdout
    results = json.loads(cli(home, "results", "--json").stdout)["results"]
    assert next(r for r in results if r["contest"] == "PP-1")["status"] == "postponed"
    cli(home, "export-structure", str(tmp_path / "csvset"), "--format", "csv")
    cli(home, "export-structure", str(tmp_path / "out.json"))
    exported = json.loads((tmp_path / "out.json").read_text())
    assert exported["stations"] == structure_doc()["stations"]
    other = tmp_path / "home2"
    cli(other, "init")
    cli(
        other,
        "import-structure",
        str(tmp_path / "csvset"),
        "--admin-key",
        str(tmp_path / "admin.key"),
    )
    cli(other, "export-structure", str(tmp_path / "again.json"))
    assert json.loads((tmp_path / "again.json").read_text()) == exported


def test_checkpoint_is_a_c2sp_note(home):
    note = cli(home, "checkpoint").stdout
    lines = note.split("\n")
    assert lines[0] == "test.example/log" and lines[1].isdigit() and lines[3] == ""
    assert lines[4].startswith("— test.example/log ")


def test_receipts_verify_offline_and_a_bundle_audits(home, tmp_path):
    from tallyproof.ledger.entries import EntryKind, sign
    from tallyproof.ledger.keys import Signer

    doc = form_doc(station="S2", votes=(120, 80, 7))
    (tmp_path / "one.json").write_text(json.dumps(doc))
    receipts = tmp_path / "receipts.jsonl"
    cli(
        home,
        "submit",
        str(tmp_path / "one.json"),
        "--key",
        str(tmp_path / "po.key"),
        "--receipts",
        str(receipts),
    )
    log_key = cli(home, "log-key").stdout.strip()
    envelope = sign(
        EntryKind.FORM, doc, Signer.from_private_text((tmp_path / "po.key").read_text())
    ).envelope()
    (tmp_path / "envelope.json").write_text(json.dumps(envelope))
    ok = cli(
        home,
        "verify-receipt",
        str(receipts),
        "--log-key",
        log_key,
        "--entry",
        str(tmp_path / "envelope.json"),
    )
    assert ok.stdout.startswith("ok: form ")
    other = sign(
        EntryKind.FORM,
        form_doc(station="S3"),
        Signer.from_private_text((tmp_path / "po.key").read_text()),
    )
    (tmp_path / "other.json").write_text(json.dumps(other.envelope()))
    wrong = cli(
        home,
        "verify-receipt",
        str(receipts),
        "--log-key",
        log_key,
        "--entry",
        str(tmp_path / "other.json"),
        check=1,
    )
    assert "not the document you submitted" in wrong.stdout
    forged = json.loads(receipts.read_text())
    forged["leaf_index"] += 1
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    bad = cli(home, "verify-receipt", str(tmp_path / "forged.json"), "--log-key", log_key, check=1)
    assert "FAILED" in bad.stdout
    for field, value in (("kind", "declaration"), ("entry_id", "0" * 64)):
        renamed = json.loads(receipts.read_text()) | {field: value}
        (tmp_path / "renamed.json").write_text(json.dumps(renamed))
        args = ["--log-key", log_key, "--entry", str(tmp_path / "envelope.json")]
        named = cli(home, "verify-receipt", str(tmp_path / "renamed.json"), *args, check=1)
        assert named.stdout.startswith("FAILED: receipt.invalid: ")
        assert f"{field} " in named.stdout and "is not the document's" in named.stdout

    bundle = tmp_path / "bundle"
    cli(home, "export-bundle", str(bundle))
    report = tmp_path / "report.json"
    cli(home, "audit", str(bundle), "--report", str(report))
    assert json.loads(report.read_text())["ok"] is True
    ledger = (bundle / "ledger.jsonl").read_text().replace('"NA-1/a":120', '"NA-1/a":121')
    (bundle / "ledger.jsonl").write_text(ledger)
    tampered = cli(home, "audit", str(bundle), "--json", check=4)
    codes = {i["code"] for i in json.loads(tampered.stdout)["issues"]}
    assert {"audit.file_hash", "audit.signature", "audit.checkpoint_root", "audit.rule"} <= codes


def test_import_stations_reports_refusals_and_forensics_writes_the_report(tmp_path):
    from tests.importers.test_stations import write_data

    home = tmp_path / "home"
    cli(home, "init")
    mapping = write_data(tmp_path / "data")
    done = cli(home, "import-stations", str(mapping), "--data", str(tmp_path / "data"), check=1)
    assert "refused: ballots.exceeds_registered" in done.stdout
    assert "row 7" in done.stdout  # the East station's line in the CSV
    assert "rows unreadable" in done.stdout
    missing = cli(home, "import-stations", "nowhere.toml", "--data", str(tmp_path), check=3)
    assert "nowhere.toml" in missing.stderr

    report = tmp_path / "report"
    done = cli(home, "forensics", str(report), "--replicates", "20", "--json")
    found = json.loads(done.stdout)
    assert all(f["contest"] == "TL-PRES" for f in found)
    page = (report / "index.html").read_text()
    assert "TL-PRES: 2 stations" in page and "Integer percentages" in page
    for figure in ("fingerprint", "turnout", "share", "digits"):
        for suffix in ("png", "svg"):
            assert (report / f"TL-PRES-{figure}.{suffix}").stat().st_size > 1000
        assert f'src="TL-PRES-{figure}.png"' in page
    assert "at least 100 registered voters, ballots in the boxes, turnout at most 99%" in page

    loose = tmp_path / "loose"
    cli(home, "forensics", str(loose), "--replicates", "20", "--min-voters", "5")
    cli(home, "forensics", str(loose), "--max-percent", "100.5", check=2)  # beyond 100 %
    page = (loose / "index.html").read_text()
    assert "at least 5 registered voters, ballots in the boxes, turnout at most 99%" in page


REPORT = """outlet: {outlet}
date: 2024-02-09

In NA-1, PTI-backed Aamir bagged {votes} votes while PML-N's Bushra got more than 700 votes.

سردار صاحب کو مبارکباد

You may also like
Aamir wins with 9,999 votes
"""


def test_claims_extract_and_ingest(home, tmp_path):
    bare = tmp_path / "elsewhere"
    dawn, geo = tmp_path / "dawn.txt", tmp_path / "geo.txt"
    dawn.write_text(REPORT.format(outlet="Dawn", votes="1,200"), encoding="utf-8")
    geo.write_text(REPORT.format(outlet="Geo News", votes="1,100"), encoding="utf-8")
    done = cli(bare, "claims", "extract", str(dawn), "--jsonl")  # no home: extraction only
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    same = cli(bare, "claims", "extract", str(dawn), "--json")  # the name every command uses
    assert same.stdout == done.stdout
    assert [(c["value"], c["qualifier"], c["unlinked"]) for c in lines] == [
        (1200, "exact", "no election to link to"),
        (700, "more_than", "no election to link to"),
    ]
    assert lines[0]["sentence"].startswith("In NA-1") and lines[0]["outlet"] == "Dawn"

    for outlet, name in (("Dawn", "dawn"), ("Geo News", "geo")):
        cli(home, "keygen", f"media/{name}", "--out", str(tmp_path / f"{name}.key"))
        cli(
            home,
            "register-key",
            "--source",
            f"media:{outlet}",
            "--admin-key",
            str(tmp_path / "admin.key"),
            "--key-file",
            str(tmp_path / f"{name}.key"),
        )
    done = cli(home, "claims", "ingest", str(dawn), "--key", str(tmp_path / "dawn.key"))
    assert "filed 1 report; refused 0" in done.stdout and "NA-1/a" in done.stdout
    wrong = cli(home, "claims", "ingest", str(geo), "--key", str(tmp_path / "dawn.key"), check=1)
    assert "signature.wrong_source" in wrong.stdout
    done = cli(home, "claims", "ingest", str(geo), "--key", str(tmp_path / "geo.key"), "--json")
    found = json.loads(done.stdout)["findings"]
    assert [f["code"] for f in found] == ["claim.outlets_disagree"]
    assert {c["outlet"] for c in found[0]["evidence"]["claims"]} == {"Dawn", "Geo News"}
    undated = tmp_path / "undated.txt"
    undated.write_text("In NA-1, Aamir bagged 1,200 votes.\n", encoding="utf-8")
    missing = cli(
        home, "claims", "ingest", str(undated), "--key", str(tmp_path / "dawn.key"), check=3
    )
    assert "names no outlet" in missing.stderr
    listed = cli(home, "findings", "--json")
    assert "claim.outlets_disagree" in listed.stdout


def test_import_demo_and_bundle_answer_in_json(tmp_path):
    """The commands that had only tables answer with one JSON document under --json."""
    from tests.importers.test_stations import write_data

    home = tmp_path / "home"
    cli(home, "init")
    mapping = write_data(tmp_path / "data")
    done = cli(
        home, "import-stations", str(mapping), "--data", str(tmp_path / "data"), "--json", check=1
    )
    summary = json.loads(done.stdout)
    refused = {r["code"]: r for r in summary["refused"]}
    assert refused["ballots.exceeds_registered"]["first_row"] == 7
    assert summary["accepted"] >= 1 and summary["unreadable"] >= 1

    demo_home = tmp_path / "demo"
    night = json.loads(cli(demo_home, "demo", "--json").stdout)
    pk = night["elections"]["pk-ge-2024"]
    assert night["tree_size"] > 0 and night["checkpoint"].startswith("tallyproof")
    assert {r["contest"] for r in pk["results"]} >= {"NA-122", "PS-129"}
    assert any(f["code"].startswith("consolidation.") for f in pk["findings"])

    bundle = tmp_path / "bundle"
    manifest = json.loads(cli(demo_home, "export-bundle", str(bundle), "--json").stdout)
    assert manifest["directory"] == str(bundle) and manifest["tree_size"] == night["tree_size"]
    assert set(manifest["files"]) >= {"ledger.jsonl", "keys.json", "results.json"}
