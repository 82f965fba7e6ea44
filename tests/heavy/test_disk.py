"""A disk that fills up and a store that turns read-only: every write is refused with a code
that names the cause (`store.full`, `store.read_only`: 503 from the HTTP API, exit 3 from the
CLI, StoreRefused from the service layer) and a message saying what to do; nothing refused
is logged, nothing acknowledged is lost, reads still answer, and once there is room again (or
the store is writable again) writing resumes on a log consistent with everything published.

SQLite keeps its home on a small tmpfs; PostgreSQL keeps the store's tables in a tablespace
on one (the home, with the log key, stays on the ordinary disk). Read-only is a read-only
bind mount for SQLite (taken after a crash: Linux will not remount a file system read-only
under a process writing to it, and a cleanly closed WAL-mode database cannot be opened on a
read-only volume at all, see the closing note) and `default_transaction_read_only` for the
store's role on PostgreSQL, whose sessions are ended so clients reconnect to it, as after a
fail-over to a read-only server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tallyproof.sample.synthetic import SyntheticSpec
from tallyproof.service import submission
from tallyproof.service.settings import Settings
from tallyproof.service.writer import LedgerWriter
from tallyproof.store.faults import FULL, READ_ONLY, StoreRefused
from tallyproof.store.kept import KeptCheckpoints
from tests.heavy.checks import Acknowledged, check_home, initialised, night
from tests.heavy.places import (
    MB,
    PgRole,
    fill,
    flippable,
    pg_role,
    read_only,
    resize,
    room,
    tablespace_disk,
    tmpfs,
)
from tests.heavy.tally import tally
from tests.helpers import cli
from tests.serving import Server

SPEC = SyntheticSpec(stations=1000, na_contests=3, pa_contests=6, candidates=5, seed=29)
PLAN, ENVELOPES, IDS = night(SPEC)
BATCH = 10  # forms a transaction (a POST)
# Once full, a write that fits in room the store already took is still logged (SQLite's WAL
# reuses the frames a refused transaction wrote; PostgreSQL fills pages it has) and rightly
# so; a write bigger than the one refused needs new room, and must be refused.
STILL_FULL = 4 * BATCH
ROOM = 1 * MB  # left on the disk once the election is set up: a few hundred forms
WORDS = {FULL: "disk holding the log is full", READ_ONLY: "store is read-only"}


@dataclass
class Place:
    """A home whose store can be made to fail: its settings, the tmpfs its store's bytes are
    on (for a full disk), and where the server's output goes (off that disk)."""

    settings: Settings
    disk: Path
    log: Path
    role: PgRole | None = None
    acked: Acknowledged = field(default_factory=Acknowledged)
    sent: int = 0  # forms of ENVELOPES handed out so far, in order
    # forms logged by a write refused only after its commit (its checkpoint could not be
    # kept beside the log key): not acknowledged, so allowed to be in the store or not
    unacknowledged: set[str] = field(default_factory=set)
    refused: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # to send again
    refusals: int = 0  # writes refused with a store fault's code

    @property
    def url(self) -> str | None:
        return self.role.url if self.role else None

    def next_batch(self, size: int = BATCH) -> list[tuple[str, dict[str, Any]]]:
        batch = list(zip(IDS, ENVELOPES, strict=True))[self.sent : self.sent + size]
        assert len(batch) == size, "the forms ran out before the disk filled: less ROOM"
        self.sent += len(batch)
        return batch

    def batches_again(self) -> list[list[tuple[str, dict[str, Any]]]]:
        """The refused forms to send again, a batch at a time, then four new batches."""
        again, self.refused = self.refused, []
        return [again[i : i + BATCH] for i in range(0, len(again), BATCH)] + [
            self.next_batch() for _ in range(4)
        ]

    def server(self) -> Server:
        return Server(self.settings.home, self.url, args=("--workers", "2"), log=self.log)


def set_up(home: Path, url: str | None) -> Settings:
    return initialised(home, url, PLAN)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def small_disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Place]:
    """An election set up on a store with ROOM bytes left on its disk."""
    if request.param == "sqlite":
        with tmpfs(tmp_path / "disk", 64 * MB) as disk:
            settings = set_up(disk / "home", None)
            room(disk, ROOM)
            yield Place(settings, disk, tmp_path / "serve.log")
        return
    server_url = request.getfixturevalue("pg_server_url")
    with tablespace_disk(64 * MB) as disk, pg_role(server_url) as role:
        role.put_tables_in(disk / "ts")
        settings = set_up(tmp_path / "home", role.url)
        room(disk, ROOM)
        yield Place(settings, disk, tmp_path / "serve.log", role)


def assert_refused(error: BaseException | dict[str, Any], code: str) -> None:
    """The refusal names its cause by code and in words, and says what to do."""
    said = error if isinstance(error, dict) else {"code": error.code, "detail": str(error)}  # type: ignore[union-attr]
    assert said["code"] == code, said
    assert WORDS[code] in said["detail"], said
    assert "send it again" in said["detail"] or "sending it again" in said["detail"], said


# --- disk full ---------------------------------------------------------------------------


def test_disk_full_through_the_service_layer(small_disk: Place) -> None:
    place = small_disk
    writer = LedgerWriter.open(place.settings)
    try:
        refused = submit_until_refused(writer, place)
        assert_refused(refused, FULL)
        filler = fill(place.disk)
        for _ in range(3):  # and every write after it: the disk is still full
            batch = place.next_batch(STILL_FULL)
            with pytest.raises(StoreRefused) as again:
                submit(writer, place, batch)
            assert_refused(again.value, FULL)
            place.refused += batch
            place.refusals += 1
        check_stored(writer, place)
        check_cli_refuses(place, FULL)
        filler.unlink()
        resize(place.disk, 64 * MB)
        resume(writer, place)
    finally:
        writer.close()
    check_home(place.settings, place.acked, None)
    record("disk full (service layer)", place)


def test_disk_full_through_the_http_server(small_disk: Place) -> None:
    place = small_disk
    server = place.server().start()
    try:
        with server.client() as http:
            problem = post_until_refused(http, place)
            assert_refused(problem, FULL)
            filler = fill(place.disk)
            for _ in range(3):
                batch = place.next_batch(STILL_FULL)
                answer = post(http, place, batch)
                assert answer.status_code == 503, answer.text
                assert_refused(answer.json(), FULL)
                place.refused += batch
                place.refusals += 1
            check_reads_answer(http, place)
            filler.unlink()
            resize(place.disk, 64 * MB)
            resume_over_http(http, place)
    finally:
        server.stop()
    check_home(place.settings, place.acked, None)
    record("disk full (HTTP)", place)


def submit(writer: LedgerWriter, place: Place, batch: list[tuple[str, dict[str, Any]]]) -> None:
    """One transaction of forms; each acknowledged with its receipt."""
    outcomes = submission.submit_forms(writer, [e for _, e in batch])
    for (entry_id, envelope), outcome in zip(batch, outcomes, strict=True):
        assert outcome.accepted and outcome.receipt is not None, outcome.problems
        place.acked.add(entry_id, envelope, outcome.receipt.as_dict())


def submit_until_refused(writer: LedgerWriter, place: Place) -> StoreRefused:
    """Submit until the disk is full; the refused batch is not logged (unless the refusal
    says it was: only keeping its checkpoint beside the log key failed)."""
    while True:
        batch = place.next_batch()
        try:
            submit(writer, place, batch)
        except StoreRefused as error:
            refused = error
            place.refused += batch
            place.refusals += 1
            break
    assert place.acked.forms, "the disk filled before any form was logged: more ROOM"
    ids = {i for i, _ in batch}
    if "nothing of this write was logged" in str(refused):
        assert not stored_ids(writer) & ids, "a refused write was logged"
    else:
        assert ids <= stored_ids(writer), refused
        place.unacknowledged |= ids
    return refused


def stored_ids(writer: LedgerWriter) -> set[str]:
    with writer.read() as reader:
        return {row.form_id for row in reader.forms(SPEC.election_id)}


def check_stored(writer: LedgerWriter, place: Place) -> None:
    """Reads answer while writes are refused; every acknowledged form is stored, and no
    refused one (but those the refusal said were logged)."""
    stored = stored_ids(writer)
    assert set(place.acked.forms) <= stored, "an acknowledged form is lost"
    assert stored - set(place.acked.forms) <= place.unacknowledged, "a refused form was logged"


def resume(writer: LedgerWriter, place: Place) -> None:
    """Room again: the forms refused, and more, are logged."""
    for batch in place.batches_again():
        submit(writer, place, batch)


def check_cli_refuses(place: Place, code: str) -> None:
    """`tallyproof submit` says the same, and exits 3 (not ready), writing nothing."""
    path = place.log.parent / "more-forms.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in ENVELOPES[-BATCH:]))
    done = cli(place.settings.home, "submit", str(path), check=3, database_url=place.url)
    said = " ".join((done.stderr + done.stdout).split())
    assert code in said and WORDS[code] in said, said
    print(f"\nthe CLI: exit {done.returncode}: {said}")
    place.refusals += 1
    writer = LedgerWriter.open(place.settings)
    try:
        assert not stored_ids(writer) & set(IDS[-BATCH:]), "the CLI logged a refused form"
    finally:
        writer.close()


def post(
    http: httpx.Client, place: Place, batch: list[tuple[str, dict[str, Any]]]
) -> httpx.Response:
    """POST a batch of forms; take each receipt of a 200 answer."""
    answer = http.post("/v1/forms", json={"forms": [e for _, e in batch]})
    if answer.status_code == 200:
        for (entry_id, envelope), outcome in zip(batch, answer.json()["outcomes"], strict=True):
            assert outcome["accepted"], outcome
            place.acked.add(entry_id, envelope, outcome["receipt"])
    return answer


def post_until_refused(http: httpx.Client, place: Place) -> dict[str, Any]:
    while True:
        batch = place.next_batch()
        answer = post(http, place, batch)
        if answer.status_code != 200:
            place.refused += batch
            place.refusals += 1
            break
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert place.acked.forms, "the disk filled before any form was logged: more ROOM"
    print(f"\nrefused: {answer.status_code} {answer.text}")
    return answer.json()


def check_reads_answer(http: httpx.Client, place: Place) -> None:
    """While writes are refused the log still answers: its newest checkpoint, the election,
    and an inclusion proof for forms acknowledged before (first, last)."""
    assert http.get("/v1/checkpoints/latest").status_code == 200
    assert http.get(f"/v1/elections/{SPEC.election_id}").status_code == 200
    held = list(place.acked.forms.values())
    for _, receipt in (held[0], held[-1]):
        assert receipt is not None
        proof = http.get(
            "/v1/proofs/inclusion",
            params={"kind": "form", "id": receipt["entry_id"], "tree_size": receipt["tree_size"]},
        )
        assert proof.status_code == 200, proof.text
        assert proof.json()["leaf_index"] == receipt["leaf_index"]


def resume_over_http(http: httpx.Client, place: Place) -> None:
    """Room again (or writable again): the forms refused, and more, are logged."""
    for batch in place.batches_again():
        answer = post(http, place, batch)
        assert answer.status_code == 200, answer.text


def record(kind: str, place: Place) -> None:
    """Add this test's figures to its kind's, and print them."""
    counts = tally(kind)
    counts.runs += 1
    counts.inputs += place.sent
    counts.acknowledged += len(place.acked.forms)
    counts.refused += place.refusals
    backend = "postgresql" if place.role else "sqlite"
    print(
        f"\n{kind}, {backend}: {place.sent} forms sent, {len(place.acked.forms)} acknowledged, "
        f"{place.refusals} writes refused, none lost"
    )


# --- read-only ---------------------------------------------------------------------------


def test_sqlite_read_only(tmp_path: Path) -> None:
    """The volume comes back read-only after a crash: the server starts, answers reads,
    refuses writes with store.read_only; the service layer and the CLI refuse alike; once
    writable again, a restarted server logs forms again and nothing was lost."""
    with flippable(tmp_path / "volume") as volume:
        place = Place(set_up(volume / "home", None), volume, tmp_path / "serve.log")
        server = place.server().start()
        with server.client() as http:
            for _ in range(5):
                assert post(http, place, place.next_batch()).status_code == 200
        server.kill()  # its WAL and shared-memory files stay: SQLite can read them read-only
        read_only(volume, True)
        check_refused_everywhere(place)
        read_only(volume, False)
        check_writable_again(place)
    record("read-only", place)


@pytest.mark.postgres
def test_postgresql_read_only(tmp_path: Path, pg_server_url: str) -> None:
    """The store's role turns read-only under a running server: writes are refused with
    store.read_only (server, service layer, CLI), reads answer; made writable again, the same
    server logs forms again and nothing was lost."""
    with pg_role(pg_server_url) as role:
        place = Place(set_up(tmp_path / "home", role.url), tmp_path, tmp_path / "serve.log", role)
        server = place.server().start()
        try:
            with server.client() as http:
                for _ in range(5):
                    assert post(http, place, place.next_batch()).status_code == 200
                role.read_only(True)
                refuse_over_http(http, place)
                check_refused_in_process(place)
                check_cli_refuses(place, READ_ONLY)
                role.read_only(False)
                resume_over_http(http, place)
        finally:
            server.stop()
        check_home(place.settings, place.acked, None)
    record("read-only", place)


def check_refused_everywhere(place: Place) -> None:
    """A server started on the read-only store answers reads and refuses writes; so do the
    service layer and the CLI."""
    server = place.server().start()
    try:
        with server.client() as http:
            refuse_over_http(http, place)
    finally:
        server.stop()
    check_refused_in_process(place)
    check_cli_refuses(place, READ_ONLY)


def refuse_over_http(http: httpx.Client, place: Place) -> None:
    for _ in range(3):
        batch = place.next_batch()
        answer = post(http, place, batch)
        assert answer.status_code == 503, answer.text
        assert_refused(answer.json(), READ_ONLY)
        print(f"\nrefused: {answer.status_code} {answer.text}")
        place.refused += batch
        place.refusals += 1
    check_reads_answer(http, place)


def check_refused_in_process(place: Place) -> None:
    writer = LedgerWriter.open(place.settings)
    try:
        batch = place.next_batch()
        with pytest.raises(StoreRefused) as refused:
            submit(writer, place, batch)
        assert_refused(refused.value, READ_ONLY)
        place.refused += batch
        place.refusals += 1
        check_stored(writer, place)
    finally:
        writer.close()


def check_writable_again(place: Place) -> None:
    server = place.server().start()
    try:
        with server.client() as http:
            resume_over_http(http, place)
    finally:
        server.stop()
    check_home(place.settings, place.acked, None)


def test_a_checkpoint_line_the_disk_cannot_hold_leaves_no_fragment(tmp_path: Path) -> None:
    """The log keeps each checkpoint beside its key after the commit. A full disk can take
    part of the line (what is left of the file's last page): that part is cut off again and
    the refusal says store.full, so the file still reads and the next line starts clean."""
    with tmpfs(tmp_path / "disk", 1 * MB) as disk:
        kept = KeptCheckpoints(disk / "checkpoints.log")
        kept.append(1, "first")
        (disk / "filler").touch()
        fill(disk)
        with pytest.raises(StoreRefused) as refused:
            kept.append(2, "x" * 8192)  # more than the rest of the file's page
        assert refused.value.code == FULL
        assert "was logged" in str(refused.value)  # the commit stands; only this line failed
        assert (disk / "checkpoints.log").read_bytes().count(b"\n") == 1
        assert KeptCheckpoints(disk / "checkpoints.log").latest() == (1, "first")
        (disk / "filler").unlink()
        kept.append(3, "third")
        assert KeptCheckpoints(disk / "checkpoints.log").latest() == (3, "third")
