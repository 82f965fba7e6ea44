"""A served test election: the election of tests/helpers.py in a home, and a real server on
loopback over it (SQLite, and PostgreSQL when the suite has a server)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.helpers import ElectionFixture, make_election
from tests.serving import Server


@dataclass
class Served:
    server: Server
    election: ElectionFixture
    http: httpx.Client

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture
def served(tmp_path, store_url) -> Iterator[Served]:
    election = make_election(tmp_path / "home", store_url)
    election.ctx.close()
    server = Server(tmp_path / "home", store_url).start()
    try:
        with server.client() as http:
            yield Served(server, election, http)
    finally:
        server.stop()


@pytest.fixture
def served_sqlite(tmp_path) -> Iterator[Served]:
    election = make_election(tmp_path / "home")
    election.ctx.close()
    server = Server(tmp_path / "home").start()
    try:
        with server.client() as http:
            yield Served(server, election, http)
    finally:
        server.stop()
