"""Shared fixtures: real SQLite files, the real PostgreSQL server when named, shared data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.helpers import fresh_pg_schema

# Properties are about behaviour, not speed: no per-example deadline (CI machines are shared).
settings.register_profile("tallyproof", deadline=None)
settings.load_profile("tallyproof")

REPO = Path(__file__).resolve().parents[1]
# The heavy reliability suite (tests/heavy) runs only from `make test-heavy`: it takes hours.
collect_ignore = [] if os.environ.get("TALLYPROOF_HEAVY") else ["heavy"]
SHARED_DATA = REPO.parent / "shared" / "data"
PG_URL = os.environ.get("TALLYPROOF_TEST_PG_URL", "")
_PG_SKIPPED: list[str] = []


def shared_data(name: str) -> Path:
    """A data set under ../shared/data, or skip the test saying which is missing."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"shared data set {name} is not beside the repository")
    return path


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    if not PG_URL:
        _PG_SKIPPED.append("x")
        pytest.skip("PostgreSQL tests skipped: TALLYPROOF_TEST_PG_URL is not set")
    return PG_URL


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A fresh schema on the PostgreSQL server for one test, dropped afterwards."""
    with fresh_pg_schema(pg_server_url) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Both stores run the same tests (the store conformance suite)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    return request.getfixturevalue("pg_url")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not PG_URL:
        terminalreporter.write_line(
            "PostgreSQL tests were SKIPPED: set TALLYPROOF_TEST_PG_URL "
            "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to run them.",
            yellow=True,
            bold=True,
        )
