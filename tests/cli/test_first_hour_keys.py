"""One id per key: `keygen` prints the key id and public key (no second id), and the same id
is what `register-key` echoes, what the ledger's leaves and the bundle's keys.json name, and
what refusals and the audit name; `export-bundle` says where it wrote and how many entries."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tallyproof.ledger.keys import Signer
from tests.helpers import cli, form_doc, structure_doc

HEX16 = re.compile(r"\b[0-9a-f]{16}\b")


@dataclass
class Setup:
    home: Path
    tmp: Path
    made: subprocess.CompletedProcess  # keygen po/S1
    registered: subprocess.CompletedProcess  # register-key of it, for S1 and S2
    admin: list[str]

    @property
    def key_id(self) -> str:
        return facts(self.made.stdout)["key id"]


def facts(text: str) -> dict[str, str]:
    """`key id X` / `public key Y` lines as {"key id": X, "public key": Y}."""
    return dict(line.rsplit(" ", 1) for line in text.splitlines())


def json_docs(text: str) -> list[dict[str, Any]]:
    """The JSON documents printed one after another (pretty-printed)."""
    decoder, docs, at, text = json.JSONDecoder(), [], 0, text.strip()
    while at < len(text):
        doc, at = decoder.raw_decode(text, at)
        docs.append(doc)
        at += len(text[at:]) - len(text[at:].lstrip())
    return docs


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    home = tmp_path / "home"
    cli(home, "init", "--origin", "test.example/log")
    cli(home, "keygen", "test/admin", "--out", str(tmp_path / "admin.key"))
    made = cli(home, "keygen", "po/S1", "--out", str(tmp_path / "po.key"))
    (tmp_path / "structure.json").write_text(json.dumps(structure_doc()))
    admin = ["--admin-key", str(tmp_path / "admin.key")]
    cli(home, "import-structure", str(tmp_path / "structure.json"), *admin)
    scope = ["--source", "presiding_officer", "--station", "S1", "--station", "S2"]
    registered = cli(home, "register-key", *scope, "--key-file", str(tmp_path / "po.key"), *admin)
    return Setup(home, tmp_path, made, registered, admin)


def test_keygen_prints_one_id_and_the_public_key(setup):
    public = Signer.from_private_text((setup.tmp / "po.key").read_text()).public
    assert setup.made.stdout == f"key id {public.key_id}\npublic key {public.b64}\n"
    # no vkey: its signed-note key hash would read as a second id of the same key
    assert public.vkey.split("+")[1] not in setup.made.stdout
    assert HEX16.findall(setup.made.stdout) == [public.key_id]


def test_keygen_json_keeps_its_fields(setup):
    done = cli(setup.home, "keygen", "po/S3", "--out", str(setup.tmp / "s3.key"), "--json")
    public = Signer.from_private_text((setup.tmp / "s3.key").read_text()).public
    assert json.loads(done.stdout) == {
        "key_id": public.key_id,
        "public_key": public.b64,
        "vkey": public.vkey,
    }


def test_register_key_echoes_the_id_the_source_and_the_scope(setup):
    line = f"registered key {setup.key_id} (po/S1) for presiding_officer: stations S1, S2"
    assert line in setup.registered.stdout.splitlines()


def test_register_key_json_names_the_key_it_registered(setup):
    made = cli(setup.home, "keygen", "agent/PTI", "--out", str(setup.tmp / "a.key"), "--json")
    key = json.loads(made.stdout)
    args = ["register-key", "--source", "agent:PTI", "--public-key", key["public_key"]]
    args += ["--name", "agent/PTI", "--contest", "NA-1", *setup.admin, "--json"]
    answer = json.loads(cli(setup.home, *args).stdout)
    assert answer["accepted"] is True and answer["kind"] == "key_registration"
    assert answer["key"] == {
        "key_id": key["key_id"],
        "name": "agent/PTI",
        "election": "test-2024",
        "source": "agent:PTI",
        "stations": None,
        "contests": ["NA-1"],
    }


def test_a_key_registered_without_a_scope_says_where_it_may_sign(setup):
    cli(setup.home, "keygen", "observer", "--out", str(setup.tmp / "obs.key"))
    args = ["register-key", "--source", "observer:FAFEN", "--key-file", str(setup.tmp / "obs.key")]
    done = cli(setup.home, *args, *setup.admin)
    assert "for observer:FAFEN: every station and contest of test-2024" in done.stdout


def test_a_refused_registration_names_the_same_id(setup):
    args = ["register-key", "--source", "presiding_officer", "--station", "S3"]
    args += ["--key-file", str(setup.tmp / "po.key"), *setup.admin, "--json"]
    answer = json.loads(cli(setup.home, *args, check=1).stdout)
    assert answer["key"]["key_id"] == setup.key_id
    assert answer["problems"][0]["message"] == f"key {setup.key_id} is already registered"


def test_leaves_refusals_keys_json_and_the_audit_name_the_keygen_id(setup):
    key_id = setup.key_id
    admin_id = Signer.from_private_text((setup.tmp / "admin.key").read_text()).public.key_id
    forms = setup.tmp / "forms.jsonl"
    forms.write_text("\n".join(json.dumps(form_doc(s)) for s in ("S1", "S3")) + "\n")
    args = ["submit", str(forms), "--key", str(setup.tmp / "po.key"), "--json"]
    outcomes = json_docs(cli(setup.home, *args, check=1).stdout)
    (refused,) = [o for o in outcomes if not o["accepted"]]
    assert f"key {key_id} is not registered for station S3" in refused["problems"][0]["message"]

    bundle = setup.tmp / "bundle"
    exported = cli(setup.home, "export-bundle", str(bundle))
    leaves = [
        json.loads(line)["leaf"] for line in (bundle / "ledger.jsonl").read_text().splitlines()
    ]
    assert [leaf["signature"]["key"] for leaf in leaves] == [admin_id, admin_id, key_id]
    root = json.loads((bundle / "manifest.json").read_text())["root"]
    assert exported.stdout == f"wrote {bundle}/ : 3 entries (tree size 3), root {root}\n"
    keys = json.loads((bundle / "keys.json").read_text())
    assert [k["key_id"] for k in keys["keys"]] == [key_id]
    assert keys["admin_key_ids"] == {"test-2024": admin_id}
    cli(setup.home, "audit", str(bundle))

    keys["keys"][0]["stations"] = ["S1", "S2", "S3"]  # widened in the reader-friendly file
    (bundle / "keys.json").write_text(json.dumps(keys))
    audited = cli(setup.home, "audit", str(bundle), check=4)
    assert f"keys.json {key_id}" in audited.stdout


def test_export_bundle_json_is_the_manifest_and_the_directory(setup):
    bundle = setup.tmp / "b"
    manifest = json.loads(cli(setup.home, "export-bundle", str(bundle), "--json").stdout)
    assert manifest["directory"] == str(bundle)
    assert manifest["tree_size"] == 2 and manifest["root"] and "keys.json" in manifest["files"]
