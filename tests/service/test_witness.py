"""A witness service on a real SQLite file: it cosigns a log's honest growth, remembers what
it cosigned across a restart, keeps a signed fork as evidence, judges and records atomically
so racing requests cannot roll it back (the race in C2SP tlog-witness), and serves the newest
cosigned checkpoint by origin hash."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import pytest

import tallyproof.service.witness as witness_module
from tallyproof.ledger.cosignature import (
    AddCheckpoint,
    WitnessKey,
    WitnessRefusal,
    cosignatures_on,
    split_note,
    with_cosignatures,
)
from tallyproof.ledger.keys import KeyTextError, Signer
from tallyproof.ledger.merkle import EMPTY_ROOT, MerkleTree, leaf_hash
from tallyproof.ledger.note import Checkpoint
from tallyproof.service.settings import Settings
from tallyproof.service.witness import WitnessService
from tallyproof.service.writer import NotInitialised

ORIGIN = "example.org/tally"
NAME = "witness.example/w1"
LOG = Signer.from_seed_text(ORIGIN, "the log's key, for witness tests")
ORIGIN_HASH = hashlib.sha256(ORIGIN.encode()).hexdigest()


def tree_of(n: int, tag: bytes = b"") -> MerkleTree:
    return MerkleTree(leaf_hash(tag + i.to_bytes(4, "big")) for i in range(n))


def note_of(tree: MerkleTree, size: int, signer: Signer = LOG) -> str:
    return Checkpoint(ORIGIN, size, tree.root(size)).sign(signer)


def body(old: int, tree: MerkleTree, size: int, *, signer: Signer = LOG) -> bytes:
    """An add-checkpoint body for `tree` at `size`, with the proof from `old`."""
    proof = tree.consistency_proof(old, size) if 0 < old < size else []
    return AddCheckpoint(old, tuple(proof), note_of(tree, size, signer)).body()


def refused(service: WitnessService, data: bytes) -> WitnessRefusal:
    with pytest.raises(WitnessRefusal) as caught:
        service.add_checkpoint(data)
    return caught.value


@pytest.fixture
def home(tmp_path: Path, store_url: str) -> Settings:
    """A witness's home; its store SQLite or PostgreSQL (the writer lock differs)."""
    return Settings.at(tmp_path / "w", store_url)


@pytest.fixture
def witness(home: Settings):
    service = WitnessService.initialise(home, NAME)
    service.follow(LOG.public.vkey)
    yield service
    service.close()


def test_a_witness_cosigns_a_logs_honest_growth(home, witness):
    assert home.witness_key_path.exists()
    assert witness.key.name == NAME
    tree = tree_of(30)
    old = 0
    for size in (0, 1, 2, 7, 8, 16, 30):
        line = witness.add_checkpoint(body(old, tree, size))
        assert line.startswith(f"— {NAME} ") and line.endswith("\n") and line.count("\n") == 1
        note = with_cosignatures(note_of(tree, size), [line])
        (made,) = cosignatures_on(note, [witness.key])
        assert made.witness == NAME and abs(made.timestamp - time.time()) < 60
        assert Checkpoint.parse(split_note(note)[0]).root == tree.root(size)
        old = size
    (followed,) = witness.followed()
    assert followed.origin == ORIGIN and followed.size == 30
    assert followed.vkeys == (LOG.public.vkey,)
    assert witness.refusals() == []


def test_follow_is_idempotent_and_the_origin_is_the_keys_name(witness):
    key, added = witness.follow(LOG.public.vkey)
    assert key.name == ORIGIN and not added
    other = Signer.generate("example.org/other")
    assert witness.follow(other.public.vkey)[1]
    assert [f.origin for f in witness.followed()] == ["example.org/other", ORIGIN]
    assert all(f.size is None for f in witness.followed())


def test_the_cosignature_uses_the_clock(home, witness):
    witness.close()
    service = WitnessService.open(home, clock=lambda: 1_679_315_147.9)
    try:
        line = service.add_checkpoint(body(0, tree_of(3), 3))
        (made,) = cosignatures_on(note_of(tree_of(3), 3) + line, [service.key])
        assert made.timestamp == 1_679_315_147
    finally:
        service.close()


def test_state_survives_a_restart(home, witness):
    tree = tree_of(50)
    witness.add_checkpoint(body(0, tree, 20))
    key = witness.key
    witness.close()
    again = WitnessService.open(home)
    try:
        assert again.key == key  # the same witness key, read back from its home
        got = refused(again, body(0, tree, 30))
        assert got.status == 409 and got.size == 20
        assert refused(again, body(10, tree, 30)).size == 20
        smaller = refused(again, body(20, tree, 10))
        assert smaller.status == 400
        assert again.followed()[0].size == 20
        line = again.add_checkpoint(body(20, tree, 50))
        assert cosignatures_on(note_of(tree, 50) + line, [key])
        assert again.followed()[0].size == 50
    finally:
        again.close()


def test_an_equal_size_different_root_fork_is_refused_and_kept(witness):
    tree, forked = tree_of(12), tree_of(12, b"fork")
    witness.add_checkpoint(body(0, tree, 12))
    cosigned_note = note_of(tree, 12)
    data = body(12, forked, 12)
    got = refused(witness, data)
    assert got.status == 422 and got.fork
    (kept,) = witness.refusals()
    assert (kept.origin, kept.old_size, kept.tree_size) == (ORIGIN, 12, 12)
    assert kept.code == "witness.inconsistent" and kept.reason == str(got)
    assert kept.request == data.decode()
    assert kept.cosigned_note == cosigned_note
    assert witness.refusals(ORIGIN) == [kept] and witness.refusals("example.org/x") == []
    # the witness's state is unchanged: it still serves what it cosigned
    assert split_note(witness.checkpoint_of(ORIGIN_HASH))[0] == split_note(cosigned_note)[0]


def test_a_larger_fork_with_a_proof_from_another_tree_is_refused_and_kept(witness):
    tree = tree_of(40)
    other = tree_of(30, b"fork")
    forked = MerkleTree([tree.leaf(i) for i in range(10)] + [other.leaf(i) for i in range(30)])
    witness.add_checkpoint(body(0, tree, 10))
    witness.add_checkpoint(body(10, tree, 20))
    assert forked.root(10) == tree.root(10) and forked.root(20) != tree.root(20)
    data = body(20, forked, 40)
    got = refused(witness, data)
    assert got.status == 422 and got.fork
    (kept,) = witness.refusals()
    assert (kept.old_size, kept.tree_size) == (20, 40)
    assert AddCheckpoint.parse(kept.request.encode()).body() == data
    assert kept.cosigned_note == note_of(tree, 20)
    assert witness.followed()[0].size == 20
    witness.add_checkpoint(body(20, tree, 40))  # the honest log still grows
    assert witness.followed()[0].size == 40


def test_with_keep_forks_off_nothing_is_kept(home, witness):
    tree = tree_of(12)
    witness.add_checkpoint(body(0, tree, 12))
    witness.close()
    forgetful = WitnessService.open(home, keep_forks=False)
    try:
        got = refused(forgetful, body(12, tree_of(12, b"fork"), 12))
        assert got.status == 422 and got.fork
        assert forgetful.refusals() == []
    finally:
        forgetful.close()


def test_nothing_is_recorded_for_a_bad_signature_or_an_unknown_log(witness):
    tree = tree_of(12)
    witness.add_checkpoint(body(0, tree, 6))
    impostor = Signer.generate(ORIGIN)
    got = refused(witness, body(6, tree_of(12, b"fork"), 12, signer=impostor))
    assert got.status == 403 and not got.fork
    stranger = Signer.generate("example.org/other")
    note = Checkpoint("example.org/other", 3, tree.root(3)).sign(stranger)
    assert refused(witness, AddCheckpoint(0, (), note).body()).status == 404
    assert refused(witness, b"old 01\n\n" + note.encode()).status == 400
    assert witness.refusals() == []
    assert witness.followed()[0].size == 6
    # refusals not about the log's history (409, 422 for the empty root) are not forks either
    assert refused(witness, body(0, tree, 12)).status == 409
    assert witness.refusals() == []


def test_a_size_zero_checkpoint_must_have_the_empty_root(witness):
    wrong = Checkpoint(ORIGIN, 0, tree_of(1).root()).sign(LOG)
    got = refused(witness, AddCheckpoint(0, (), wrong).body())
    assert got.status == 422 and not got.fork
    empty = Checkpoint(ORIGIN, 0, EMPTY_ROOT).sign(LOG)
    line = witness.add_checkpoint(AddCheckpoint(0, (), empty).body())
    assert line.startswith(f"— {NAME} ")
    assert witness.followed()[0].size == 0


def test_the_same_checkpoint_sent_again_is_cosigned_again(witness):
    """tlog-witness: when the old size is the checkpoint size, equal roots are cosigned (a
    log whose response was lost asks again)."""
    tree = tree_of(12)
    first = witness.add_checkpoint(body(0, tree, 12))
    again = witness.add_checkpoint(body(12, tree, 12))
    assert cosignatures_on(note_of(tree, 12) + again, [witness.key])
    assert first.startswith(f"— {NAME} ")
    assert witness.followed()[0].size == 12


def race(witness: WitnessService, tree: MerkleTree, old: int, sizes: tuple[int, ...]) -> dict:
    """Submit one add-checkpoint per size from `old`, all released at once; what each got."""
    barrier = threading.Barrier(len(sizes))
    outcomes: dict[int, object] = {}

    def submit(size: int) -> None:
        data = body(old, tree, size)
        barrier.wait()
        try:
            outcomes[size] = witness.add_checkpoint(data)
        except WitnessRefusal as refusal:
            outcomes[size] = refusal

    threads = [threading.Thread(target=submit, args=(size,)) for size in sizes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_racing_requests_from_one_old_size_cannot_roll_the_witness_back(witness, monkeypatch):
    """Both requests are judged against size 10; judging is slowed so that, were the check and
    the record not one transaction, both would pass and the smaller would roll back the larger."""
    tree = tree_of(60)
    witness.add_checkpoint(body(0, tree, 10))
    judge = witness_module.judge

    def slow_judge(*args, **kwargs):
        got = judge(*args, **kwargs)
        time.sleep(0.3)
        return got

    monkeypatch.setattr(witness_module, "judge", slow_judge)
    old = 10
    for sizes in ((20, 40), (60, 50)):
        outcomes = race(witness, tree, old, sizes)
        won = [size for size, got in outcomes.items() if isinstance(got, str)]
        lost = [got for got in outcomes.values() if isinstance(got, WitnessRefusal)]
        assert len(won) == 1 and len(lost) == 1, outcomes
        assert lost[0].status == 409 and lost[0].size == won[0]
        assert witness.followed()[0].size == won[0]
        served = witness.checkpoint_of(ORIGIN_HASH)
        assert Checkpoint.parse(split_note(served)[0]).size == won[0]
        assert cosignatures_on(served, [witness.key])[0].line == outcomes[won[0]]
        old = won[0]
        if old < 40:  # the next race starts from 40, whoever won this one
            witness.add_checkpoint(body(old, tree, 40))
            old = 40
    assert witness.refusals() == []


def test_checkpoint_of_serves_the_logs_and_the_witness_signatures(witness):
    tree = tree_of(25)
    assert witness.checkpoint_of(ORIGIN_HASH) is None  # followed, never cosigned
    witness.add_checkpoint(body(0, tree, 9))
    line = witness.add_checkpoint(body(9, tree, 25))
    served = witness.checkpoint_of(ORIGIN_HASH)
    assert served == note_of(tree, 25) + line
    text, lines = split_note(served)
    assert text == Checkpoint(ORIGIN, 25, tree.root()).text()
    assert Checkpoint.open(served, LOG.public) == Checkpoint(ORIGIN, 25, tree.root())
    assert lines[1] == line and cosignatures_on(served, [witness.key])
    assert witness.checkpoint_of(ORIGIN_HASH.upper()) == served
    assert witness.checkpoint_of(hashlib.sha256(b"example.org/other").hexdigest()) is None
    assert witness.checkpoint_of("not a hash") is None


def test_the_witness_key_is_kept_private_and_its_name_fixed(home, witness):
    assert home.witness_key_path.stat().st_mode & 0o777 == 0o600
    witness.close()
    again = WitnessService.initialise(home, NAME)  # running init again is safe
    try:
        assert again.key == witness.key
    finally:
        again.close()
    with pytest.raises(
        KeyTextError,
        match=r"holds the key of witness 'witness\.example/w1', not 'witness\.example/w2'",
    ):
        WitnessService.initialise(home, "witness.example/w2")


def test_opening_a_home_without_a_witness_key_says_so(tmp_path):
    with pytest.raises(NotInitialised):
        WitnessService.open(Settings.at(tmp_path / "nothing"))


def test_the_key_is_a_cosignature_key_over_the_stored_private_key(home, witness):
    signer = Signer.from_private_text(home.witness_key_path.read_text())
    assert witness.key == WitnessKey(NAME, signer.public.raw)
    assert WitnessKey.from_vkey(witness.key.vkey) == witness.key
