"""Where the fault tests put a store: a small tmpfs that can fill up (and be enlarged again),
a directory that can be turned read-only (a bind mount of itself), and on PostgreSQL a role of
the test's own (its schema, its default tablespace on such a tmpfs, its read-only setting), so
nothing the test does reaches the other tests sharing the server."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

MB = 1 << 20


def _mount(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["mount", *args], capture_output=True, text=True)


@contextlib.contextmanager
def tmpfs(path: Path, size: int, owner: str | None = None) -> Iterator[Path]:
    """A tmpfs of `size` bytes at `path` (owned by `owner`, if given); skips the test, saying
    why, where mounting is not permitted."""
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size}"
    if owner:
        user = pwd.getpwnam(owner)
        options += f",uid={user.pw_uid},gid={user.pw_gid},mode=0700"
    done = _mount("-t", "tmpfs", "-o", options, "tmpfs", str(path))
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {done.stderr}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def room(path: Path, size: int) -> None:
    """Leave `size` bytes free, and an empty filler file ready to take them (creating a file
    on a full tmpfs fails too)."""
    (path / "filler").touch()
    resize(path, used(path) + size)


def resize(path: Path, size: int) -> None:
    """Grow or shrink a tmpfs (not below what it holds): more room, or a fuller disk."""
    done = _mount("-o", f"remount,size={size}", str(path))
    assert done.returncode == 0, done.stderr


def used(path: Path) -> int:
    stat = os.statvfs(path)
    return (stat.f_blocks - stat.f_bfree) * stat.f_frsize


def fill(path: Path) -> Path:
    """Take every byte left on the file system with the filler file `room` made."""
    filler = path / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_APPEND)
    try:
        for size in (64 << 10, 4096, 1):
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * size) == size:
                    pass
    finally:
        os.close(fd)
    assert os.statvfs(path).f_bavail == 0
    return filler


@contextlib.contextmanager
def flippable(path: Path) -> Iterator[Path]:
    """A directory bind-mounted on itself, so it can be remounted read-only and back."""
    path.mkdir(parents=True, exist_ok=True)
    done = _mount("--bind", str(path), str(path))
    if done.returncode:
        pytest.skip(f"cannot bind-mount here (needs root or CAP_SYS_ADMIN): {done.stderr}")
    try:
        yield path
    finally:
        _mount("-o", "remount,bind,rw", str(path))
        subprocess.run(["umount", "-l", str(path)], check=False)


def read_only(path: Path, on: bool) -> None:
    """Remount the bind mount read-only (on) or writable (off). Linux refuses (EBUSY) while a
    process holds a file there open for writing, so the store must be closed, or its writer
    dead (all its processes), first."""
    deadline = time.monotonic() + 30  # a writer just SIGKILLed closes its files as it dies
    while True:
        done = _mount("-o", f"remount,bind,{'ro' if on else 'rw'}", str(path))
        if done.returncode == 0 or "busy" not in done.stderr or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert done.returncode == 0, done.stderr


class PgRole:
    """A login role and a schema it owns, on the test server; its URL logs in as it."""

    def __init__(self, server_url: str) -> None:
        self.name = f"tp_heavy_{uuid.uuid4().hex[:10]}"
        self.admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        self.tablespace: str | None = None
        url = make_url(server_url).set(username=self.name)
        self.url = url.update_query_dict(
            {"options": f"-csearch_path={self.name}"}
        ).render_as_string(hide_password=False)

    def sql(self, statement: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(statement))

    def create(self) -> None:
        self.sql(f'CREATE ROLE "{self.name}" LOGIN')
        self.sql(f'CREATE SCHEMA "{self.name}" AUTHORIZATION "{self.name}"')

    def put_tables_in(self, location: Path) -> None:
        """Every table and index the role creates from now on goes to a tablespace at
        `location` (an empty directory the server's user owns)."""
        self.tablespace = self.name
        self.sql(f"CREATE TABLESPACE \"{self.name}\" LOCATION '{location}'")
        self.sql(f'GRANT CREATE ON TABLESPACE "{self.name}" TO "{self.name}"')
        self.sql(f'ALTER ROLE "{self.name}" SET default_tablespace = "{self.name}"')

    def read_only(self, on: bool) -> None:
        """Make the role's transactions read-only (or not), and end its sessions: a setting
        reaches new sessions only, and its clients reconnect (pool_pre_ping), as they would
        after a fail-over to a read-only server."""
        change = (
            "SET default_transaction_read_only = on"
            if on
            else "RESET default_transaction_read_only"
        )
        self.sql(f'ALTER ROLE "{self.name}" {change}')
        self.end_sessions()

    def end_sessions(self) -> None:
        self.sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE usename = '{self.name}' AND pid <> pg_backend_pid()"
        )

    def drop(self) -> None:
        self.end_sessions()
        self.sql(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')
        if self.tablespace:
            self.sql(f'DROP TABLESPACE IF EXISTS "{self.tablespace}"')
        self.sql(f'DROP ROLE IF EXISTS "{self.name}"')
        self.admin.dispose()


@contextlib.contextmanager
def pg_role(server_url: str) -> Iterator[PgRole]:
    role = PgRole(server_url)
    try:
        role.create()
    except Exception as error:  # any refusal means: this cannot be tested here
        role.admin.dispose()
        pytest.skip(f"cannot create a role on the test server: {error}")
    try:
        yield role
    finally:
        role.drop()


@contextlib.contextmanager
def tablespace_disk(size: int) -> Iterator[Path]:
    """A tmpfs the PostgreSQL server's user owns, where that server can reach it (not under
    pytest's root-only temporary directory), holding an empty directory for a tablespace."""
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no postgres user here: the server is not on this machine")
    base = Path(tempfile.mkdtemp(prefix="tallyproof-tablespace-"))
    base.chmod(0o755)
    try:
        with tmpfs(base / "disk", size, owner="postgres") as disk:
            location = disk / "ts"
            location.mkdir()
            shutil.chown(location, "postgres", "postgres")
            yield disk
    finally:
        shutil.rmtree(base, ignore_errors=True)
