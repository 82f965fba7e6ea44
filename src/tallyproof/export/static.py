"""Static publishing of the public read side: the answers election night's readers ask for,
written as files any CDN or object store serves without touching the database, and the log
as C2SP tlog-tiles. Layout, caching and verification: docs/static.md.

Every answer is written once, at the tree size it changed, as `<question>/@<size>.json`, the
same bytes the HTTP API answers the same question with at that size, and never rewritten.
Only the heads move: `checkpoint`, `index.json` and each election's `index.json`, which name
the current file of every question. A run writes what changed since the size the directory
holds (its own record, `.publish/state.json`, says which), under a lock, and never moves a
head back."""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import orjson

from tallyproof.domain.consolidation import ContestView
from tallyproof.domain.findings import Severity
from tallyproof.domain.structure import ElectionStructure
from tallyproof.formats.answers import (
    answer_record,
    contest_document,
    contests_document,
    election_record,
    elections_document,
    history_document,
    lives_document,
    standings_document,
    station_document,
)
from tallyproof.ledger.cosignature import WitnessPolicy
from tallyproof.ledger.entries import leaf_body
from tallyproof.ledger.merkle import leaf_hash
from tallyproof.ledger.note import Checkpoint
from tallyproof.ledger.tiles import (
    TILE_WIDTH,
    Tile,
    bundle,
    bundle_path,
    edge_tiles,
    extend,
    fits,
    new_tiles,
    tree_root,
)
from tallyproof.service.queries import UnknownElection
from tallyproof.service.reading import (
    Answer,
    AsOf,
    KeptTimelines,
    ReadModel,
    Timeline,
    in_order,
    ordered_contests,
    status_order,
)
from tallyproof.service.state import StoreInconsistent
from tallyproof.service.witnessing import cosigned_at, witnessed_checkpoint
from tallyproof.store.database import Reader

FORMAT = "tallyproof-static/1"
STATE = ".publish/state.json"  # the publisher's own record; not for serving
LOCK = ".publish/lock"
Progress = Callable[[str, int, int], None]  # (what, done, total)
Version = tuple[int, str]  # an answer's file: the size it was written at, a digest of it
_ENVELOPE = ("tree_size", "checkpoint")
_BUNDLES_READ = 16  # entry bundles read from the store at a time


# --- paths -----------------------------------------------------------------------------------


def segment(ident: str) -> str:
    """An id as one path segment: `/` and `:` (legal in ids) escaped as `~2F` and `~3A`, and
    a leading `.` as `~2E`. Ids never hold `~` or `@`, so no escaped id is `@<size>.json`."""
    out = ident.replace("/", "~2F").replace(":", "~3A")
    return "~2E" + out[1:] if out.startswith(".") else out


def at(prefix: str, size: int) -> str:
    """The file of a question's answer written at `size`."""
    return f"{prefix}/@{size}.json"


def election_dir(election: str) -> str:
    return f"elections/{segment(election)}"


def contest_dir(election: str, contest: str) -> str:
    return f"{election_dir(election)}/contests/{segment(contest)}"


def station_dir(election: str, station: str) -> str:
    return f"{election_dir(election)}/stations/{segment(station)}"


def bucket(station: str) -> str:
    """The station index a station is listed in: the first two hex digits of the SHA-256 of
    its id, so a reader finds a station's current file among 256 small index files."""
    return hashlib.sha256(station.encode()).hexdigest()[:2]


def _answer_prefix(election: str, name: str) -> str:
    """Where an election-wide answer's files are: `election`, `structure`, `contests`,
    `standings`, `standings/<assembly>` or `findings`."""
    base = election_dir(election)
    if name == "election":
        return base
    if name.startswith("standings/"):
        return f"{base}/standings/{segment(name.removeprefix('standings/'))}"
    return f"{base}/{name}"


def _contest_files(election: str) -> dict[str, str]:
    base = f"{election_dir(election)}/contests/{{contest}}"
    return {
        "contest": base + "/@{size}.json",
        "findings": base + "/findings/@{size}.json",
        "history": base + "/history/@{size}.json",
    }


# --- the report ----------------------------------------------------------------------------


@dataclass
class PublishReport:
    """What one run did: the size the directory now holds and what it wrote to get there."""

    tree_size: int  # the size the heads name after the run
    previous: int  # the size the directory held before it (0: nothing yet)
    written: int = 0  # files written
    unchanged: int = 0  # answers found unchanged, and files already in place
    bytes: int = 0  # bytes written
    contests: int = 0  # contests whose answers were asked again
    stations: int = 0  # stations whose file was written
    seconds: float = 0.0
    note: str = ""  # why nothing was written, when nothing was

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- the directory -------------------------------------------------------------------------


class _Directory:
    """The published directory: immutable files written once, heads replaced atomically,
    and a tally of what was written. Paths are plain strings and each folder is made once:
    a national first run writes ninety thousand files, and the per-file calls count."""

    def __init__(self, root: Path, report: PublishReport) -> None:
        self.root = str(root)
        self.report = report
        self._made: set[str] = set()

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One publisher at a time, across threads and processes (an advisory file lock)."""
        path = Path(self.root, LOCK)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def read(self, name: str) -> bytes | None:
        try:
            with open(os.path.join(self.root, name), "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def read_json(self, name: str) -> Any:
        data = self.read(name)
        if data is None:
            raise StoreInconsistent("publish.missing", f"{name} is named but not in the directory")
        return orjson.loads(data)

    def put(self, name: str, data: bytes) -> None:
        """An immutable file: written once; a file already there holds the same bytes."""
        if os.path.exists(os.path.join(self.root, name)):
            self.report.unchanged += 1
            return
        self._write(name, data)

    def replace(self, name: str, data: bytes) -> None:
        """A head or the publisher's record: replaced whole, atomically."""
        self._write(name, data)

    def skip(self) -> None:
        self.report.unchanged += 1

    def _write(self, name: str, data: bytes) -> None:
        """Write beside the file, then rename over it: a reader sees all of it or none."""
        path = os.path.join(self.root, name)
        folder, base = os.path.split(path)
        if folder not in self._made:
            os.makedirs(folder, exist_ok=True)
            self._made.add(folder)
        temp = os.path.join(folder, f".tmp-{os.getpid()}-{threading.get_ident()}-{base}")
        try:
            with open(temp, "wb") as handle:
                handle.write(data)
            os.replace(temp, path)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        self.report.written += 1
        self.report.bytes += len(data)


def _encoded(doc: dict[str, Any]) -> tuple[bytes, str]:
    """An answer's bytes (the API's: orjson, compact) and a digest of what it says apart
    from the size and checkpoint it names, which lead it: the same answer at a later size
    has the same digest."""
    data = orjson.dumps(doc)
    envelope = orjson.dumps({k: doc[k] for k in _ENVELOPE})
    if not data.startswith(envelope[:-1]):
        raise ValueError("an answer begins with its tree size and checkpoint")
    return data, hashlib.sha256(data[len(envelope) :]).hexdigest()[:32]


@dataclass(frozen=True)
class _Context:
    """What every part of one run uses."""

    model: ReadModel
    out: _Directory
    history: bool
    progress: Progress | None

    def report(self, what: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(what, done, total)


# --- the publisher's record ------------------------------------------------------------------


@dataclass
class ElectionState:
    """What is published of one election: each answer's current file."""

    files: dict[str, Version] = field(default_factory=dict)  # election-wide answers by name
    contests: dict[str, dict[str, Version]] = field(default_factory=dict)  # per contest
    stations: dict[str, dict[str, int]] = field(default_factory=dict)  # bucket -> station -> size
    buckets: dict[str, int] = field(default_factory=dict)  # bucket -> size of its index
    index: int = 0  # the size of the contest index file

    @classmethod
    def of(cls, doc: dict[str, Any]) -> ElectionState:
        return cls(
            {k: (v[0], v[1]) for k, v in doc["files"].items()},
            {c: {k: (v[0], v[1]) for k, v in q.items()} for c, q in doc["contests"].items()},
            {b: dict(listed) for b, listed in doc["stations"].items()},
            dict(doc["buckets"]),
            doc["index"],
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "files": {k: list(v) for k, v in self.files.items()},
            "contests": {c: {k: list(v) for k, v in q.items()} for c, q in self.contests.items()},
            "stations": self.stations,
            "buckets": self.buckets,
            "index": self.index,
        }

    def copy(self) -> ElectionState:
        """A copy a run may change, so that a run cut short leaves the record as it was."""
        return ElectionState.of(self.as_json())

    def station_size(self, station: str) -> int | None:
        return self.stations.get(bucket(station), {}).get(station)


@dataclass
class State:
    """The publisher's record of the directory: the size its heads name, the checkpoint of
    that size, and what is published of each election."""

    origin: str = ""
    tree_size: int = 0
    checkpoint: str = ""
    wide: list[int] = field(default_factory=list)  # bundles framed with 32-bit lengths
    elections_file: Version = (0, "")
    elections: dict[str, ElectionState] = field(default_factory=dict)

    @classmethod
    def load(cls, out: _Directory) -> State:
        data = out.read(STATE)
        if data is None:
            return cls()
        doc = orjson.loads(data)
        if doc.get("format") != FORMAT:
            raise StoreInconsistent("publish.state", f"{STATE} is not a {FORMAT} record")
        return cls(
            doc["origin"],
            doc["tree_size"],
            doc["checkpoint"],
            doc["wide"],
            (doc["elections_file"][0], doc["elections_file"][1]),
            {e: ElectionState.of(s) for e, s in doc["elections"].items()},
        )

    def save(self, out: _Directory) -> None:
        doc = {
            "format": FORMAT,
            "origin": self.origin,
            "tree_size": self.tree_size,
            "checkpoint": self.checkpoint,
            "wide": self.wide,
            "elections_file": list(self.elections_file),
            "elections": {e: s.as_json() for e, s in self.elections.items()},
        }
        out.replace(STATE, orjson.dumps(doc))


# --- the answers, as the HTTP API shapes them -------------------------------------------------


def _severity_order(life: dict[str, Any]) -> tuple[Any, ...]:
    """`in_order` on published records: merging contests' ordered findings by it gives the
    election's order (no two contests' findings tie: the contest is part of the key)."""
    return (
        not life["open"],
        Severity(life["severity"]).rank,
        life["contest"] or "",
        life["station"] or "",
        life["candidate"] or "",
        life["code"],
    )


# --- one election ----------------------------------------------------------------------------


@dataclass
class _Changes:
    """What the entries logged since the last published size touched."""

    contests: set[str]
    stations: set[str]
    claims: bool  # a news report was filed, or the election has claims and anything moved


class _ElectionRun:
    """Publish one election at `size`: ask again only about the contests and stations the
    entries since the last published size touched, and write each answer that changed."""

    def __init__(
        self,
        ctx: _Context,
        timelines: KeptTimelines,
        structure: ElectionStructure,
        target: tuple[int, str],
        old: ElectionState | None,
        since: int,
    ) -> None:
        self.ctx, self.model, self.out = ctx, ctx.model, ctx.out
        self.timelines, self.history = timelines, ctx.history
        self.structure, self.eid = structure, structure.election.id
        self.size, self.note = target
        self.old, self.since = old, since
        self.new = ElectionState() if old is None else old.copy()
        if not self.history:  # a history no longer kept up is no longer named
            for versions in self.new.contests.values():
                versions.pop("history", None)
        self.forms: dict[str, list[dict[str, Any]]] = defaultdict(list)  # station -> forms
        self.asked: set[str] = set()  # contests whose forms were asked again
        self.findings_moved = False

    def run(self) -> ElectionState:
        changes = self._changes()
        if self.old is None:
            self._first()
        contests = [c.code for c in self.structure.contests if c.code in changes.contests]
        if self.history:
            contests += [
                c.code
                for c in self.structure.contests
                if c.code not in changes.contests
                and "history" not in self.new.contests.get(c.code, {})
            ]
        self._contests(contests)
        stations = set(self.forms) if self.old is None else changes.stations
        self._stations(sorted(stations))
        if contests or changes.claims:
            self._election_wide(changes.claims)
        self._contest_index()
        self.out.report.contests += len(contests)
        return self.new

    def _changes(self) -> _Changes:
        with self.model.snapshot(self.size) as (reader, _, _):
            has_claims = any(r.seq < self.size for r in reader.claims(self.eid))
            if self.old is None:
                return _Changes({c.code for c in self.structure.contests}, set(), has_claims)
            return self._touched(reader, has_claims)

    def _touched(self, reader: Reader, has_claims: bool) -> _Changes:
        """The contests and stations the entries in [since, size) are about."""
        rows = reader.form_rows(self.eid, self.size, since=self.since, timed=False)
        contests = {r.contest for r in rows}
        for kind in ("declaration", "event"):  # an event changes its contest's history
            for doc in reader.document_rows(kind, self.eid, self.size, self.since):
                contests.add(leaf_body(doc.leaf_data).get("contest", ""))
        for doc in reader.document_rows("status", self.eid, self.size, self.since):
            order = status_order(doc)
            contests.update(ordered_contests(self.structure, order.scope, order.target))
        filed = reader.document_rows("claim", self.eid, self.size, self.since)
        claims = bool(filed) or (has_claims and bool(contests))
        known = {c.code for c in self.structure.contests}
        return _Changes(contests & known, {r.station for r in rows}, claims)

    def _first(self) -> None:
        """The answers that never change: the election's record and its structure."""
        a = self.model.structure(self.eid, self.size)
        self._answer("election", answer_record(a, "election", election_record(a.value)))
        doc = answer_record(a, "structure", a.value.document())
        self.out.put(at(_answer_prefix(self.eid, "structure"), self.size), orjson.dumps(doc))
        self.new.files["structure"] = (self.size, "")

    def _answer(self, name: str, doc: dict[str, Any]) -> bool:
        """Write an election-wide answer unless it says what its current file says."""
        prefix = _answer_prefix(self.eid, name)
        changed = self._write(prefix, doc, self.new.files.get(name))
        if changed is not None:
            self.new.files[name] = changed
        return changed is not None

    def _write(self, prefix: str, doc: dict[str, Any], current: Version | None) -> Version | None:
        """Write `doc` at `prefix/@size.json` if it differs from `current`; the new version."""
        data, digest = _encoded(doc)
        if current is not None and current[1] == digest:
            self.out.skip()
            return None
        self.out.put(at(prefix, self.size), data)
        return (self.size, digest)

    def _contests(self, codes: Sequence[str]) -> None:
        """Each contest's answers: the contest with its forms, its findings, its history.
        Views come from one results answer (the reader's kept tally), findings and history
        from the kept timelines."""
        results = self.model.results(self.eid, self.size)
        views = {v.computed.contest: v for v in results.value}
        with self.model.snapshot(self.size) as (reader, _, _):
            timelines = self.timelines.at(reader, self.size, codes)
        for done, code in enumerate(codes, 1):
            view = Answer(views[code], results.tree_size, results.checkpoint)
            self._contest(code, view, timelines[code])
            self.ctx.report("contests", done, len(codes))

    def _contest(self, code: str, view: Answer[ContestView], timeline: Timeline) -> None:
        base = contest_dir(self.eid, code)
        versions = self.new.contests.setdefault(code, {})
        forms = self.model.forms(self.eid, contest=code, as_of=self.size).value
        doc = contest_document(view, forms, self.structure)
        self.asked.add(code)
        for form in doc["contest"]["forms"]:
            self.forms[form["station"]].append(form)
        self._version(versions, "contest", base, doc)
        found = lives_document(in_order(timeline.lives()), self.size, self.note)
        self.findings_moved |= self._version(versions, "findings", f"{base}/findings", found)
        if self.history:
            doc = history_document(timeline.changes, self.size, self.note)
            self._version(versions, "history", f"{base}/history", doc)

    def _version(
        self, versions: dict[str, Version], name: str, prefix: str, doc: dict[str, Any]
    ) -> bool:
        changed = self._write(prefix, doc, versions.get(name))
        if changed is not None:
            versions[name] = changed
        return changed is not None

    def _stations(self, stations: Sequence[str]) -> None:
        """Each touched station's forms: those of the contests asked again, from their
        answers, and the rest from the station's current file (its other contests' forms
        cannot have changed: a form only supersedes or differs from copies of its own
        station and contest)."""
        buckets: set[str] = set()
        for done, station in enumerate(stations, 1):
            forms = self.forms.get(station, []) + self._kept_forms(station)
            forms.sort(key=lambda f: f["leaf_index"])
            doc = station_document(self.structure, station, forms, self.size, self.note)
            self.out.put(at(station_dir(self.eid, station), self.size), orjson.dumps(doc))
            self.new.stations.setdefault(bucket(station), {})[station] = self.size
            buckets.add(bucket(station))
            self.ctx.report("stations", done, len(stations))
        for name in sorted(buckets):
            listed = dict(sorted(self.new.stations[name].items()))
            doc = {"election": self.eid, "bucket": name, "tree_size": self.size, "stations": listed}
            path = at(f"{election_dir(self.eid)}/index/stations/{name}", self.size)
            self.out.put(path, orjson.dumps(doc))
            self.new.buckets[name] = self.size
        self.out.report.stations += len(stations)

    def _kept_forms(self, station: str) -> list[dict[str, Any]]:
        size = self.old.station_size(station) if self.old is not None else None
        if size is None:
            return []
        doc = self.out.read_json(at(station_dir(self.eid, station), size))
        return [f for f in doc["station"]["forms"] if f["contest"] not in self.asked]

    def _election_wide(self, claims: bool) -> None:
        """The contest list, the standings (national and per assembly) and every finding."""
        model, eid, size = self.model, self.eid, self.size
        self._answer("contests", contests_document(model.results(eid, size)))
        self._answer("standings", standings_document(model.standings(eid, size)))
        for assembly in self.structure.assemblies:
            doc = standings_document(model.standings(eid, size), assembly.code)
            self._answer(f"standings/{assembly.code}", doc)
        if claims:
            a = model.findings(eid, None, size)
            self._answer("findings", lives_document(a.value, size, self.note))
        elif self.findings_moved or "findings" not in self.new.files:
            self._answer("findings", self._composed_findings())

    def _composed_findings(self) -> dict[str, Any]:
        """Every contest's findings in the read model's order. Without news claims an
        election's findings are exactly its contests' (docs/static.md), so each contest's
        published answer is read back instead of every contest being replayed."""
        lives = []
        for contest in self.structure.contests:
            size = self.new.contests[contest.code]["findings"][0]
            doc = self.out.read_json(at(f"{contest_dir(self.eid, contest.code)}/findings", size))
            lives.append(doc["findings"])
        ordered = sorted(chain.from_iterable(lives), key=_severity_order)
        doc = {"tree_size": self.size, "checkpoint": self.note, "findings": ordered}
        return doc | {"total": len(ordered)}

    def _contest_index(self) -> None:
        """Where each contest's current answers are: their sizes."""
        listed = _contest_sizes(self.new, self.structure)
        if self.old is not None and listed == _contest_sizes(self.old, self.structure):
            self.out.skip()
            return
        doc = {"election": self.eid, "tree_size": self.size, "contests": listed}
        self.out.put(at(f"{election_dir(self.eid)}/index/contests", self.size), orjson.dumps(doc))
        self.new.index = self.size


def _contest_sizes(state: ElectionState, structure: ElectionStructure) -> dict[str, Any]:
    return {
        c.code: {name: v[0] for name, v in state.contests.get(c.code, {}).items()}
        for c in structure.contests
    }


# --- the log ---------------------------------------------------------------------------------

WITNESSED_FILE = "checkpoint.witnessed"  # the newest checkpoint the witnesses' quorum cosigned
WITNESSES_FILE = "witnesses.json"  # whom the log asks, and its quorum


def _checkpoint(note: str) -> Checkpoint:
    """The checkpoint a signed note carries (its signature is the reader's to check)."""
    return Checkpoint.parse(note[: note.index("\n\n") + 1])


class _LogRun:
    """The log up to `size` as tlog-tiles: the tiles and entry bundles a tree of `size` has
    and one of `old` lacks, built on the directory's partial tiles of `old`, and checked
    against the signed root before any of it is written."""

    def __init__(self, ctx: _Context, old: int, size: int, note: str) -> None:
        self.ctx, self.model, self.out = ctx, ctx.model, ctx.out
        self.old, self.size, self.note = old, size, note

    def run(self, wide: list[int]) -> list[int]:
        """Write the new bundles and tiles; the bundles framed wide, with those before."""
        tiles, leaves = self._tiles()
        self._bundles(wide, leaves)
        for tile, data in sorted(tiles.items()):
            self.out.put(tile.path, data)
        return wide

    def _tiles(self) -> tuple[dict[Tile, bytes], dict[int, bytes]]:
        """The new tiles, checked to lead to the signed root, and the leaf hashes read."""
        base, edge = self.old, {}
        for tile in edge_tiles(self.old):
            data = self.out.read(tile.path)
            if data is None:  # rebuilt from the leaves: the files already there are kept
                base, edge = 0, {}
                break
            edge[tile.level] = data
        with self.model.snapshot(self.size) as (reader, _, _):
            leaves = reader.leaf_hashes(base, self.size)
        made = extend(base, edge, leaves)

        def read(tile: Tile) -> bytes:
            return made[tile] if tile in made else self.out.read(tile.path) or b""

        if tree_root(self.size, read) != _checkpoint(self.note).root:
            raise StoreInconsistent(
                "publish.root", f"the tiles of size {self.size} do not lead to its signed root"
            )
        tiles = {t: made[t] for t in new_tiles(self.old, self.size) if t in made}
        return tiles, {base + i: h for i, h in enumerate(leaves)}

    def _bundles(self, wide: list[int], leaves: dict[int, bytes]) -> None:
        """The entry bundles [old // 256, ...) whose width grew: each entry's bytes hash to
        the leaf the signed tree holds at its place."""
        first, last = self.old // TILE_WIDTH, (self.size - 1) // TILE_WIDTH
        wanted = [b for b in range(first, last + 1) if self._bundle_width(b) != self._old_width(b)]
        for start in range(0, len(wanted), _BUNDLES_READ):
            group = wanted[start : start + _BUNDLES_READ]
            with self.model.snapshot(self.size) as (reader, _, _):
                rows = reader.entries(
                    group[0] * TILE_WIDTH, min((group[-1] + 1) * TILE_WIDTH, self.size)
                )
            by_index = {r.seq: r.leaf_data for r in rows}
            for index in group:
                self._bundle(index, by_index, leaves, wide)
            self.ctx.report("log", min(start + _BUNDLES_READ, len(wanted)), len(wanted))

    def _bundle_width(self, index: int) -> int:
        return min(TILE_WIDTH, self.size - index * TILE_WIDTH)

    def _old_width(self, index: int) -> int:
        return max(0, min(TILE_WIDTH, self.old - index * TILE_WIDTH))

    def _bundle(
        self, index: int, by_index: dict[int, bytes], leaves: dict[int, bytes], wide: list[int]
    ) -> None:
        width = self._bundle_width(index)
        entries = [by_index[index * TILE_WIDTH + i] for i in range(width)]
        for i, entry in enumerate(entries):
            seq = index * TILE_WIDTH + i
            known = leaves.get(seq)
            if known is not None and leaf_hash(entry) != known:
                raise StoreInconsistent(
                    "publish.leaf", f"entry {seq}'s bytes do not hash to the leaf the log holds"
                )
        framed_wide = not fits(entries)
        if framed_wide and index not in wide:
            wide.append(index)
        self.out.put(bundle_path(index, width, wide=framed_wide), bundle(entries, wide=framed_wide))


# --- the heads -------------------------------------------------------------------------------


def _election_head(
    eid: str, state: ElectionState, structure: ElectionStructure, size: int, note: str
) -> dict[str, Any]:
    base = election_dir(eid)
    paths = {name: at(_answer_prefix(eid, name), v[0]) for name, v in state.files.items()}
    files = {name: path for name, path in paths.items() if "/" not in name}
    by_assembly = {
        a.code: paths[f"standings/{a.code}"]
        for a in structure.assemblies
        if f"standings/{a.code}" in paths
    }
    return {
        "format": FORMAT,
        "election": eid,
        "tree_size": size,
        "checkpoint": note,
        "files": files,
        "standings_by_assembly": by_assembly,
        "contest_index": at(f"{base}/index/contests", state.index) if state.index else None,
        "contest_files": _contest_files(eid),
        "station_file": f"{base}/stations/{{station}}/@{{size}}.json",
        "station_index": {
            "file": f"{base}/index/stations/{{bucket}}/@{{size}}.json",
            "bucket": "the first two hex digits of the SHA-256 of the station id",
            "sizes": dict(sorted(state.buckets.items())),
        },
    }


def _root_index(state: State, log_key: str | None) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "about": "tallyproof's public read side at one tree size: every answer of the HTTP API "
        "an election-night reader asks, as immutable files named by the size they were "
        "written at, and the log as C2SP tlog-tiles. Only this file, `checkpoint` and each "
        "election's index.json change; they name the current files (docs/static.md).",
        "origin": state.origin,
        "log_key": log_key,
        "tree_size": state.tree_size,
        "checkpoint": "checkpoint",
        "witnessed": WITNESSED_FILE,
        "witnesses": WITNESSES_FILE,
        "elections": at("elections", state.elections_file[0]),
        "election_index": {e: f"{election_dir(e)}/index.json" for e in state.elections},
        "log": {
            "tiles": "tile/<L>/<N>[.p/<W>] (c2sp.org/tlog-tiles)",
            "entries": "tile/entries/<N>[.p/<W>]: entries led by big-endian uint16 lengths",
            "entries32": "tile/entries32/<N>[.p/<W>]: the same with uint32 lengths, for the "
            "bundles (listed in wide_bundles) holding an entry over 65,535 bytes",
            "wide_bundles": sorted(state.wide),
        },
        "escaping": "ids in paths: '/' as ~2F, ':' as ~3A, a leading '.' as ~2E",
    }


def _head_size(out: _Directory, name: str) -> int:
    data = out.read(name)
    if data is None:
        return -1
    if name in ("checkpoint", WITNESSED_FILE):
        return _checkpoint(data.decode()).size
    return int(orjson.loads(data)["tree_size"])


def _replace_head(out: _Directory, name: str, data: bytes, size: int) -> None:
    """Replace a head unless it already names a larger size: heads never go back."""
    if _head_size(out, name) > size:
        out.skip()
        return
    out.replace(name, data)


# --- publishing ------------------------------------------------------------------------------


class Publisher:
    """Publishes the read side into one directory. Kept between runs (the server keeps one
    and runs it at each checkpoint), it keeps each contest's timeline, so a run costs the
    entries since the last one; a new one replays only the contests a run touches."""

    def __init__(
        self,
        directory: Path,
        *,
        log_key: str | None = None,
        history: bool = False,
        witnesses: WitnessPolicy | None = None,
    ) -> None:
        self.directory = directory
        self.log_key = log_key  # the log's verifier key, named in index.json if given
        self.history = history
        self.witnesses = witnesses or WitnessPolicy()
        self._timelines: dict[str, KeptTimelines] = {}

    def publish_witnessed(self, model: ReadModel) -> int | None:
        """Write what the witnesses said: `checkpoint` at the directory's size with every
        cosignature collected on it, `checkpoint.witnessed` (the newest checkpoint the
        quorum cosigned, at or below that size) and `witnesses.json`. Cosignatures come
        after the checkpoint they sign, so the publisher calls this again as they do.
        Returns the witnessed size written, if any."""
        out = _Directory(self.directory, PublishReport(0, 0))
        with out.locked():
            state = State.load(out)
            if not state.checkpoint:
                return None
            size = state.tree_size
            with model.store.read() as reader:
                head = cosigned_at(reader, size, state.checkpoint)
                newest = witnessed_checkpoint(reader, self.witnesses)
            _replace_head(out, "checkpoint", head.encode(), size)
            out.replace(WITNESSES_FILE, orjson.dumps(self.witnesses.as_dict()))
            if newest is None or newest[0] > size:
                return None
            _replace_head(out, WITNESSED_FILE, newest[1].encode(), newest[0])
            return newest[0]

    def publish(
        self, model: ReadModel, as_of: AsOf = None, progress: Progress | None = None
    ) -> PublishReport:
        """Publish at the newest checkpoint (or the one `as_of` names): what changed since
        the size the directory holds, then the heads. A size at or below the one it holds
        writes nothing."""
        started = time.perf_counter()
        report = PublishReport(0, 0)
        out = _Directory(self.directory, report)
        self.directory.mkdir(parents=True, exist_ok=True)
        with out.locked():
            state = State.load(out)
            report.tree_size = report.previous = state.tree_size
            target = _target(model, as_of, state)
            if isinstance(target, str):
                report.note = target
            else:
                self._publish_at(_Context(model, out, self.history, progress), state, target)
                report.tree_size = state.tree_size
        self.publish_witnessed(model)
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    def timelines_of(self, structure: ElectionStructure) -> KeptTimelines:
        kept = self._timelines.get(structure.election.id)
        if kept is None or kept.keep_changes != self.history:
            kept = self._timelines[structure.election.id] = KeptTimelines(structure, self.history)
        return kept

    def _publish_at(self, ctx: _Context, state: State, target: tuple[int, str]) -> None:
        """The log first (its root is checked against the checkpoint before anything is
        written), then the answers, then the heads, then the record: a run cut short leaves
        the heads where they were, and the next run writes what it did not."""
        size, note = target
        since = state.tree_size
        state.wide = _LogRun(ctx, since, size, note).run(list(state.wide))
        heads: dict[str, bytes] = {}
        for structure in ctx.model.elections(size).value:
            eid = structure.election.id
            timelines = self.timelines_of(structure)
            run = _ElectionRun(ctx, timelines, structure, target, state.elections.get(eid), since)
            state.elections[eid] = run.run()
            head = _election_head(eid, state.elections[eid], structure, size, note)
            heads[f"{election_dir(eid)}/index.json"] = orjson.dumps(head)
        data, digest = _encoded(elections_document(ctx.model.elections(size)))
        if digest != state.elections_file[1]:
            ctx.out.put(at("elections", size), data)
            state.elections_file = (size, digest)
        state.origin, state.tree_size, state.checkpoint = _checkpoint(note).origin, size, note
        for name, data in heads.items():
            _replace_head(ctx.out, name, data, size)
        root = orjson.dumps(_root_index(state, self.log_key))
        _replace_head(ctx.out, "index.json", root, size)
        _replace_head(ctx.out, "checkpoint", note.encode(), size)
        state.save(ctx.out)


def publish(
    model: ReadModel,
    directory: Path,
    as_of: AsOf = None,
    *,
    log_key: str | None = None,
    history: bool = False,
    progress: Progress | None = None,
    witnesses: WitnessPolicy | None = None,
) -> PublishReport:
    """One run of a new `Publisher`: what `tallyproof publish` does."""
    publisher = Publisher(directory, log_key=log_key, history=history, witnesses=witnesses)
    return publisher.publish(model, as_of, progress)


def _target(model: ReadModel, as_of: AsOf, state: State) -> tuple[int, str] | str:
    """The size and checkpoint to publish, or why there is nothing to publish."""
    try:
        with model.snapshot(as_of) as (reader, size, note):
            _check_same_log(reader, state, note)
    except UnknownElection as error:
        if error.code != "ledger.empty":
            raise
        return "the log has no checkpoint yet" + (f" at {as_of}" if as_of is not None else "")
    if size <= state.tree_size:
        return f"the directory already holds tree size {state.tree_size}"
    return size, note


def _check_same_log(reader: Reader, state: State, note: str) -> None:
    """The directory is of this log, and the log still holds what it published."""
    if not state.tree_size:
        return
    if _checkpoint(note).origin != state.origin:
        raise StoreInconsistent(
            "publish.other_log",
            f"the directory holds the log {state.origin!r}, not {_checkpoint(note).origin!r}",
        )
    held = reader.checkpoint_at_or_before(state.tree_size)
    if held is None or held.note != state.checkpoint:
        raise StoreInconsistent(
            "publish.diverged",
            f"the log's checkpoint of size {state.tree_size} is not the one the directory holds",
        )


__all__ = [
    "FORMAT",
    "ElectionState",
    "PublishReport",
    "Publisher",
    "State",
    "at",
    "bucket",
    "contest_dir",
    "election_dir",
    "publish",
    "segment",
    "station_dir",
]
