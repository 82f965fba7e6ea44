"""RFC 6962 / 9162 Merkle tree: the transparency-dev vectors, and properties of our tree."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tallyproof.ledger.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    ProofError,
    leaf_hash,
    node_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
    verify_subtree_consistency,
    verify_subtree_inclusion,
)
from tests.conftest import SHARED_DATA

VECTORS = SHARED_DATA / "merkle-testdata" / "testdata"


def vectors(kind: str) -> list[Path]:
    return sorted((VECTORS / kind).glob("**/*.json")) if VECTORS.exists() else []


def b64(value: str | None) -> bytes:
    return base64.b64decode(value) if value else b""


def outcome(check) -> bool:
    try:
        check()
    except ProofError:
        return True
    return False


@pytest.mark.realdata
@pytest.mark.parametrize("path", vectors("inclusion"), ids=lambda p: str(p.relative_to(VECTORS)))
def test_inclusion_vector(path: Path):
    v = json.loads(path.read_text())
    proof = [b64(p) for p in v["proof"] or []]
    failed = outcome(
        lambda: verify_inclusion(
            v["leafIdx"], v["treeSize"], b64(v["leafHash"]), proof, b64(v["root"])
        )
    )
    assert failed == v["wantErr"], v["desc"]


@pytest.mark.realdata
@pytest.mark.parametrize("path", vectors("consistency"), ids=lambda p: str(p.relative_to(VECTORS)))
def test_consistency_vector(path: Path):
    v = json.loads(path.read_text())
    proof = [b64(p) for p in v["proof"] or []]
    failed = outcome(
        lambda: verify_consistency(v["size1"], v["size2"], proof, b64(v["root1"]), b64(v["root2"]))
    )
    assert failed == v["wantErr"], v["desc"]


@pytest.mark.realdata
@pytest.mark.parametrize(
    "path", vectors("subtreeinclusion"), ids=lambda p: str(p.relative_to(VECTORS))
)
def test_subtree_inclusion_vector(path: Path):
    v = json.loads(path.read_text())
    proof = [b64(p) for p in v["proof"] or []]
    failed = outcome(
        lambda: verify_subtree_inclusion(
            v["leafIdx"], v["start"], v["end"], b64(v["leafHash"]), proof, b64(v["root"])
        )
    )
    assert failed == v["wantErr"], v["desc"]


@pytest.mark.realdata
@pytest.mark.parametrize(
    "path", vectors("subtreeconsistency"), ids=lambda p: str(p.relative_to(VECTORS))
)
def test_subtree_consistency_vector(path: Path):
    v = json.loads(path.read_text())
    proof = [b64(p) for p in v["proof"] or []]
    failed = outcome(
        lambda: verify_subtree_consistency(
            v["start"], v["end"], v["size"], proof, b64(v["root1"]), b64(v["root2"])
        )
    )
    assert failed == v["wantErr"], v["desc"]


@pytest.mark.realdata
def test_every_vector_is_run():
    if not VECTORS.exists():
        pytest.skip("merkle-testdata is not beside the repository")
    counts = {
        kind: len(vectors(kind))
        for kind in ("inclusion", "consistency", "subtreeinclusion", "subtreeconsistency")
    }
    assert counts == {
        "inclusion": 98,
        "consistency": 98,
        "subtreeinclusion": 204,
        "subtreeconsistency": 118,
    }
    assert sum(counts.values()) == len(list(VECTORS.glob("**/*.json"))) == 518


@given(st.integers(1, 64), st.data())
@settings(max_examples=60)
def test_our_consistency_proofs_verify_as_subtree_proofs_from_zero(size, data):
    hashes = leaves(size)
    tree = MerkleTree(hashes)
    old = data.draw(st.integers(1, size))
    verify_subtree_consistency(
        0, old, size, tree.consistency_proof(old), tree.root(old), tree.root()
    )


def leaves(n: int) -> list[bytes]:
    return [leaf_hash(str(i).encode()) for i in range(n)]


def test_rfc6962_known_roots():
    assert root_of([]) == EMPTY_ROOT
    one = leaf_hash(b"")
    assert root_of([one]) == one
    a, b, c = leaves(3)
    assert root_of([a, b, c]) == node_hash(node_hash(a, b), c)


@given(st.integers(1, 300), st.data())
@settings(max_examples=80)
def test_every_proof_the_tree_makes_verifies(size, data):
    hashes = leaves(size)
    tree = MerkleTree(hashes)
    assert tree.root() == root_of(hashes)
    index = data.draw(st.integers(0, size - 1))
    verify_inclusion(index, size, hashes[index], tree.inclusion_proof(index), tree.root())
    old = data.draw(st.integers(1, size))
    verify_consistency(old, size, tree.consistency_proof(old), tree.root(old), tree.root())
    assert tree.root(old) == root_of(hashes[:old])


@given(st.integers(2, 200), st.data())
@settings(max_examples=60)
def test_a_tampered_proof_fails(size, data):
    hashes = leaves(size)
    tree = MerkleTree(hashes)
    index = data.draw(st.integers(0, size - 1))
    proof = tree.inclusion_proof(index)
    k = data.draw(st.integers(0, len(proof) - 1))
    bad = [*proof]
    bad[k] = bytes([bad[k][0] ^ 1]) + bad[k][1:]
    with pytest.raises(ProofError):
        verify_inclusion(index, size, hashes[index], bad, tree.root())
    with pytest.raises(ProofError):
        verify_inclusion(index, size, leaf_hash(b"other"), proof, tree.root())
    old = data.draw(st.integers(1, size - 1))
    cproof = tree.consistency_proof(old)
    with pytest.raises(ProofError):
        verify_consistency(old, size, cproof, tree.root(old), leaf_hash(b"forged root"))


def test_proofs_for_sizes_beyond_the_log_are_refused():
    tree = MerkleTree(leaves(4))
    with pytest.raises(ProofError):
        tree.root(5)
    with pytest.raises(ProofError):
        tree.inclusion_proof(4)
    with pytest.raises(ProofError):
        tree.consistency_proof(0)
