"""C2SP tlog-cosignature (Ed25519 cosignature/v1) and the tlog-witness add-checkpoint rules:
the spec's own examples, the signed bytes rebuilt by hand, every refusal status, the quorum a
reader asks for, and a property that a witness driven by `judge` never rolls back or forks."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import VerifyKey

from tallyproof.ledger.cosignature import (
    AddCheckpoint,
    Cosigned,
    PolicyError,
    WitnessKey,
    WitnessPolicy,
    WitnessRefusal,
    cosign,
    cosignatures_on,
    judge,
    split_note,
    with_cosignatures,
)
from tallyproof.ledger.keys import KeyTextError, Signer
from tallyproof.ledger.merkle import EMPTY_ROOT, MerkleTree, leaf_hash
from tallyproof.ledger.note import Checkpoint, NoteError

ORIGIN = "example.org/tally"
LOG = Signer.from_seed_text(ORIGIN, "the log's key, for tests")
WITNESS = Signer.from_seed_text("witness.example/w1", "a witness key, for tests")
OTHER = Signer.from_seed_text("witness.example/w2", "another witness key, for tests")
TIME = 1_700_000_000
LOG_KEYS = {ORIGIN: [LOG.public]}

# C2SP tlog-witness.md example: the add-checkpoint request body, verbatim (unindented).
SPEC_REQUEST = (
    "old 20852014\n"
    "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
    "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
    "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"
    "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n"
    "\n"
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    "\n"
    "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    "— example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n"
).encode()
# C2SP tlog-cosignature.md example: a checkpoint cosigned by witness.example.com/w1.
SPEC_COSIGNATURE = "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
# transparency-dev/formats tests: a native cosignature/v1 (type 0x04) Ed25519 vkey.
REMORA = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"


def tree_of(n: int, tag: bytes = b"") -> MerkleTree:
    return MerkleTree(leaf_hash(tag + i.to_bytes(4, "big")) for i in range(n))


def signed(size: int, root: bytes, signer: Signer = LOG) -> str:
    return Checkpoint(ORIGIN, size, root).sign(signer)


def request(old: int, tree: MerkleTree, size: int, proof: list[bytes] | None = None):
    """An honest add-checkpoint for `tree` at `size`, from `old`, unless a proof is given."""
    if proof is None:
        proof = tree.consistency_proof(old, size) if 0 < old < size else []
    return AddCheckpoint(old, tuple(proof), signed(size, tree.root(size)))


def cosigned(tree: MerkleTree, size: int) -> Cosigned:
    return Cosigned(size, tree.root(size), signed(size, tree.root(size)))


def refusal(req: AddCheckpoint, latest: Cosigned | None, keys=LOG_KEYS) -> WitnessRefusal:
    with pytest.raises(WitnessRefusal) as caught:
        judge(req, keys, latest)
    return caught.value


# --- cosignature/v1 ---------------------------------------------------------------------


def test_cosign_verifies_with_the_witness_key_and_names_its_time():
    note = signed(5, tree_of(5).root())
    text = split_note(note)[0]
    made = cosign(WITNESS, text, TIME)
    assert made.witness == WITNESS.name and made.timestamp == TIME
    assert made.line.startswith("— witness.example/w1 ") and made.line.endswith("\n")
    key = WitnessKey.of(WITNESS)
    found = cosignatures_on(with_cosignatures(note, [made.line]), [key])
    assert [(c.witness, c.timestamp, c.line) for c in found] == [(key.name, TIME, made.line)]


def test_the_signed_message_is_the_header_the_time_and_the_body():
    """Rebuilt by hand and checked with PyNaCl, so a wrong message cannot verify itself."""
    text = Checkpoint(ORIGIN, 7, tree_of(7).root()).text()
    made = cosign(WITNESS, text, TIME)
    raw = base64.b64decode(made.line.split(" ")[2])
    assert len(raw) == 4 + 8 + 64
    assert raw[4:12] == TIME.to_bytes(8, "big")
    message = b"cosignature/v1\ntime 1700000000\n" + text.encode()
    VerifyKey(WITNESS.public.raw).verify(message, raw[12:])  # raises if not this message
    assert WitnessKey.of(WITNESS).verify(text, raw) == TIME


def test_key_id_is_sha256_of_name_newline_0x04_key():
    want = hashlib.sha256(b"witness.example/w1\n\x04" + WITNESS.public.raw).digest()[:4]
    key = WitnessKey.of(WITNESS)
    assert key.key_hash == want
    raw = base64.b64decode(cosign(WITNESS, "a\n1\n" + "A" * 43 + "=\n", TIME).line.split()[2])
    assert raw[:4] == want
    # and it is not the plain note key id (type 0x01) of the same key
    assert want != hashlib.sha256(b"witness.example/w1\n\x01" + WITNESS.public.raw).digest()[:4]


def test_vkey_round_trip_and_a_note_vkey_is_refused():
    key = WitnessKey.of(WITNESS)
    assert key.vkey.startswith(f"witness.example/w1+{key.key_hash.hex()}+")
    assert base64.b64decode(key.vkey.split("+", 2)[2])[:1] == b"\x04"
    assert WitnessKey.from_vkey(key.vkey) == key
    assert WitnessKey.from_vkey(f"  {key.vkey}\n") == key
    with pytest.raises(KeyTextError, match="0x04"):
        WitnessKey.from_vkey(WITNESS.public.vkey)  # the same key as a type-0x01 note vkey
    name, key_hash, material = key.vkey.split("+", 2)
    short = base64.b64encode(b"\x04" + bytes(31)).decode()
    for bad in (
        f"{name}+{key_hash}",
        f"{name}+00000000+{material}",
        f"{name}+{key_hash}+!!!",
        f"+{key_hash}+{material}",
        f"{name}+{key_hash}+{short}",
    ):
        with pytest.raises(KeyTextError):
            WitnessKey.from_vkey(bad)


def test_a_native_cosignature_vkey_from_transparency_dev_is_read():
    key = WitnessKey.from_vkey(REMORA)
    assert key.name == "remora.n621.de"
    assert key.key_hash.hex() == "da77ade7"  # recomputed by our code from name and key
    assert key.raw == base64.b64decode("BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2")[1:]
    assert key.vkey == REMORA


def test_tampering_with_any_line_the_time_or_the_signature_fails():
    note = signed(9, tree_of(9).root())
    made = cosign(WITNESS, split_note(note)[0], TIME)
    key = WitnessKey.of(WITNESS)
    good = with_cosignatures(note, [made.line])
    assert cosignatures_on(good, [key])
    origin, size, root, _ = split_note(note)[0].split("\n")
    other_root = base64.b64encode(tree_of(9, b"x").root()).decode()
    for old, new in ((origin, origin + "x"), (f"\n{size}\n", "\n10\n"), (root, other_root)):
        with pytest.raises(NoteError, match="does not verify"):
            cosignatures_on(good.replace(old, new, 1), [key])
    raw = bytearray(base64.b64decode(made.line.split(" ")[2]))
    for index in (11, 12, 75):  # the time's last byte, the signature's first and last
        bent = bytearray(raw)
        bent[index] ^= 1
        line = f"— {WITNESS.name} {base64.b64encode(bytes(bent)).decode()}\n"
        with pytest.raises(NoteError):
            cosignatures_on(note + line, [key])
    truncated = f"— {WITNESS.name} {base64.b64encode(bytes(raw[:40])).decode()}\n"
    with pytest.raises(NoteError):
        cosignatures_on(note + truncated, [key])


def test_lines_by_unknown_keys_are_ignored_but_a_bad_line_by_a_known_key_fails():
    note = signed(3, tree_of(3).root())
    text = split_note(note)[0]
    by_other = cosign(OTHER, text, TIME).line
    impostor = cosign(Signer.generate(WITNESS.name), text, TIME).line  # same name, other key
    key = WitnessKey.of(WITNESS)
    assert cosignatures_on(note + by_other + impostor, [key]) == []
    # a line with the configured name and key id whose signature is not valid
    forged = base64.b64encode(key.key_hash + TIME.to_bytes(8, "big") + bytes(64)).decode()
    with pytest.raises(NoteError):
        cosignatures_on(note + by_other + f"— {WITNESS.name} {forged}\n", [key])
    # the same line under a name we do not follow is someone else's business
    assert cosignatures_on(note + f"— witness.example/w9 {forged}\n", [key]) == []


def test_a_zero_timestamp_is_refused_when_cosigning_and_when_verifying():
    text = Checkpoint(ORIGIN, 2, tree_of(2).root()).text()
    with pytest.raises(ValueError):
        cosign(WITNESS, text, 0)
    with pytest.raises(ValueError):
        cosign(WITNESS, text, 1 << 63)
    key = WitnessKey.of(WITNESS)
    signature = WITNESS.sign(b"cosignature/v1\ntime 0\n" + text.encode())
    raw = key.key_hash + bytes(8) + signature  # validly signed, but at time zero
    with pytest.raises(NoteError, match="timestamp"):
        key.verify(text, raw)


def test_with_cosignatures_adds_each_line_once_after_the_logs():
    note = signed(4, tree_of(4).root())
    text = split_note(note)[0]
    a, b = cosign(WITNESS, text, TIME).line, cosign(OTHER, text, TIME).line
    once = with_cosignatures(note, [a, b, a])
    assert once == note + a + b
    assert with_cosignatures(once, [b, a]) == once
    assert split_note(once) == (text, [note.split("\n\n")[1], a, b])


# --- the C2SP examples ------------------------------------------------------------------


def test_the_spec_add_checkpoint_example_parses_and_re_serialises():
    req = AddCheckpoint.parse(SPEC_REQUEST)
    assert req.old_size == 20852014
    assert [base64.b64encode(h).decode() for h in req.proof] == [
        "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=",
        "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=",
        "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=",
        "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=",
    ]
    text, lines = split_note(req.note)
    checkpoint = Checkpoint.parse(text)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.root == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert len(lines) == 2 and all(li.startswith("— example.com/behind-the-sofa ") for li in lines)
    assert req.body() == SPEC_REQUEST


def test_the_spec_cosignature_example_decodes_to_key_id_time_and_signature():
    name, encoded = SPEC_COSIGNATURE[2:-1].split(" ")
    assert name == "witness.example.com/w1"
    raw = base64.b64decode(encoded, validate=True)
    assert len(raw) == 4 + 8 + 64
    assert int.from_bytes(raw[4:12], "big") == 1679315147  # "time 1679315147" in the spec


def test_the_spec_request_is_judged_on_its_log_key():
    """A witness that does not know the spec's log answers 404; one that follows another key
    for that origin answers 403 (neither example signature is by it)."""
    req = AddCheckpoint.parse(SPEC_REQUEST)
    assert refusal(req, None).status == 404
    stranger = Signer.generate("example.com/behind-the-sofa")
    assert refusal(req, None, {"example.com/behind-the-sofa": [stranger.public]}).status == 403


# --- add-checkpoint bodies the witness refuses to read -------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"old 0\n" + signed(0, EMPTY_ROOT).encode(),  # no blank line before the note
        b"old 0" + signed(0, EMPTY_ROOT).encode(),
        b"new 0\n\n" + signed(0, EMPTY_ROOT).encode(),
        b"old -1\n\n" + signed(0, EMPTY_ROOT).encode(),
        b"old  1\n\n" + signed(1, EMPTY_ROOT).encode(),
        b"old 1x\n\n" + signed(1, EMPTY_ROOT).encode(),
        b"old 01\n\n" + signed(1, EMPTY_ROOT).encode(),
        b"old \n\n" + signed(1, EMPTY_ROOT).encode(),
        b"old 1\n"
        + (base64.b64encode(bytes(32)) + b"\n") * 64
        + b"\n"
        + signed(1, EMPTY_ROOT).encode(),
        b"old 1\n" + b"@@not base64@@\n\n" + signed(1, EMPTY_ROOT).encode(),
        b"old 1\n" + base64.b64encode(bytes(31)) + b"\n\n" + signed(1, EMPTY_ROOT).encode(),
        b"old 1\n" + base64.b64encode(bytes(33)) + b"\n\n" + signed(1, EMPTY_ROOT).encode(),
        b"old 1\n\xff\xfe\n\n" + signed(1, EMPTY_ROOT).encode(),
        "old 1\n\n".encode("utf-16"),
    ],
)
def test_malformed_bodies_are_refused_with_400(body: bytes):
    with pytest.raises(WitnessRefusal) as caught:
        AddCheckpoint.parse(body)
    assert caught.value.status == 400 and caught.value.code == "witness.malformed"
    assert not caught.value.fork


def test_63_proof_lines_are_read_and_64_are_not():
    hashes = b"".join(base64.b64encode(bytes([i]) * 32) + b"\n" for i in range(64))
    note = signed(1, EMPTY_ROOT).encode()
    lines = hashes.split(b"\n")
    ok = AddCheckpoint.parse(b"old 1\n" + b"\n".join(lines[:63]) + b"\n\n" + note)
    assert len(ok.proof) == 63 and ok.proof[62] == bytes([62]) * 32
    with pytest.raises(WitnessRefusal):
        AddCheckpoint.parse(b"old 1\n" + hashes + b"\n" + note)


def test_a_checkpoint_that_is_not_one_is_400():
    assert refusal(AddCheckpoint(0, (), "just words\n\n— x AAAAAAAA\n"), None).status == 400
    assert refusal(AddCheckpoint(0, (), "no signatures at all\n"), None).status == 400


# --- judge: the checks and their statuses -------------------------------------------------


def test_first_checkpoint_from_zero_is_cosignable():
    tree = tree_of(10)
    got = judge(request(0, tree, 10), LOG_KEYS, None)
    assert got == Checkpoint(ORIGIN, 10, tree.root())


def test_honest_growth_is_cosignable():
    tree = tree_of(40)
    for old, new in ((1, 2), (3, 17), (16, 32), (17, 40), (40, 40)):
        got = judge(request(old, tree, new), LOG_KEYS, cosigned(tree, old))
        assert got.size == new and got.root == tree.root(new)


def test_unknown_origin_is_404():
    tree = tree_of(3)
    stranger = Signer.generate("example.org/other")
    req = AddCheckpoint(0, (), Checkpoint("example.org/other", 3, tree.root()).sign(stranger))
    got = refusal(req, None)
    assert got.status == 404 and not got.fork


def test_a_missing_or_bad_log_signature_is_403():
    tree = tree_of(5)
    impostor = Signer.generate(ORIGIN)  # the origin's name, another key
    assert refusal(AddCheckpoint(0, (), signed(5, tree.root(), impostor)), None).status == 403
    note = signed(5, tree.root())
    text, (line,) = split_note(note)
    raw = bytearray(base64.b64decode(line.split(" ")[2]))
    raw[-1] ^= 1  # the log's name and key id, a signature that does not verify
    bent = f"{text}\n— {ORIGIN} {base64.b64encode(bytes(raw)).decode()}\n"
    got = refusal(AddCheckpoint(0, (), bent), None)
    assert got.status == 403 and not got.fork
    # a note with a changed body under a genuine signature line
    assert refusal(AddCheckpoint(0, (), note.replace("\n5\n", "\n6\n")), None).status == 403


def test_unknown_signatures_beside_the_logs_are_ignored():
    tree = tree_of(5)
    note = signed(5, tree.root())
    extra = Checkpoint(ORIGIN, 5, tree.root()).sign(Signer.generate("someone.else"))
    both = note + extra.split("\n\n")[1]
    assert judge(AddCheckpoint(0, (), both), LOG_KEYS, None).size == 5


def test_any_of_several_log_keys_may_sign():
    tree = tree_of(5)
    rotated = Signer.generate(ORIGIN)
    keys = {ORIGIN: [LOG.public, rotated.public]}
    assert judge(AddCheckpoint(0, (), signed(5, tree.root(), rotated)), keys, None).size == 5


def test_old_size_after_new_is_400():
    tree = tree_of(10)
    got = refusal(request(8, tree, 6, proof=[]), cosigned(tree, 8))
    assert got.status == 400 and got.code == "witness.old_after_new"


def test_old_size_not_the_latest_cosigned_is_409_with_that_size():
    tree = tree_of(20)
    got = refusal(request(5, tree, 20), cosigned(tree, 10))
    assert got.status == 409 and got.size == 10 and not got.fork
    got = refusal(request(5, tree, 20), None)
    assert got.status == 409 and got.size == 0
    got = refusal(request(0, tree, 20), cosigned(tree, 12))
    assert got.status == 409 and got.size == 12


def test_an_inconsistent_proof_is_a_422_fork():
    tree, forked = tree_of(20), tree_of(20, b"fork")
    latest = cosigned(tree, 8)
    wrong_proof = request(8, tree, 20, proof=tree.consistency_proof(7, 20))
    got = refusal(wrong_proof, latest)
    assert got.status == 422 and got.fork and got.code == "witness.inconsistent"
    other_history = request(8, forked, 20)  # a proof that holds, but from another tree
    got = refusal(other_history, latest)
    assert got.status == 422 and got.fork
    no_proof = request(8, tree, 20, proof=[])
    assert refusal(no_proof, latest).status == 422


def test_equal_size_same_root_is_cosignable_and_a_different_root_is_a_fork():
    tree, forked = tree_of(12), tree_of(12, b"fork")
    latest = cosigned(tree, 12)
    assert judge(request(12, tree, 12), LOG_KEYS, latest).root == tree.root()
    got = refusal(request(12, forked, 12), latest)
    assert got.status == 422 and got.fork
    got = refusal(request(12, tree, 12, proof=[tree.root()]), latest)
    assert got.status == 422  # equal sizes take no proof


def test_size_zero_must_have_the_empty_root():
    assert judge(AddCheckpoint(0, (), signed(0, EMPTY_ROOT)), LOG_KEYS, None).size == 0
    got = refusal(AddCheckpoint(0, (), signed(0, tree_of(1).root())), None)
    assert got.status == 422 and got.code == "witness.empty_root" and not got.fork


def test_from_zero_the_proof_must_be_empty():
    tree = tree_of(6)
    got = refusal(request(0, tree, 6, proof=[tree.root(3)]), None)
    assert got.status == 422 and not got.fork
    latest_empty = Cosigned(0, EMPTY_ROOT, signed(0, EMPTY_ROOT))
    assert refusal(request(0, tree, 6, proof=[tree.root(3)]), latest_empty).status == 422
    assert judge(request(0, tree, 6), LOG_KEYS, latest_empty).size == 6


# --- the quorum a reader asks for -----------------------------------------------------------

W1, W2, W3 = (Signer.from_seed_text(f"witness.example/w{i}", f"policy {i}") for i in (1, 2, 3))


def policy_doc(quorum: int, *signers: Signer, **extra: object) -> dict:
    items = [{"name": s.name, "vkey": WitnessKey.of(s).vkey} for s in signers]
    return {"quorum": quorum, "witnesses": items, **extra}


def policy_error(doc: object) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        WitnessPolicy.from_dict(doc)
    return caught.value


def test_policy_round_trips_through_its_dict():
    doc = policy_doc(2, W1, W2, W3)
    doc["witnesses"][0]["url"] = "https://w1.example/"
    policy = WitnessPolicy.from_dict(doc)
    assert policy.quorum == 2 and [w.name for w in policy.witnesses] == [
        W1.name,
        W2.name,
        W3.name,
    ]
    assert policy.witnesses[0].url == "https://w1.example"
    assert WitnessPolicy.from_dict(policy.as_dict()) == policy
    assert WitnessPolicy.from_dict({}) == WitnessPolicy()


def test_policy_errors_name_the_field():
    assert policy_error(policy_doc(3, W1, W2)).field == "quorum"
    assert policy_error(policy_doc(0, W1)).field == "quorum"
    assert policy_error(policy_doc(-1)).field == "quorum"
    assert policy_error(policy_doc(True, W1)).field == "quorum"
    assert policy_error(policy_doc(1, W1, W1)).field == "witnesses"
    bad_vkey = policy_doc(1, W1, W2)
    bad_vkey["witnesses"][1]["vkey"] = W2.public.vkey  # a type-0x01 note key
    got = policy_error(bad_vkey)
    assert got.field == "witnesses[1].vkey" and str(got).startswith("witnesses[1].vkey: ")
    renamed = policy_doc(1, W1, W2)
    renamed["witnesses"][0]["name"] = "witness.example/other"
    assert policy_error(renamed).field == "witnesses[0].name"
    for url in ("ftp://w.example", "w.example", 7):
        doc = policy_doc(1, W1, W2)
        doc["witnesses"][1]["url"] = url
        assert policy_error(doc).field == "witnesses[1].url"
    assert policy_error({"quorum": 1, "witnesses": [{"name": "x"}]}).field == "witnesses[0]"
    assert policy_error({"quorum": 1, "witnesses": {}}).field == "witnesses"
    assert policy_error([]).field == "$"


def test_check_reports_who_cosigned_who_is_missing_and_whether_the_quorum_holds():
    policy = WitnessPolicy.from_dict(policy_doc(2, W1, W2, W3))
    note = signed(11, tree_of(11).root())
    text = split_note(note)[0]
    one = with_cosignatures(note, [cosign(W1, text, TIME).line, cosign(OTHER, text, TIME).line])
    got = policy.check(one)
    assert got.size == 11 and [c.witness for c in got.cosigned] == [W1.name]
    assert got.missing == (W2.name, W3.name) and not got.holds
    assert got.as_dict()["witnessed"] is False and "quorum NOT met" in got.summary()
    two = with_cosignatures(one, [cosign(W3, text, TIME + 1).line])
    got = policy.check(two)
    assert {c.witness for c in got.cosigned} == {W1.name, W3.name} and got.missing == (W2.name,)
    assert got.holds and got.as_dict()["witnessed"] is True
    assert got.as_dict()["cosigned_by"][0] == {"witness": W1.name, "timestamp": TIME}
    assert not WitnessPolicy().check(two).holds  # no witnesses, no quorum to hold
    other_checkpoint = cosign(W2, Checkpoint(ORIGIN, 12, tree_of(12).root()).text(), TIME)
    with pytest.raises(NoteError):
        policy.check(with_cosignatures(two, [other_checkpoint.line]))


# --- property: a witness driven by judge never rolls back or forks ---------------------------


@st.composite
def histories(draw):
    """An honest tree, a fork of it after `shared` leaves, and a run of requests against
    either: honest ones (old = the witness's size, a proof from the tree) and hostile ones
    (a random old size, a proof from the other tree, or none)."""
    size = draw(st.integers(1, 40))
    shared = draw(st.integers(0, size))
    honest = tree_of(size)
    fork = MerkleTree(
        [honest.leaf(i) for i in range(shared)]
        + [leaf_hash(b"fork" + i.to_bytes(4, "big")) for i in range(shared, size)]
    )
    steps = draw(
        st.lists(
            st.tuples(
                st.booleans(),  # which tree the checkpoint is from
                st.integers(0, size),  # its size
                st.sampled_from(["honest", "old", "proof", "none"]),
                st.integers(0, size),  # the old size a hostile request claims
            ),
            max_size=12,
        )
    )
    return honest, fork, steps


@settings(max_examples=150)
@given(histories())
def test_judge_never_accepts_a_rollback_or_a_fork_and_accepts_honest_growth(history):
    honest, fork, steps = history
    latest: Cosigned | None = None
    for use_fork, size, kind, claimed in steps:
        tree, other = (fork, honest) if use_fork else (honest, fork)
        base = latest.size if latest else 0
        consistent = latest is None or tree.root(latest.size) == latest.root
        old = claimed if kind == "old" else base
        if kind == "proof" and 0 < old <= size:
            proof = other.consistency_proof(old, size) if old < size else [other.root(old)]
        elif kind == "none" or not 0 < old < size:
            proof = []
        else:
            proof = tree.consistency_proof(old, size)
        req = AddCheckpoint(old, tuple(proof), signed(size, tree.root(size)))
        try:
            got = judge(req, LOG_KEYS, latest)
        except WitnessRefusal as refused:
            assert refused.status in (400, 409, 422)
            honest_growth = kind == "honest" and size >= base and consistent
            assert not honest_growth, f"refused honest growth {base} -> {size}: {refused}"
            continue
        assert got == Checkpoint(ORIGIN, size, tree.root(size))
        if latest is not None:
            assert size >= latest.size, "accepted a smaller tree"
            assert consistent, "accepted a root that does not extend the one cosigned"
        latest = Cosigned(size, got.root, req.note)
