"""C2SP tlog-tiles (c2sp.org/tlog-tiles): which tiles a tree of n leaves has, their paths and
bytes, entry bundles, and the root and proofs a client computes from tiles alone.

A tile is 256 consecutive hashes of one level of the tree: at level 0 leaf hashes, at level
k the roots of the full level-(k-1) tiles, so of 256**k-leaf subtrees. A full tile never
changes; the rightmost tile of a level is partial, and is named by its width (`.p/<W>`),
so every tile path names bytes that never change."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from tallyproof.ledger.merkle import (
    HASH_SIZE,
    ProofError,
    consistency_path,
    inclusion_path,
    node_hash,
    root_of,
)

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT  # hashes in a full tile (and entries in a full bundle)
ENTRY_LIMIT = 0xFFFF  # the most bytes an entry of a spec bundle can have (uint16 length)
TileReader = Callable[["Tile"], bytes]


class BundleError(ValueError):
    """Bytes that are not an entry bundle, or entries that one cannot frame."""


@dataclass(frozen=True, order=True)
class Tile:
    """Tile `index` of level `level`, `width` hashes wide (TILE_WIDTH when full)."""

    level: int
    index: int
    width: int = TILE_WIDTH

    @property
    def partial(self) -> bool:
        return self.width < TILE_WIDTH

    @property
    def path(self) -> str:
        """`tile/<L>/<N>[.p/<W>]`."""
        return f"tile/{self.level}/{encode_index(self.index)}{_width_suffix(self.width)}"

    @property
    def start(self) -> int:
        """The position of the tile's first hash in its level's row of hashes."""
        return self.index * TILE_WIDTH


def encode_index(n: int) -> str:
    """A tile index as zero-padded 3-digit path elements, all but the last led by `x`
    (1234067 -> `x001/x234/067`), so tiles sit in a file system without name clashes."""
    if n < 0:
        raise ValueError(f"tile index {n} is negative")
    groups = []
    while True:
        n, rest = divmod(n, 1000)
        groups.append(f"{rest:03d}")
        if not n:
            break
    return "/".join([*(f"x{g}" for g in reversed(groups[1:])), groups[0]])


def _width_suffix(width: int) -> str:
    if not 0 < width <= TILE_WIDTH:
        raise ValueError(f"a tile is 1 to {TILE_WIDTH} hashes wide, not {width}")
    return "" if width == TILE_WIDTH else f".p/{width}"


def bundle_path(index: int, width: int = TILE_WIDTH, *, wide: bool = False) -> str:
    """`tile/entries/<N>[.p/<W>]`; a bundle framed with 32-bit lengths lives apart, at
    `tile/entries32/...`, as the spec asks of entries served in another encoding."""
    kind = "entries32" if wide else "entries"
    return f"tile/{kind}/{encode_index(index)}{_width_suffix(width)}"


def _row(size: int, level: int) -> int:
    """How many hashes level `level` of a tree of `size` leaves has (full subtrees only)."""
    return size >> (TILE_HEIGHT * level)


def _levels(size: int) -> Iterator[tuple[int, int]]:
    """(level, hashes in its row) for every level with at least one hash."""
    level = 0
    while (row := _row(size, level)) > 0:
        yield level, row
        level += 1


def tiles_of(size: int) -> list[Tile]:
    """Every tile of a tree of `size` leaves: the full tiles of each level and its partial
    rightmost tile. (70,000 leaves: 273 full level-0 tiles and one of width 112, one full
    level-1 tile and one of width 17, one level-2 tile of width 1.)"""
    return new_tiles(0, size)


def new_tiles(old: int, new: int) -> list[Tile]:
    """The tiles a tree of `new` leaves has and one of `old` leaves lacks: the full tiles
    completed since, and `new`'s partial tiles where their widths differ from `old`'s."""
    if not 0 <= old <= new:
        raise ValueError(f"no tiles from size {old} to size {new}")
    out = []
    for level, row in _levels(new):
        was = _row(old, level)
        out += [Tile(level, i) for i in range(was // TILE_WIDTH, row // TILE_WIDTH)]
        if row % TILE_WIDTH and row != was:
            out.append(Tile(level, row // TILE_WIDTH, row % TILE_WIDTH))
    return out


def edge_tiles(size: int) -> list[Tile]:
    """The partial tile of each level of a tree of `size` leaves: what the tiles of a larger
    tree are built on (`extend`)."""
    return [
        Tile(level, row // TILE_WIDTH, row % TILE_WIDTH)
        for level, row in _levels(size)
        if row % TILE_WIDTH
    ]


def split_hashes(data: bytes) -> list[bytes]:
    if len(data) % HASH_SIZE:
        raise ValueError(f"{len(data)} bytes are not a whole number of hashes")
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def extend(old: int, edge: Mapping[int, bytes], leaves: Sequence[bytes]) -> dict[Tile, bytes]:
    """The bytes of every tile in `new_tiles(old, old + len(leaves))`.

    `leaves` are the leaf hashes from index `old` on; `edge[level]` the bytes of `old`'s
    partial tile of that level (`edge_tiles(old)`; absent or empty where it has none). Those
    hold the hashes the new tiles of the level begin with, so the cost is in the new leaves,
    not the tree: each level's new hashes are the roots of the level below's new full tiles."""
    new = old + len(leaves)
    out: dict[Tile, bytes] = {}
    fresh = list(leaves)
    for level, row in _levels(new):
        was = _row(old, level)
        base = was // TILE_WIDTH * TILE_WIDTH  # where the level's old partial tile starts
        held = split_hashes(edge.get(level, b""))
        if len(held) != was - base:
            raise ValueError(f"level {level}'s edge has {len(held)} hashes, not {was - base}")
        hashes = held + fresh
        fresh = []
        for index in range(was // TILE_WIDTH, row // TILE_WIDTH):
            full = hashes[index * TILE_WIDTH - base : (index + 1) * TILE_WIDTH - base]
            out[Tile(level, index)] = b"".join(full)
            fresh.append(root_of(full))
        if row % TILE_WIDTH and row != was:
            index = row // TILE_WIDTH
            out[Tile(level, index, row % TILE_WIDTH)] = b"".join(
                hashes[index * TILE_WIDTH - base :]
            )
    return out


# --- what a client computes from tiles ------------------------------------------------------


def _tile_holding(level: int, position: int, size: int) -> Tile:
    """The tile of a tree of `size` leaves that holds hash `position` of level `level`."""
    row = _row(size, level)
    if not 0 <= position < row:
        raise ProofError(f"level {level} of a tree of size {size} has no hash {position}")
    index = position // TILE_WIDTH
    full = (index + 1) * TILE_WIDTH <= row
    return Tile(level, index, TILE_WIDTH if full else row % TILE_WIDTH)


def _read_tile(read: TileReader, tile: Tile) -> list[bytes]:
    hashes = split_hashes(read(tile))
    if len(hashes) != tile.width:
        raise ProofError(f"{tile.path} holds {len(hashes)} hashes, not {tile.width}")
    return hashes


def subtree_hash(start: int, end: int, size: int, read: TileReader) -> bytes:
    """MTH(D[start:end]) of a tree of `size` leaves, for the ranges RFC 6962's recursion
    makes: a perfect subtree of 2**k leaves is 2**(k % 8) hashes of one tile of level
    k // 8, hashed up; any other range splits at its largest power of two."""
    n = end - start
    if n <= 0 or end > size:
        raise ProofError(f"no subtree [{start}, {end}) in a tree of size {size}")
    if n & (n - 1):
        k = 1 << ((n - 1).bit_length() - 1)
        return node_hash(
            subtree_hash(start, start + k, size, read), subtree_hash(start + k, end, size, read)
        )
    height = n.bit_length() - 1
    level, span = divmod(height, TILE_HEIGHT)
    if start % n:
        raise ProofError(f"subtree [{start}, {end}) is not aligned to its size")
    position = start >> (TILE_HEIGHT * level)
    tile = _tile_holding(level, position + (1 << span) - 1, size)
    hashes = _read_tile(read, tile)
    first = position - tile.start
    return root_of(hashes[first : first + (1 << span)])


def tree_root(size: int, read: TileReader) -> bytes:
    """The root of a tree of `size` leaves, from its tiles."""
    if size == 0:
        return root_of([])
    return subtree_hash(0, size, size, read)


def inclusion_proof(index: int, size: int, read: TileReader) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 6962 section 2.1.1, from tiles."""
    return inclusion_path(index, size, lambda a, b: subtree_hash(a, b, size, read))


def consistency_proof(old: int, size: int, read: TileReader) -> list[bytes]:
    """PROOF(old, D[0:size]) of RFC 6962 section 2.1.2, from the tiles of `size`."""
    return consistency_path(old, size, lambda a, b: subtree_hash(a, b, size, read))


# --- entry bundles ---------------------------------------------------------------------------


def bundle(entries: Sequence[bytes], *, wide: bool = False) -> bytes:
    """Entries each led by its length: a big-endian uint16 as the spec frames them, or with
    `wide` a uint32 (tallyproof's election structures are megabytes)."""
    frame = ">I" if wide else ">H"
    limit = 0xFFFFFFFF if wide else ENTRY_LIMIT
    out = bytearray()
    for entry in entries:
        if len(entry) > limit:
            raise BundleError(f"an entry of {len(entry):,} bytes does not fit a {frame} length")
        out += struct.pack(frame, len(entry)) + entry
    return bytes(out)


def fits(entries: Sequence[bytes]) -> bool:
    """Whether a spec bundle (uint16 lengths) can hold every one of `entries`."""
    return all(len(e) <= ENTRY_LIMIT for e in entries)


def unbundle(data: bytes, *, wide: bool = False) -> list[bytes]:
    """The entries of a bundle, in order; BundleError if the framing does not add up."""
    frame = ">I" if wide else ">H"
    head = struct.calcsize(frame)
    entries, at = [], 0
    while at < len(data):
        if at + head > len(data):
            raise BundleError(f"a length cut short at byte {at}")
        (length,) = struct.unpack_from(frame, data, at)
        at += head
        if at + length > len(data):
            raise BundleError(f"an entry of {length} bytes runs past the end at byte {at}")
        entries.append(data[at : at + length])
        at += length
    return entries


__all__ = [
    "ENTRY_LIMIT",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "BundleError",
    "Tile",
    "TileReader",
    "bundle",
    "bundle_path",
    "consistency_proof",
    "edge_tiles",
    "encode_index",
    "extend",
    "fits",
    "inclusion_proof",
    "new_tiles",
    "split_hashes",
    "subtree_hash",
    "tiles_of",
    "tree_root",
    "unbundle",
]
