"""Witnesses end to end, with real processes: a served log asks three `tallyproof witness
serve` processes to cosign as forms arrive; the API, receipts, the bundle and the static
files carry their cosignatures; `verify-receipt` and `audit` check the quorum; and an
operator who rewrites an entry and signs a second history is refused by every witness and
named by the audit with both signed notes."""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest

from tallyproof.ledger.cosignature import AddCheckpoint, WitnessPolicy
from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.ledger.keys import PublicKey, Signer
from tallyproof.ledger.merkle import MerkleTree, leaf_hash
from tallyproof.ledger.note import Checkpoint
from tallyproof.ledger.receipts import Receipt
from tallyproof.service.settings import Settings
from tests.helpers import cli, form_doc, make_election
from tests.serving import Server
from tests.witnessing import WitnessServer, configure

STATIONS = 12


def wait_witnessed(http: httpx.Client, size: int, timeout: float = 30) -> dict:
    """Until the quorum has cosigned the checkpoint of `size` (the collector runs apart)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = http.get("/v1/witnesses").json()
        if state["witnessed"] == size:
            return state
        time.sleep(0.1)
    raise AssertionError(f"size {size} not witnessed: {state}")


def post_form(http: httpx.Client, key: Signer, station: str, contest: str = "NA-1") -> dict:
    doc = form_doc(station=station, contest=contest)
    answer = http.post("/v1/forms", json=sign(EntryKind.FORM, doc, key).envelope())
    assert answer.status_code == 201, answer.text
    return answer.json()["receipt"]


@pytest.fixture
def witnessed_log(tmp_path, store_url):
    """A log over the test election, served, asking three witnesses with a quorum of two."""
    home = tmp_path / "home"
    election = make_election(home, store_url, stations=STATIONS)
    vkey = election.ctx.log_key.vkey
    election.ctx.close()
    witnesses = [
        WitnessServer(tmp_path / f"w{i}", f"observers.example/w{i}", vkey).start()
        for i in (1, 2, 3)
    ]
    server = None
    try:
        policy = configure(home, witnesses, quorum=2)
        static = tmp_path / "static"
        args = ("--witness-seconds", "0.2", "--publish", str(static), "--publish-seconds", "0.5")
        server = Server(home, store_url, args=args).start()
        with server.client() as http:
            yield election, http, witnesses, policy, static, store_url
    finally:
        if server is not None:
            server.stop()
        for witness in witnesses:
            witness.stop()


def test_a_served_log_is_cosigned_and_receipts_bundle_and_files_carry_the_quorum(
    witnessed_log, tmp_path
):
    election, http, _, policy, static, url = witnessed_log
    home = tmp_path / "home"
    first = post_form(http, election.po["S1"], "S1")
    size = post_form(http, election.po["S2"], "S2")["tree_size"]
    state = wait_witnessed(http, size)
    assert state["quorum"] == 2 and set(state["cosigned"]) == {w.name for w in policy.witnesses}

    # the newest witnessed checkpoint: the log's note with each witness's line, verified here
    found = http.get("/v1/checkpoints/witnessed").json()
    checked = policy.check(found["cosigned"])
    assert checked.holds and found["witnessed"] and found["tree_size"] == size
    assert {c.witness for c in checked.cosigned} == {c["witness"] for c in found["cosigned_by"]}
    log_key = PublicKey.from_vkey(http.get("/v1/log-key").json()["vkey"])
    assert Checkpoint.open(found["cosigned"], log_key).size == size

    # the first form's receipt was against its own commit; asked again, against a witnessed tree
    assert not policy.check(first["checkpoint"]).cosigned
    receipt = http.get(f"/v1/receipts/form/{first['entry_id']}").json()
    assert receipt["leaf_index"] == first["leaf_index"] and receipt["tree_size"] == size
    assert Receipt.from_dict(receipt).verify(log_key).size == size
    assert policy.check(receipt["checkpoint"]).holds

    # verify-receipt: the quorum reported, and required
    policy_file = tmp_path / "policy.json"
    policy_file.write_text(
        json.dumps(
            {
                **policy.as_dict(),
                "witnesses": [
                    {"name": w.name, "vkey": w.key.vkey}
                    for w in policy.witnesses  # a reader's: no urls
                ],
            }
        )
    )
    (tmp_path / "witnessed.json").write_text(json.dumps(receipt))
    (tmp_path / "first.json").write_text(json.dumps(first))
    vkey = log_key.vkey
    ok = cli(
        home,
        "verify-receipt",
        str(tmp_path / "witnessed.json"),
        "--log-key",
        vkey,
        "--witnesses",
        str(policy_file),
        "--require-witnessed",
    )
    assert "quorum holds" in ok.stdout, ok.stdout
    refused = cli(
        home,
        "verify-receipt",
        str(tmp_path / "first.json"),
        "--log-key",
        vkey,
        "--witnesses",
        str(policy_file),
        "--require-witnessed",
        check=1,
    )
    assert "receipt.unwitnessed" in refused.stdout
    # ... until the witnessed checkpoint, proved to extend it, is given beside it
    (tmp_path / "cosigned.note").write_text(found["cosigned"])
    proof = http.get("/v1/proofs/consistency", params={"first": first["tree_size"], "second": size})
    (tmp_path / "proof.json").write_text(json.dumps(proof.json()["consistency_proof"]))
    later = cli(
        home,
        "verify-receipt",
        str(tmp_path / "first.json"),
        "--log-key",
        vkey,
        "--witnesses",
        str(policy_file),
        "--require-witnessed",
        "--checkpoint",
        str(tmp_path / "cosigned.note"),
        "--proof",
        str(tmp_path / "proof.json"),
    )
    assert "quorum holds" in later.stdout and f"at size {size}" in later.stdout

    # the bundle carries every cosignature, and audit requires the quorum on its newest
    cli(home, "export-bundle", str(tmp_path / "bundle"), database_url=url)
    audited = cli(home, "audit", str(tmp_path / "bundle"), "--require-witnessed", "--json")
    report = json.loads(audited.stdout)
    assert report["ok"], report["issues"]
    assert report["witnesses"]["newest_witnessed"]["tree_size"] == size
    assert report["witnesses"]["entries_after_newest_witnessed"] == 0

    # the static files: `checkpoint` with its cosignatures, the witnessed head, the policy
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        head = (static / "checkpoint").read_text() if (static / "checkpoint").exists() else ""
        if head and policy.check(head).holds and Checkpoint.open(head, log_key).size == size:
            break
        time.sleep(0.2)
    assert policy.check((static / "checkpoint").read_text()).holds
    assert policy.check((static / "checkpoint.witnessed").read_text()).size == size
    assert json.loads((static / "witnesses.json").read_text()) == policy.as_dict()


def test_with_witnesses_gone_new_checkpoints_are_not_witnessed_and_audit_says_so(
    witnessed_log, tmp_path
):
    election, http, witnesses, _, _, url = witnessed_log
    home = tmp_path / "home"
    size = post_form(http, election.po["S1"], "S1")["tree_size"]
    wait_witnessed(http, size)
    witnesses[0].stop()  # one of three gone: two still make the quorum
    size = post_form(http, election.po["S2"], "S2")["tree_size"]
    state = wait_witnessed(http, size)
    assert state["cosigned"][witnesses[0].name] < size
    witnesses[1].stop()  # two gone: one cosigns, the quorum does not hold
    late_form = post_form(http, election.po["S3"], "S3")
    late = late_form["tree_size"]
    deadline = time.monotonic() + 20
    while http.get("/v1/witnesses").json()["cosigned"][witnesses[2].name] < late:
        assert time.monotonic() < deadline, "the remaining witness never cosigned"
        time.sleep(0.1)
    assert http.get("/v1/witnesses").json()["witnessed"] == size
    not_yet = http.get(f"/v1/receipts/form/{late_form['entry_id']}")
    assert not_yet.status_code == 404 and not_yet.json()["code"] == "witness.not_yet"
    one = http.get(f"/v1/checkpoints/{late}/cosignatures").json()
    assert one["cosigned_by"][0]["witness"] == witnesses[2].name and not one["witnessed"]

    cli(home, "export-bundle", str(tmp_path / "bundle"), database_url=url)
    plain = json.loads(cli(home, "audit", str(tmp_path / "bundle"), "--json").stdout)
    assert plain["ok"] and plain["witnesses"]["entries_after_newest_witnessed"] == late - size
    required = cli(home, "audit", str(tmp_path / "bundle"), "--require-witnessed", check=4)
    assert "audit.unwitnessed" in required.stdout


def test_a_second_history_is_refused_by_every_witness_and_named_by_the_audit(tmp_path):
    """The operator rewrites an entry already witnessed and signs a checkpoint of the same
    size with the log's own key (tallyproof itself refuses to sign a store that changed, so
    this is the key used by hand): every honest witness refuses it and keeps both notes, and
    the audit of the honest bundle, given what a witness kept, names the fork."""
    home = tmp_path / "home"
    election = make_election(home, stations=4)
    election.submit(form_doc(station="S1"), form_doc(station="S2"))
    vkey = election.ctx.log_key.vkey
    election.ctx.close()
    witnesses = [
        WitnessServer(tmp_path / f"w{i}", f"party{i}.example/witness", vkey).start() for i in (1, 2)
    ]
    try:
        configure(home, witnesses, quorum=2)
        collected = cli(home, "collect-cosignatures")
        assert "newest checkpoint witnessed by the quorum" in collected.stdout
        settings = Settings.at(home)
        log = Signer.from_private_text(settings.log_key_path.read_text())
        honest = json.loads(cli(home, "witnesses", "--json").stdout)
        size = honest["witnessed"]
        assert size is not None and size > 3

        from tallyproof.store.database import Store

        store = Store(settings.database_url)
        with store.read() as reader:
            leaves = reader.leaf_hashes(0, size)
        store.close()
        forked = list(leaves)
        forked[size - 1] = leaf_hash(b'{"a rewritten": "form"}')
        fork = MerkleTree(forked)
        note = Checkpoint(log.name, size, fork.root()).sign(log)
        bigger = MerkleTree([*forked, leaf_hash(b"more"), leaf_hash(b"and more")])
        later = Checkpoint(log.name, bigger.size, bigger.root()).sign(log)
        for witness in witnesses:
            same = httpx.post(
                f"{witness.url}/add-checkpoint", content=AddCheckpoint(size, (), note).body()
            )
            assert same.status_code == 422, same.text
            grown = AddCheckpoint(size, tuple(bigger.consistency_proof(size)), later)
            answer = httpx.post(f"{witness.url}/add-checkpoint", content=grown.body())
            assert answer.status_code == 422 and "witness.inconsistent" in answer.text
            status = json.loads(cli(witness.home, "witness", "status", "--json").stdout)
            assert status["forks_refused"] == 2 and status["logs"][0]["size"] == size

        kept = cli(witnesses[0].home, "witness", "refusals").stdout
        (tmp_path / "refusals.jsonl").write_text(kept)
        first = json.loads(kept.splitlines()[0])
        assert first["cosigned_note"] and note in first["request"]

        cli(home, "export-bundle", str(tmp_path / "bundle"))
        assert json.loads(cli(home, "audit", str(tmp_path / "bundle"), "--json").stdout)["ok"]
        audited = cli(
            home,
            "audit",
            str(tmp_path / "bundle"),
            "--json",
            "--checkpoint",
            str(tmp_path / "refusals.jsonl"),
            check=4,
        )
        forks = [i for i in json.loads(audited.stdout)["issues"] if i["code"] == "audit.fork"]
        assert [i["where"] for i in forks] == [f"checkpoint {size}"]
        assert note in forks[0]["message"] and first["cosigned_note"] in forks[0]["message"]
        # the forked note alone, as a newspaper might have printed it, is enough
        (tmp_path / "fork.note").write_text(note)
        alone = cli(
            home,
            "audit",
            str(tmp_path / "bundle"),
            "--checkpoint",
            str(tmp_path / "fork.note"),
            check=4,
        )
        assert "audit.fork" in alone.stdout
    finally:
        for witness in witnesses:
            witness.stop()


def test_a_witness_policy_file_that_is_wrong_is_refused_naming_the_field(tmp_path):
    home = tmp_path / "home"
    make_election(home).ctx.close()
    bad = tmp_path / "policy.json"
    key = base64.b64encode(b"\x04" + bytes(32)).decode()
    bad.write_text(json.dumps({"quorum": 3, "witnesses": [{"vkey": f"w+00000000+{key}"}]}))
    cli(home, "export-bundle", str(tmp_path / "bundle"))
    refused = cli(home, "audit", str(tmp_path / "bundle"), "--witnesses", str(bad), check=3)
    assert "witness.policy" in refused.stderr + refused.stdout
    assert "witnesses[0].vkey" in refused.stderr + refused.stdout
    assert WitnessPolicy.from_dict({"quorum": 0, "witnesses": []}).quorum == 0


def test_a_field_device_fetches_witnessed_receipts_for_what_it_sent(witnessed_log, tmp_path):
    """A presiding officer's device, once its forms are in, asks for receipts against a
    witnessed tree: each verifies against its own signed form and carries the quorum."""
    election, http, _, policy, _, _ = witnessed_log
    key = tmp_path / "po.key"
    key.write_text(election.po["S5"].private_text() + "\n")
    device = tmp_path / "device"
    vkey = http.get("/v1/log-key").json()["vkey"]
    home = tmp_path / "home"
    field = ("field",)
    cli(home, *field, "init", str(device), "--server", str(http.base_url).rstrip("/"),
        "--log-key", vkey, "--key", str(key))  # fmt: skip
    forms = tmp_path / "forms.jsonl"
    docs = [form_doc(station="S5"), form_doc(station="S5", contest="PP-1", votes=(150, 100))]
    forms.write_text("".join(json.dumps(d) + "\n" for d in docs))
    cli(home, *field, "sign", str(forms), "--dir", str(device))
    cli(home, *field, "sync", "--dir", str(device), "--until-empty")
    size = http.get("/v1/checkpoints/latest").json()["tree_size"]
    wait_witnessed(http, size)
    out, signed = tmp_path / "witnessed.jsonl", tmp_path / "signed.jsonl"
    cli(home, *field, "receipts", "--dir", str(device), "--signed", str(signed))
    fetched = cli(home, *field, "receipts", "--dir", str(device), "--witnessed", "--out", str(out))
    assert "2 witnessed receipts" in fetched.stderr and "quorum holds" in fetched.stderr
    receipts = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["tree_size"] for r in receipts] == [size, size]
    assert all(policy.check(r["checkpoint"]).holds for r in receipts)
    policy_file = tmp_path / "policy.json"
    policy_file.write_text(json.dumps(policy.as_dict()))
    checked = cli(home, "verify-receipt", str(out), "--log-key", vkey, "--entry", str(signed),
                  "--witnesses", str(policy_file), "--require-witnessed")  # fmt: skip
    assert checked.stdout.count("quorum holds") == 2
