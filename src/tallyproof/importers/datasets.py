"""Shared steps for importing a public results data set as an election with its sources."""

from __future__ import annotations

import re
from typing import Any

from tallyproof.importers.plan import Plan

_SLUG = re.compile(r"[^A-Za-z0-9]+")


def party_code(name: str) -> str:
    """A ledger-safe party code from a name or abbreviation ("PML-N", "Pakistan Muslim
    League (N)" -> "Pakistan-Muslim-League-N")."""
    return _SLUG.sub("-", name).strip("-")[:64] or "unknown"


def register(
    plan: Plan, election: str, admin: str, name: str, source: str, when: str, **scope: list[str]
) -> None:
    """Add a key registration for `source`, signed by the election's admin key."""
    key = plan.key(name)
    body: dict[str, Any] = {
        "election": election,
        "key": {"name": name, "public_key": key.public.b64},
        "source": source,
        "time": when,
        **scope,
    }
    plan.add("register_key", f"{election}: key {name}", [body], [plan.key(admin)])
