"""Independent vectors for C2SP signed notes, Ed25519 cosignature/v1 and tlog-witness, taken
from other implementations and from real, published checkpoints: our code must agree with
them byte for byte. Each vector names where it comes from (repository, path, commit) and its
licence; all are permissive, and the attribution is kept here as they ask. Public keys and
published signatures are factual data; short test vectors are quoted for interoperability."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import httpx
import pytest

from tallyproof.ledger.cosignature import (
    AddCheckpoint,
    WitnessKey,
    WitnessRefusal,
    cosign,
    cosignatures_on,
    judge,
    split_note,
)
from tallyproof.ledger.keys import KeyTextError, PublicKey, Signer
from tallyproof.ledger.merkle import verify_consistency
from tallyproof.ledger.note import Checkpoint, NoteError, open_note, sign_note
from tallyproof.service.settings import Settings
from tallyproof.service.witness import WitnessService
from tests.witnessing import WitnessServer

D = "\u2014"  # the em dash that starts every signature line


def b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def raw_of(vkey: str) -> bytes:
    """The 32-byte key in a vkey of any type (the type byte is checked elsewhere)."""
    return b64(vkey.split("+", 2)[2])[1:]


# --- 1a. Production Armored Witness cosignatures -----------------------------------------------
# Source: transparency-dev/witness README.md (file commit 7ed892cd9e7da5288afbc4e931c0403202d3607f),
# the same text in transparency-dev/distributor README.md (file commit
# 271509b745cd3b483f3f706a3c8856191102147d). Witness keys: transparency-dev/distributor
# config/witnesses-prod.yaml (commit 52edc764e574d81a3e64bde1728f4b5ce5688765); the CI log key:
# distributor config/logs.yaml (commit c16b03a6). Copyright The Transparency-Dev Authors,
# Apache-2.0. The cosignatures were made by the transparency-dev Go witness on Armored Witness
# hardware; the witness keys are published as type-0x01 vkeys of the same Ed25519 key.

AW_VKEYS = {
    "ArmoredWitness-small-breeze": (
        "ArmoredWitness-small-breeze+7b3ada3a+AQAWYpUjfGGPQiWOgt6sLWap0P9rVOe+Ofu2uNZbO4FD"
    ),
    "ArmoredWitness-autumn-wood": (
        "ArmoredWitness-autumn-wood+863571a5+AesIVCbad7gbU07JnA6YfZD0qg4B1c8xF4ISdnt9vjip"
    ),
    "ArmoredWitness-weathered-rain": (
        "ArmoredWitness-weathered-rain+ea3d386d+AWLblKp5JuiyrgRh6ev2nNJ5XAd+sc/mM2D2HW/b4d5S"
    ),
    "ArmoredWitness-floral-sky": (
        "ArmoredWitness-floral-sky+504ec40f+AekCmTmKTTnQMNqIigkj7PFnhogawSJD23PJ8M8qLYDm"
    ),
}
# The same keys as cosignature/v1 (0x04) vkeys; also what tlog-scales 0.0.3 Vkey.serialize gives.
AW_COSIGNATURE_VKEYS = {
    "ArmoredWitness-small-breeze": (
        "ArmoredWitness-small-breeze+9d1ab951+BAAWYpUjfGGPQiWOgt6sLWap0P9rVOe+Ofu2uNZbO4FD"
    ),
    "ArmoredWitness-autumn-wood": (
        "ArmoredWitness-autumn-wood+a996f95d+BOsIVCbad7gbU07JnA6YfZD0qg4B1c8xF4ISdnt9vjip"
    ),
}
AW_COSIGNATURE_IDS = {
    "ArmoredWitness-small-breeze": "9d1ab951",
    "ArmoredWitness-autumn-wood": "a996f95d",
    "ArmoredWitness-weathered-rain": "0a78df20",
    "ArmoredWitness-floral-sky": "c7cf0b6d",
}

PIXEL = (
    "developers.google.com/android/binary_transparency/0\n"
    "611\n"
    "2GZ1zmS5VkfUZmn2ZyR4KZXwHLD+xnwBIWzql/cD50w=\n"
    "\n"
    f"{D} pixel_transparency_log csh42zBFAiAd3Y1FwqNTt5RglY0uG7heC6Yu1gEbXXPYmZ7LdOILMAIhAIt68PnR"
    "/3TADAaC7hvrSHbpziV7TmpIwOUydLmcjyTQ\n"
    f"{D} ArmoredWitness-small-breeze nRq5UQAAAABnoqrsRIofXn68vTohcAm2KG4ACGyRPNePUk02BSWD0WKV5Ele"
    "jTk5Z+Tm3GmJ5j/etA+fkL9XuaQsnTyZbr437sF4AQ==\n"
    f"{D} ArmoredWitness-autumn-wood qZb5XQAAAABnoqrl57G9CblEl3lwwuqzbaJvVMqNiZCbYZseYT1YZHYmls3C"
    "mT1wxZ1fNgM4RxHuUxjAwcI2ghTx6R5aCg+L0DGPBA==\n"
)

CI3_VKEY = "transparency.dev-aw-ftlog-ci-3+3f689522+Aa1Eifq6rRC8qiK+bya07yV1fXyP156pEMsX7CFBC6gg"
CI3 = (
    "transparency.dev/armored-witness/firmware_transparency/ci/3\n"
    "59\n"
    "kOFMkeamIdrYFLx5zbWFhflak6dlEEDOU++fxYEZMBw=\n"
    "\n"
    f"{D} transparency.dev-aw-ftlog-ci-3 P2iVIt3Jsaha3E2i0MHdKZ6fgYJTgXO86nUsxKPVq6uTwRSclTSh/ELn"
    "DGbNL+XDyD3EkWIdL2AGGNmbN7IN2rB/7gE=\n"
    f"{D} ArmoredWitness-weathered-rain CnjfIAAAAABnGRrHjQi7IZQqVea4YnU/ADsv844r1ezGjvubUy1MMJm4a"
    "s9bRiT70xNWQ67RCA76LMy7SdX4qJNIzL3eSS1BGFWqCw==\n"
    f"{D} ArmoredWitness-floral-sky x88LbQAAAABnGRrDEq4Tfy7IIVPqkdXbcufUkCzRRbE3fABZ/jvtg5aFHVMu"
    "MR8cV6dVqECDBiH1zRxhNaCQOXSwNLSeJs+NzWt1BA==\n"
)


def aw_key(name: str) -> WitnessKey:
    public = PublicKey.from_vkey(AW_VKEYS[name])  # the published 0x01 vkey, hash checked
    return WitnessKey(name, public.raw)


def test_armored_witness_keys_have_the_published_cosignature_ids_and_vkeys():
    for name, key_id in AW_COSIGNATURE_IDS.items():
        assert aw_key(name).key_hash.hex() == key_id
    for name, vkey in AW_COSIGNATURE_VKEYS.items():
        assert aw_key(name).vkey == vkey
        assert WitnessKey.from_vkey(vkey) == aw_key(name)


def test_production_pixel_checkpoint_cosignatures_verify_with_their_times():
    keys = [aw_key("ArmoredWitness-small-breeze"), aw_key("ArmoredWitness-autumn-wood")]
    found = {c.witness: c.timestamp for c in cosignatures_on(PIXEL, keys)}
    # 2025-02-05T00:03:56Z and 00:03:49Z: the README's "Witness timestamps"
    assert found == {
        "ArmoredWitness-small-breeze": 1738713836,
        "ArmoredWitness-autumn-wood": 1738713829,
    }
    # the ECDSA (0x02) log line is by a key we do not name: ignored, not an error
    checkpoint = Checkpoint.parse(split_note(PIXEL)[0])
    assert (checkpoint.origin, checkpoint.size) == (
        "developers.google.com/android/binary_transparency/0",
        611,
    )


def test_production_ci_checkpoint_log_signature_and_cosignatures_verify():
    log_key = PublicKey.from_vkey(CI3_VKEY)
    text = open_note(CI3, log_key)
    assert text == split_note(CI3)[0]
    assert Checkpoint.open(CI3, log_key).size == 59
    keys = [aw_key("ArmoredWitness-weathered-rain"), aw_key("ArmoredWitness-floral-sky")]
    found = {c.witness: c.timestamp for c in cosignatures_on(CI3, keys)}
    assert found == {
        "ArmoredWitness-weathered-rain": 1729698503,
        "ArmoredWitness-floral-sky": 1729698499,
    }


def test_a_production_cosignature_moved_to_another_checkpoint_fails():
    keys = [aw_key("ArmoredWitness-weathered-rain")]
    line = split_note(CI3)[1][1]
    moved = split_note(PIXEL)[0] + "\n" + line
    with pytest.raises(NoteError):
        cosignatures_on(moved, keys)
    # nor does the log key of one log open another's checkpoint
    with pytest.raises(NoteError):
        open_note(PIXEL, PublicKey.from_vkey(CI3_VKEY))


# --- 1b. sigsum-go: a deterministic cosignature and log signature from a known seed ----------
# Source: sigsum/sigsum-go pkg/checkpoint/checkpoint_test.go (file commit
# dc2785a0a24732f0e9cedc75754229edb1cff65d; also in 2224a397c849d2dd7bf412f9675f9e323381693c),
# TestCheckpointVerifyCosignatureByKey, TestCheckpointSigned, TestCheckpointVerify and
# TestCheckpointVerifyIgnoreExtraSignature. Copyright The Sigsum Project, BSD-2-Clause.

SIGSUM_SEED = bytes([17]) + bytes(31)  # crypto.PrivateKey{17}
SIGSUM_PUBLIC = "66e0b858e462a609e66fe71370c816d8846ff103d5499a22a7fec37fdbc424a7"
SIGSUM_BODY = "example.org/log\n10\nHA5HAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
SIGSUM_BLOB = (
    "ys8uUAAAAAAAAATSftMzceM8zssdZ9jin9SjwIxzx9iADMf63VqirX2hafol9RsqNqbofIz0LVRqHXI2kpEBSki5RTX"
    "Ftxz1vo9+Cg=="
)
SIGSUM_LINES = [  # the test's input, in order: other key ID, the valid line, other name, 78 bytes
    f"{D} example.org/witness yX{SIGSUM_BLOB[2:]}",
    f"{D} example.org/witness {SIGSUM_BLOB}",
    f"{D} example.org/witness-2 {SIGSUM_BLOB}",
    f"{D} example.org/witness {SIGSUM_BLOB[:-2]}XX",
]
SIGSUM_LOG_ORIGIN = (
    "sigsum.org/v1/tree/e796172b92befd62d9dc67e41c2f5bc9d3100a3023b20b1ca40288dd1c679e69"
)
SIGSUM_SIGNED = (
    f"{SIGSUM_LOG_ORIGIN}\n10\nHA5HAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n"
    f"{D} {SIGSUM_LOG_ORIGIN} gJ2ho0n8F8olcerUF1FFdv235A/5as/coWrpLrtE7ovMeP5whgwouYExowG/lTznxu6O"
    "UGjjt5yJQ6bXtTcf718MqAQ=\n"
)


def test_sigsum_lines_are_quoted_exactly():
    assert SIGSUM_LINES[0] == (
        f"{D} example.org/witness yX8uUAAAAAAAAATSftMzceM8zssdZ9jin9SjwIxzx9iADMf63VqirX2hafol9R"
        "sqNqbofIz0LVRqHXI2kpEBSki5RTXFtxz1vo9+Cg=="
    )
    assert SIGSUM_LINES[3].endswith("vo9+CgXX")
    assert len(b64(SIGSUM_LINES[3].rsplit(" ", 1)[1])) == 78


def test_sigsum_cosignature_is_reproduced_byte_for_byte():
    witness = Signer("example.org/witness", SIGSUM_SEED)
    assert witness.public.raw.hex() == SIGSUM_PUBLIC
    key = WitnessKey.of(witness)
    assert key.key_hash.hex() == "cacf2e50"
    assert key.vkey == "example.org/witness+cacf2e50+BGbguFjkYqYJ5m/nE3DIFtiEb/ED1UmaIqf+w3/bxCSn"
    made = cosign(witness, SIGSUM_BODY, 1234)
    assert made.line == SIGSUM_LINES[1] + "\n"
    assert (made.witness, made.timestamp) == ("example.org/witness", 1234)


def test_sigsum_negative_lines_are_ignored_or_rejected_as_sigsum_does():
    key = WitnessKey.of(Signer("example.org/witness", SIGSUM_SEED))
    note = SIGSUM_BODY + "\n" + "".join(line + "\n" for line in SIGSUM_LINES[:3])
    # the other key ID and the other name are other keys: ignored; only line 2 verifies
    (found,) = cosignatures_on(note, [key])
    assert (found.timestamp, found.line) == (1234, SIGSUM_LINES[1] + "\n")
    for line in (SIGSUM_LINES[0], SIGSUM_LINES[2]):
        assert cosignatures_on(SIGSUM_BODY + "\n" + line + "\n", [key]) == []
    # 78 bytes under the known name and key ID: sigsum cannot parse it; for us a line that
    # claims a known key and does not verify fails the note
    with pytest.raises(NoteError):
        cosignatures_on(SIGSUM_BODY + "\n" + SIGSUM_LINES[3] + "\n", [key])
    with pytest.raises(NoteError):
        cosignatures_on(note + SIGSUM_LINES[3] + "\n", [key])
    # sigsum then bumps the timestamp: the signature no longer verifies
    blob = bytearray(b64(SIGSUM_BLOB))
    blob[11] += 1
    bumped = f"{SIGSUM_BODY}\n{D} example.org/witness {base64.b64encode(blob).decode()}\n"
    with pytest.raises(NoteError):
        cosignatures_on(bumped, [key])


def test_sigsum_log_signed_checkpoint_is_reproduced_byte_for_byte():
    log = Signer(SIGSUM_LOG_ORIGIN, SIGSUM_SEED)
    assert log.public.vkey.split("+")[1] == "809da1a3"
    root = bytes([28, 14, 71]) + bytes(29)
    assert Checkpoint(SIGSUM_LOG_ORIGIN, 10, root).sign(log) == SIGSUM_SIGNED
    assert sign_note(split_note(SIGSUM_SIGNED)[0], [log]) == SIGSUM_SIGNED
    assert Checkpoint.open(SIGSUM_SIGNED, log.public) == Checkpoint(SIGSUM_LOG_ORIGIN, 10, root)


@pytest.mark.parametrize(
    "change",
    ["origin", "key id", "size", "hash", "signature"],
)
def test_sigsum_tampered_log_checkpoints_do_not_open(change: str):
    log = PublicKey(SIGSUM_LOG_ORIGIN, bytes.fromhex(SIGSUM_PUBLIC))
    text, (line,) = split_note(SIGSUM_SIGNED)
    signature = bytearray(b64(line.rsplit(" ", 1)[1].rstrip("\n")))
    if change == "origin":
        text = text.replace(SIGSUM_LOG_ORIGIN, SIGSUM_LOG_ORIGIN + "x", 1)
    elif change == "size":
        text = text.replace("\n10\n", "\n11\n")
    elif change == "hash":
        text = text.replace("HA5HAAAA", "HA5HAQAA")
    elif change == "key id":
        signature[2] ^= 1
    else:
        signature[4 + 4] ^= 1
    note = f"{text}\n{D} {SIGSUM_LOG_ORIGIN} {base64.b64encode(signature).decode()}\n"
    with pytest.raises(NoteError):
        open_note(note, log)


# TestCheckpointVerifyIgnoreExtraSignature: lines by other keys are ignored, but a line that is
# not valid base64 makes the note malformed, wherever it stands.
SIGSUM_EXAMPLE = (
    f"{D} example.org/log2 DEADBEEFAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAA="
)
SIGSUM_ALIEN = f"{D} example.org/log DEAD"
SIGSUM_BAD = f"{D} example.org/log DEADB"


def with_lines(*lines: str) -> str:
    return split_note(SIGSUM_SIGNED)[0] + "\n" + "".join(line + "\n" for line in lines)


def test_sigsum_extra_signatures_by_other_keys_are_ignored():
    log = PublicKey(SIGSUM_LOG_ORIGIN, bytes.fromhex(SIGSUM_PUBLIC))
    valid = split_note(SIGSUM_SIGNED)[1][0].rstrip("\n")
    for lines in ([valid], [SIGSUM_EXAMPLE, valid], [valid, SIGSUM_EXAMPLE]):
        assert open_note(with_lines(*lines), log) == split_note(SIGSUM_SIGNED)[0]


def test_a_signature_line_shorter_than_a_key_id_fails_the_note_as_go_reads_it():
    """sigsum-go's own parser skips `DEAD` (three bytes) as another key's line; Go's
    note.Open, which tallyproof follows, calls a signature under five bytes malformed."""
    log = PublicKey(SIGSUM_LOG_ORIGIN, bytes.fromhex(SIGSUM_PUBLIC))
    valid = split_note(SIGSUM_SIGNED)[1][0].rstrip("\n")
    for lines in ([valid, SIGSUM_ALIEN], [SIGSUM_EXAMPLE, valid, SIGSUM_ALIEN]):
        with pytest.raises(NoteError, match="too short"):
            open_note(with_lines(*lines), log)


def test_sigsum_a_malformed_line_after_the_valid_one_fails_the_note():
    """Every line is read: sigsum-go (and Go's note.Open) reject such a note as malformed."""
    log = PublicKey(SIGSUM_LOG_ORIGIN, bytes.fromhex(SIGSUM_PUBLIC))
    valid = split_note(SIGSUM_SIGNED)[1][0].rstrip("\n")
    with pytest.raises(NoteError):
        open_note(with_lines(SIGSUM_EXAMPLE, valid, SIGSUM_ALIEN, SIGSUM_BAD), log)


def trailing_lines() -> list[str]:
    """Lines after the log's valid one that Go's note.Open, sigsum-go and aics-witness refuse:
    a second, failing signature by the trusted key (aics: 403, and C2SP signed-note: a client
    SHOULD reject the whole note), a line that is not base64, a line that is no signature."""
    valid = split_note(SIGSUM_SIGNED)[1][0]
    blob = bytearray(b64(valid.rsplit(" ", 1)[1].rstrip("\n")))
    blob[10] ^= 1
    return [f"{D} {SIGSUM_LOG_ORIGIN} {base64.b64encode(blob).decode()}\n", SIGSUM_BAD + "\n"]


@pytest.mark.parametrize(("which", "status"), [(0, 403), (1, 400)])
def test_our_witness_refuses_a_note_with_a_bad_line_after_the_logs(which: int, status: int):
    """As aics-witness does: a failing second signature by the log's key is 403, a line that
    is not a signature line 400; Go's note.Open refuses both notes."""
    log = PublicKey(SIGSUM_LOG_ORIGIN, bytes.fromhex(SIGSUM_PUBLIC))
    note = SIGSUM_SIGNED + trailing_lines()[which]
    with pytest.raises(WitnessRefusal) as refused:
        judge(AddCheckpoint(0, (), note), {SIGSUM_LOG_ORIGIN: [log]}, None)
    assert refused.value.status == status


# --- 2. golang/mod sumdb/note, and real sum.golang.org checkpoints ---------------------------
# Source: golang/mod sumdb/note/note_test.go (commit fe2ec04f7c3c3aa6fad97631aafcff6e49e2d1db).
# Copyright 2019 The Go Authors, BSD-3-Clause.

PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_LINE = (
    f"{D} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpR"
    "Zb6KE6RyyBwJnAM=\n"
)
ENOCH_LINE = (
    f"{D} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox"
    "33WWd1RvMc+QQ=\n"
)


def test_go_note_signers_verify_and_peter_neumann_is_reproduced_byte_for_byte():
    peter, enoch = PublicKey.from_vkey(PETER_VKEY), PublicKey.from_vkey(ENOCH_VKEY)
    note = GO_TEXT + "\n" + PETER_LINE + ENOCH_LINE
    assert open_note(note, peter) == GO_TEXT
    assert open_note(note, enoch) == GO_TEXT
    assert open_note(GO_TEXT + "\n" + ENOCH_LINE + PETER_LINE, peter) == GO_TEXT
    signer = Signer.from_private_text(PETER_SKEY)
    assert signer.public == peter
    assert signer.public.vkey == PETER_VKEY
    assert signer.private_text() == PETER_SKEY
    assert sign_note(GO_TEXT, [signer]) == GO_TEXT + "\n" + PETER_LINE
    with pytest.raises(NoteError):  # signed by Enoch only
        open_note(GO_TEXT + "\n" + ENOCH_LINE, peter)
    with pytest.raises(NoteError):  # another text under Peter's signature
        open_note(GO_TEXT.replace("answer", "question") + "\n" + PETER_LINE, peter)


def test_go_bad_vkeys_are_refused():
    # TestNewVerifier: every one-byte change of the vkey, a wrong key length, an unknown
    # algorithm (each with its key hash adjusted)
    for i in range(len(PETER_VKEY)):
        changed = PETER_VKEY[:i] + chr(ord(PETER_VKEY[i]) + 1) + PETER_VKEY[i + 1 :]
        with pytest.raises(KeyTextError):
            PublicKey.from_vkey(changed)
    for bad in (
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ):
        with pytest.raises(KeyTextError):
            PublicKey.from_vkey(bad)
        with pytest.raises(KeyTextError):
            WitnessKey.from_vkey(bad)


SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
SUMDB_CHECKPOINTS = [
    # FiloSottile/torchwood cmd/litewitness/testdata/sumdb.txt (commit b7f81a1b), ISC,
    # Copyright 2023 The Torchwood Authors
    "go.sum database tree\n35225469\nvt5T6GaLCXvyHFl9VUvvItR43XZxfLgftEcTyO3eJCQ=\n\n"
    f"{D} sum.golang.org Az3grpukl5AXaVfYkLiDGORx/DN2nlcS5kZHR5uYOBV2KA2HgXpD+gu9HHONebHLAyaKbbT"
    "M75QTtPydhKCExixSfwQ=\n",
    # transparency-dev/witness internal/client/sumdb_test.go (commit ac65be92), Apache-2.0
    "go.sum database tree\n1514086\nkn9DgqDhXzoZMM8828SQsbuovr/WRn7QfFd5Qe1rpwA=\n\n"
    f"{D} sum.golang.org Az3grunuggF5mKymPJeK/l9Pq71lOg/rAVkQVCzGkWRJcnS3ZFunzveHr9PAH8LFsuhpcCWz"
    "GDNrn9FFDyXm/66tBg8=\n",
    # sigsum/sigsum-go pkg/checkpoint/checkpoint_test.go TestGoSumDBCheckpoint (as above), BSD-2
    "go.sum database tree\n30055305\nmXfgRcJ0bG0j3CPdKwgGWtUzBUbX67saZGRmFuJGGsM=\n\n"
    f"{D} sum.golang.org Az3grpgEild5qw7+5dtV13Kf1C2Xurm8q4fhdxvcsDHnqNTaxL2AFjBY+2TyGKevucFcAAl"
    "WFJJYle3EJlDCrQ+y3A8=\n",
]


@pytest.mark.parametrize("note", SUMDB_CHECKPOINTS, ids=["35225469", "1514086", "30055305"])
def test_real_sum_golang_org_checkpoints_verify(note: str):
    key = PublicKey.from_vkey(SUMDB_VKEY)
    checkpoint = Checkpoint.open(note, key)  # key name sum.golang.org, origin another name
    assert checkpoint.origin == "go.sum database tree"
    assert checkpoint.text() == split_note(note)[0]
    tampered = note.replace("database tree\n", "database tree\n1", 1)
    with pytest.raises(NoteError):
        open_note(tampered, key)


# transparency-dev/witness witness/http_test.go (commit bb751bc1), Apache-2.0: a real AW CI log
# checkpoint; the key from transparency-dev/distributor config/logs.yaml.
CI2_VKEY = "transparency.dev-aw-ftlog-ci-2+f77c6276+AZXqiaARpwF4MoNOxx46kuiIRjrML0PDTm+c7BLaAMt6"
CI2 = (
    "transparency.dev/armored-witness/firmware_transparency/ci/2\n56\n"
    "7azctENRYLlBCBQ5OX2qxxIKCTOeCda1KfTwjdt0wdA=\n\n"
    f"{D} transparency.dev-aw-ftlog-ci-2 93xidocoWXVph2jEuzW2oovU+IjU71+FeVGKtKXQknSla2HCvr6RYHRS"
    "dJfxpo4kj5geqxkjrDXcbpiSo7lK96X4Dgc=\n"
)


def test_real_armored_witness_ci_2_checkpoint_verifies():
    assert Checkpoint.open(CI2, PublicKey.from_vkey(CI2_VKEY)).size == 56


# --- 3. vkey key-hash vectors ---------------------------------------------------------------
# transparency-dev/formats note/note_cosigv1_test.go (commit fa283eb7; the file's header says
# BSD, Copyright The Go Authors; the repository is Apache-2.0). Key pairs from
# transparency-dev/witness tests and transparency-dev/formats witness/witness_test.go,
# Apache-2.0.

REMORA = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"


def test_a_native_cosignature_vkey_reads_and_is_not_a_note_vkey():
    key = WitnessKey.from_vkey(REMORA)
    assert key.vkey == REMORA
    assert key.name == "remora.n621.de"
    with pytest.raises(KeyTextError):
        PublicKey.from_vkey(REMORA)
    assert PublicKey("remora.n621.de", key.raw).vkey.split("+")[1] == "c66059b1"


@pytest.mark.parametrize(
    ("vkey", "cosignature_id"),
    [
        ("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6", "fdd2dbc7"),
        (PETER_VKEY, "18b9780b"),
        (SUMDB_VKEY, "4c98ea03"),
    ],
)
def test_note_vkeys_convert_to_the_cosignature_ids_formats_gives(vkey: str, cosignature_id: str):
    public = PublicKey.from_vkey(vkey)
    assert public.vkey == vkey
    key = WitnessKey(public.name, public.raw)
    assert key.key_hash.hex() == cosignature_id
    assert WitnessKey.from_vkey(key.vkey) == key
    with pytest.raises(KeyTextError):  # a 0x01 vkey is no cosignature key
        WitnessKey.from_vkey(vkey)


@pytest.mark.parametrize(
    "bad",
    [
        "rekor.sigstore.dev+12345678+AwEB",  # invalid algorithm
        "bananas.sigstore.dev+12344556",  # wrong number of parts
        "rekor.sigstore.dev+12345678+THIS_IS_NOT_BASE64!",
    ],
)
def test_formats_bad_vkeys_are_refused(bad: str):
    with pytest.raises(KeyTextError):
        PublicKey.from_vkey(bad)
    with pytest.raises(KeyTextError):
        WitnessKey.from_vkey(bad)


@pytest.mark.parametrize(
    ("vkey", "skey"),
    [
        (
            "monkeys+db4d9f7e+AULaJMvTtDLHPUcUrjdDad9vDlh/PTfC2VV60JUtCfWT",
            "PRIVATE+KEY+monkeys+db4d9f7e+ATWIAF3yVBG+Hv1rZFQoNt/BaURkLPtOFMAM2HrEeIr6",
        ),
        (
            "witness+f13a86db+AdYV1Ztajd9BvyjP2HgpwrqYL6TjOwIjGMOq8Bu42xbN",
            "PRIVATE+KEY+witness+f13a86db+AaLa/dfyBhyo/m0Z7WCi98ENVZWtrP8pxgRNrx7tIWiA",
        ),
        (
            "Wit1+55ee4561+AVhZSmQj9+SoL+p/nN0Hh76xXmF7QcHfytUrI1XfSClk",
            "PRIVATE+KEY+Wit1+55ee4561+AeadRiG7XM4XiieCHzD8lxysXMwcViy5nYsoXURWGrlE",
        ),
        (PETER_VKEY, PETER_SKEY),
    ],
)
def test_transparency_dev_key_pairs_match(vkey: str, skey: str):
    signer = Signer.from_private_text(skey)
    assert signer.public.vkey == vkey
    assert signer.private_text() == skey
    if signer.name == "witness":
        assert WitnessKey.of(signer).key_hash.hex() == "24b37851"


# --- 4a. torchwood litewitness add-checkpoint sequence, against our witness ------------------
# Source: FiloSottile/torchwood cmd/litewitness/testdata/litewitness.txt (file commit
# ce2a8f92f9c8c160a8d3a8803f4aa01d4c49af56; the same bodies in internal/witness/witness_test.go
# TestRace). Copyright 2023 The Torchwood Authors, ISC licence. The log key is generated by
# testdata/gentest/sigsum.go; its vkey below is computed from that key. The witness key is
# the Ed25519 seed of the OpenSSH key in the file.

LW_ORIGIN = "sigsum.org/v1/tree/4d6d8825a6bb689d459628312889dfbb0bcd41b5211d9e1ce768b0ff0309e562"
LW_LOG_PUBLIC = "ffdc2d4d98e4124d3feaf788c0c2f9abfd796083d1f0495437f302ec79cf100f"
LW_LOG_VKEY = f"{LW_ORIGIN}+5202289b+Af/cLU2Y5BJNP+r3iMDC+av9eWCD0fBJVDfzAux5zxAP"
LW_WITNESS_SEED = "31ffc2116ecbe003acaa800ab70757bd7d53206e3febef6a6d0796d95530b34f"
LW_WITNESS_VKEY = "example.com/witness+10a1c019+BGSEitir7W6FmBs7OHWyUrh2frtLAvcDrKOx5xu9ao5Q"

_SIG_1 = (
    "UgIom7fPZTqpxWWhyjWduBvTvGVqsokMbqTArsQilegKoFBJQjUFAmQ0+YeSPM3wfUQMFSzVnnNuWRTYrajXpNUbIQY="
)
_SIG_3 = (
    "UgIom2VbtIcdFbwFAy1n7s6IkAxIY6J/GQOTuZF2ORV39d75cbAj2aQYwyJre36kezNobZs4SUUdrcawfAB8WVrx6go="
)
_SIG_5 = (
    "UgIomw/EOJmWi0i1FQsOj+etB7F8IccFam/jgd6wzRns4QPVmyEZtdvl1U2KEmLOZ/ASRcWJi0tW90dJWAShei7sDww="
)
_ROOT_1 = "KgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
_ROOT_3 = "RcCI1Nk56ZcSmIEfIn0SleqtV7uvrlXNccFx595Iwl0="
_ROOT_5 = "QrtXrQZCCvpIgsSmOsah7HdICzMLLyDfxToMql9WTjY="
_H = {i: base64.b64encode(bytes([0x2A, i]) + bytes(30)).decode() for i in range(5)}  # KgEA...
_H_LAST_BAD = "KgIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABA="
_H_1_5 = "+fUDV+k970B4I3uKrqJM4aP1lloPZP8mvr2Z4wRw2LI="
_H_3_5 = "wgiIFdZfYNv6WU1OllBKsWnLYIS/DBMqt8Uh/S4OukE="


def lw_note(size: int, root: str, signature: str, origin: str = LW_ORIGIN) -> str:
    return f"{origin}\n{size}\n{root}\n\n{D} {origin} {signature}\n"


def lw_body(old: int, proof: list[str], note: str) -> bytes:
    return ("".join([f"old {old}\n", *(p + "\n" for p in proof), "\n", note])).encode()


_OTHER = LW_ORIGIN[:-1] + "3"
# (what the request is, body, litewitness's status, the status the current spec gives)
LITEWITNESS = [
    ("0->1", lw_body(0, [], lw_note(1, _ROOT_1, _SIG_1)), 200, 200),
    (
        "bad signature (non-canonical base64, a flipped bit)",
        lw_body(1, [_H[1], _H[2]], lw_note(3, _ROOT_3, _SIG_3[:-3] + "gx=")),
        403,
        403,
    ),
    (
        "unknown origin",
        lw_body(1, [_H[1], _H[2]], lw_note(3, _ROOT_3, _SIG_3, origin=_OTHER)),
        403,
        404,  # tlog-witness: "404 Not Found" for an unknown log (litewitness predates it)
    ),
    ("empty proof", lw_body(1, [], lw_note(3, _ROOT_3, _SIG_3)), 422, 422),
    ("bad proof", lw_body(1, [_H[1], _H_LAST_BAD], lw_note(3, _ROOT_3, _SIG_3)), 422, 422),
    ("1->3", lw_body(1, [_H[1], _H[2]], lw_note(3, _ROOT_3, _SIG_3)), 200, 200),
    ("stale old 1", lw_body(1, [_H[1], _H_1_5, _H[4]], lw_note(5, _ROOT_5, _SIG_5)), 409, 409),
    ("3->5", lw_body(3, [_H[2], _H[3], _H_3_5, _H[4]], lw_note(5, _ROOT_5, _SIG_5)), 200, 200),
    ("stale old 0", lw_body(0, [], lw_note(5, _ROOT_5, _SIG_5)), 409, 409),
]
CONFLICT_SIZES = {6: 3, 8: 5}

# 1c (self-made, NOT independent: computed with PyNaCl and cross-checked with aics-tlog 0.2.1's
# sign_cosignature): the litewitness key's cosignature of the size-5 checkpoint at 1700000000.
LW_COSIGNATURE_5 = (
    f"{D} example.com/witness EKHAGQAAAABlU/EAlI35wCPypA3E9QobqYNABOzIiyvxpuLMSKmmVzm38Qc0lojE"
    "d2oeslC6/SnNNwkzx9F6htfOMmv3WST7CXdBDA==\n"
)


def lw_witness(home: Path) -> WitnessService:
    """Our witness with the litewitness key, following the litewitness log, at a fixed time."""
    settings = Settings.at(home)
    home.mkdir(parents=True)
    signer = Signer("example.com/witness", bytes.fromhex(LW_WITNESS_SEED))
    settings.witness_key_path.write_text(signer.private_text() + "\n")
    service = WitnessService.initialise(settings, "example.com/witness")
    service.clock = lambda: 1700000000.0
    key, added = service.follow(LW_LOG_VKEY)
    assert added and key.raw.hex() == LW_LOG_PUBLIC and key.name == LW_ORIGIN
    return service


def test_litewitness_vectors_are_what_the_file_signs():
    log = PublicKey.from_vkey(LW_LOG_VKEY)
    for size, root, signature in ((1, _ROOT_1, _SIG_1), (3, _ROOT_3, _SIG_3), (5, _ROOT_5, _SIG_5)):
        assert Checkpoint.open(lw_note(size, root, signature), log).size == size
    assert WitnessKey.of(Signer("example.com/witness", bytes.fromhex(LW_WITNESS_SEED))).vkey == (
        LW_WITNESS_VKEY
    )
    proofs = {1: [_H[1], _H[2]], 3: [_H[2], _H[3], _H_3_5, _H[4]]}
    verify_consistency(1, 3, [b64(h) for h in proofs[1]], b64(_ROOT_1), b64(_ROOT_3))
    verify_consistency(3, 5, [b64(h) for h in proofs[3]], b64(_ROOT_3), b64(_ROOT_5))
    verify_consistency(1, 5, [b64(h) for h in (_H[1], _H_1_5, _H[4])], b64(_ROOT_1), b64(_ROOT_5))


def test_litewitness_sequence_against_our_witness_service(tmp_path: Path):
    service = lw_witness(tmp_path / "witness")
    key = WitnessKey.from_vkey(LW_WITNESS_VKEY)
    got = []
    try:
        for i, (what, body, _, _) in enumerate(LITEWITNESS):
            try:
                line = service.add_checkpoint(body)
            except WitnessRefusal as refusal:
                got.append((i, what, refusal.status))
                if refusal.status == 409:
                    assert refusal.size == CONFLICT_SIZES[i], what
                continue
            got.append((i, what, 200))
            note = AddCheckpoint.parse(body).note
            (cosignature,) = cosignatures_on(note + line, [key])
            assert cosignature.timestamp == 1700000000
            if i == 7:
                assert line == LW_COSIGNATURE_5
        assert got == [(i, w, expected) for i, (w, _, _, expected) in enumerate(LITEWITNESS)]
        # the refused fork attempts are kept (the bad proof, signed by the log), nothing else
        assert {r.code for r in service.refusals()} == {"witness.inconsistent"}
    finally:
        service.close()


def test_litewitness_sequence_over_http_answers_409_with_the_size(tmp_path: Path):
    """The same sequence through `tallyproof witness serve` (wall-clock timestamps)."""
    home = tmp_path / "witness"
    home.mkdir()
    signer = Signer("example.com/witness", bytes.fromhex(LW_WITNESS_SEED))
    Settings.at(home).witness_key_path.write_text(signer.private_text() + "\n")
    server = WitnessServer(home, "example.com/witness", LW_LOG_VKEY)
    key = WitnessKey.from_vkey(LW_WITNESS_VKEY)
    try:
        server.start()
        assert server.key == key
        for i, (what, body, _, expected) in enumerate(LITEWITNESS):
            answer = httpx.post(f"{server.url}/add-checkpoint", content=body, timeout=30)
            assert answer.status_code == expected, (what, answer.text)
            if expected == 409:
                assert answer.content == f"{CONFLICT_SIZES[i]}\n".encode()
                assert answer.headers["content-type"].startswith("text/x.tlog.size")
            if expected == 200:
                assert answer.text.startswith(f"{D} example.com/witness ")
                note = AddCheckpoint.parse(body).note
                assert len(cosignatures_on(note + answer.text, [key])) == 1
        origin_hash = hashlib.sha256(LW_ORIGIN.encode()).hexdigest()
        monitored = httpx.get(f"{server.url}/{origin_hash}/checkpoint", timeout=30)
        assert monitored.status_code == 200
        assert Checkpoint.open(monitored.text, PublicKey.from_vkey(LW_LOG_VKEY)).size == 5
        assert len(cosignatures_on(monitored.text, [key])) == 1
    finally:
        server.stop()


# --- 4b. transparency-dev/witness monkeys 5 -> 8 ----------------------------------------------
# Source: transparency-dev/witness witness/witness_test.go (file commit d1b6396d). Copyright
# The Transparency-Dev Authors, Apache-2.0.

MONKEYS_VKEY = "monkeys+db4d9f7e+AULaJMvTtDLHPUcUrjdDad9vDlh/PTfC2VV60JUtCfWT"
MONKEYS_SKEY = "PRIVATE+KEY+monkeys+db4d9f7e+ATWIAF3yVBG+Hv1rZFQoNt/BaURkLPtOFMAM2HrEeIr6"
M_INIT = (
    "monkeys\n5\n41smjBUiAU70EtKlT6lIOIYtRTYxYXsDB+XHfcvu/BE=\n\n"
    f"{D} monkeys 202fftzGl3LVoqjXfwCFZZXs8I+5G22+Ek2K0AOyBuSJ/8/CZawNF+6fNlTKOCd622pbzJNkkJFWuw9Db"
    "icZCkEx9AY=\n"
)
M_NEXT = (
    "monkeys\n8\nV8K9aklZ4EPB+RMOk1/8VsJUdFZR77GDtZUQq84vSbo=\n\n"
    f"{D} monkeys 202ffoUEboiQYpHzICeaFmoy3RNviHTpAxYrq/eO4QQVQMvu9UebKBMX2MJC76NLthZaKsnKbCA8Gxrj"
    "ePZhvDCH7Ag=\n"
)
M_PROOF = [
    bytes.fromhex(h)
    for h in (
        "b9e1d62618f7fee8034e4c5010f727ab24d8e4705cb296c374bf2025a87a10d2",
        "aac66cd7a79ce4012d80762fe8eec3a77f22d1ca4145c3f4cee022e7efcd599d",
        "89d0f753f66a290c483b39cd5e9eafb12021293395fad3d4a2ad053cfbcfdc9e",
        "29e40bb79c966f4c6fe96aff6f30acfce5f3e8d84c02215175d6e018a5dee833",
    )
]


def test_monkeys_checkpoints_are_reproduced_and_the_proof_checks():
    signer = Signer.from_private_text(MONKEYS_SKEY)
    assert signer.public.vkey == MONKEYS_VKEY
    first, second = (Checkpoint.open(n, signer.public) for n in (M_INIT, M_NEXT))
    assert first.sign(signer) == M_INIT
    assert second.sign(signer) == M_NEXT
    verify_consistency(5, 8, M_PROOF, first.root, second.root)


def test_monkeys_5_to_8_against_our_witness_service(tmp_path: Path):
    service = WitnessService.initialise(Settings.at(tmp_path / "witness"), "witness")
    service.clock = lambda: 1700000000.0
    service.follow(MONKEYS_VKEY)
    try:
        lines = [service.add_checkpoint(AddCheckpoint(0, (), M_INIT).body())]
        with pytest.raises(WitnessRefusal) as stale:
            service.add_checkpoint(AddCheckpoint(0, (), M_NEXT).body())
        assert (stale.value.status, stale.value.size) == (409, 5)
        with pytest.raises(WitnessRefusal) as short:
            service.add_checkpoint(AddCheckpoint(5, tuple(M_PROOF[:3]), M_NEXT).body())
        assert short.value.status == 422
        lines.append(service.add_checkpoint(AddCheckpoint(5, tuple(M_PROOF), M_NEXT).body()))
        for note, line in zip((M_INIT, M_NEXT), lines, strict=True):
            (made,) = cosignatures_on(note + line, [service.key])
            assert made.timestamp == 1700000000
        assert service.followed()[0].size == 8
    finally:
        service.close()
