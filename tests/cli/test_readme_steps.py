"""The files the README's "Using it" reader brings (tests/cli/test_doc_sessions.py runs its
steps as written); the admin commands' --json, election inference from the admin key, and
the no-home message."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tallyproof.ledger.keys import Signer
from tests.helpers import ELECTION, form_doc, structure_doc

REPO = Path(__file__).resolve().parents[2]
TALLYPROOF = Path(sys.executable).parent / "tallyproof"
OTHER = "other-2024"


def run(
    cwd: Path, home: Path, args: list[str], check: int | None = 0
) -> subprocess.CompletedProcess:
    """Run the installed command in `cwd` with TALLYPROOF_HOME set; check its exit code."""
    env = {**os.environ, "TALLYPROOF_HOME": str(home)}
    env.pop("TALLYPROOF_DATABASE_URL", None)
    done = subprocess.run(
        [str(TALLYPROOF), *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=120
    )
    if check is not None:
        assert done.returncode == check, f"{shlex.join(args)}\n{done.stdout}{done.stderr}"
    return done


def readme_steps() -> list[str]:
    """The lines of the ```sh block under "## Using it" in README.md."""
    text = (REPO / "README.md").read_text("utf-8")
    section = text[text.index("## Using it\n") :]
    block = section[section.index("```sh\n") + len("```sh\n") :]
    return block[: block.index("```")].splitlines()


def results_of(done: subprocess.CompletedProcess) -> list[dict[str, Any]]:
    """The contests of `results --json`: a list, or under "results" beside the tree size."""
    answer = json.loads(done.stdout)
    return answer["results"] if isinstance(answer, dict) else answer


# --- the files a reader of the README brings -----------------------------------------------


def election_doc() -> dict[str, Any]:
    """pk-ge-2024 with the contests (NA-122, NA-8) and station (LHR-001) the README names."""
    return {
        "election": {
            "id": "pk-ge-2024",
            "name": "General election 2024",
            "kind": "general",
            "date": "2024-02-08",
        },
        "parties": [
            {"code": "PTI", "name": "Pakistan Tehreek-e-Insaf"},
            {"code": "PML-N", "name": "Pakistan Muslim League (N)"},
        ],
        "assemblies": [{"code": "NA", "name": "National Assembly", "level": "national"}],
        "contests": [
            {
                "code": "NA-122",
                "assembly": "NA",
                "name": "Lahore-VI",
                "candidates": [
                    {"id": "NA-122/khosa", "name": "Sardar Latif Khosa", "backed_by": "PTI"},
                    {"id": "NA-122/rafique", "name": "Khawaja Saad Rafique", "party": "PML-N"},
                ],
            },
            {
                "code": "NA-8",
                "assembly": "NA",
                "name": "Bajaur",
                "candidates": [{"id": "NA-8/a", "name": "A"}, {"id": "NA-8/b", "name": "B"}],
            },
        ],
        "stations": [
            {
                "id": "LHR-001",
                "name": "School 1",
                "contests": ["NA-122"],
                "registered_voters": 1200,
            },
            {"id": "BJR-001", "name": "Bajaur 1", "contests": ["NA-8"], "registered_voters": 900},
        ],
    }


def counts(khosa: int, rafique: int) -> dict[str, Any]:
    votes = {"NA-122/khosa": khosa, "NA-122/rafique": rafique}
    return {"votes": votes, "rejected": 9, "polled": khosa + rafique + 9}


def form45() -> dict[str, Any]:
    return {
        "election": "pk-ge-2024",
        "station": "LHR-001",
        "contest": "NA-122",
        "source": "presiding_officer",
        "time": "2024-02-08T18:30:00+05:00",
        **counts(512, 301),
    }


def form47(**extra: Any) -> dict[str, Any]:
    doc = {
        "election": "pk-ge-2024",
        "contest": "NA-122",
        "source": "returning_officer",
        "time": "2024-02-09T17:00:00+05:00",
        **counts(512, 301),
    }
    return doc | extra


def write_inputs(cwd: Path) -> None:
    (cwd / "election.json").write_text(json.dumps(election_doc()))
    (cwd / "forms.jsonl").write_text(json.dumps(form45()) + "\n")
    (cwd / "form47.json").write_text(json.dumps(form47()))


def write_correction(cwd: Path, declared: str) -> None:
    """form47-corrected.json: supersedes the declaration whose `declare --json` output is given."""
    old = json.loads(declared)["id"]
    fixed = form47(supersedes=old, reason="correction", time="2024-02-10T12:00:00+05:00")
    (cwd / "form47-corrected.json").write_text(json.dumps(fixed | counts(510, 303)))


# --- the README -----------------------------------------------------------------------------


def test_the_readme_block_has_one_command_a_line():
    for line in readme_steps():
        args = shlex.split(line, comments=True)
        assert args.count("tallyproof") <= 1, line
        assert not any(a.startswith("[") for a in args), f"optional part written as [..]: {line}"


# --- no home --------------------------------------------------------------------------------


def test_no_home_names_the_home_and_how_to_choose_another(tmp_path):
    home = tmp_path / "nowhere"
    done = run(tmp_path, home, ["export-structure", "out.json"], check=3)
    said = " ".join(done.stderr.split())
    assert "home.not_initialised" in said and str(home) in said
    assert "tallyproof init" in said and "--home" in said and "TALLYPROOF_HOME" in said
    assert not home.exists()


# --- two elections: the admin key picks one -------------------------------------------------


@pytest.fixture
def two_elections(tmp_path: Path) -> Path:
    """A home with ELECTION (admin.key) and OTHER (other.key); returns the home."""
    home = tmp_path / "home"
    run(tmp_path, home, ["init"])
    for key, doc in (("admin.key", structure_doc()), ("other.key", other_structure())):
        run(tmp_path, home, ["keygen", f"{key}/admin", "--out", key])
        (tmp_path / f"{key}.json").write_text(json.dumps(doc))
        run(tmp_path, home, ["import-structure", f"{key}.json", "--admin-key", key])
    return home


def other_structure() -> dict[str, Any]:
    doc = structure_doc()
    doc["election"] = doc["election"] | {"id": OTHER, "name": "Other election"}
    return doc


def pp1_status(cwd: Path, home: Path, election: str) -> str:
    results = results_of(run(cwd, home, ["results", "-e", election, "--json"]))
    return next(r["status"] for r in results if r["contest"] == "PP-1")


def test_status_acts_on_the_election_of_the_admin_key(tmp_path, two_elections):
    home = two_elections
    args = ["status", "PP-1", "postponed", "--reason", "flood", "--admin-key", "other.key"]
    run(tmp_path, home, args)
    assert pp1_status(tmp_path, home, OTHER) == "postponed"
    assert pp1_status(tmp_path, home, ELECTION) != "postponed"


def test_register_and_revoke_act_on_the_election_of_the_admin_key(tmp_path, two_elections):
    home = two_elections
    run(tmp_path, home, ["keygen", "po/S1", "--out", "po.key"])
    register = ["register-key", "--source", "presiding_officer", "--station", "S1"]
    run(tmp_path, home, [*register, "--key-file", "po.key", "--admin-key", "other.key"])
    (tmp_path / "form.json").write_text(json.dumps(form_doc() | {"election": OTHER}))
    run(tmp_path, home, ["submit", "form.json", "--key", "po.key"])
    key_id = Signer.from_private_text((tmp_path / "po.key").read_text()).public.key_id
    run(tmp_path, home, ["revoke-key", key_id, "--reason", "lost", "--admin-key", "other.key"])
    (tmp_path / "form2.json").write_text(json.dumps(form_doc(rejected=11) | {"election": OTHER}))
    refused = run(tmp_path, home, ["submit", "form2.json", "--key", "po.key"], check=1)
    assert "signature.revoked" in refused.stdout


def test_a_key_of_no_election_is_refused_naming_the_elections(tmp_path, two_elections):
    run(tmp_path, two_elections, ["keygen", "stranger", "--out", "stranger.key"])
    args = ["status", "PP-1", "final", "--admin-key", "stranger.key"]
    done = run(tmp_path, two_elections, args, check=3)
    said = " ".join(done.stderr.split())
    assert "form.unknown_election" in said and ELECTION in said and OTHER in said


def test_a_key_of_two_elections_is_refused_naming_them(tmp_path):
    home = tmp_path / "home"
    run(tmp_path, home, ["init"])
    run(tmp_path, home, ["keygen", "both/admin", "--out", "admin.key"])
    for name, doc in (("a.json", structure_doc()), ("b.json", other_structure())):
        (tmp_path / name).write_text(json.dumps(doc))
        run(tmp_path, home, ["import-structure", name, "--admin-key", "admin.key"])
    done = run(tmp_path, home, ["status", "PP-1", "final", "--admin-key", "admin.key"], check=3)
    said = " ".join(done.stderr.split())
    assert "form.unknown_election" in said and ELECTION in said and OTHER in said
    named = ["status", "PP-1", "final", "--admin-key", "admin.key", "-e", OTHER]
    run(tmp_path, home, named)
    assert pp1_status(tmp_path, home, OTHER) == "final"


def test_a_named_election_is_not_overridden_by_the_admin_key(tmp_path, two_elections):
    args = ["status", "PP-1", "final", "--admin-key", "other.key", "-e", ELECTION]
    done = run(tmp_path, two_elections, args, check=1)
    assert "signature.not_admin" in done.stdout


# --- --json on the admin commands -----------------------------------------------------------


def one_json(done: subprocess.CompletedProcess) -> Any:
    """stdout is exactly one JSON document."""
    return json.loads(done.stdout)


def test_init_and_keygen_json(tmp_path):
    home = tmp_path / "home"
    init = one_json(run(tmp_path, home, ["init", "--origin", "x.example/log", "--json"]))
    assert init["home"] == str(home) and init["log_key"].startswith("x.example/log+")
    key = one_json(run(tmp_path, home, ["keygen", "po/S1", "--out", "po.key", "--json"]))
    public = Signer.from_private_text((tmp_path / "po.key").read_text()).public
    assert key == {"key_id": public.key_id, "public_key": public.b64, "vkey": public.vkey}


def test_plain_key_output_is_one_id_and_never_wrapped(tmp_path):
    name = "pk-ge-2024/po/" + "x" * 150
    done = run(tmp_path, tmp_path / "home", ["keygen", name, "--out", "po.key"])
    public = Signer.from_private_text((tmp_path / "po.key").read_text()).public
    expected = f"key id {public.key_id}\npublic key {public.b64}\n"  # one id: no vkey
    assert done.stdout == expected


def test_admin_commands_json(tmp_path):
    home = tmp_path / "home"
    run(tmp_path, home, ["init"])
    run(tmp_path, home, ["keygen", "t/admin", "--out", "admin.key"])
    run(tmp_path, home, ["keygen", "po/S1", "--out", "po.key"])
    (tmp_path / "s.json").write_text(json.dumps(structure_doc()))
    admin = ["--admin-key", "admin.key", "--json"]
    imported = one_json(run(tmp_path, home, ["import-structure", "s.json", *admin]))
    assert imported["kind"] == "structure" and imported["accepted"] is True
    assert imported["receipt"]["leaf_index"] == 0
    exported = one_json(run(tmp_path, home, ["export-structure", "out.json", "--json"]))
    assert exported == {"election": ELECTION, "path": "out.json", "format": "json"}
    assert json.loads((tmp_path / "out.json").read_text())["stations"]
    register = [
        "register-key",
        "--source",
        "presiding_officer",
        "--station",
        "S1",
        "--key-file",
        "po.key",
    ]
    registered = one_json(run(tmp_path, home, [*register, *admin]))
    assert registered["kind"] == "key_registration" and registered["accepted"] is True
    key_id = Signer.from_private_text((tmp_path / "po.key").read_text()).public.key_id
    revoked = one_json(run(tmp_path, home, ["revoke-key", key_id, "--reason", "lost", *admin]))
    assert revoked["kind"] == "key_revocation" and revoked["receipt"]["leaf_index"] == 2
    ordered = one_json(run(tmp_path, home, ["status", "NA-1", "final", *admin]))
    assert ordered["kind"] == "status" and ordered["accepted"] is True and ordered["id"]


def test_a_refused_admin_order_is_one_json_document_and_exit_1(tmp_path):
    home = tmp_path / "home"
    run(tmp_path, home, ["init"])
    run(tmp_path, home, ["keygen", "t/admin", "--out", "admin.key"])
    (tmp_path / "s.json").write_text(json.dumps(structure_doc()))
    run(tmp_path, home, ["import-structure", "s.json", "--admin-key", "admin.key"])
    args = ["status", "NA-1", "suspended", "--admin-key", "admin.key", "--json"]
    refused = one_json(run(tmp_path, home, args, check=1))
    assert refused["accepted"] is False
    assert [p["code"] for p in refused["problems"]] == ["status.reason_required"]
