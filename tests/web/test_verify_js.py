"""verify.js, the dashboard's in-browser verifier, run in Chromium: the checkpoints of a real
server's log over the sample elections, honest and altered; inclusion and consistency proofs
of that log, of random trees (against ledger/merkle.py), of trees past 2^32 leaves and of the
transparency-dev vectors; and a contest's evidence, honest and tampered with."""

from __future__ import annotations

import base64
import copy
import functools
import itertools
import json
import random
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tallyproof.importers.plan import run_plan
from tallyproof.ledger.canonical import canonical
from tallyproof.ledger.keys import KeyTextError, PublicKey, Signer, note_key_hash
from tallyproof.ledger.merkle import (
    MerkleTree,
    ProofError,
    consistency_path,
    inclusion_path,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)
from tallyproof.ledger.note import Checkpoint, NoteError, sign_note
from tallyproof.sample.generator import build_sample
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter
from tests.conftest import SHARED_DATA
from tests.ledger.test_note import PETER, SIGNED
from tests.serving import Server
from tests.web.conftest import Script, load_module

VECTORS = SHARED_DATA / "merkle-testdata" / "testdata"
ORIGIN = "tallyproof.local/log"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def flip(encoded: str, at: int = -1) -> str:
    """The base64 text with one bit of byte `at` flipped."""
    data = bytearray(base64.b64decode(encoded))
    data[at] ^= 0x01
    return b64(bytes(data))


def holds(check: Callable[..., None], *args: Any) -> bool:
    try:
        check(*args)
    except ProofError:
        return False
    return True


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def js(browser, static_url) -> Iterator[Script]:
    yield from load_module(browser, static_url, "verify.js")


@pytest.fixture(scope="module")
def http(tmp_path_factory) -> Iterator[httpx.Client]:
    """A real server over a home with the sample elections loaded."""
    home = tmp_path_factory.mktemp("verify-js") / "home"
    writer = LedgerWriter.initialise(Settings.at(home))
    try:
        run_plan(writer, build_sample())
    finally:
        writer.close()
    server = Server(home).start()
    try:
        with server.client() as client:
            yield client
    finally:
        server.stop()


@pytest.fixture(scope="module")
def vkey(http) -> str:
    return http.get("/v1/log-key").json()["vkey"]


@pytest.fixture(scope="module")
def entries(http) -> list[dict[str, Any]]:
    """Every entry of the log as /v1/ledger/entries gives it (leaf bytes in base64)."""
    found: list[dict[str, Any]] = []
    start = 0
    while start is not None:
        page = http.get("/v1/ledger/entries", params={"start": start}).json()
        found += page["entries"]
        start = page["next"]
    return found


@pytest.fixture(scope="module")
def signed_sizes(entries) -> list[int]:
    """Every size a checkpoint was signed at: the size after each commit."""
    return sorted({e["tree_size"] for e in entries})


def proven(http: httpx.Client, leaf_index: int, size: int) -> dict[str, Any]:
    """A leaf as the evidence gives one: its bytes and its inclusion proof at `size`."""
    leaf = http.get(f"/v1/ledger/entries/{leaf_index}").json()["leaf"]
    query = {"leaf_index": leaf_index, "tree_size": size}
    proof = http.get("/v1/proofs/inclusion", params=query).json()["inclusion_proof"]
    return {"leaf_index": leaf_index, "leaf": leaf, "inclusion_proof": proof}


def build_evidence(http: httpx.Client, election: str, code: str) -> dict[str, Any]:
    """GET .../contests/{code}/evidence as the lead's endpoint answers it, built from the
    routes that were there first: the contest page's current official forms, each leaf and
    its proof at the page's size, and the computed totals the page shows."""
    page = http.get(f"/v1/elections/{election}/contests/{code}").json()
    size, contest = page["tree_size"], page["contest"]
    computed, declared = contest["computed"], contest["declared"]
    return {
        "tree_size": size,
        "checkpoint": page["checkpoint"],
        "election": election,
        "contest": code,
        "forms": [
            {"station": f["station"], "source": f["source"]} | proven(http, f["leaf_index"], size)
            for f in contest["forms"]
            if f["official"] and f["current"]
        ],
        "totals": computed["votes"],
        "rejected": computed["rejected"],
        "polled": computed["polled"],
        "declaration": proven(http, declared["leaf_index"], size) if declared else None,
    }


@pytest.fixture(scope="module")
def evidences(http) -> dict[str, dict[str, Any]]:
    """The evidence of every contest of the sample, by contest code."""
    found = {}
    for election in http.get("/v1/elections").json()["elections"]:
        eid = election["id"]
        for line in http.get(f"/v1/elections/{eid}/contests").json()["contests"]:
            found[line["contest"]] = build_evidence(http, eid, line["contest"])
    return found


def body_of(form: dict[str, Any]) -> dict[str, Any]:
    return json.loads(base64.b64decode(form["leaf"]))["body"]


# ---------------------------------------------------------------- keys and checkpoints

PARSE_KEY = """
try {
  const k = await M.parseVerifierKey(arg);
  const hex = Array.from(k.keyHash, (b) => b.toString(16).padStart(2, "0")).join("");
  return { name: k.name, keyHash: hex, publicKey: M.toBase64(k.publicKey) };
} catch (e) {
  return { error: e.message };
}
"""

CHECKPOINTS = """
const key = await M.parseVerifierKey(arg.vkey);
const out = [];
for (const note of arg.notes) {
  const r = await M.verifyCheckpoint(note, key);
  out.push({ ...r, rootHash: r.rootHash && M.toBase64(r.rootHash) });
}
return out;
"""


def checkpoints(js: Script, notes: list[str], vkey: str) -> list[dict[str, Any]]:
    return js(CHECKPOINTS, {"notes": notes, "vkey": vkey})


def key_with_a_plus() -> Signer:
    """A key whose base64 has a "+": the vkey's third part then holds the separator too."""
    for i in itertools.count():
        signer = Signer.from_seed_text("example.org/log", f"plus:{i}")
        if "+" in signer.public.vkey.split("+", 2)[2]:
            return signer
    raise AssertionError("unreachable")


def test_verifier_keys_read_as_python_reads_them(js, vkey):
    plus = key_with_a_plus().public.vkey
    go = Signer.from_private_text(PETER).public.vkey  # Go's sumdb/note example
    for text in (vkey, plus, go):
        key = PublicKey.from_vkey(text)
        assert js(PARSE_KEY, text) == {
            "name": key.name,
            "keyHash": note_key_hash(key.name, key.raw).hex(),
            "publicKey": key.b64,
        }
    name, key_hash, material = vkey.split("+", 2)
    raw = base64.b64decode(material)[1:]
    not_ed25519, short = b64(bytes([2]) + raw), b64(bytes([1]) + raw[:31])
    refused = {
        "another hash": f"{name}+{int(key_hash, 16) ^ 1:08x}+{material}",
        "hash in capitals": f"{name}+{key_hash.upper()}+{material}",
        "not Ed25519": f"{name}+{key_hash}+{not_ed25519}",
        "short key": f"{name}+{key_hash}+{short}",
        "name with a space": f"a log+{key_hash}+{material}",
        "two parts": f"{name}+{material}",
    }
    for why, text in refused.items():
        with pytest.raises(KeyTextError):
            PublicKey.from_vkey(text)
        assert "error" in js(PARSE_KEY, text), why


def test_every_checkpoint_the_log_signed_verifies(js, http, vkey, signed_sizes):
    notes = [http.get(f"/v1/checkpoints/{s}").json()["checkpoint"] for s in signed_sizes]
    key = PublicKey.from_vkey(vkey)
    for size, note, got in zip(signed_sizes, notes, checkpoints(js, notes, vkey), strict=True):
        cp = Checkpoint.open(note, key)
        assert got == {
            "origin": ORIGIN,
            "treeSize": size,
            "rootHash": b64(cp.root),
            "ok": True,
            "reason": None,
        }


def split_note(note: str) -> tuple[str, str]:
    """A signed note's text (ending in a newline) and its signature lines."""
    at = note.rindex("\n\n")
    return note[: at + 1], note[at + 2 :]


def test_a_checkpoint_changed_anywhere_fails(js, http, vkey):
    note = http.get("/v1/checkpoints/latest").json()["checkpoint"]
    text, signature = split_note(note)
    origin, size, root, _ = text.split("\n")
    dash, name, sig = signature.rstrip("\n").split(" ")
    witness = Signer.generate("witness.example/w")
    impostor = Signer.generate(ORIGIN)  # the log's name, another key
    cases = {
        "signature byte": (f"{text}\n{dash} {name} {flip(sig)}\n", "does not verify"),
        "key hash byte": (f"{text}\n{dash} {name} {flip(sig, 0)}\n", "not signed by"),
        "root byte": (f"{origin}\n{size}\n{flip(root)}\n\n{signature}", "does not verify"),
        "size": (f"{origin}\n{int(size) - 1}\n{root}\n\n{signature}", "does not verify"),
        "no blank line": (note.replace("\n\n", "\n"), "blank line"),
        "another key": (sign_note(text, [impostor]), "not signed by"),
        "a witness's cosignature too": (note + sign_note(text, [witness]).split("\n\n")[1], None),
    }
    got = checkpoints(js, [n for n, _ in cases.values()], vkey)
    key = PublicKey.from_vkey(vkey)
    for (why, (changed, reason)), result in zip(cases.items(), got, strict=True):
        if reason is None:
            assert result["ok"] and Checkpoint.open(changed, key).size == int(size), why
            continue
        assert not result["ok"] and reason in result["reason"], (why, result)
        assert (result["origin"], result["treeSize"], result["rootHash"]) == (None, None, None)
        with pytest.raises(NoteError):
            Checkpoint.open(changed, key)


def test_a_checkpoint_of_another_log_or_not_a_checkpoint_fails(js, http):
    text, _ = split_note(http.get("/v1/checkpoints/latest").json()["checkpoint"])
    other = Signer.generate("example.org/other-log")
    (result,) = checkpoints(js, [sign_note(text, [other])], other.public.vkey)
    assert result["reason"] == f"the checkpoint is of {ORIGIN}, not example.org/other-log"
    # Go's reference note: the signature verifies (its text changed does not), but it is
    # no checkpoint of its key's log
    go = Signer.from_private_text(PETER).public.vkey
    read, changed = checkpoints(js, [SIGNED, SIGNED.replace("problem is", "problem was")], go)
    assert read["reason"] == "a checkpoint has an origin, a size and a root line"
    assert changed["reason"] == "the signature by PeterNeumann does not verify"


# ---------------------------------------------------------------- proofs of the real log

PROOFS_OF = """
const key = await M.parseVerifierKey(arg.vkey);
const out = [];
for (const c of arg.cases) {
  const r = await M.verifyProofOf(M.fromBase64(c.leaf), c.index, c.proof, c.note ?? null, key);
  out.push(r.ok ? "ok" : r.reason);
}
return out;
"""


def test_every_entry_of_the_log_is_proven_in_the_browser(js, http, vkey, entries, signed_sizes):
    def proof(**query: Any) -> dict[str, Any]:
        return http.get("/v1/proofs/inclusion", params=query).json()

    cases = [
        {"leaf": e["leaf"], "index": e["leaf_index"], "proof": proof(leaf_index=e["leaf_index"])}
        for e in entries
    ]
    form = next(e for e in entries if e["kind"] == "form")
    i, earlier = form["leaf_index"], signed_sizes[-2]
    by_id = proof(kind="form", id=form["entry_id"])
    path = by_id["inclusion_proof"]
    at_earlier = proof(leaf_index=i, tree_size=earlier)
    note_earlier = http.get(f"/v1/checkpoints/{earlier}").json()["checkpoint"]
    honest = [
        {"leaf": form["leaf"], "index": i, "proof": by_id},
        {"leaf": form["leaf"], "index": i, "proof": at_earlier},
        {"leaf": form["leaf"], "index": i, "proof": at_earlier, "note": note_earlier},
    ]
    tampered = {
        "leaf byte": {"leaf": flip(form["leaf"]), "index": i, "proof": by_id},
        "another leaf's proof": {"leaf": entries[i + 1]["leaf"], "index": i + 1, "proof": by_id},
        "proof hash": {
            "leaf": form["leaf"],
            "index": i,
            "proof": by_id | {"inclusion_proof": [flip(path[0]), *path[1:]]},
        },
        "another checkpoint": {
            "leaf": form["leaf"],
            "index": i,
            "proof": by_id,
            "note": note_earlier,
        },
    }
    got = js(PROOFS_OF, {"cases": cases + honest + list(tampered.values()), "vkey": vkey})
    assert got[: len(cases) + len(honest)] == ["ok"] * (len(cases) + len(honest))
    assert dict(zip(tampered, got[len(cases) + len(honest) :], strict=True)) == {
        "leaf byte": "the proof is for another leaf hash than these bytes'",
        "another leaf's proof": f"the proof is of leaf {i}",
        "proof hash": "the inclusion proof leads to another root",
        "another checkpoint": f"the proof is for size {signed_sizes[-1]}, the checkpoint {earlier}",
    }


CONSISTENCY_ANSWERS = """
const key = await M.parseVerifierKey(arg.vkey);
const out = [];
for (const a of arg.answers) {
  const first = await M.verifyCheckpoint(a.first.checkpoint, key);
  const second = await M.verifyCheckpoint(a.second.checkpoint, key);
  const proof = a.consistency_proof.map(M.fromBase64);
  const r = await M.verifyConsistency(
    first.treeSize, second.treeSize, proof, first.rootHash, second.rootHash);
  out.push(first.ok && second.ok && r.ok ? "ok" : r.reason);
}
return out;
"""


def test_consistency_proofs_of_the_real_log(js, http, vkey, signed_sizes):
    pairs = [(s, signed_sizes[-1]) for s in signed_sizes] + list(itertools.pairwise(signed_sizes))
    answers = [
        http.get("/v1/proofs/consistency", params={"first": a, "second": b}).json()
        for a, b in pairs
    ]
    assert js(CONSISTENCY_ANSWERS, {"answers": answers, "vkey": vkey}) == ["ok"] * len(answers)
    sample = [a for a in answers if len(a["consistency_proof"]) > 1][::10]
    tampered = []
    for a in sample:
        proof = a["consistency_proof"]
        tampered += [
            a | {"consistency_proof": [flip(proof[0]), *proof[1:]]},
            a | {"consistency_proof": proof[:-1]},
            a | {"first": a["second"], "second": a["first"]},
        ]
    got = js(CONSISTENCY_ANSWERS, {"answers": tampered, "vkey": vkey})
    assert len(got) == 3 * len(sample) > 30
    assert "ok" not in got


# ---------------------------------------------------------------- proofs of any tree

MERKLE = """
const b = M.fromBase64;
const hashes = [];
for (const blob of arg.blobs) hashes.push(M.toBase64(await M.leafHash(b(blob))));
const inclusion = [];
for (const [index, size, leaf, proof, root] of arg.inclusion) {
  const r = await M.verifyInclusion(b(leaf), BigInt(index), BigInt(size), proof.map(b), b(root));
  inclusion.push(r.ok);
}
const consistency = [];
for (const [size1, size2, proof, root1, root2] of arg.consistency) {
  const r = await M.verifyConsistency(
    BigInt(size1), BigInt(size2), proof.map(b), b(root1), b(root2));
  consistency.push(r.ok);
}
return { hashes, inclusion, consistency };
"""


def wire(case: tuple[Any, ...]) -> list[Any]:
    """A proof case as the page takes it: sizes as decimal text (BigInt), hashes as base64."""

    def one(x: Any) -> Any:
        if isinstance(x, int):
            return str(x)
        if isinstance(x, list):
            return [one(y) for y in x]
        return b64(x) if isinstance(x, bytes) else x

    return [one(x) for x in case]


def in_browser(js: Script, inclusion: list, consistency: list, blobs: list[bytes] = ()) -> Any:
    return js(
        MERKLE,
        {
            "blobs": [b64(blob) for blob in blobs],
            "inclusion": [wire(c) for c in inclusion],
            "consistency": [wire(c) for c in consistency],
        },
    )


def verdicts(check: Callable[..., None], cases: list) -> list[bool]:
    return [holds(check, *c) for c in cases]


def bad(h: bytes) -> bytes:
    return bytes([h[0] ^ 1]) + h[1:]


@given(size=st.integers(1, 300), seed=st.integers(0, 2**32), data=st.data())
@settings(max_examples=40)
def test_js_proofs_agree_with_ledger_merkle_on_random_trees(js, size, seed, data):
    rng = random.Random(seed)
    blobs = [rng.randbytes(rng.randrange(40)) for _ in range(size)]
    tree = MerkleTree(leaf_hash(blob) for blob in blobs)
    index = data.draw(st.integers(0, size - 1), label="index")
    old = data.draw(st.integers(1, size), label="old size")
    root, leaf, path = tree.root(), tree.leaf(index), tree.inclusion_proof(index)
    other = tree.leaf((index + 1) % size)
    inclusion = [
        (index, size, leaf, path, root),
        (index, size, leaf, [*path, leaf], root),
        ((index + 1) % size, size, leaf, path, root),
        (index, size + 1, leaf, path, root),
        (index, size, other, path, root),
        (index, size, leaf, path, tree.root(old)),
    ]
    if path:
        inclusion += [(index, size, leaf, [bad(path[0]), *path[1:]], root)]
        inclusion += [(index, size, leaf, path[:-1], root)]
    step = tree.consistency_proof(old)
    first = tree.root(old)
    consistency = [
        (old, size, step, first, root),
        (old, size, [*step, root], first, root),
        (old, size, step, root, first),
        (old + 1, size, step, first, root),
        (old, size + 1, step, first, root),
    ]
    if step:
        consistency += [(old, size, [bad(step[0]), *step[1:]], first, root)]
        consistency += [(old, size, step[:-1], first, root)]
    got = in_browser(js, inclusion, consistency, blobs)
    assert got["hashes"] == [b64(leaf_hash(blob)) for blob in blobs]
    assert got["inclusion"] == verdicts(verify_inclusion, inclusion)
    assert got["consistency"] == verdicts(verify_consistency, consistency)
    assert got["inclusion"][0] and got["consistency"][0]


@functools.cache
def uniform(width: int) -> bytes:
    """The root of `width` equal leaves, which depends on the width alone: a tree of any
    size then costs O(log n) hashes."""
    if width == 1:
        return leaf_hash(b"")
    k = 1 << ((width - 1).bit_length() - 1)
    return node_hash(uniform(k), uniform(width - k))


def test_trees_past_2_to_the_32_leaves(js):
    """Bit operators on JS Numbers truncate to 32 bits: sizes and indices must not."""

    def subtree(start: int, end: int) -> bytes:
        return uniform(end - start)

    inclusion = []
    for index, size in [(2**32, 2**32 + 1), (2**33 + 7, 2**40 + 12345), (2**53 - 2, 2**53 - 1)]:
        path = inclusion_path(index, size, subtree)
        leaf, root = uniform(1), uniform(size)
        inclusion += [
            (index, size, leaf, path, root),
            (size, size, leaf, path, root),
            (index, size, leaf, path[:-1], root),
            (index, size * 2, leaf, path, root),
        ]
    consistency = []
    for old, size in [
        (2**32, 2**32 + 3),
        (2**40 + 1, 2**53 - 1),
        (5, 2**33),
        (2**63 + 1, 2**64 - 1),
    ]:
        step = consistency_path(old, size, subtree)
        consistency += [
            (old, size, step, uniform(old), uniform(size)),
            (old, size, step[:-1], uniform(old), uniform(size)),
            (old + 2**32, size, step, uniform(old), uniform(size)),
        ]
    got = in_browser(js, inclusion, consistency)
    assert (
        got["inclusion"] == verdicts(verify_inclusion, inclusion) == [True, False, False, False] * 3
    )
    assert (
        got["consistency"] == verdicts(verify_consistency, consistency) == [True, False, False] * 4
    )


def vector_cases(kind: str, fields: tuple[str, ...]) -> tuple[list, list[bool]]:
    """Every transparency-dev vector of a kind, as proof cases, and whether each is valid."""
    paths = sorted((VECTORS / kind).glob("**/*.json"))
    vectors = [json.loads(p.read_text()) for p in paths]
    cases = [
        [
            str(v[f]) if isinstance(v[f], int) else (v[f] or ([] if f == "proof" else ""))
            for f in fields
        ]
        for v in vectors
    ]
    return cases, [not v["wantErr"] for v in vectors]


@pytest.mark.realdata
def test_the_transparency_dev_vectors(js):
    if not VECTORS.exists():
        pytest.skip("merkle-testdata is not beside the repository")
    inclusion, valid_inclusion = vector_cases(
        "inclusion", ("leafIdx", "treeSize", "leafHash", "proof", "root")
    )
    consistency, valid_consistency = vector_cases(
        "consistency", ("size1", "size2", "proof", "root1", "root2")
    )
    assert (len(inclusion), len(consistency)) == (98, 98)
    got = js(MERKLE, {"blobs": [], "inclusion": inclusion, "consistency": consistency})
    assert got["inclusion"] == valid_inclusion
    assert got["consistency"] == valid_consistency


# ---------------------------------------------------------------- a contest's evidence

VERIFY_EVIDENCE = "return await M.verifyEvidence(arg.evidence, arg.vkey);"


def verify(js: Script, evidence: dict[str, Any], vkey: str) -> dict[str, Any]:
    return js(VERIFY_EVIDENCE, {"evidence": evidence, "vkey": vkey})


def test_honest_evidence_verifies_for_every_contest(js, vkey, evidences):
    assert sum(len(e["forms"]) for e in evidences.values()) == 218  # 12 contests, 4 postponed
    for code, evidence in evidences.items():
        report = verify(js, evidence, vkey)
        assert report["ok"], (code, report["failures"])
        assert report["checked"] == len(evidence["forms"])
        assert report["failures"] == []
        assert report["sums"] == {
            "votes": evidence["totals"],
            "rejected": evidence["rejected"],
            "polled": evidence["polled"],
        }
        assert report["checkpoint"] == {"origin": ORIGIN, "treeSize": evidence["tree_size"]}
        declared = evidence["declaration"] and body_of(evidence["declaration"])
        assert report["declared"] == (
            declared and {k: declared.get(k) for k in ("votes", "rejected", "polled")}
        )
    assert verify(js, evidences["PS-129"], vkey)["declared"]["votes"] == {
        "PS-129/hafiz-naeem": 26000,
        "PS-129/saif-bari": 11000,
    }


def test_an_altered_proof_hash_names_the_station(js, vkey, evidences):
    evidence = copy.deepcopy(evidences["NA-122"])
    form = evidence["forms"][7]
    form["inclusion_proof"][2] = flip(form["inclusion_proof"][2])
    report = verify(js, evidence, vkey)
    assert not report["ok"]
    assert report["failures"][0] == {
        "what": "inclusion",
        "station": form["station"],
        "reason": f"leaf {form['leaf_index']}: the inclusion proof leads to another root",
    }
    # its votes are not counted, so the totals shown are no longer the proven forms' sum
    assert {f["what"] for f in report["failures"][1:]} == {"totals"}
    votes = body_of(evidences["NA-122"]["forms"][7])["votes"]
    assert report["sums"]["votes"] == {c: n - votes[c] for c, n in evidence["totals"].items()}


def test_altered_votes_in_a_leaf_are_no_longer_in_the_log(js, vkey, evidences):
    evidence = copy.deepcopy(evidences["NA-122"])
    form = evidence["forms"][3]
    leaf = json.loads(base64.b64decode(form["leaf"]))
    leaf["body"]["votes"]["NA-122/saad-rafique"] += 1000
    leaf["body"]["polled"] += 1000
    form["leaf"] = b64(canonical(leaf))
    evidence["totals"]["NA-122/saad-rafique"] += 1000  # a page that added them in too
    evidence["polled"] += 1000
    report = verify(js, evidence, vkey)
    assert report["failures"][0] == {
        "what": "inclusion",
        "station": form["station"],
        "reason": f"leaf {form['leaf_index']}: the inclusion proof leads to another root",
    }
    assert {f["what"] for f in report["failures"][1:]} == {"totals"}


def test_totals_that_are_not_the_forms_sum_are_named(js, vkey, evidences):
    evidence = copy.deepcopy(evidences["NA-122"])
    khosa = evidence["totals"]["NA-122/latif-khosa"]
    evidence["totals"]["NA-122/latif-khosa"] += 1
    evidence["rejected"] -= 1
    report = verify(js, evidence, vkey)
    assert report["failures"] == [
        {
            "what": "totals",
            "station": None,
            "reason": f"NA-122/latif-khosa: the proven forms sum to {khosa}, the page shows {khosa + 1}",
        },
        {
            "what": "totals",
            "station": None,
            "reason": f"rejected: the proven forms sum to {evidence['rejected'] + 1}, "
            f"the page shows {evidence['rejected']}",
        },
    ]
    assert report["sums"]["votes"] == evidences["NA-122"]["totals"]
    evidence = copy.deepcopy(evidences["NA-122"])
    evidence["totals"]["NA-122/nobody"] = 5  # a candidate no form names
    assert verify(js, evidence, vkey)["failures"] == [
        {
            "what": "totals",
            "station": None,
            "reason": "NA-122/nobody: the proven forms sum to 0, the page shows 5",
        }
    ]


def test_a_form_that_does_not_belong_is_refused_and_not_counted(js, http, vkey, evidences):
    honest = evidences["NA-122"]
    size = honest["tree_size"]
    page = http.get("/v1/elections/pk-ge-2024/contests/NA-122").json()["contest"]
    agents = next(f for f in page["forms"] if f["source"].startswith("agent:"))
    other = evidences["NA-10"]["forms"][0]
    ours = honest["forms"][0]
    slipped = {
        "another contest's form": (other, f"leaf {other['leaf_index']} is a form of NA-10"),
        "an agent's copy": (
            {"station": agents["station"], "source": agents["source"]}
            | proven(http, agents["leaf_index"], size),
            f"leaf {agents['leaf_index']} is {agents['source']}'s, not an official form",
        ),
        "a station's form twice": (ours, "a second form for this station would count it twice"),
        "an entry that is no form": (
            {"station": ours["station"], "source": ours["source"]} | proven(http, 0, size),
            "leaf 0 is a structure, not a form",
        ),
        "a form under another station's name": (
            ours | {"station": honest["forms"][1]["station"]},
            f"leaf {ours['leaf_index']} is the form of station {ours['station']}",
        ),
    }
    for why, (form, reason) in slipped.items():
        evidence = copy.deepcopy(honest)
        evidence["forms"].append(form)
        report = verify(js, evidence, vkey)
        assert report["failures"] == [
            {"what": "form", "station": form["station"], "reason": reason}
        ], why
        assert report["checked"] == len(honest["forms"]) + 1
        assert report["sums"]["votes"] == honest["totals"], why
    evidence = copy.deepcopy(honest) | {"election": "kp-lg-2021-phase1"}
    failures = verify(js, evidence, vkey)["failures"]
    assert len(failures) > 40
    assert failures[0]["reason"] == f"leaf {ours['leaf_index']} is a form of election pk-ge-2024"


def test_a_declaration_that_is_not_the_contests_is_refused(js, vkey, evidences):
    evidence = copy.deepcopy(evidences["PS-129"])
    form = evidence["forms"][0]
    evidence["declaration"] = {k: form[k] for k in ("leaf_index", "leaf", "inclusion_proof")}
    report = verify(js, evidence, vkey)
    assert report["failures"] == [
        {
            "what": "declaration",
            "station": None,
            "reason": f"leaf {form['leaf_index']} is a form, not a declaration",
        }
    ]
    assert report["declared"] is None


def test_evidence_under_a_bad_checkpoint_is_not_checked_further(js, vkey, evidences):
    evidence = copy.deepcopy(evidences["NA-122"])
    text, signature = split_note(evidence["checkpoint"])
    dash, name, sig = signature.rstrip("\n").split(" ")
    evidence["checkpoint"] = f"{text}\n{dash} {name} {flip(sig)}\n"
    report = verify(js, evidence, vkey)
    assert report == {
        "ok": False,
        "checked": 0,
        "failures": [
            {
                "what": "checkpoint",
                "station": None,
                "reason": f"the signature by {ORIGIN} does not verify",
            }
        ],
        "sums": None,
        "declared": None,
        "checkpoint": None,
    }
    other = Signer.generate(ORIGIN).public.vkey  # what a look-alike log would publish
    report = verify(js, evidences["NA-122"], other)
    assert report["failures"][0]["reason"] == f"the note is not signed by {ORIGIN}"
    evidence = copy.deepcopy(evidences["NA-122"])
    evidence["tree_size"] -= 1
    assert verify(js, evidence, vkey)["failures"] == [
        {
            "what": "checkpoint",
            "station": None,
            "reason": f"the page is at size {evidence['tree_size']}, "
            f"its checkpoint at {evidence['tree_size'] + 1}",
        }
    ]


def test_the_served_evidence_is_what_the_verifier_expects(js, http, vkey, evidences):
    """The evidence route answers what the tests above build, and verifies."""
    for code, built in evidences.items():
        served = http.get(f"/v1/elections/{built['election']}/contests/{code}/evidence").json()
        assert served == built, code
        assert verify(js, served, vkey)["ok"], code
