"""Handing runs of events to readers: a reader that keeps up is written to at once and in
order; one whose connection is backed up gets its runs later, in order, none twice; one that
falls too far behind is let go (to come back by its Last-Event-ID)."""

from __future__ import annotations

import asyncio

from tallyproof.api.events import Chunk, Reader
from tallyproof.service.feed import LeafEvent


def event(seq: int) -> LeafEvent:
    return LeafEvent(seq, "form", f"id{seq}", "e", "k", "2024-02-08T13:00:00.000Z", {})


def chunk(*seqs: int) -> Chunk:
    return Chunk([event(s) for s in seqs])


class Connection:
    """An ASGI send whose socket can be backed up: while there is no `room`, a send waits."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.room = asyncio.Event()
        self.room.set()

    async def send(self, message: dict) -> None:
        if not self.room.is_set():
            await self.room.wait()
        self.written.append(message["body"])

    def ids(self) -> list[int]:
        text = b"".join(self.written).decode()
        return [int(line[4:]) for line in text.splitlines() if line.startswith("id: ")]


def run(coroutine):
    return asyncio.run(coroutine)


def test_a_reader_that_keeps_up_is_written_at_once_in_order():
    async def go():
        conn = Connection()
        reader = Reader(conn.send, (None, False), -1, limit=4)
        reader.release()
        reader.offer(chunk(0, 1))
        reader.offer(chunk(2))
        assert conn.ids() == [0, 1, 2]  # no task, no waiting: written there and then

    run(go())


def test_runs_during_the_backlog_wait_and_none_is_sent_twice():
    async def go():
        conn = Connection()
        reader = Reader(conn.send, (None, False), -1, limit=4)
        reader.offer(chunk(3, 4))  # arrives while the backlog is being sent
        reader.offer(chunk(5))
        await conn.send({"body": b"id: 0\n\nid: 1\n\nid: 2\n\nid: 3\n\n"})  # the backlog
        reader.sent = 3
        reader.release()
        assert conn.ids() == [0, 1, 2, 3, 4, 5]

    run(go())


def test_a_backed_up_connection_gets_its_runs_later_in_order():
    async def go():
        conn = Connection()
        reader = Reader(conn.send, (None, False), -1, limit=4)
        reader.release()
        conn.room.clear()
        reader.offer(chunk(0))  # must wait: a task finishes it
        reader.offer(chunk(1))
        reader.offer(chunk(2))
        assert conn.ids() == [] and reader.busy
        conn.room.set()
        await asyncio.sleep(0.01)
        assert conn.ids() == [0, 1, 2] and not reader.busy and not reader.gone.is_set()

    run(go())


def test_a_reader_too_far_behind_is_let_go():
    async def go():
        conn = Connection()
        reader = Reader(conn.send, (None, False), -1, limit=3)
        reader.release()
        conn.room.clear()
        for seq in range(6):
            reader.offer(chunk(seq))
        assert reader.gone.is_set()
        reader.offer(chunk(9))  # nothing more is kept for it
        assert len(reader.waiting) <= 4

    run(go())


def test_an_election_filter_drops_other_elections_events():
    async def go():
        conn = Connection()
        reader = Reader(conn.send, ("other", False), -1, limit=4)
        reader.release()
        reader.offer(chunk(0, 1))
        assert conn.written == [] and reader.sent == 1

    run(go())
