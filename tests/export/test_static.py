"""Static publishing: every file the heads name is the read model's answer at its size (and
the API's bytes); a re-run writes only what changed and leaves every earlier file as it was;
a reader holding only the directory checks the checkpoint, the root and a form's inclusion;
publishers racing on one directory leave it whole; heads never go back."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tallyproof.export.static import Publisher, bucket, publish, segment
from tallyproof.formats.answers import (
    change_dict,
    contest_summary,
    election_record,
    form_dict,
    life_dict,
    standings_document,
    view_dict,
)
from tallyproof.importers.plan import run_plan
from tallyproof.ledger.canonical import canonical
from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.ledger.keys import PublicKey, Signer
from tallyproof.ledger.merkle import leaf_hash, verify_inclusion
from tallyproof.ledger.note import Checkpoint
from tallyproof.ledger.tiles import (
    TILE_WIDTH,
    Tile,
    bundle_path,
    inclusion_proof,
    tree_root,
    unbundle,
)
from tallyproof.sample.generator import build_sample
from tallyproof.service import admin
from tallyproof.service.reading import ReadModel
from tallyproof.service.settings import Settings
from tallyproof.service.state import StoreInconsistent
from tallyproof.service.writer import LedgerWriter
from tallyproof.store.database import Store
from tests.helpers import (
    ElectionFixture,
    cli,
    counter_clock,
    form_doc,
    make_election,
    structure_doc,
)
from tests.serving import Server

HEADS = {"index.json", "checkpoint"}


# --- what a reader sees ------------------------------------------------------------------------


def load(directory: Path, name: str) -> Any:
    return orjson.loads((directory / name).read_bytes())


def files(directory: Path) -> dict[str, bytes]:
    """Every published file but the publisher's own record."""
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in directory.rglob("*")
        if p.is_file() and ".publish" not in p.parts
    }


def is_head(name: str) -> bool:
    return name in HEADS or name.endswith("/index.json")


def stations_listed(directory: Path, head: dict[str, Any]) -> dict[str, int]:
    index = head["station_index"]
    listed: dict[str, int] = {}
    for name, size in index["sizes"].items():
        listed |= load(directory, index["file"].format(bucket=name, size=size))["stations"]
    return listed


def contest_file(head: dict[str, Any], index: dict[str, Any], code: str, question: str) -> str:
    size = index["contests"][code][question]
    return head["contest_files"][question].format(contest=segment(code), size=size)


def answer_of(directory: Path, name: str, model: ReadModel, head_size: int) -> dict[str, Any]:
    """A file, checked to be an answer at the size it is named by, no later than the head's,
    and signed by the checkpoint of that size."""
    doc = load(directory, name)
    size = int(name.rsplit("@", 1)[1].removesuffix(".json"))
    assert doc["tree_size"] == size <= head_size, name
    with model.snapshot(size) as (_, at, note):
        assert (at, doc["checkpoint"]) == (size, note), name
    return doc


def assert_published(model: ReadModel, directory: Path, history: bool = False) -> int:
    """Every current file the heads name holds the read model's answer at the heads' size."""
    root = load(directory, "index.json")
    n = root["tree_size"]
    with model.snapshot(n) as (_, size, note):
        assert size == n and (directory / "checkpoint").read_text() == note
    elections = answer_of(directory, root["elections"], model, n)["elections"]
    assert elections == [election_record(s) for s in model.elections(n).value]
    for eid, name in root["election_index"].items():
        head = load(directory, name)
        assert (head["tree_size"], head["checkpoint"]) == (n, note)
        _assert_election(model, directory, eid, head, n, history)
    return n


def _assert_election(
    model: ReadModel, directory: Path, eid: str, head: dict[str, Any], n: int, history: bool
) -> None:
    def answer(name: str) -> dict[str, Any]:
        return answer_of(directory, name, model, n)

    structure = model.structure(eid, n).value
    f = head["files"]
    assert answer(f["election"])["election"] == election_record(structure)
    assert answer(f["structure"])["structure"] == structure.document()
    assert answer(f["contests"])["contests"] == [
        contest_summary(v) for v in model.results(eid, n).value
    ]
    standings = model.standings(eid, n)
    assert _body(answer(f["standings"])) == _body(standings_document(standings))
    for code, name in head["standings_by_assembly"].items():
        assert _body(answer(name)) == _body(standings_document(standings, code))
    assert answer(f["findings"])["findings"] == [
        life_dict(x) for x in model.findings(eid, None, n).value
    ]
    index = load(directory, head["contest_index"])
    assert index["tree_size"] <= n
    for contest in structure.contests:
        code = contest.code
        page = answer(contest_file(head, index, code, "contest"))["contest"]
        view = view_dict(model.contest(eid, code, n).value)
        assert {k: page[k] for k in view} == view, code
        forms = model.forms(eid, contest=code, as_of=n).value
        assert page["forms"] == [form_dict(e) for e in forms], code
        assert [s["id"] for s in page["stations"]] == list(structure.stations_of(code))
        found = answer(contest_file(head, index, code, "findings"))["findings"]
        assert found == [life_dict(x) for x in model.findings(eid, code, n).value], code
        if history:
            changes = answer(contest_file(head, index, code, "history"))["history"]
            assert changes == [change_dict(c) for c in model.history(eid, code, n).value]
    listed = stations_listed(directory, head)
    for station in structure.stations:
        forms = [form_dict(e) for e in model.forms(eid, station=station.id, as_of=n).value]
        if not forms:
            assert station.id not in listed
            continue
        name = head["station_file"].format(station=segment(station.id), size=listed[station.id])
        assert answer(name)["station"]["forms"] == forms, station.id


def _body(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in ("tree_size", "checkpoint")}


# --- stores to publish ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample elections (claims, corrections, re-polls, declarations, postponements)."""
    home = tmp_path_factory.mktemp("sample") / "home"
    writer = LedgerWriter.initialise(Settings.at(home), clock=counter_clock())
    try:
        run_plan(writer, build_sample())
    finally:
        writer.close()
    return home


@pytest.fixture
def sample_model(sample_home: Path) -> Iterator[ReadModel]:
    model = ReadModel.open(Settings.at(sample_home))
    yield model
    model.close()


@pytest.fixture
def election(tmp_path: Path, store_url: str) -> Iterator[ElectionFixture]:
    """The test election of tests/helpers.py, on SQLite and on PostgreSQL."""
    e = make_election(tmp_path / "home", store_url)
    yield e
    e.ctx.close()


@pytest.fixture
def sqlite_election(tmp_path: Path) -> Iterator[ElectionFixture]:
    """The same in a home's SQLite file, for the command line."""
    e = make_election(tmp_path / "home")
    yield e
    e.ctx.close()


def sizes(model: ReadModel) -> list[int]:
    with model.snapshot() as (reader, n, _):
        return reader.checkpoint_sizes(0, n)


# --- every file is the answer --------------------------------------------------------------


def test_every_file_is_the_answer_at_its_size_checkpoint_by_checkpoint(sample_model, tmp_path):
    out = tmp_path / "out"
    publisher = Publisher(out, history=True)  # kept between runs, as the server keeps it
    checked = []
    for size in [*sizes(sample_model)[::14], sizes(sample_model)[-1]]:
        report = publisher.publish(sample_model, size)
        assert report.tree_size == size and not report.note
        checked.append(assert_published(sample_model, out, history=True))
    assert len(checked) > 10
    again = publish(sample_model, tmp_path / "afresh", history=True)  # a new publisher, all at once
    assert assert_published(sample_model, tmp_path / "afresh", history=True) == checked[-1]
    assert again.written > 300 and again.stations > 100


def test_the_files_are_the_apis_bytes(sample_home, sample_model, tmp_path):
    out = tmp_path / "out"
    publish(sample_model, out, sizes(sample_model)[-5])
    publish(sample_model, out)
    root = load(out, "index.json")
    head = load(out, root["election_index"]["pk-ge-2024"])
    index = load(out, head["contest_index"])
    listed = stations_listed(out, head)
    base = "/v1/elections/pk-ge-2024"
    questions = {
        root["elections"]: "/v1/elections",
        head["files"]["election"]: base,
        head["files"]["contests"]: f"{base}/contests",
        head["files"]["standings"]: f"{base}/standings",
        head["standings_by_assembly"]["NA"]: f"{base}/standings?assembly=NA",
        head["files"]["findings"]: f"{base}/findings?state=all",
        contest_file(head, index, "NA-122", "contest"): f"{base}/contests/NA-122",
        contest_file(
            head, index, "PS-129", "findings"
        ): f"{base}/findings?contest=PS-129&state=all",
    }
    for station in sorted(listed)[:5]:
        name = head["station_file"].format(station=segment(station), size=listed[station])
        questions[name] = f"{base}/stations/{station}"
    server = Server(sample_home).start()
    try:
        with server.client() as http:
            for name, url in questions.items():
                size = load(out, name)["tree_size"]
                sep = "&" if "?" in url else "?"
                got = http.get(f"{url}{sep}as_of={size}")
                assert got.status_code == 200, url
                assert got.content == (out / name).read_bytes(), (name, url)
    finally:
        server.stop()


# --- a re-run writes what changed ------------------------------------------------------------


def test_a_second_publish_writes_only_what_changed(election, tmp_path):
    out = tmp_path / "out"
    model = ReadModel(election.ctx.store)
    election.submit(form_doc("S1"), form_doc("S2"), form_doc("S1", (60, 40), contest="PP-1"))
    first = publish(model, out)
    before = files(out)
    election.submit(form_doc("S3", (100, 600, 50)))  # one new form: NA-1 at S3
    second = publish(model, out)
    after = files(out)
    n = second.tree_size
    assert (second.previous, second.contests, second.stations) == (first.tree_size, 1, 1)
    for name, data in before.items():  # nothing written earlier changes, but the heads
        assert is_head(name) or after[name] == data, name
    added = {name for name in after if name not in before}
    answers = {name for name in added if not name.startswith("tile/")}
    e = "elections/test-2024"
    assert answers == {
        f"{e}/contests/NA-1/@{n}.json",  # its forms and totals changed; its findings did not
        f"{e}/stations/S3/@{n}.json",
        f"{e}/index/stations/{bucket('S3')}/@{n}.json",
        f"{e}/index/contests/@{n}.json",
        f"{e}/contests/@{n}.json",  # the list: NA-1's stations reported
        f"{e}/standings/@{n}.json",
        f"{e}/standings/NA/@{n}.json",  # NA-1 changed hands
    }
    tiles = {name for name in added if name.startswith("tile/")}
    assert tiles == {f"tile/0/000.p/{n}", f"tile/entries/000.p/{n}"}
    assert_published(model, out)


def test_a_rerun_at_the_same_or_an_older_size_writes_nothing(election, tmp_path):
    out = tmp_path / "out"
    model = ReadModel(election.ctx.store)
    election.submit(form_doc("S1"))
    older = sizes(model)[-1]
    election.submit(form_doc("S2"))
    publish(model, out)
    before = files(out)
    for as_of in (None, older, 1):
        report = publish(model, out, as_of)
        assert report.written == 0 and "already holds" in report.note
    assert files(out) == before


# --- a reader with the directory alone ------------------------------------------------------


def big_election(home: Path) -> tuple[ElectionFixture, list[str]]:
    """An election whose structure is a leaf over 65,535 bytes (as a national one is), with
    one presiding officer's key for its first 150 stations."""
    ctx = LedgerWriter.initialise(Settings.at(home), clock=counter_clock())
    admin_key = Signer.from_seed_text("test/admin", "test:admin")
    doc = structure_doc(admin_key.public.b64, stations=900)
    assert admin.import_structure(
        ctx, sign(EntryKind.STRUCTURE, doc, admin_key).envelope()
    ).accepted
    e = ElectionFixture(ctx, admin_key)
    stations = [f"S{i}" for i in range(1, 151)]
    key = e.register("po/many", "presiding_officer", stations=stations)
    e.po = dict.fromkeys(stations, key)
    return e, stations


def read_tile(directory: Path):
    def read(tile: Tile) -> bytes:
        return (directory / tile.path).read_bytes()

    return read


def verified_leaf(directory: Path, log_key: PublicKey, index: int) -> tuple[bytes, Checkpoint]:
    """The bytes of leaf `index`, from its entry bundle, proven included in the signed tree:
    the checkpoint's signature, the root from the tiles, the inclusion proof from the tiles."""
    checkpoint = Checkpoint.open((directory / "checkpoint").read_text(), log_key)
    read = read_tile(directory)
    assert tree_root(checkpoint.size, read) == checkpoint.root
    wide = load(directory, "index.json")["log"]["wide_bundles"]
    number, at = divmod(index, TILE_WIDTH)
    width = min(TILE_WIDTH, checkpoint.size - number * TILE_WIDTH)
    framed = number in wide
    entries = unbundle(
        (directory / bundle_path(number, width, wide=framed)).read_bytes(), wide=framed
    )
    assert len(entries) == width
    leaf = entries[at]
    proof = inclusion_proof(index, checkpoint.size, read)
    verify_inclusion(index, checkpoint.size, leaf_hash(leaf), proof, checkpoint.root)
    return leaf, checkpoint


def test_a_reader_verifies_forms_from_the_directory_alone(tmp_path):
    e, stations = big_election(tmp_path / "home")
    try:
        e.submit(*[form_doc(s) for s in stations])
        e.submit(*[form_doc(s, (50, 60), contest="PP-1") for s in stations])
        out = tmp_path / "out"
        model = ReadModel(e.ctx.store)
        report = publish(model, out)
        assert report.tree_size > TILE_WIDTH
        root = load(out, "index.json")
        assert root["log"]["wide_bundles"] == [0]  # the structure's bundle; the next is spec
        assert (out / bundle_path(1, report.tree_size - TILE_WIDTH)).exists()
        head = load(out, root["election_index"]["test-2024"])
        listed = stations_listed(out, head)
        bundles = set()
        for station in ("S1", "S150"):  # forms in the wide bundle, and one in the next
            name = head["station_file"].format(station=station, size=listed[station])
            page = load(out, name)
            Checkpoint.open(page["checkpoint"], e.ctx.log_key)  # the answer's own checkpoint
            for form in page["station"]["forms"]:
                leaf, _ = verified_leaf(out, e.ctx.log_key, form["leaf_index"])
                body = json.loads(leaf)["body"]
                assert hashlib.sha256(canonical(body)).hexdigest() == form["form_id"]
                assert body["votes"] == form["votes"]
                bundles.add(form["leaf_index"] // TILE_WIDTH)
        assert bundles == {0, 1}
    finally:
        e.ctx.close()


def test_the_structure_leaf_is_in_the_wide_bundle_and_hashes_to_the_tree(tmp_path):
    e, _ = big_election(tmp_path / "home")
    try:
        out = tmp_path / "out"
        publish(ReadModel(e.ctx.store), out)
        leaf, _ = verified_leaf(out, e.ctx.log_key, 0)
        assert len(leaf) > 0xFFFF
        assert not (out / "tile/entries/000.p/2").exists()  # never at the spec's path
    finally:
        e.ctx.close()


# --- publishers on one directory -------------------------------------------------------------


def test_publishers_in_four_threads_leave_the_directory_whole(election, tmp_path):
    out = tmp_path / "out"
    url = election.ctx.settings.database_url
    election.submit(form_doc("S1"), form_doc("S2"))
    middle = sizes(ReadModel(election.ctx.store))[-1]
    election.submit(form_doc("S3"), form_doc("S4"))
    reports = []

    def run(as_of: int | None) -> None:
        store = Store(url)
        try:
            reports.append(publish(ReadModel(store), out, as_of))
        finally:
            store.close()

    threads = [threading.Thread(target=run, args=(a,)) for a in (middle, None, middle, None)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(reports) == 4
    newest = max(r.tree_size for r in reports)
    assert assert_published(ReadModel(election.ctx.store), out) == newest
    assert not [p for p in out.rglob(".tmp-*")]


def test_two_commands_at_once_and_the_command_line(sqlite_election, tmp_path):
    election, home = sqlite_election, tmp_path / "home"
    election.submit(form_doc("S1"), form_doc("S2"), form_doc("S3", contest="PP-1", votes=(5, 6)))
    model = ReadModel(election.ctx.store)
    middle, newest = sizes(model)[-2:]
    out = tmp_path / "out"
    command = [sys.executable, "-m", "tallyproof", "--home", str(home), "publish", str(out)]
    env = {k: v for k, v in os.environ.items() if k != "TALLYPROOF_DATABASE_URL"}
    runs = [
        subprocess.Popen(
            [*command, *extra, "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for extra in (["--as-of", str(middle)], [])
    ]
    outputs = [r.communicate(timeout=120) for r in runs]
    for run, (_, errors) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, errors
    done = [json.loads(stdout) for stdout, _ in outputs]
    assert done[1]["tree_size"] == newest and done[1]["directory"] == str(out)
    assert assert_published(model, out) == newest
    assert load(out, "index.json")["log_key"] == election.ctx.log_key.vkey
    again = cli(home, "publish", str(out)).stdout
    assert "nothing written: the directory already holds tree size" in again


# --- heads never go back ---------------------------------------------------------------------


def test_an_empty_log_publishes_nothing_and_moves_nothing(election, tmp_path):
    out = tmp_path / "out"
    publish(ReadModel(election.ctx.store), out)
    before = files(out)
    empty = LedgerWriter.initialise(Settings.at(tmp_path / "empty"))
    try:
        report = publish(ReadModel(empty.store), out)
        assert report.written == 0 and "no checkpoint" in report.note
        assert files(out) == before
        fresh = publish(ReadModel(empty.store), tmp_path / "fresh")
        assert fresh.written == 0 and not (tmp_path / "fresh" / "index.json").exists()
    finally:
        empty.close()


def test_another_log_is_refused(election, tmp_path):
    out = tmp_path / "out"
    publish(ReadModel(election.ctx.store), out)
    before = files(out)
    other = make_election(tmp_path / "other", stations=2)
    try:
        other.submit(*[form_doc(f"S{i}") for i in (1, 2)])
        other.submit(*[form_doc(f"S{i}", (1, 2), contest="PP-1") for i in (1, 2)])
        with pytest.raises(StoreInconsistent, match=r"publish\.diverged"):
            publish(ReadModel(other.ctx.store), out)
    finally:
        other.ctx.close()
    assert files(out) == before


def test_ids_are_escaped_into_one_path_segment():
    assert segment("NA-122") == "NA-122"
    assert segment("LHR/001:a") == "LHR~2F001~3Aa"
    assert segment("..") == "~2E."
    assert bucket("S1") == hashlib.sha256(b"S1").hexdigest()[:2]


def test_the_directorys_own_tiles_are_checked_and_a_missing_edge_rebuilt(election, tmp_path):
    out = tmp_path / "out"
    model = ReadModel(election.ctx.store)
    election.submit(form_doc("S1"))
    size = publish(model, out).tree_size
    edge = out / f"tile/0/000.p/{size}"
    good = edge.read_bytes()
    edge.write_bytes(bytes([good[0] ^ 1]) + good[1:])  # a damaged copy of the log's tiles
    election.submit(form_doc("S2"))
    before = files(out)
    with pytest.raises(StoreInconsistent, match=r"publish\.root"):
        publish(model, out)
    assert files(out) == before  # the root is checked before anything is written
    edge.unlink()  # gone: the tiles are built again from the leaves
    report = publish(model, out)
    assert report.tree_size > size
    assert assert_published(model, out) == report.tree_size
    checkpoint = Checkpoint.open((out / "checkpoint").read_text(), election.ctx.log_key)
    assert tree_root(checkpoint.size, read_tile(out)) == checkpoint.root
