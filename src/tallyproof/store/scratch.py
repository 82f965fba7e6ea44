"""A schema of its own on a shared PostgreSQL server: tests and benchmarks each get an empty
one, use it through the URL given, and leave nothing behind."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text


@contextmanager
def scratch_schema(server_url: str, prefix: str, digits: int = 12) -> Iterator[str]:
    """A new, empty schema named `prefix_<random hex>`, as a URL whose connections use it;
    dropped with everything in it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:digits]}"
    admin = create_engine(server_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    sep = "&" if "?" in server_url else "?"
    try:
        yield f"{server_url}{sep}options=-csearch_path%3D{name}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()
