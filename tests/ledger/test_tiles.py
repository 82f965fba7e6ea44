"""C2SP tlog-tiles: the spec's path and tile-count examples, tiles against the Merkle tree for
trees of any size (roots, inclusion and consistency proofs built from tiles alone), the
transparency-dev vectors over RFC 6962's reference leaves, and entry bundles."""

from __future__ import annotations

import base64
import hashlib
import json
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tallyproof.ledger.merkle import EMPTY_ROOT, MerkleTree, ProofError, leaf_hash
from tallyproof.ledger.tiles import (
    ENTRY_LIMIT,
    BundleError,
    Tile,
    bundle,
    bundle_path,
    consistency_proof,
    edge_tiles,
    encode_index,
    extend,
    fits,
    inclusion_proof,
    new_tiles,
    tiles_of,
    tree_root,
    unbundle,
)
from tests.conftest import shared_data

BIG = 65536 + 4321  # past the first level-2 tile: a full level-1 tile and more


@cache
def leaves() -> list[bytes]:
    return [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(BIG)]


@cache
def tree() -> MerkleTree:
    return MerkleTree(leaves())


@cache
def longest() -> dict[tuple[int, int], bytes]:
    """Each tile position's widest bytes up to BIG leaves: the full tile, or BIG's partial."""
    return {(t.level, t.index): data for t, data in extend(0, {}, leaves()).items()}


def reader(size: int):
    """Tiles of the tree of `size` leaves, as a client would fetch them: a partial tile is
    the head of the wider tile at its place."""
    wanted = set(tiles_of(size))

    def read(tile: Tile) -> bytes:
        assert tile in wanted, f"{tile.path} is not a tile of size {size}"
        return longest()[(tile.level, tile.index)][: 32 * tile.width]

    return read


def test_index_encoding_and_paths_follow_the_spec():
    assert encode_index(0) == "000"
    assert encode_index(67) == "067"
    assert encode_index(1000) == "x001/000"
    assert encode_index(1234067) == "x001/x234/067"
    assert Tile(0, 1234067).path == "tile/0/x001/x234/067"
    assert Tile(1, 1234067, 8).path == "tile/1/x001/x234/067.p/8"
    assert bundle_path(1234067, 8) == "tile/entries/x001/x234/067.p/8"  # Tessera's example
    assert bundle_path(5, wide=True) == "tile/entries32/005"
    with pytest.raises(ValueError):
        Tile(0, 0, 0).path  # noqa: B018 - an empty tile has no path


def test_the_tiles_of_the_specs_examples():
    tiles = tiles_of(70_000)
    assert len([t for t in tiles if t.level == 0 and not t.partial]) == 273
    assert {t for t in tiles if t.partial} == {Tile(0, 273, 112), Tile(1, 1, 17), Tile(2, 0, 1)}
    assert [t for t in tiles if t.level == 1 and not t.partial] == [Tile(1, 0)]
    assert tiles_of(256) == [Tile(0, 0), Tile(1, 0, 1)]
    assert tiles_of(0) == []
    assert edge_tiles(70_000) == [Tile(0, 273, 112), Tile(1, 1, 17), Tile(2, 0, 1)]


@given(st.integers(0, BIG), st.integers(0, BIG))
def test_new_tiles_are_the_tiles_one_size_has_and_the_other_lacks(a: int, b: int):
    old, new = sorted((a, b))
    assert set(new_tiles(old, new)) == set(tiles_of(new)) - set(tiles_of(old))


@settings(max_examples=40)  # each example hashes up to BIG leaves
@given(st.integers(0, BIG), st.one_of(st.integers(0, 600), st.integers(0, BIG)))
def test_extending_from_the_edge_gives_the_same_tiles_as_building_afresh(old: int, more: int):
    new = min(BIG, old + more)
    edge = {t.level: reader(old)(t) for t in edge_tiles(old)}
    grown = extend(old, edge, leaves()[old:new])
    assert set(grown) == set(new_tiles(old, new))
    for tile, data in grown.items():
        assert data == reader(new)(tile), tile.path


@given(st.integers(0, BIG))
def test_the_root_from_tiles_is_the_trees_root(size: int):
    assert tree_root(size, reader(size)) == tree().root(size)


@given(st.data())
def test_proofs_from_tiles_are_the_trees_proofs(data: st.DataObject):
    size = data.draw(st.integers(1, BIG))
    index = data.draw(st.integers(0, size - 1))
    old = data.draw(st.integers(1, size))
    assert inclusion_proof(index, size, reader(size)) == tree().inclusion_proof(index, size)
    assert consistency_proof(old, size, reader(size)) == tree().consistency_proof(old, size)


def test_a_tile_of_the_wrong_width_is_refused():
    size = 300
    good = reader(size)

    def short(tile: Tile) -> bytes:
        return good(tile)[:-32] if tile.partial else good(tile)

    with pytest.raises(ProofError, match=r"holds \d+ hashes, not"):
        tree_root(size, short)
    assert tree_root(0, good) == EMPTY_ROOT


# RFC 6962's reference leaves, from which transparency-dev's happy-path vectors are made.
REFERENCE_LEAVES = [
    bytes.fromhex(x)
    for x in (
        *("", "00", "10", "2021", "3031", "40414243", "5051525354555657"),
        "606162636465666768696a6b6c6d6e6f",
    )
]


def _b64(text: str | None) -> bytes:
    return base64.b64decode(text) if text else b""


def _vector_tiles(size: int):
    made = extend(0, {}, [leaf_hash(x) for x in REFERENCE_LEAVES[:size]])
    return made.__getitem__


@pytest.mark.realdata
@pytest.mark.parametrize("kind", ["inclusion", "consistency"])
def test_the_happy_path_vectors_from_tiles(kind: str):
    paths = sorted((shared_data("merkle-testdata") / "testdata" / kind).glob("*/happy-path.json"))
    assert paths
    for path in paths:
        v = json.loads(path.read_text())
        proof = [_b64(p) for p in v["proof"] or []]
        if kind == "inclusion":
            read = _vector_tiles(v["treeSize"])
            assert leaf_hash(REFERENCE_LEAVES[v["leafIdx"]]) == _b64(v["leafHash"])
            assert tree_root(v["treeSize"], read) == _b64(v["root"]), path
            assert inclusion_proof(v["leafIdx"], v["treeSize"], read) == proof, path
        else:
            assert tree_root(v["size1"], _vector_tiles(v["size1"])) == _b64(v["root1"]), path
            read = _vector_tiles(v["size2"])
            assert tree_root(v["size2"], read) == _b64(v["root2"]), path
            assert consistency_proof(v["size1"], v["size2"], read) == proof, path


@given(st.lists(st.binary(max_size=300), max_size=20), st.booleans())
def test_bundles_round_trip(entries: list[bytes], wide: bool):
    assert unbundle(bundle(entries, wide=wide), wide=wide) == entries


def test_an_entry_over_the_spec_limit_needs_the_wide_framing():
    big = b"x" * (ENTRY_LIMIT + 1)
    assert fits([b"a", b"x" * ENTRY_LIMIT]) and not fits([b"a", big])
    with pytest.raises(BundleError, match="65,536 bytes"):
        bundle([big])
    assert unbundle(bundle([b"a", big], wide=True), wide=True) == [b"a", big]
    assert bundle([b"ab"]) == b"\x00\x02ab"
    with pytest.raises(BundleError):
        unbundle(b"\x00\x05ab")
