"""Hostile input at every door that reads outside data: forms (.json, .jsonl, .csv) to
`submit`, declarations to `declare`, structures (a .json file and a CSV set) to
`import-structure`, status orders (the `status` arguments), news reports to `claims ingest`,
bundles to `audit` and receipts to `verify-receipt`.

The contract, for every generated input:

- REFUSED: exit 1 (a rule broken) or 3 (unreadable file, not ready); for `audit`, 4. A rule
  code (`input.duplicate_key`, `votes.not_integer`, ...) is printed, and the store is
  unchanged: the same rows in every table of the home's SQLite file, the same files in the
  home. (A file of several documents may have some of them accepted; then those must be
  re-derivable, as below.)
- ACCEPTED: exit 0, and what was accepted is re-derivable: `export-bundle` then `audit`
  exit 0.
- Never a traceback, never more than SECONDS for one input.

Some inputs must be refused wherever they appear and must name their rule (NaN, integers
beyond 2**53, lone surrogates, bytes that are not UTF-8, duplicate JSON keys or CSV columns,
CSV rows longer than their header, fields over 65,536 characters, empty files); an input
changed only in ways that mean nothing (a UTF-8 BOM, indentation, CRLF line ends, quoting)
must be accepted. The commands run in process (Typer's CliRunner) on a fresh copy of one
initialised home per input. Each property test prints how many inputs it tried (`pytest -s`).
`make test` draws the same inputs every run; `make test-hostile` draws fresh ones, ten times
as many.
"""

from __future__ import annotations

import copy
import csv
import difflib
import hashlib
import io
import itertools
import json
import os
import re
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rich.console import Console
from typer.testing import CliRunner, Result

from tallyproof.cli import app
from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.ledger.intake import MAX_REPORT_BYTES, MAX_SAFE_INTEGER
from tallyproof.ledger.keys import Signer
from tests.helpers import CANDIDATES, ELECTION, form_doc, structure_doc

SECONDS = 5.0  # "a few seconds" for any one input
# docs/rules.md, "Input limits"
SAFE_INTEGER = MAX_SAFE_INTEGER  # 2**53 - 1: beyond it, JSON readers differ on the number
MAX_DEPTH = 32  # levels of arrays and objects, the outermost being the first
MAX_STRING = 65_536  # characters in a string, a key, a CSV field
CSV_FIELD_LIMIT = 131_072  # the case: Python's own CSV limit
DATABASE = "tallyproof.sqlite"
TRANSIENT = ("-wal", "-shm", "-journal")  # SQLite's own files while a connection is open

ANY, REFUSED, ACCEPTED = "any", "refused", "accepted"

CONTROL = re.compile("[\x00-\x08\x0b-\x1f]")  # what no text field may hold (tab, newline may)
IDENT_LIKE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}")
WRITTEN_COUNT = re.compile(r"0|[1-9][0-9]*|0[0-9]+")  # as a count is written (0-padding aside)
CODE = re.compile(r"(?<![\w./\\-])([a-z][a-z_]+\.[a-z][a-z_]+)(?![\w/\\-]|\.\w)")
# the files whose names look like codes (the inputs here are named In.json, R.json, ...)
NOT_CODES = {"manifest.json", "ledger.jsonl", "checkpoints.jsonl", "results.json", "keys.json"}
NOT_CODES |= {"admin.key", "po.key", "ro.key", "dawn.key", "log.key", "checkpoints.log"}
NOT_CODES |= {"tallyproof.sqlite", "structure.json", "forms.jsonl", "receipts.jsonl"}
ACCEPTED_SOME = re.compile(r"(?:accepted|filed) (\d+) (?:new|reports)")
ACCEPTED_NOTHING = re.compile(r"accepted 0 new, 0 already in the ledger; refused 0")

IDENT_FIELDS = {"election", "station", "contest", "supersedes", "id", "code", "assembly"}
IDENT_FIELDS |= {"party", "backed_by", "joined", "target"}
ID_MAPS = {"votes", "stations"}  # JSON objects keyed by identifiers

# `make test` tries the same inputs every run, so that CI judges the change and not the
# draw; `make test-hostile` wanders: fresh inputs each run, ten times as many.
SCALE = int(os.environ.get("TALLYPROOF_HOSTILE_SCALE", "1"))
WANDER = os.environ.get("TALLYPROOF_HOSTILE_WANDER") == "1"
PROFILE = {
    "phases": (Phase.explicit, Phase.generate),  # every case describes itself; no shrinking
    "database": None,
    "print_blob": True,
    "deadline": None,
    "suppress_health_check": [
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.filter_too_much,
    ],
}


# --- running the command ------------------------------------------------------------------


class TookTooLong(Exception):  # noqa: N818 - what the failure says
    """Raised inside the command by the alarm."""


@contextmanager
def alarm(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: object) -> None:
        raise TookTooLong(f"still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


RUNNER = CliRunner()
ENV: dict[str, str | None] = {"TALLYPROOF_DATABASE_URL": None}  # no database but the home's
WIDTH = 1000  # columns: wide enough that Rich never folds a code in a table


def clip(text: str, limit: int = 2500) -> str:
    return text if len(text) <= limit else f"{text[: limit // 2]}\n[...]\n{text[-limit // 2 :]}"


def shown(args: Sequence[str]) -> str:
    return clip(" ".join(repr(a) if len(a) < 80 else repr(a[:60]) + "..." for a in args), 600)


def consoles() -> list[Console]:
    """The Rich consoles the commands print with."""
    found = []
    for name, module in list(sys.modules.items()):
        if name.startswith("tallyproof"):
            found += [v for v in list(vars(module).values()) if isinstance(v, Console)]
    return found


@contextmanager
def wide_and_clean() -> Iterator[None]:
    """Print wide (Rich takes COLUMNS, 80 under xdist, once, when a console is made); and
    afterwards drop what a console failed to write (a lone surrogate to a UTF-8 stream):
    left in its buffer it would fail every later command in this process. (A real command
    is a process of its own; the failure has been reported.)"""
    screens = consoles()
    widths = [c.width for c in screens]
    for c in screens:
        c.width = WIDTH
    try:
        yield
    finally:
        for c, width in zip(screens, widths, strict=True):
            c.begin_capture()
            c.end_capture()
            c.width = width


def tp(home: Path, *args: str) -> Result:
    """`tallyproof --home HOME ARGS`, in process. Fails on a crash, a traceback or a hang."""
    started = time.perf_counter()
    with wide_and_clean(), alarm(SECONDS):
        result = RUNNER.invoke(app, ["--home", str(home), *args], env=ENV)
    took = time.perf_counter() - started
    if isinstance(result.exception, TookTooLong):
        pytest.fail(f"`{shown(args)}` took more than {SECONDS:g} s", pytrace=False)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        error = result.exception
        trace = "".join(traceback.format_exception(error))
        pytest.fail(
            f"`{shown(args)}` crashed: {type(error).__name__}: {clip(str(error), 300)}\n"
            f"{clip(trace, 4000)}",
            pytrace=False,
        )
    assert "Traceback" not in result.output, (
        f"`{shown(args)}` printed a traceback:\n{clip(result.output)}"
    )
    assert took < SECONDS + 1, f"`{shown(args)}` took {took:.1f} s"
    return result


def rule_codes(text: str) -> set[str]:
    return {c for c in CODE.findall(text) if c not in NOT_CODES}


# --- the store, before and after ------------------------------------------------------------


@dataclass(frozen=True)
class Store:
    files: dict[str, str]  # path in the home -> SHA-256 (the database: its logical dump)
    rows: tuple[str, ...]

    def difference(self, other: Store) -> str:
        lines = [
            f"file {name}: {'added' if name not in self.files else 'removed' if name not in other.files else 'changed'}"
            for name in sorted(set(self.files) | set(other.files))
            if self.files.get(name) != other.files.get(name) and name != DATABASE
        ]
        lines += list(difflib.unified_diff(self.rows, other.rows, lineterm="", n=0))[2:12]
        return "\n".join(line[:300] for line in lines)


def store_of(home: Path) -> Store:
    files = {
        str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(home.rglob("*"))
        if p.is_file() and not p.name.endswith(TRANSIENT) and p.name != DATABASE
    }
    files[DATABASE] = "the rows below"
    db = sqlite3.connect(home / DATABASE)
    try:
        rows = tuple(db.iterdump())
    finally:
        db.close()
    return Store(files, rows)


# --- what an input must do -----------------------------------------------------------------


class Shown:
    """Shown by its own (short) repr in Hypothesis's reports too, which would otherwise
    print every field of a dataclass in full, megabytes of them."""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


@dataclass(frozen=True)
class Verdict(Shown):
    """What the contract asks of one input: ACCEPTED, REFUSED (naming one of `codes`, when
    there are any) or ANY (as the rules say). `early`: the rule fires while the bytes are
    read, before any other rule can, so it is the one named even when others are broken too.
    FINE (accepted) is what an unchanged input gets; a change makes it MAYBE at most."""

    expect: str = ANY
    codes: frozenset[str] = frozenset()
    why: str = ""
    early: bool = False
    resets: bool = False  # (of damage to the bytes) what held of the input before no longer does

    def __and__(self, other: Verdict) -> Verdict:
        """Two things true of one input: a refusal outweighs the rest."""
        why = "; ".join(dict.fromkeys(v.why for v in (self, other) if v.why))
        refusals = [v for v in (self, other) if v.expect == REFUSED]
        if not refusals:
            expect = ACCEPTED if self.expect == other.expect == ACCEPTED else ANY
            return Verdict(expect, why=why)
        first = [v for v in refusals if v.early and v.codes]
        if first:
            return Verdict(REFUSED, frozenset().union(*(v.codes for v in first)), why, True)
        if all(v.codes for v in refusals):
            return Verdict(REFUSED, frozenset().union(*(v.codes for v in refusals)), why)
        return Verdict(REFUSED, frozenset(), why)

    def loosely(self) -> Verdict:
        """The same, but another input (an option, a key) may be refused first."""
        return Verdict(self.expect, frozenset(), self.why) if self.expect == REFUSED else self

    def __str__(self) -> str:
        codes = f" with {'/'.join(sorted(self.codes))}" if self.codes else ""
        return f"{self.expect}{codes}" + (f" ({clip(self.why, 300)})" if self.why else "")

    __repr__ = __str__


def refuse(why: str, *codes: str, early: bool = False) -> Verdict:
    return Verdict(REFUSED, frozenset(codes), why, early)


FINE = Verdict(ACCEPTED)
MAYBE = Verdict(ANY)
UNKNOWN = Verdict(ANY, resets=True)


def after(verdict: Verdict, damage: Verdict) -> Verdict:
    """The verdict on an input after damage to its bytes."""
    return (
        Verdict(damage.expect, damage.codes, damage.why, damage.early)
        if damage.resets
        else verdict & damage
    )


def judge(home: Path, result: Result, before: Store, verdict: Verdict) -> str:
    """Hold one command's result to the contract; return "accepted" or "refused"."""
    out = result.output
    if result.exit_code == 0:
        assert verdict.expect != REFUSED, f"accepted, but must be refused: {verdict}\n{clip(out)}"
        assert not ACCEPTED_NOTHING.search(out), f"accepted nothing and exited 0:\n{clip(out)}"
        rederive(home)
        return "accepted"
    assert verdict.expect != ACCEPTED, (
        f"refused, but must be accepted (nothing in it is wrong):\n{clip(out)}"
    )
    assert result.exit_code in (1, 3), f"exit {result.exit_code}, not 1 or 3:\n{clip(out)}"
    codes = rule_codes(out)
    assert codes, f"exit {result.exit_code} without a rule code:\n{clip(out)}"
    assert not verdict.codes or codes & verdict.codes, (
        f"refused, but not with {'/'.join(sorted(verdict.codes))} ({verdict.why}); "
        f"named {sorted(codes)}:\n{clip(out)}"
    )
    some = ACCEPTED_SOME.search(out)
    if some and int(some.group(1)) > 0:  # several documents, some accepted
        rederive(home)
    else:
        now = store_of(home)
        assert now == before, f"a refused input changed the store:\n{before.difference(now)}"
    return "refused"


BUNDLES = itertools.count()


def rederive(home: Path) -> None:
    """What was accepted is in the record: a bundle of the home passes the audit."""
    bundle = home.parent / f"bundle-{next(BUNDLES)}"
    exported = tp(home, "export-bundle", str(bundle))
    assert exported.exit_code == 0, (
        f"export-bundle after an accepted input:\n{clip(exported.output)}"
    )
    audited = tp(home, "audit", str(bundle), "--workers", "1")
    assert audited.exit_code == 0, f"accepted, but the audit fails:\n{clip(audited.output)}"


# --- the homes, keys and a bundle to attack -------------------------------------------------


@dataclass
class World:
    root: Path
    keys: dict[str, Path]
    home: Path  # the test election; keys for S1-S4, for NA-1 and PP-1, and for media:Dawn
    bare: Path  # initialised, no election

    @contextmanager
    def trial(self, home: Path | None = None) -> Iterator[Path]:
        """A fresh directory holding a copy of `home` (as `home`), removed afterwards."""
        place = Path(tempfile.mkdtemp(dir=self.root / "trials"))
        try:
            if home is not None:
                shutil.copytree(home, place / "home")
            yield place
        finally:
            shutil.rmtree(place, ignore_errors=True)


def ok(result: Result, what: str) -> Result:
    assert result.exit_code == 0, f"setting up ({what}):\n{clip(result.output)}"
    return result


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("hostile")
    (root / "trials").mkdir()
    keys = {name: root / f"{name}.key" for name in ("admin", "po", "ro", "dawn")}
    home, bare = root / "home", root / "bare"
    ok(tp(home, "init", "--origin", "test.example/log"), "init")
    for name, key_name in (("admin", "test/admin"), ("po", "po/all"), ("ro", "ro/all")):
        ok(tp(home, "keygen", key_name, "--out", str(keys[name])), "keygen")
    ok(tp(home, "keygen", "media/dawn", "--out", str(keys["dawn"])), "keygen")
    (root / "structure.json").write_text(json.dumps(structure_doc()))
    admin = ("--admin-key", str(keys["admin"]))
    ok(tp(home, "import-structure", str(root / "structure.json"), *admin), "import-structure")
    stations = [a for s in ("S1", "S2", "S3", "S4") for a in ("--station", s)]
    for source, key, scope in (
        ("presiding_officer", "po", stations),
        ("returning_officer", "ro", ["--contest", "NA-1", "--contest", "PP-1"]),
        ("media:Dawn", "dawn", []),
    ):
        registered = tp(
            home, "register-key", "--source", source, *admin, "--key-file", str(keys[key]), *scope
        )
        ok(registered, f"register-key {source}")
    ok(tp(bare, "init", "--origin", "test.example/log"), "init")
    return World(root, keys, home, bare)


def explore(name: str, cases: st.SearchStrategy[Any], check: Callable[[Any], str], n: int) -> None:
    """Run `check` on `n` generated cases; print how many inputs were tried, and how they went."""
    tally: Counter[str] = Counter()
    failing: set[str] = set()  # Hypothesis runs a failing input again to report it

    @settings(max_examples=n * SCALE, derandomize=not WANDER, **PROFILE)
    @given(cases)
    def trial(case: Any) -> None:
        try:
            tally[check(case)] += 1
        except BaseException:
            failing.add(repr(case))
            tally["failing"] = len(failing)
            raise

    try:
        trial()
    finally:
        parts = ", ".join(f"{count} {what}" for what, count in sorted(tally.items()))
        print(f"\nhostile {name}: {sum(tally.values())} inputs tried ({parts})")


# --- JSON written any way at all ------------------------------------------------------------


@dataclass(frozen=True)
class Raw(Shown):
    """JSON text as written, where json.dumps would not write it (NaN, 1e400, "\\ud800",
    deep nesting). With `codes`, any reader must refuse it, naming one of them; else, when
    `counts`, a document whose numbers are all counts must refuse it."""

    text: str
    codes: frozenset[str] = frozenset()
    counts: bool = True
    depth: int = 0  # levels of arrays it nests

    def __repr__(self) -> str:
        return f"Raw({clip(self.text, 60)!r})"


@dataclass
class Obj:
    """A JSON object as its members in order; a name may repeat."""

    members: list[tuple[str | Raw, Any]]


def tree(value: Any) -> Any:
    if isinstance(value, dict):
        return Obj([(k, tree(v)) for k, v in value.items()])
    if isinstance(value, list):
        return [tree(v) for v in value]
    return value


def name_text(name: str | Raw) -> str:
    return name.text if isinstance(name, Raw) else json.dumps(name, ensure_ascii=False)


def dumps(node: Any, pretty: bool = False, depth: int = 0) -> str:
    pad = "\n" + "  " * (depth + 1) if pretty else ""
    end = "\n" + "  " * depth if pretty else ""
    if isinstance(node, Raw):
        return node.text
    if isinstance(node, Obj):
        if not node.members:
            return "{}"
        colon = ": " if pretty else ":"
        inner = ",".join(
            f"{pad}{name_text(k)}{colon}{dumps(v, pretty, depth + 1)}" for k, v in node.members
        )
        return "{" + inner + end + "}"
    if isinstance(node, list):
        if not node:
            return "[]"
        return "[" + ",".join(pad + dumps(v, pretty, depth + 1) for v in node) + end + "]"
    return json.dumps(node, ensure_ascii=False)


def nested(depth: int) -> Raw:
    return Raw("[" * depth + "]" * depth, depth=depth)


def lone(text: str) -> Raw:
    return Raw(text, frozenset({"input.text"}))


NOT_FINITE = frozenset({"input.number"})
BEYOND = frozenset({"input.number_range"})
NUMBER_LITERALS = [
    Raw("NaN", NOT_FINITE),
    Raw("Infinity", NOT_FINITE),
    Raw("-Infinity", NOT_FINITE),
    Raw("1e400", NOT_FINITE),
    Raw("-1e400", NOT_FINITE),
    Raw("9" * 5000, BEYOND),  # past Python's own limit on digits
    Raw("-" + "9" * 20, BEYOND),
    Raw("-0", counts=False),  # the integer 0
    Raw("3.0"),
    Raw("1E2"),
    Raw("300e0"),
]
LONE_SURROGATES = [
    lone('"\\ud800"'),
    lone('"a\\udfffb"'),
    lone('"\\udc80"'),
    lone('"\\ude00\\ud83d"'),
]
ODD_STRINGS = [
    "",
    " ",
    "S1\n",
    "NA-1/a\n",
    "300",
    "3_00",
    "+300",
    "٣٠٠",
    "３００",
    "NaN",
    "1e3",
    "\x00",
    "a\x1fb",
    "\u202eS1",
    "\ufeffS1",
    "null",
    "agent:",
    "media:",
    "presiding_officer",
]
DEPTHS = [2, 3, 10, 30, 31, 32, 33, 50, 999, 1000, 1001, 3000, 100_000]
LENGTHS = [2_001, MAX_STRING, MAX_STRING + 1, 100_000, 300_000]


def hostile_values() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.integers(-5, 5000),
        st.integers(min_value=SAFE_INTEGER + 1, max_value=2**80),
        st.integers(min_value=-(2**80), max_value=-SAFE_INTEGER - 1),
        st.sampled_from([2**31 - 1, 2**31, SAFE_INTEGER, SAFE_INTEGER + 1, 2**63, 2**64, 10**30]),
        st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from(NUMBER_LITERALS),
        st.booleans(),
        st.none(),
        st.text(max_size=24),
        st.sampled_from(ODD_STRINGS),
        st.one_of(st.sampled_from(LENGTHS), st.integers(2_001, 300_000)).map(lambda n: "x" * n),
        st.sampled_from(LONE_SURROGATES),
        st.sampled_from(DEPTHS).map(nested),
        st.lists(st.integers(0, 9), max_size=3),
        st.just(Obj([])),
    )


@dataclass(frozen=True)
class Spot:
    path: tuple[int, ...]
    node: Any
    key: str | None  # the member name it is the value of (None in a list)
    id_map: bool  # an object keyed by identifiers (votes, a declaration's stations)


def spots(
    node: Any, path: tuple[int, ...] = (), key: str | None = None, in_map: bool = False
) -> Iterator[Spot]:
    id_map = isinstance(node, Obj) and (key in ID_MAPS or in_map)
    yield Spot(path, node, key, id_map)
    if isinstance(node, Obj):
        for i, (k, v) in enumerate(node.members):
            name = k if isinstance(k, str) else None
            yield from spots(v, (*path, i), name, id_map and key == "stations")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from spots(v, (*path, i))


def at(root: Any, path: tuple[int, ...]) -> Any:
    for step in path:
        root = root.members[step][1] if isinstance(root, Obj) else root[step]
    return root


def put(root: Any, path: tuple[int, ...], value: Any) -> Any:
    """Set the node at `path` (in place) and return the root."""
    if not path:
        return value
    parent, step = at(root, path[:-1]), path[-1]
    if isinstance(parent, Obj):
        parent.members[step] = (parent.members[step][0], value)
    else:
        parent[step] = value
    return root


def remove(root: Any, path: tuple[int, ...]) -> None:
    parent, step = at(root, path[:-1]), path[-1]
    del (parent.members if isinstance(parent, Obj) else parent)[step]


def short(value: Any) -> str:
    return clip(repr(value), 70)


@st.composite
def mutation(draw: st.DrawFn, root: Any, counts: bool) -> tuple[Any, str, Verdict]:
    """One change to a JSON document: (the new root, what was done, what it alone implies)."""
    root = copy.deepcopy(root)
    everywhere = list(spots(root))
    inner = [s for s in everywhere if s.path]
    objects = [s for s in everywhere if isinstance(s.node, Obj) and s.node.members]

    def strict(why: str, *codes: str) -> Verdict:
        return refuse(why, *codes) if counts else MAYBE

    op = draw(
        st.sampled_from(
            ["replace", "replace", "drop", "duplicate", "rename", "add", "ident", "wrap", "nest"]
        )
    )
    if op == "ident":
        idents = [
            s
            for s in inner
            if s.key in IDENT_FIELDS and isinstance(s.node, str) and IDENT_LIKE.fullmatch(s.node)
        ]
        maps = [s for s in objects if s.id_map]
        if idents or maps:
            suffix = draw(st.sampled_from(["\n", "\n", " ", "\t", "\r\n"]))
            codes = ("schema.identifier",) if suffix == "\n" else ()
            spot = draw(st.sampled_from(idents + maps))
            if spot in idents:
                put(root, spot.path, spot.node + suffix)
                return (
                    root,
                    f"identifier {spot.node!r} + {suffix!r}",
                    strict("an identifier", *codes),
                )
            i = draw(st.integers(0, len(spot.node.members) - 1))
            name, value = spot.node.members[i]
            spot.node.members[i] = (f"{name}{suffix}", value)
            return root, f"key {name!r} + {suffix!r}", strict("an identifier key", *codes)
        op = "replace"
    if op in ("duplicate", "rename", "add"):
        spot = draw(st.sampled_from(objects))
        members = spot.node.members
        i = draw(st.integers(0, len(members) - 1))
        name, value = members[i]
        if op == "duplicate":
            again = draw(st.one_of(st.just(copy.deepcopy(value)), hostile_values()))
            members.insert(draw(st.integers(0, len(members))), (name, again))
            return root, f"{name_text(name)} twice (again: {short(again)})", MAYBE
        if op == "rename":
            plain = name if isinstance(name, str) else "x"
            options = [f"{plain}\n", f"{plain} ", plain.upper(), "", f"zz{plain}"]
            options += [k for k, _ in members if isinstance(k, str)]
            new = draw(
                st.one_of(
                    st.sampled_from([o for o in options if o != name] or ["zz"]),
                    st.text(max_size=12).filter(lambda t: t != name),
                    st.sampled_from(LONE_SURROGATES),
                )
            )
            members[i] = (new, value)
            return root, f"{name_text(name)} renamed {name_text(new)}", strict("a renamed field")
        new_name = draw(
            st.one_of(
                st.text(max_size=12).map(lambda t: "zz" + t),
                st.text(alphabet="abcz019-", max_size=8).map(lambda t: "NA-1/zz" + t),
                st.sampled_from(LONE_SURROGATES),
            )
        )
        value = draw(hostile_values())
        members.insert(draw(st.integers(0, len(members))), (new_name, value))
        return root, f"added {name_text(new_name)}: {short(value)}", strict("an unknown field")
    if not inner:
        return root, "nothing", MAYBE
    spot = draw(st.sampled_from(inner))
    where = "/".join(map(str, spot.path))
    if op == "drop":
        remove(root, spot.path)
        return root, f"dropped {where} ({spot.key})", MAYBE
    if op == "wrap":
        wrapped = draw(st.sampled_from([[spot.node], Obj([("x", spot.node)])]))
        put(root, spot.path, wrapped)
        return root, f"wrapped {where} ({spot.key})", strict("a wrapped value")
    if op == "nest":
        depth = draw(st.sampled_from(DEPTHS))
        put(root, spot.path, nested(depth))
        return root, f"{where} ({spot.key}) nested {depth} deep", strict("a nested value")
    value = draw(hostile_values())
    put(root, spot.path, value)
    return root, f"{where} ({spot.key}) = {short(value)}", MAYBE


def hostility(root: Any, counts: bool) -> Verdict:
    """What the JSON itself makes refused, wherever it is, by any reader and naming the
    rule: a name twice, NaN or 1e400, an integer beyond 2**53, a lone surrogate, a string
    over 65,536 characters, nesting over 32 levels; and, in a document whose numbers are
    all counts (`counts`), floats, negative numbers, booleans, control characters and text
    over 2,000 characters, naming whatever rule."""
    codes: set[str] = set()
    why: list[str] = []
    schema = False

    def text(value: str) -> None:
        nonlocal schema
        if len(value) > MAX_STRING:
            codes.add("input.string_too_long")
            why.append(f"a string of {len(value):,} characters")
        schema |= bool(CONTROL.search(value)) or len(value) > 2000

    stack: list[tuple[Any, int]] = [(root, 1)]  # a node, and the level it would open
    while stack:
        node, level = stack.pop()
        if isinstance(node, Raw):
            codes |= node.codes
            why += [f"{clip(node.text, 20)!r}"] if node.codes else []
            schema |= node.counts
            if node.depth and level + node.depth - 1 > MAX_DEPTH:
                codes.add("input.too_deep")
                why.append(f"{level + node.depth - 1} levels deep")
        elif isinstance(node, Obj | list):
            if level > MAX_DEPTH:
                codes.add("input.too_deep")
                why.append(f"{level} levels deep")
            if isinstance(node, list):
                stack.extend((v, level + 1) for v in node)
                continue
            names = Counter(name_text(k) for k, _ in node.members)
            twice = [n for n, c in names.items() if c > 1]
            if twice:
                codes.add("input.duplicate_key")
                why.append(f"{clip(twice[0], 30)} twice")
            for k, v in node.members:
                if isinstance(k, Raw):
                    codes |= k.codes
                    why.append("a lone surrogate in a name")
                else:
                    text(k)
                stack.append((v, level + 1))
        elif isinstance(node, bool | float):
            schema = True
        elif isinstance(node, int):
            if abs(node) > SAFE_INTEGER:
                codes.add("input.number_range")
                why.append(f"{node} is beyond 2**53")
            schema |= node < 0
        elif isinstance(node, str):
            text(node)
    if codes:
        return Verdict(REFUSED, frozenset(codes), ", ".join(why), early=True)
    if schema and counts:
        return refuse("not a count, or not text")
    return FINE


@st.composite
def json_document(
    draw: st.DrawFn, base: dict[str, Any], counts: bool = True
) -> tuple[Any, str, Verdict]:
    """A valid document with up to two changes: (root, what was done, verdict)."""
    root = tree(base)
    done: list[str] = []
    alone = FINE
    n = draw(st.sampled_from([0, 1, 1, 1, 2]))
    for _ in range(n):
        root, label, alone = draw(mutation(root, counts))
        done.append(label)
    if n == 2:
        alone = MAYBE  # the second change may undo what the first implied
    return root, "; ".join(done) or "as it is", hostility(root, counts) & alone


BAD_UTF8 = [b"\xff", b"\xfe", b"\x80", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"]
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Case(Shown):
    """One input file and what the contract asks of it."""

    data: bytes
    verdict: Verdict
    label: str
    name: str  # the file's name, whose suffix says how it is read

    def __repr__(self) -> str:
        return f"Case({self.name}: {self.label!r}, expect {self.verdict}, {len(self.data)} bytes: {clip(repr(self.data), 400)})"


def encoding_verdict(data: bytes, empty: tuple[str, ...] = ("input.empty",)) -> Verdict:
    """Bytes that are not UTF-8, or hold nothing, are refused by name."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return refuse("not UTF-8", "input.encoding", early=True)
    if not text.removeprefix("\ufeff").strip():
        return refuse("an empty file" if not data else "nothing but blanks", *empty, early=True)
    return FINE


@st.composite
def byte_damage(draw: st.DrawFn, data: bytes, lines: bool = False) -> tuple[bytes, str, Verdict]:
    """Leave the bytes be, or prefix a BOM (harmless), or damage them (`lines`: JSON Lines)."""
    kind = draw(
        st.sampled_from(["none"] * 5 + ["bom", "bom", "bad_utf8", "truncate", "tail", "empty"])
    )
    if kind == "bom":
        return BOM + data, "BOM", FINE
    if kind == "bad_utf8":
        at_ = draw(st.integers(0, len(data)))
        bad = draw(st.sampled_from(BAD_UTF8))
        return data[:at_] + bad + data[at_:], f"{bad!r} at byte {at_}", MAYBE
    if kind == "truncate" and len(data.rstrip()) > 1:
        cut = draw(st.integers(1, len(data.rstrip()) - 1))
        whole_lines = data[:cut].endswith(b"\n") or data[cut : cut + 1] in (b"\n", b"\r")
        broken = refuse("truncated", "input.json", "input.encoding", early=True)
        return data[:cut], f"cut at byte {cut}", UNKNOWN if whole_lines else broken
    if kind == "tail":
        tail = draw(st.sampled_from([b" x", b"}", b"{}", b"]", b"\x00", b",", b" null"]))
        last = data.rsplit(b"\n", 1)
        blank = len(last) == 2 and not last[1].strip(b" \t")  # the last line is blank so far
        a_line = lines and blank and tail in (b"{}", b" null")  # then it is a document
        codes = () if a_line else ("input.json",)
        return data + tail, f"then {tail!r}", refuse("trailing data", *codes, early=True)
    if kind == "empty":
        return b"", "emptied", UNKNOWN
    return data, "", FINE


@st.composite
def json_file(
    draw: st.DrawFn, bases: Sequence[dict[str, Any]], counts: bool = True, lists: bool = True
) -> Case:
    """A .json file: one document (or a list of them, when `lists`), changed and damaged."""
    root, label, verdict = draw(json_document(bases[0], counts))
    shape = draw(st.sampled_from(["one"] * 6 + (["list", "pair", "odd"] if lists else ["odd"])))
    if shape == "list":
        root, label = [root], f"[{label}]"
    elif shape == "pair":
        other, other_label, other_verdict = draw(json_document(bases[1], counts))
        root, label, verdict = [root, other], f"[{label}, {other_label}]", verdict & other_verdict
    elif shape == "odd":
        root = draw(st.sampled_from([[], None, 0, "form", True, [[]], Obj([])]))
        label, verdict = f"the document is {dumps(root)}", refuse("not a document")
        if root == [] and lists:
            verdict = refuse("no documents", "input.empty", early=True)
    text = dumps(root, pretty=draw(st.booleans())) + draw(st.sampled_from(["", "\n"]))
    data, damage, damage_verdict = draw(byte_damage(text.encode("utf-8")))
    label = f"{label}; {damage}" if damage else label
    return Case(data, after(verdict, damage_verdict) & encoding_verdict(data), label, "In.json")


LINE_GARBAGE = [b"{", b"}", b"[]", b"null", b"1", b'{"election":', b"\x00", b"NaN", b'"text"']
LINE_GARBAGE += [b"{}{}", BOM + b"{}", b"\xff\xfe", b"\t", b"   "]


def not_a_number(name: str) -> Any:
    raise ValueError(f"{name} is no number")


def line_verdict(junk: bytes) -> Verdict:
    """Lines of JSON Lines that are no document: refused, by name when they are not JSON
    (each line is read on its own, so each is named)."""
    verdict = FINE
    for line in junk.split(b"\n"):
        try:
            text = line.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError:
            verdict &= refuse("a line that is not UTF-8")  # named for the file as a whole
            continue
        if not text.strip():
            verdict &= MAYBE  # a blank line
            continue
        try:
            json.loads(text, parse_constant=not_a_number)
        except (ValueError, RecursionError):
            codes = ("input.json", "input.number", "input.number_range")
            verdict &= refuse("a line that is not JSON", *codes, early=True)
        else:
            verdict &= refuse("a line that is no document")
    return verdict


@st.composite
def jsonl_file(draw: st.DrawFn, bases: Sequence[dict[str, Any]], counts: bool = True) -> Case:
    """A .jsonl file: one to three documents, each maybe changed, maybe garbage lines."""
    k = draw(st.integers(1, len(bases)))
    lines, labels, verdict = [], [], FINE
    for base in bases[:k]:
        root, label, v = draw(json_document(base, counts))
        lines.append(dumps(root).encode("utf-8"))
        labels.append(label)
        verdict &= v
    for junk in draw(
        st.lists(
            st.one_of(st.sampled_from(LINE_GARBAGE), st.binary(min_size=1, max_size=24)), max_size=2
        )
    ):
        lines.insert(draw(st.integers(0, len(lines))), junk)
        labels.append(f"line {junk!r}")
        verdict &= line_verdict(junk)
    newline = draw(st.sampled_from([b"\n", b"\r\n"]))
    data = newline.join(lines) + draw(st.sampled_from([b"", newline]))
    data, damage, damage_verdict = draw(byte_damage(data, lines=True))
    labels += [damage] if damage else []
    return Case(
        data, after(verdict, damage_verdict) & encoding_verdict(data), "; ".join(labels), "In.jsonl"
    )


# --- CSV written any way at all -------------------------------------------------------------

COUNT_SPELLINGS: list[Callable[[str], str]] = [
    lambda v: "+" + v,
    lambda v: v[0] + "_" + v[1:] if len(v) > 1 else "_" + v,
    lambda v: v.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
    lambda v: v.translate(str.maketrans("0123456789", "०१२३४५६७८९")),
    lambda v: v.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
    lambda v: v + ".0",
    lambda v: v + "e0",
    lambda v: "-" + v,
    lambda v: " " + v + " ",  # blanks around: the rules may trim them
    lambda v: "0" + v,  # zero-padded: left to the rules
]
HOSTILE_CELLS = ["", " ", "S1\n", "NA-1", "x,y", '"', '""', "\x00", "a\rb", "\x1f", "=1+1", "NaN"]


@dataclass(frozen=True)
class CsvSpec:
    """What a kind of CSV file has: its columns (and a family of them, `votes.<id>`), those
    it cannot do without, its counts; whether a column missing is the header's fault
    (exit 3) or each row's; whether it needs rows; what an empty file is named."""

    known: frozenset[str]
    prefix: str
    required: frozenset[str]
    counts: frozenset[str]
    missing_in_header: bool
    needs_rows: bool
    empty: tuple[str, ...]  # the codes of an empty file
    alone: tuple[str, ...]  # the codes of a header and no rows, when rows are needed

    def is_count(self, name: str) -> bool:
        return name in self.counts or (bool(self.prefix) and name.startswith(self.prefix))


HEADER_CODES = ("csv.duplicate_column", "csv.unknown_column", "csv.empty_column")
HEADER_CODES += ("csv.missing_column",)


def csv_verdict(rows: list[list[str]], spec: CsvSpec) -> Verdict:
    """What a table makes refused wherever it is."""
    header, body = rows[0], [r for r in rows[1:] if any(c.strip() for c in r)]
    names = [h.strip() for h in header]
    verdict = FINE
    twice = [n for n, c in Counter(names).items() if c > 1]
    unknown = [
        n for n in names if n not in spec.known and not (spec.prefix and n.startswith(spec.prefix))
    ]
    missing = sorted(spec.required - set(names))
    if twice or unknown or (missing and spec.missing_in_header):
        why = f"the header: twice {twice}, unknown {unknown}, missing {missing}"
        verdict &= refuse(why, *HEADER_CODES, early=True)
    elif missing:
        verdict &= refuse(f"no column {missing[0]}")
    if any(len(r) > len(header) for r in body):
        verdict &= refuse("a row longer than the header", "csv.extra_cells", early=True)
    if any(len(c) > MAX_STRING for r in rows for c in r):
        verdict &= refuse("a field over 65,536 characters", "csv.field_too_long", early=True)
    if any(CONTROL.search(c) for r in rows for c in r):
        verdict &= refuse("a control character")
    for r in body:
        for name, cell in zip(names, r, strict=False):
            if spec.is_count(name) and cell.strip() and not WRITTEN_COUNT.fullmatch(cell.strip()):
                verdict &= refuse(f"{name} written {short(cell)}")
    if spec.needs_rows and not body:
        verdict &= refuse("a header and no rows", *spec.alone, early=bool(spec.alone))
    return verdict


@st.composite
def csv_table(draw: st.DrawFn, rows: list[list[str]], spec: CsvSpec) -> tuple[bytes, str, Verdict]:
    """A valid table (header first) with up to two changes, written as CSV and maybe damaged."""
    rows = [list(r) for r in rows]
    done: list[str] = []
    ops = draw(
        st.lists(
            st.sampled_from(
                [
                    "cell",
                    "spell",
                    "spell",
                    "extra",
                    "short",
                    "duplicate",
                    "rename",
                    "long",
                    "drop_row",
                    "header_only",
                ]
            ),
            max_size=2,
        )
    )
    for op in ops:
        width = len(rows[0])
        r = draw(st.integers(1, len(rows) - 1)) if len(rows) > 1 else 0
        c = draw(st.integers(0, width - 1))
        if op == "cell" and r and c < len(rows[r]):
            rows[r][c] = draw(st.one_of(st.sampled_from(HOSTILE_CELLS), st.text(max_size=12)))
            done.append(f"row {r} {rows[0][c]!r} = {rows[r][c]!r}")
        elif op == "spell" and r:
            spots_ = [
                i
                for i, (n, v) in enumerate(zip(rows[0], rows[r], strict=False))
                if spec.is_count(n) and v.isdigit()
            ]
            if spots_:
                i = draw(st.sampled_from(spots_))
                rows[r][i] = draw(st.sampled_from(COUNT_SPELLINGS))(rows[r][i])
                done.append(f"row {r} {rows[0][i]!r} written {rows[r][i]!r}")
        elif op == "extra" and r:
            rows[r] += draw(st.lists(st.sampled_from(["", "1", "x", "S1"]), min_size=1, max_size=3))
            done.append(f"row {r} has {len(rows[r])} cells")
        elif op == "short" and r and len(rows[r]) > 1:
            rows[r] = rows[r][: draw(st.integers(1, len(rows[r]) - 1))]
            done.append(f"row {r} cut to {len(rows[r])} cells")
        elif op == "duplicate":
            p = draw(st.integers(0, width))
            same = draw(st.booleans())
            for row in rows:
                if c < len(row):
                    row.insert(
                        p,
                        row[c]
                        if same or row is rows[0]
                        else draw(st.sampled_from(["", "0", "1", "x"])),
                    )
            done.append(f"column {rows[0][p]!r} twice")
        elif op == "rename":
            old = rows[0][c]
            rows[0][c] = draw(
                st.one_of(
                    st.sampled_from([old.upper(), old + " ", "\ufeff" + old, "", "zz"]),
                    st.text(max_size=8),
                )
            )
            done.append(f"column {old!r} renamed {rows[0][c]!r}")
        elif op == "long" and r and c < len(rows[r]):
            rows[r][c] = "x" * draw(st.integers(MAX_STRING + 1, CSV_FIELD_LIMIT + 9000))
            done.append(f"row {r} {rows[0][c]!r} is {len(rows[r][c])} characters")
        elif op == "drop_row" and len(rows) > 2:
            del rows[r]
            done.append(f"row {r} dropped")
        elif op == "header_only":
            rows = rows[:1]
            done.append("header only")
    verdict = csv_verdict(rows, spec) & (MAYBE if done else FINE)
    buffer = io.StringIO()
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    newline = draw(st.sampled_from(["\r\n", "\n"]))
    csv.writer(buffer, quoting=quoting, lineterminator=newline).writerows(rows)
    data = buffer.getvalue().encode("utf-8")
    data, damage, damage_verdict = draw(csv_damage(data))
    done += [damage] if damage else []
    verdict = after(verdict, damage_verdict) & encoding_verdict(data, spec.empty)
    return data, "; ".join(done) or "as it is", verdict


@st.composite
def csv_damage(draw: st.DrawFn, data: bytes) -> tuple[bytes, str, Verdict]:
    kind = draw(
        st.sampled_from(
            ["none"] * 5 + ["bom", "bom", "bad_utf8", "quote", "nul", "empty", "garbage"]
        )
    )
    if kind == "bom":
        return BOM + data, "BOM", FINE
    spot = draw(st.integers(0, len(data)))
    if kind == "bad_utf8":
        bad = draw(st.sampled_from(BAD_UTF8))
        return data[:spot] + bad + data[spot:], f"{bad!r} at byte {spot}", MAYBE
    if kind == "quote":
        return data[:spot] + b'"' + data[spot:], f"a stray quote at byte {spot}", UNKNOWN
    if kind == "nul":
        nul = Verdict(REFUSED, why="a NUL", resets=True)
        return data[:spot] + b"\x00" + data[spot:], f"NUL at byte {spot}", nul
    if kind == "empty":
        return b"", "emptied", UNKNOWN
    if kind == "garbage":
        junk = draw(st.binary(min_size=1, max_size=30))
        return data + junk, f"then {junk!r}", UNKNOWN
    return data, "", FINE


# --- forms, declarations, structures ------------------------------------------------------

FORMS = [
    form_doc(),
    form_doc(station="S2", votes=(10, 20, 30), valid=60, remarks="counted twice"),
    form_doc(station="S3", contest="PP-1", votes=(40, 2)),
]
FORM_HEADER = ["election", "station", "contest", "source", "time", "rejected", "polled", "valid"]
FORM_HEADER += [f"votes.{c}" for c in CANDIDATES] + ["remarks", "supersedes", "reason"]
FORM_COUNTS = {"rejected", "polled", "valid", "issued"}
FORM_CSV = CsvSpec(
    known=frozenset(FORM_HEADER) | FORM_COUNTS,
    prefix="votes.",
    required=frozenset(FORM_HEADER[:7]),
    counts=frozenset(FORM_COUNTS),
    missing_in_header=False,  # each row is refused: schema.missing
    needs_rows=True,
    empty=("input.empty",),
    alone=("input.empty",),
)


def form_row(
    station: str, votes: tuple[int, int, int], rejected: int, valid: bool = False
) -> list[str]:
    total = str(sum(votes)) if valid else ""
    cells = [ELECTION, station, "NA-1", "presiding_officer", "2024-02-08T18:00:00+05:00"]
    return [*cells, str(rejected), str(sum(votes) + rejected), total, *map(str, votes), "", "", ""]


FORM_ROWS = [
    FORM_HEADER,
    form_row("S1", (300, 200, 100), 10),
    form_row("S2", (120, 80, 7), 3, valid=True),
    form_row("S4", (55, 0, 9), 0),
]
DECLARATIONS = [
    {
        "election": ELECTION,
        "contest": "NA-1",
        "source": "returning_officer",
        "votes": {"NA-1/a": 900, "NA-1/b": 600, "NA-1/c": 300},
        "rejected": 30,
        "polled": 1830,
        "valid": 1800,
        "registered": 4000,
        "stations": {"S1": {"NA-1/a": 300, "NA-1/b": 200, "NA-1/c": 100}},
        "time": "2024-02-09T17:00:00+05:00",
    },
    {
        "election": ELECTION,
        "contest": "PP-1",
        "source": "returning_officer",
        "votes": {"PP-1/x": 50, "PP-1/y": 70},
        "time": "2024-02-09T17:30:00+05:00",
        "remarks": "provisional",
    },
]


def submit_args(world: World, path: Path) -> list[str]:
    return ["submit", str(path), "--key", str(world.keys["po"])]


def declare_args(world: World, path: Path) -> list[str]:
    return ["declare", str(path), "--key", str(world.keys["ro"])]


def structure_args(world: World, path: Path) -> list[str]:
    return ["import-structure", str(path), "--admin-key", str(world.keys["admin"])]


def attempt(
    world: World,
    home: Path,
    name: str,
    data: bytes,
    args: Callable[[World, Path], list[str]],
    verdict: Verdict,
) -> tuple[str, Result]:
    """Write `data` as `name` beside a copy of `home`, run the command on it, judge."""
    with world.trial(home) as place:
        path = place / name
        path.write_bytes(data)
        before = store_of(place / "home")
        result = tp(place / "home", *args(world, path))
        return judge(place / "home", result, before, verdict), result


def test_forms_as_json(world: World) -> None:
    def check(case: Case) -> str:
        return attempt(world, world.home, case.name, case.data, submit_args, case.verdict)[0]

    explore("submit .json", json_file(FORMS), check, 70)


def test_forms_as_json_lines(world: World) -> None:
    def check(case: Case) -> str:
        return attempt(world, world.home, case.name, case.data, submit_args, case.verdict)[0]

    explore("submit .jsonl", jsonl_file(FORMS), check, 50)


@st.composite
def form_csv(draw: st.DrawFn) -> Case:
    data, label, verdict = draw(csv_table(FORM_ROWS, FORM_CSV))
    return Case(data, verdict, label, "In.csv")


def test_forms_as_csv(world: World) -> None:
    def check(case: Case) -> str:
        return attempt(world, world.home, case.name, case.data, submit_args, case.verdict)[0]

    explore("submit .csv", form_csv(), check, 70)


def test_declarations(world: World) -> None:
    def check(case: Case) -> str:
        return attempt(world, world.home, case.name, case.data, declare_args, case.verdict)[0]

    cases = st.one_of(json_file(DECLARATIONS), jsonl_file(DECLARATIONS))
    explore("declare", cases, check, 50)


def test_structures_as_json(world: World) -> None:
    def check(case: Case) -> str:
        return attempt(world, world.bare, case.name, case.data, structure_args, case.verdict)[0]

    explore("import-structure .json", json_file([structure_doc()], lists=False), check, 50)


def structure_tables() -> dict[str, list[list[str]]]:
    """The test election as the documented CSV set."""
    doc = structure_doc()
    e = doc["election"]
    return {
        "election.csv": [
            ["id", "name", "kind", "date", "phase"],
            [e["id"], e["name"], e["kind"], e["date"], ""],
        ],
        "parties.csv": [["code", "name"]] + [[p["code"], p["name"]] for p in doc["parties"]],
        "assemblies.csv": [["code", "name", "level"]]
        + [[a["code"], a["name"], a["level"]] for a in doc["assemblies"]],
        "contests.csv": [["code", "assembly", "name"]]
        + [[c["code"], c["assembly"], c["name"]] for c in doc["contests"]],
        "candidates.csv": [["contest", "id", "name", "party", "backed_by", "joined"]]
        + [
            [c["code"], k["id"], k["name"], k.get("party", ""), k.get("backed_by", ""), ""]
            for c in doc["contests"]
            for k in c["candidates"]
        ],
        "stations.csv": [["id", "name", "registered_voters", "contests", "region"]]
        + [
            [s["id"], s["name"], str(s["registered_voters"]), ";".join(s["contests"]), ""]
            for s in doc["stations"]
        ],
    }


def write_tables(directory: Path, tables: dict[str, list[list[str]]]) -> None:
    directory.mkdir()
    for name, rows in tables.items():
        with (directory / name).open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(rows)


NEEDS_ROWS = {"election.csv", "parties.csv", "assemblies.csv", "contests.csv"}
OPTIONAL_COLUMNS = {"phase", "joined", "region"}


def structure_csv(name: str, header: list[str]) -> CsvSpec:
    return CsvSpec(
        known=frozenset(header),
        prefix="",
        required=frozenset(header) - OPTIONAL_COLUMNS,
        counts=frozenset({"registered_voters", "phase"}),
        missing_in_header=True,
        needs_rows=name in NEEDS_ROWS,
        empty=("input.empty", "csv.missing_column"),
        alone=(),
    )


@dataclass(frozen=True)
class SetCase(Shown):
    name: str
    data: bytes | None  # None: the file is missing
    verdict: Verdict
    label: str

    def __repr__(self) -> str:
        size = (
            "missing"
            if self.data is None
            else f"{len(self.data)} bytes: {clip(repr(self.data), 300)}"
        )
        return f"SetCase({self.name}: {self.label!r}, expect {self.verdict}, {size})"


@st.composite
def structure_set(draw: st.DrawFn) -> SetCase:
    tables = structure_tables()
    name = draw(st.sampled_from(sorted(tables)))
    if draw(st.integers(0, 15)) == 0:
        return SetCase(name, None, refuse("a file of the set is missing"), "deleted")
    data, label, verdict = draw(csv_table(tables[name], structure_csv(name, tables[name][0])))
    return SetCase(name, data, verdict, label)


def test_structures_as_csv_sets(world: World) -> None:
    def check(case: SetCase) -> str:
        with world.trial(world.bare) as place:
            directory = place / "Set"
            write_tables(directory, structure_tables())
            if case.data is None:
                (directory / case.name).unlink()
            else:
                (directory / case.name).write_bytes(case.data)
            before = store_of(place / "home")
            result = tp(place / "home", *structure_args(world, directory))
            return judge(place / "home", result, before, case.verdict)

    explore("import-structure CSV set", structure_set(), check, 50)


# --- status orders --------------------------------------------------------------------------

CONTEST_STATUSES = [
    "scheduled",
    "polling",
    "counting",
    "provisional",
    "final",
    "postponed",
    "suspended",
]
STATION_STATUSES = ["open", "suspended", "re_poll_ordered"]
NEEDS_REASON = {"postponed", "suspended", "re_poll_ordered"}
HOSTILE_ARGS = ["NA-1\n", "S1\n", " NA-1", "NA-1 ", "na-1", "NA-1\x00", "\udcff", "NA-1\udc80"]
HOSTILE_ARGS += ["", "-", "--help", "-e", "x" * 65, "x" * 100_000, "postponed\n", "\u202eNA-1"]


def hostile_args() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(HOSTILE_ARGS), st.text(max_size=16))


def has_surrogate(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


@dataclass(frozen=True)
class Order(Shown):
    station: bool
    target: str
    status: str
    reason: str
    election: str | None

    def __repr__(self) -> str:
        fields = ("station", "target", "status", "reason", "election")
        return "Order(" + ", ".join(f"{f}={short(getattr(self, f))}" for f in fields) + ")"

    def args(self, world: World) -> list[str]:
        args = ["status", "--admin-key", str(world.keys["admin"]), f"--reason={self.reason}"]
        args += ["--station"] if self.station else []
        args += [f"--election={self.election}"] if self.election is not None else []
        return [*args, "--", self.target, self.status]

    def verdict(self) -> Verdict:
        """Which rule fires first is the command's business here: no code is asked for but
        a newline after a real target (schema.identifier)."""
        verdict = FINE
        if any(
            has_surrogate(t) for t in (self.target, self.status, self.reason, self.election or "")
        ):
            verdict &= refuse("a lone surrogate in an argument")
        if self.election == "":
            verdict &= MAYBE  # an empty --election may mean the only one
        elif self.election is not None and self.election != ELECTION:
            verdict &= refuse("no such election")
        targets, statuses = (
            (["S1", "S4"], STATION_STATUSES)
            if self.station
            else (["NA-1", "PP-1"], CONTEST_STATUSES)
        )
        if self.target.removesuffix("\n") in targets and self.target.endswith("\n"):
            verdict &= refuse("an identifier with a newline", "schema.identifier")
        elif self.target not in targets:
            verdict &= refuse("no such target")
        if self.status not in statuses:
            verdict &= refuse("no such status")
        elif self.status in ("scheduled", "open"):  # the world's status: no move at all
            verdict &= refuse("an illegal transition")
        if self.status in NEEDS_REASON and not self.reason.strip():
            verdict &= refuse("no reason given")
        if CONTROL.search(self.reason) or len(self.reason) > 500:
            verdict &= refuse("the reason is not text")
        return verdict


@st.composite
def orders(draw: st.DrawFn) -> Order:
    """Mostly real targets and statuses, so that orders are accepted too."""
    station = draw(st.booleans())
    targets, statuses = (
        (["S1", "S4"], STATION_STATUSES) if station else (["NA-1", "PP-1"], CONTEST_STATUSES)
    )
    target = draw(st.one_of(st.sampled_from(targets), st.sampled_from(targets), hostile_args()))
    status = draw(st.one_of(st.sampled_from(statuses), st.sampled_from(statuses), hostile_args()))
    reason = draw(
        st.one_of(
            st.sampled_from(["", "a candidate died", "riots\nand arson"]),
            st.just("a candidate died"),
            hostile_args(),
            st.integers(400, 600).map(lambda n: "r" * n),
        )
    )
    election = draw(st.one_of(st.none(), st.none(), st.none(), st.just(ELECTION), hostile_args()))
    return Order(station, target, status, reason, election)


def test_status_orders(world: World) -> None:
    def check(order: Order) -> str:
        with world.trial(world.home) as place:
            home = place / "home"
            before = store_of(home)
            result = tp(home, *order.args(world))
            return judge(home, result, before, order.verdict())

    explore("status", orders(), check, 60)


# --- news reports ----------------------------------------------------------------------------

REPORT = """outlet: Dawn
date: 2024-02-09

In NA-1, PTI-backed Aamir bagged 1,200 votes while PML-N's Bushra got more than 700 votes.

Chaudhry finished with 95 votes.
"""


@dataclass(frozen=True)
class Report(Shown):
    data: bytes
    outlet: str | None
    date: str | None
    election: str | None
    label: str

    def args(self, world: World, path: Path) -> list[str]:
        args = ["claims", "ingest", str(path), "--key", str(world.keys["dawn"])]
        for option, value in (
            ("outlet", self.outlet),
            ("date", self.date),
            ("election", self.election),
        ):
            args += [f"--{option}={value}"] if value is not None else []
        return args

    def verdict(self, changed: bool) -> Verdict:
        """The file's verdict; an option that is refused may be refused before the file is
        read, and then no particular code is asked for."""
        verdict = encoding_verdict(self.data) & (MAYBE if changed else FINE)
        if len(self.data) > MAX_REPORT_BYTES:  # the size is read before the bytes are
            verdict &= refuse("over the report size limit", "input.file_too_large", early=True)
        options = FINE
        if any(has_surrogate(o) for o in (self.outlet, self.date, self.election) if o):
            options &= refuse("a lone surrogate in an option")
        if self.election == "":
            options &= MAYBE
        elif self.election is not None and self.election != ELECTION:
            options &= refuse("no such election")
        if self.outlet and (CONTROL.search(self.outlet) or len(self.outlet) > 200):
            options &= refuse("the outlet is not a name")
        elif self.outlet and self.outlet != "Dawn":
            options &= MAYBE  # refused as signed by the wrong key, unless nothing is filed
        if self.date and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", self.date):
            options &= refuse("not a date")
        elif self.date and self.date != "2024-02-09":
            options &= MAYBE
        return (verdict & options).loosely() if options.expect == REFUSED else verdict & options

    def __repr__(self) -> str:
        return f"Report({self.label!r}, outlet={self.outlet!r}, date={clip(repr(self.date), 40)}, election={clip(repr(self.election), 40)}, {len(self.data)} bytes: {clip(repr(self.data), 300)})"


@st.composite
def reports(draw: st.DrawFn) -> tuple[Report, Verdict]:
    data = REPORT.encode("utf-8")
    done: list[str] = []
    for op in draw(
        st.lists(
            st.sampled_from(
                ["text", "number", "long", "endless", "control", "truncate", "crlf", "repeat"]
            ),
            max_size=2,
        )
    ):
        spot = draw(st.integers(0, len(data)))
        if op == "text":
            insert = draw(st.text(max_size=40)).encode("utf-8")
        elif op == "number":
            n = draw(st.one_of(st.integers(0, 10**30), st.sampled_from([2**31, SAFE_INTEGER + 1])))
            insert = f"\nIn NA-1, Aamir bagged {n:,} votes. Bushra got {n} votes.\n".encode()
        elif op == "long":
            insert = (
                " ".join(["Aamir bagged 1,200 votes"] * draw(st.integers(100, 8000)))
            ).encode()
        elif op == "endless":  # one sentence of thousands of numbers: must read in linear time
            insert = " ".join(str(i) for i in range(draw(st.integers(1000, 6000)))).encode()
        elif op == "control":
            insert = draw(
                st.sampled_from(["\x00", "\x1b[31m", "\r", "\x0c", "\u2028", "\ufeff"])
            ).encode()
        elif op == "repeat":
            data = data * draw(st.integers(2, 300))
            done.append("repeated")
            continue
        elif op == "truncate":
            data = data[:spot]
            done.append(f"cut at byte {spot}")
            continue
        else:
            data = data.replace(b"\n", b"\r\n")
            done.append("CRLF")
            continue
        data = data[:spot] + insert + data[spot:]
        done.append(f"{clip(repr(insert), 60)} at byte {spot}")
    changed = bool(done)
    damage = draw(st.sampled_from(["none"] * 6 + ["bom", "bom", "bad_utf8", "empty"]))
    if damage == "bom":
        data, done = BOM + data, [*done, "BOM"]
    elif damage == "bad_utf8":
        spot = draw(st.integers(0, len(data)))
        bad = draw(st.sampled_from(BAD_UTF8))
        data, done, changed = (
            data[:spot] + bad + data[spot:],
            [*done, f"{bad!r} at byte {spot}"],
            True,
        )
    elif damage == "empty":
        data, done, changed = b"", [*done, "emptied"], True
    outlet = draw(st.one_of(st.none(), st.just("Dawn"), hostile_args()))
    date = draw(
        st.one_of(
            st.none(),
            st.sampled_from(["2024-02-09", "banana", "2024-02-30", "9999-99-99"]),
            hostile_args(),
        )
    )
    election = draw(st.one_of(st.none(), st.none(), st.just(ELECTION), hostile_args()))
    report = Report(data, outlet, date, election, "; ".join(done) or "as it is")
    return report, report.verdict(changed)


def test_claim_reports(world: World) -> None:
    def check(drawn: tuple[Report, Verdict]) -> str:
        report, verdict = drawn
        with world.trial(world.home) as place:
            path = place / "Report.txt"
            path.write_bytes(report.data)
            before = store_of(place / "home")
            result = tp(place / "home", *report.args(world, path))
            return judge(place / "home", result, before, verdict)

    explore("claims ingest", reports(), check, 40)


# --- bundles and receipts ------------------------------------------------------------------

BUNDLE_FORMS = [
    form_doc(station="S1", votes=(300, 200, 100)),
    form_doc(station="S2", votes=(120, 80, 7)),
    form_doc(station="S4", contest="PP-1", votes=(90, 91)),
]


@dataclass
class Published:
    bundle: Path
    receipts: list[dict[str, Any]]
    envelope: dict[str, Any]  # the signed form of receipts[0]
    log_key: str
    ok_line: str  # what verify-receipt says of receipts[0] with its envelope


@pytest.fixture(scope="module")
def published(world: World) -> Published:
    """A bundle with forms, a declaration, a status order and a news report; the receipts."""
    place = world.root / "published"
    shutil.copytree(world.home, place / "home")
    home = place / "home"
    forms, receipts = place / "forms.jsonl", place / "receipts.jsonl"
    forms.write_text("\n".join(json.dumps(f) for f in BUNDLE_FORMS) + "\n")
    ok(
        tp(home, "submit", str(forms), "--key", str(world.keys["po"]), "--receipts", str(receipts)),
        "submit",
    )
    (place / "decl.json").write_text(json.dumps(DECLARATIONS[0]))
    ok(tp(home, *declare_args(world, place / "decl.json")), "declare")
    order = [
        "status",
        "--admin-key",
        str(world.keys["admin"]),
        "--reason=riots",
        "--",
        "PP-1",
        "suspended",
    ]
    ok(tp(home, *order), "status")
    (place / "report.txt").write_text(REPORT, encoding="utf-8")
    ok(
        tp(home, "claims", "ingest", str(place / "report.txt"), "--key", str(world.keys["dawn"])),
        "claims",
    )
    ok(tp(home, "export-bundle", str(place / "bundle")), "export-bundle")
    ok(tp(home, "audit", str(place / "bundle"), "--workers", "1"), "audit of the pristine bundle")
    log_key = ok(tp(home, "log-key"), "log-key").stdout.strip()
    signer = Signer.from_private_text(world.keys["po"].read_text())
    envelope = sign(EntryKind.FORM, BUNDLE_FORMS[0], signer).envelope()
    first = [json.loads(line) for line in receipts.read_text().splitlines()]
    (place / "r0.json").write_text(json.dumps(first[0]))
    (place / "e0.json").write_text(json.dumps(envelope))
    verified = tp(
        home,
        "verify-receipt",
        str(place / "r0.json"),
        "--log-key",
        log_key,
        "--entry",
        str(place / "e0.json"),
    )
    ok(verified, "verify-receipt")
    return Published(place / "bundle", first, envelope, log_key, verified.stdout.strip())


BUNDLE_FILES = ["ledger.jsonl", "checkpoints.jsonl", "manifest.json", "results.json", "keys.json"]
KNOWN_MANIFEST = ("format", "origin", "log_key", "tree_size", "root", "files")


@dataclass(frozen=True)
class Damage(Shown):
    files: dict[str, bytes | None]  # None: deleted
    verdict: Verdict
    label: str

    def __repr__(self) -> str:
        parts = {k: ("deleted" if v is None else clip(repr(v), 200)) for k, v in self.files.items()}
        return f"Damage({self.label!r}, expect {self.verdict}, {parts})"


def canonical(text: bytes) -> str | None:
    """The JSON's meaning, if any (a repeated name has none; 7.0 means 7)."""

    def whole(number: str) -> float | int:
        value = float(number)
        return int(value) if value.is_integer() else value

    def no_twice(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        if len({k for k, _ in pairs}) != len(pairs):
            raise ValueError("a name twice")
        return dict(pairs)

    try:
        doc = json.loads(text, object_pairs_hook=no_twice, parse_float=whole)
        return json.dumps(doc, sort_keys=True)
    except (ValueError, RecursionError):
        return None


@st.composite
def line_damage(draw: st.DrawFn, data: bytes) -> tuple[bytes, str, bool]:
    """Damage one line of a JSON Lines file: (bytes, what was done, the meaning changed)."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    i = draw(st.integers(0, len(lines) - 1))
    op = draw(
        st.sampled_from(
            ["json", "json", "drop", "duplicate", "swap", "garbage", "bad_utf8", "flip", "blank"]
        )
    )
    if op == "json" and canonical(lines[i]) is not None:
        root, label, _ = draw(mutation(tree(json.loads(lines[i])), counts=False))
        new = dumps(root).encode("utf-8")
        changed = canonical(new) != canonical(lines[i])
        lines[i] = new
        label = f"line {i + 1}: {label}"
    elif op == "drop":
        del lines[i]
        label, changed = f"line {i + 1} dropped", True
    elif op == "duplicate":
        lines.insert(draw(st.integers(0, len(lines))), lines[i])
        label, changed = f"line {i + 1} twice", True
    elif op == "swap" and len(lines) > 1:
        j = draw(st.integers(0, len(lines) - 1).filter(lambda j: j != i))
        lines[i], lines[j] = lines[j], lines[i]
        label, changed = f"lines {i + 1} and {j + 1} swapped", lines[i] != lines[j]
    elif op == "garbage":
        lines[i] = draw(st.one_of(st.sampled_from(LINE_GARBAGE), st.binary(max_size=30)))
        label, changed = f"line {i + 1} = {lines[i]!r}", True
    elif op == "bad_utf8":
        spot = draw(st.integers(0, len(lines[i])))
        lines[i] = lines[i][:spot] + draw(st.sampled_from(BAD_UTF8)) + lines[i][spot:]
        label, changed = f"line {i + 1}: not UTF-8 at {spot}", True
    elif op == "flip" and lines[i]:
        spot = draw(st.integers(0, len(lines[i]) - 1))
        flipped = bytes([lines[i][spot] ^ (1 << draw(st.integers(0, 7)))])
        lines[i] = lines[i][:spot] + flipped + lines[i][spot + 1 :]
        label, changed = f"line {i + 1}: bit flipped at {spot}", True
    else:
        lines.insert(i, b"")
        label, changed = f"a blank line before line {i + 1}", False
    return b"\n".join(lines) + b"\n", label, changed


@st.composite
def bundle_damage(draw: st.DrawFn, bundle: Path) -> Damage:
    name = draw(st.sampled_from(BUNDLE_FILES))
    original = (bundle / name).read_bytes()
    manifest = json.loads((bundle / "manifest.json").read_text())
    if draw(st.integers(0, 12)) == 0:
        return Damage({name: None}, refuse(f"{name} is missing"), f"{name} deleted")
    if name == "manifest.json":
        root, label, _ = draw(json_document(manifest, counts=False))
        data = dumps(root, pretty=draw(st.booleans())).encode("utf-8")
        data, damage, _ = draw(byte_damage(data))
        label = f"{label}; {damage}" if damage else label
        meaning = canonical(data)
        if meaning is None:
            return Damage({name: data}, refuse("an unreadable manifest"), label)
        changed = json.loads(meaning)
        same = isinstance(changed, dict) and all(
            json.dumps(changed.get(k), sort_keys=True)
            == json.dumps(manifest.get(k), sort_keys=True)
            for k in KNOWN_MANIFEST
        )
        return Damage({name: data}, MAYBE if same else refuse("the manifest says otherwise"), label)
    if name.endswith(".jsonl"):
        data, label, changed = draw(line_damage(original))
    else:
        root, label, _ = draw(json_document(json.loads(original), counts=False))
        data = dumps(root).encode("utf-8")
        changed = canonical(data) != canonical(original)
    if data == original:
        return Damage({name: data}, MAYBE, f"{label} (no change)")
    files: dict[str, bytes | None] = {name: data}
    if name == "ledger.jsonl" and changed and draw(st.booleans()):
        # a forger who also rewrites the manifest's hash: signatures and the root still tell
        manifest["files"][name] = hashlib.sha256(data).hexdigest()
        files["manifest.json"] = json.dumps(manifest, indent=1).encode()
        label += "; manifest hash updated"
    return Damage(files, refuse(f"{name} is not the one published"), label)


def test_bundles(world: World, published: Published) -> None:
    def check(damage: Damage) -> str:
        with world.trial() as place:
            bundle = place / "bundle"
            shutil.copytree(published.bundle, bundle)
            for name, data in damage.files.items():
                if data is None:
                    (bundle / name).unlink()
                else:
                    (bundle / name).write_bytes(data)
            result = tp(place / "nohome", "audit", str(bundle), "--workers", "1")
            out = result.output
            if result.exit_code == 0:
                assert damage.verdict.expect != REFUSED, (
                    f"the audit passed: {damage.verdict}\n{clip(out)}"
                )
                return "accepted"
            assert result.exit_code == 4, f"audit exit {result.exit_code}, not 4:\n{clip(out)}"
            assert rule_codes(out), f"the audit names no code:\n{clip(out)}"
            return "refused"

    explore("audit", bundle_damage(published.bundle), check, 60)


@dataclass(frozen=True)
class Claim(Shown):
    """A receipt file (and maybe the signed document) given to verify-receipt."""

    name: str
    data: bytes
    entry: bytes | None
    log_key: str
    verdict: Verdict
    label: str

    def __repr__(self) -> str:
        entry = "no entry" if self.entry is None else f"entry {clip(repr(self.entry), 200)}"
        return f"Claim({self.label!r}, expect {self.verdict}, {self.name}: {clip(repr(self.data), 300)}, {entry})"


@st.composite
def receipt_change(draw: st.DrawFn, receipt: dict[str, Any]) -> tuple[Any, str, Verdict]:
    """The receipt changed: anywhere at random, or where it matters."""
    op = draw(st.sampled_from(["any", "any", "checkpoint", "proof", "number"]))
    doc = copy.deepcopy(receipt)
    if op == "checkpoint":
        lines = doc["checkpoint"].split("\n")
        i = draw(st.integers(0, len(lines) - 1))
        lines[i] = draw(
            st.sampled_from([lines[i][:-1], lines[i] + "0", "", lines[i].upper(), "— x AAAA"])
        )
        doc["checkpoint"] = "\n".join(lines)
        return tree(doc), f"checkpoint line {i + 1} = {lines[i]!r}", MAYBE
    if op == "proof":
        proof = doc["inclusion_proof"]
        doc["inclusion_proof"] = draw(
            st.sampled_from(
                [
                    proof[:-1],
                    [*proof, proof[0]] if proof else ["AAAA"],
                    proof[::-1],
                    [],
                    ["not base64!"],
                    [p.rstrip("=") for p in proof],
                ]
            )
        )
        return tree(doc), f"inclusion proof = {doc['inclusion_proof']!r}", MAYBE
    if op == "number":
        key = draw(st.sampled_from(["leaf_index", "tree_size"]))
        doc[key] = draw(
            st.sampled_from(
                [doc[key] + 1, doc[key] - 1, -1, 2**64, str(doc[key]), float(doc[key]), True]
            )
        )
        return tree(doc), f"{key} = {doc[key]!r}", hostility(tree(doc), False) & MAYBE
    root, label, verdict = draw(json_document(receipt, counts=False))
    return root, label, verdict


@st.composite
def receipt_claims(draw: st.DrawFn, published: Published) -> Claim:
    with_entry = draw(st.booleans())
    receipts = [published.receipts[0]] if with_entry else published.receipts
    k = draw(st.integers(0, len(receipts) - 1))
    roots, labels, verdict = [], [], FINE
    for i, receipt in enumerate(receipts):
        if i == k:
            root, label, v = draw(receipt_change(receipt))
            roots.append(root)
            labels.append(label)
            verdict &= v
        else:
            roots.append(tree(receipt))
    if len(roots) == 1 and draw(st.booleans()):
        name, data = "R.json", dumps(roots[0], pretty=draw(st.booleans())).encode("utf-8")
    else:
        name, data = "R.jsonl", b"\n".join(dumps(r).encode("utf-8") for r in roots) + b"\n"
    data, damage, damage_verdict = draw(byte_damage(data, lines=name.endswith(".jsonl")))
    labels += [damage] if damage else []
    more = damage_verdict & encoding_verdict(data)
    if damage_verdict.resets:
        verdict = more
    elif verdict.expect != ACCEPTED and name.endswith(".jsonl"):
        verdict = (verdict & more).loosely()  # receipts are read up to the first bad one
    else:
        verdict &= more
    entry = None
    if with_entry:
        root, label, v = draw(json_document(published.envelope, counts=False))
        entry = dumps(root).encode("utf-8")
        labels.append(f"entry: {label}")
        # the entry is read after the receipts: its rule is named only if they are all right
        verdict &= v if verdict.expect == ACCEPTED else v.loosely()
    key = draw(
        st.sampled_from(
            [published.log_key] * 6
            + [published.log_key[:-2], "garbage", "", published.log_key.replace("+", "-", 1)]
        )
    )
    if key != published.log_key:  # read first: then no other rule need be named
        verdict = (verdict & refuse("not the log's key")).loosely()
        labels.append(f"log key {key!r}")
    return Claim(name, data, entry, key, verdict, "; ".join(labels))


def test_receipts(world: World, published: Published) -> None:
    def check(claim: Claim) -> str:
        with world.trial() as place:
            (place / claim.name).write_bytes(claim.data)
            args = ["verify-receipt", str(place / claim.name), f"--log-key={claim.log_key}"]
            if claim.entry is not None:
                (place / "Entry.json").write_bytes(claim.entry)
                args += ["--entry", str(place / "Entry.json")]
            result = tp(place / "nohome", *args)
            out = result.output
            if result.exit_code == 0:
                assert claim.verdict.expect != REFUSED, (
                    f"verified, but must fail: {claim.verdict}\n{clip(out)}"
                )
                if claim.entry is not None:  # then everything it says is checked
                    assert result.stdout.strip() == published.ok_line, (
                        f"a changed receipt verifies and says something else:\n{clip(out)}\n"
                        f"the receipt as issued: {published.ok_line}"
                    )
                return "accepted"
            assert claim.verdict.expect != ACCEPTED, (
                f"must verify (nothing in it is wrong):\n{clip(out)}"
            )
            assert result.exit_code in (1, 3), f"exit {result.exit_code}, not 1 or 3:\n{clip(out)}"
            codes = rule_codes(out)
            assert codes, f"exit {result.exit_code} without a rule code:\n{clip(out)}"
            assert not claim.verdict.codes or codes & claim.verdict.codes, (
                f"not refused with {sorted(claim.verdict.codes)}; named {sorted(codes)}:\n{clip(out)}"
            )
            return "refused"

    explore("verify-receipt", receipt_claims(published), check, 50)


# --- the cases the issue names, one by one --------------------------------------------------


def form_text(**changes: str) -> bytes:
    """The first form as JSON text, with fields written as raw JSON text."""
    doc = FORMS[0] | dict.fromkeys(changes, 0)
    text = json.dumps(doc)
    for key, raw in changes.items():
        text = text.replace(f'"{key}": 0', f'"{key}": {raw}', 1)
    return text.encode()


def refused(
    world: World,
    home: Path,
    name: str,
    data: bytes,
    args: Callable[[World, Path], list[str]],
    *codes: str,
) -> Result:
    verdict = refuse("the issue names this case", *codes)
    return attempt(world, home, name, data, args, verdict)[1]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused_as_input_number(world: World, literal: str) -> None:
    refused(world, world.home, "In.json", form_text(rejected=literal), submit_args, "input.number")


@pytest.mark.parametrize("number", [SAFE_INTEGER + 1, 10**30])
def test_integers_beyond_2_53_are_refused_as_input_number_range(world: World, number: int) -> None:
    data = form_text(polled=str(number))
    refused(world, world.home, "In.json", data, submit_args, "input.number_range")


def test_a_lone_surrogate_is_refused_as_input_text(world: World) -> None:
    refused(world, world.home, "In.json", form_text(remarks='"\\ud800"'), submit_args, "input.text")


@pytest.mark.parametrize("name", ["In.json", "In.jsonl", "In.csv"])
def test_bytes_that_are_not_utf8_are_refused_as_input_encoding(world: World, name: str) -> None:
    if name.endswith(".csv"):
        buffer = io.StringIO()
        csv.writer(buffer).writerows(FORM_ROWS)
        data = (
            buffer.getvalue()
            .encode()
            .replace(b"counted", b"count\xffed")
            .replace(b"S2", b"S\xc3\x282")
        )
    else:
        data = json.dumps(FORMS[0]).encode().replace(b'"S1"', b'"S\xff1"')
    refused(world, world.home, name, data, submit_args, "input.encoding")


DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    ("name", "command", "data"),
    [
        ("In.json", "submit", DEEP),
        ("In.jsonl", "submit", DEEP + b"\n"),
        ("In.json", "submit", form_text(remarks=DEEP.decode())),
        ("In.json", "declare", DEEP),
        ("In.json", "import-structure", b'{"election": ' + DEEP + b"}"),
    ],
)
def test_100k_levels_of_nesting_are_refused_as_input_too_deep(
    world: World, name: str, command: str, data: bytes
) -> None:
    args, home = {
        "submit": (submit_args, world.home),
        "declare": (declare_args, world.home),
        "import-structure": (structure_args, world.bare),
    }[command]
    refused(world, home, name, data, args, "input.too_deep")


def csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


def test_a_csv_row_with_more_cells_than_the_header_is_refused(world: World) -> None:
    rows = [list(r) for r in FORM_ROWS]
    rows[2] += ["S3", "50"]
    refused(world, world.home, "In.csv", csv_bytes(rows), submit_args, "csv.extra_cells")


def test_a_csv_field_over_131072_characters_is_refused(world: World) -> None:
    rows = [list(r) for r in FORM_ROWS]
    rows[1][FORM_HEADER.index("remarks")] = "x" * (CSV_FIELD_LIMIT + 1)
    refused(world, world.home, "In.csv", csv_bytes(rows), submit_args, "csv.field_too_long")


def lines_with(result: Result, code: str) -> list[str]:
    return [line for line in result.output.splitlines() if code in line]


def test_duplicate_vote_keys_are_refused_naming_the_key(world: World) -> None:
    text = json.dumps(FORMS[0]).replace('"NA-1/a": 300', '"NA-1/a": 250, "NA-1/a": 300').encode()
    assert text.count(b'"NA-1/a"') == 2
    result = refused(world, world.home, "In.json", text, submit_args, "input.duplicate_key")
    assert any("NA-1/a" in line for line in lines_with(result, "input.duplicate_key")), (
        result.output
    )


def test_a_duplicate_key_in_a_structure_station_is_refused_naming_it(world: World) -> None:
    text = json.dumps(structure_doc()).replace(
        '"registered_voters": 1000', '"registered_voters": 1000, "registered_voters": 900', 1
    )
    assert text.count('"registered_voters"') == 5
    result = refused(
        world, world.bare, "In.json", text.encode(), structure_args, "input.duplicate_key"
    )
    assert any("registered_voters" in line for line in lines_with(result, "input.duplicate_key")), (
        result.output
    )


def test_a_duplicate_csv_header_is_refused(world: World) -> None:
    rows = [[*r, r[FORM_HEADER.index("votes.NA-1/b")]] for r in FORM_ROWS]
    refused(world, world.home, "In.csv", csv_bytes(rows), submit_args, "csv.duplicate_column")


def test_a_duplicate_column_in_a_structure_csv_set_is_refused(world: World) -> None:
    tables = structure_tables()
    tables["stations.csv"] = [[*r, r[2]] for r in tables["stations.csv"]]
    with world.trial(world.bare) as place:
        write_tables(place / "Set", tables)
        before = store_of(place / "home")
        result = tp(place / "home", *structure_args(world, place / "Set"))
        judge(
            place / "home",
            result,
            before,
            refuse("registered_voters twice", "csv.duplicate_column"),
        )


def test_a_form_with_200000_unknown_candidates_is_refused_quickly(world: World) -> None:
    doc = copy.deepcopy(FORMS[0])
    doc["votes"] |= {f"NA-1/u{i:06d}": 1 for i in range(200_000)}
    data = json.dumps(doc).encode()
    assert 3_000_000 < len(data) < 4_500_000
    started = time.perf_counter()
    refused(world, world.home, "In.json", data, submit_args, "input.too_large", "votes.too_many")
    assert time.perf_counter() - started < SECONDS


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("In.json", "submit"),
        ("In.jsonl", "submit"),
        ("In.csv", "submit"),
        ("In.json", "declare"),
        ("In.json", "import-structure"),
        ("Report.txt", "claims"),
    ],
)
def test_an_empty_file_is_refused_as_input_empty(world: World, name: str, command: str) -> None:
    args, home = {
        "submit": (submit_args, world.home),
        "declare": (declare_args, world.home),
        "import-structure": (structure_args, world.bare),
        "claims": (
            lambda w, p: ["claims", "ingest", str(p), "--key", str(w.keys["dawn"])],
            world.home,
        ),
    }[command]
    refused(world, home, name, b"", args, "input.empty")


def test_a_header_only_csv_is_refused(world: World) -> None:
    refused(world, world.home, "In.csv", csv_bytes(FORM_ROWS[:1]), submit_args)


def test_an_identifier_with_a_trailing_newline_is_refused(world: World) -> None:
    data = json.dumps(FORMS[0] | {"station": "S1\n"}).encode()
    refused(world, world.home, "In.json", data, submit_args, "schema.identifier")


def test_an_election_date_that_is_not_a_date_is_refused(world: World) -> None:
    doc = structure_doc()
    doc["election"]["date"] = "banana"
    result = attempt(
        world, world.bare, "In.json", json.dumps(doc).encode(), structure_args, refuse("a date")
    )[1]
    assert result.exit_code == 1 and "date" in result.output, result.output


def test_an_election_date_that_is_not_a_date_is_refused_from_a_csv_set(world: World) -> None:
    tables = structure_tables()
    tables["election.csv"][1][3] = "banana"
    with world.trial(world.bare) as place:
        write_tables(place / "Set", tables)
        before = store_of(place / "home")
        result = tp(place / "home", *structure_args(world, place / "Set"))
        judge(place / "home", result, before, refuse("a date"))
        assert result.exit_code == 1 and "date" in result.output, result.output


def test_a_declaration_without_votes_is_refused_as_votes_empty(world: World) -> None:
    data = json.dumps(DECLARATIONS[0] | {"votes": {}, "stations": {}}).encode()
    refused(world, world.home, "In.json", data, declare_args, "votes.empty")


@pytest.mark.parametrize("spelling", ["3_00", "+300", "٣٠٠"])
def test_counts_spelled_oddly_in_a_csv_are_refused(world: World, spelling: str) -> None:
    rows = [list(r) for r in FORM_ROWS]
    rows[1][FORM_HEADER.index("votes.NA-1/a")] = spelling
    refused(world, world.home, "In.csv", csv_bytes(rows), submit_args)


@pytest.mark.parametrize(
    ("name", "data", "command"),
    [
        ("In.json", BOM + json.dumps(FORMS[0]).encode(), "submit"),
        ("In.jsonl", BOM + b"\n".join(json.dumps(f).encode() for f in FORMS) + b"\n", "submit"),
        ("In.csv", BOM + csv_bytes(FORM_ROWS), "submit"),
        ("In.json", BOM + json.dumps(DECLARATIONS[0]).encode(), "declare"),
        ("In.json", BOM + json.dumps(structure_doc()).encode(), "import-structure"),
    ],
)
def test_a_utf8_bom_is_accepted(world: World, name: str, data: bytes, command: str) -> None:
    args, home = {
        "submit": (submit_args, world.home),
        "declare": (declare_args, world.home),
        "import-structure": (structure_args, world.bare),
    }[command]
    outcome, result = attempt(world, home, name, data, args, FINE)
    assert outcome == "accepted", result.output
