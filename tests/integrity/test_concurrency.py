"""Several real `tallyproof` processes write one ledger at once, on one SQLite file and on one
PostgreSQL database: submitters with their own stations, stations two (or three) of them
submit the very same signed form for, an agent's differing forms for the same stations,
corrections, and the admin's `register-key` and `status` commands started meanwhile.

Afterwards the public bundle must audit, its leaves' `received_at` must never go backwards,
the published tallies must equal a recount of the stored official forms, every receipt any
process was given must verify and point at its leaf, and every form must be in the log
exactly once (a resubmission answered as a duplicate)."""

from __future__ import annotations

import base64
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from tallyproof.ledger.canonical import content_id
from tallyproof.ledger.entries import EntryKind, sign
from tallyproof.ledger.keys import Signer
from tallyproof.ledger.merkle import leaf_hash
from tests.helpers import CANDIDATES, form_doc, fresh_pg_schema, structure_doc

PG_URL = os.environ.get("TALLYPROOF_TEST_PG_URL", "")
STATIONS = 96
CONTESTS = {"NA-1": CANDIDATES, "PP-1": ("PP-1/x", "PP-1/y")}
OFFICIAL = {"presiding_officer", "returning_officer"}
SUBMITTERS = ("po-a", "po-b", "po-c", "agent")
BATCH = "5"
TIMEOUT = 120

PRESIDING = ("po-a", "po-b", "po-c")
# the stations each presiding-officer process alone sends for; and the last 12, whose forms
# two of them send (four stations to each pair)
EACH = (STATIONS - 12) // 3
OWN = {name: range(1 + EACH * k, 1 + EACH * (k + 1)) for k, name in enumerate(PRESIDING)}
SHARED = {
    s: (PRESIDING[(s - 1 - 3 * EACH) // 4], PRESIDING[((s - 1 - 3 * EACH) // 4 + 1) % 3])
    for s in range(1 + 3 * EACH, STATIONS + 1)
}


# ---------------------------------------------------------------- the workload, built in advance


@dataclass
class Workload:
    """What each process submits (signed envelopes, in file order) and what must come of it."""

    files: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)  # entry id -> body
    current: dict[tuple[str, str], str] = field(default_factory=dict)  # official chain heads

    def expected_totals(self) -> dict[str, dict[str, int]]:
        """Per contest and candidate: the sum over stations of the official chain's head."""
        totals: dict[str, dict[str, int]] = {
            c: dict.fromkeys(ids, 0) for c, ids in CONTESTS.items()
        }
        for (_, contest), form_id in self.current.items():
            for candidate, n in self.forms[form_id]["votes"].items():
                totals[contest][candidate] += n
        return totals


def _votes(station: int, contest: str, version: int) -> tuple[int, ...]:
    base = (100 + station, 50 + 2 * station, 10 + station % 7)
    if contest == "PP-1":
        base = (80 + station, 60 + station % 5)
    return tuple(v + 3 * version for v in base)


def build_workload(po: Signer, ro: Signer, agent: Signer) -> Workload:
    w = Workload()

    def signed(
        station: int,
        contest: str,
        version: int = 0,
        source: str = "presiding_officer",
        supersedes: str | None = None,
    ) -> dict[str, Any]:
        extra = {"supersedes": supersedes, "reason": "correction"} if supersedes else {}
        doc = form_doc(
            station=f"S{station}",
            votes=_votes(station, contest, version),
            rejected=5 + version,
            source=source,
            contest=contest,
            **extra,
        )
        key = {"presiding_officer": po, "returning_officer": ro}.get(source, agent)
        s = sign(EntryKind.FORM, doc, key)
        w.forms[s.body_id] = doc
        if source in OFFICIAL:
            w.current[(f"S{station}", contest)] = s.body_id
        return s.envelope()

    originals: dict[tuple[int, str], dict[str, Any]] = {
        (i, c): signed(i, c) for i in range(1, STATIONS + 1) for c in CONTESTS
    }

    def form_id(envelope: dict[str, Any]) -> str:
        return content_id(envelope["form"])

    rng = random.Random(2024)
    for name in PRESIDING:
        stations = list(OWN[name]) + [s for s, who in SHARED.items() if name in who]
        first = [originals[(i, c)] for i in stations for c in CONTESTS]
        rng.shuffle(first)
        own = list(OWN[name])
        later = [
            # presiding officer's corrections
            signed(own[0], "NA-1", 1, supersedes=form_id(originals[(own[0], "NA-1")])),
            signed(own[1], "PP-1", 1, supersedes=form_id(originals[(own[1], "PP-1")])),
            # the returning officer's, in the same official chain
            signed(own[2], "NA-1", 2, "returning_officer", form_id(originals[(own[2], "NA-1")])),
            signed(own[3], "PP-1", 2, "returning_officer", form_id(originals[(own[3], "PP-1")])),
        ]
        # a chain of three: presiding officer, returning officer, presiding officer again
        middle = signed(
            own[4], "NA-1", 2, "returning_officer", form_id(originals[(own[4], "NA-1")])
        )
        later += [middle, signed(own[4], "NA-1", 3, supersedes=form_id(middle))]
        # a correction of a form another process also submits
        shared = next(s for s, who in SHARED.items() if who[0] == name)
        later.append(signed(shared, "NA-1", 1, supersedes=form_id(originals[(shared, "NA-1")])))
        w.files[name] = first + later
    # the PTI agent's own copies (other numbers, another chain), one sent twice, and three
    # official forms that two presiding-officer processes send as well
    agent_forms = [signed(i, "NA-1", 7, "agent:PTI") for i in range(1, STATIONS + 1)]
    agent_forms.append(agent_forms[3])
    last = STATIONS
    agent_forms += [originals[(last - 8, "PP-1")], originals[(last - 4, "NA-1")]]
    agent_forms.append(originals[(last, "PP-1")])
    rng.shuffle(agent_forms)
    w.files["agent"] = agent_forms
    return w


# ---------------------------------------------------------------- driving the real command


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "tallyproof", *args]


def environment(home: Path, url: str | None) -> dict[str, str]:
    env = {**os.environ, "COLUMNS": "200", "TALLYPROOF_HOME": str(home)}
    env.pop("TALLYPROOF_DATABASE_URL", None)
    if url:
        env["TALLYPROOF_DATABASE_URL"] = url
    return env


def cli(env: dict[str, str], *args: str, check: int | None = 0) -> subprocess.CompletedProcess:
    done = subprocess.run(command(*args), capture_output=True, text=True, env=env, timeout=TIMEOUT)
    if check is not None:
        assert done.returncode == check, f"{args}: {done.stdout}{done.stderr}"
    return done


@dataclass
class Finished:
    """One process of the concurrent phase, after it exited."""

    name: str
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def run_together(
    env: dict[str, str], jobs: dict[str, tuple[str, ...]], out: Path
) -> dict[str, Finished]:
    """Start every job at once (output to files: no pipe can fill and stall one), then wait."""
    out.mkdir()
    started = []
    for name, args in jobs.items():
        stdout, stderr = (out / f"{name}.out").open("w"), (out / f"{name}.err").open("w")
        process = subprocess.Popen(command(*args), stdout=stdout, stderr=stderr, env=env)
        started.append((name, args, process, stdout, stderr))
    finished = {}
    deadline = time.monotonic() + TIMEOUT
    for name, args, process, stdout, stderr in started:
        try:
            code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        stdout.close()
        stderr.close()
        finished[name] = Finished(
            name, args, code, (out / f"{name}.out").read_text(), (out / f"{name}.err").read_text()
        )
    return finished


def json_documents(output: str) -> list[dict[str, Any]]:
    """The JSON objects `submit --json` prints one after another."""
    decoder, docs, at = json.JSONDecoder(), [], 0
    while output[at:].strip():
        at += len(output[at:]) - len(output[at:].lstrip())
        doc, at = decoder.raw_decode(output, at)
        docs.append(doc)
    return docs


@dataclass(frozen=True)
class Leaf:
    index: int
    raw: bytes
    doc: dict[str, Any]

    @property
    def entry_id(self) -> str:
        return content_id(self.doc["body"])


def read_ledger(bundle: Path) -> list[Leaf]:
    leaves = []
    for line in (bundle / "ledger.jsonl").read_bytes().splitlines():
        head, _, rest = line.partition(b',"leaf":')
        assert head.startswith(b'{"index":') and rest.endswith(b"}"), line[:80]
        raw = rest[:-1]
        leaves.append(Leaf(int(head[len(b'{"index":') :]), raw, json.loads(raw)))
    return leaves


# ---------------------------------------------------------------- the run, once per store


@dataclass
class Run:
    store: str
    env: dict[str, str]
    tmp: Path
    workload: Workload
    setup_size: int  # entries in the log before the concurrent phase
    finished: dict[str, Finished]
    bundle: Path
    leaves: list[Leaf]
    log_key: str  # what `tallyproof log-key` printed

    def outcomes(self, name: str) -> list[dict[str, Any]]:
        return json_documents(self.finished[name].stdout)

    def receipts(self, name: str) -> Path:
        return self.tmp / f"{name}.receipts.jsonl"


@pytest.fixture(scope="module")
def pg_schema_url(pg_server_url: str) -> Iterator[str]:
    """A fresh schema on the PostgreSQL server for this module's run, dropped afterwards
    (as tests/conftest.py's `pg_url`, but shared by the module's tests)."""
    with fresh_pg_schema(pg_server_url) as url:
        yield url


def write_key(path: Path, signer: Signer) -> Path:
    path.write_text(signer.private_text() + "\n")
    return path


@pytest.fixture(
    scope="module",
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(not PG_URL, reason="TALLYPROOF_TEST_PG_URL is not set"),
        ),
    ],
)
def run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Run:
    tmp = tmp_path_factory.mktemp(f"concurrency-{request.param}")
    url = request.getfixturevalue("pg_schema_url") if request.param == "postgresql" else None
    env = environment(tmp / "home", url)
    keys = {
        name: write_key(tmp / f"{name}.key", Signer.generate(label))
        for name, label in (
            ("admin", "test/admin"),
            ("po", "po/all"),
            ("ro", "ro/all"),
            ("agent", "agent/PTI"),
            ("fafen", "observer/FAFEN"),
            ("tdea", "observer/TDEA"),
        )
    }
    signer = {n: Signer.from_private_text(p.read_text()) for n, p in keys.items()}
    admin = ("--admin-key", str(keys["admin"]))

    cli(env, "init", "--origin", "test.example/log")
    (tmp / "structure.json").write_text(json.dumps(structure_doc(stations=STATIONS)))
    cli(env, "import-structure", str(tmp / "structure.json"), *admin)
    # the three keys (in any order: they are independent)
    stations = [a for i in range(1, STATIONS + 1) for a in ("--station", f"S{i}")]
    contests = [a for c in CONTESTS for a in ("--contest", c)]
    registered = run_together(
        env,
        {
            "register-po": (
                "register-key",
                "--source",
                "presiding_officer",
                "--key-file",
                str(keys["po"]),
                *stations,
                *admin,
            ),
            "register-ro": (
                "register-key",
                "--source",
                "returning_officer",
                "--key-file",
                str(keys["ro"]),
                *contests,
                *admin,
            ),
            "register-agent": (
                "register-key",
                "--source",
                "agent:PTI",
                "--key-file",
                str(keys["agent"]),
                *admin,
            ),
        },
        tmp / "setup",
    )
    for f in registered.values():
        assert f.returncode == 0, f"{f.name}: {f.stdout}{f.stderr}"
    setup_size = 4  # the structure and three keys

    workload = build_workload(signer["po"], signer["ro"], signer["agent"])
    jobs: dict[str, tuple[str, ...]] = {}
    for name in SUBMITTERS:
        path = tmp / f"{name}.jsonl"
        path.write_text("".join(json.dumps(e) + "\n" for e in workload.files[name]))
        receipts = str(tmp / f"{name}.receipts.jsonl")
        jobs[name] = ("submit", str(path), "--batch-size", BATCH, "--receipts", receipts, "--json")
    jobs["register-fafen"] = (
        "register-key",
        "--source",
        "observer:FAFEN",
        "--key-file",
        str(keys["fafen"]),
        *admin,
    )
    jobs["register-tdea"] = (
        "register-key",
        "--source",
        "observer:TDEA",
        "--key-file",
        str(keys["tdea"]),
        *admin,
    )
    jobs["status-na"] = ("status", "NA-1", "counting", *admin)
    jobs["status-pp"] = ("status", "PP-1", "polling", *admin)  # on the chain: either order
    finished = run_together(env, jobs, tmp / "processes")

    log_key = subprocess.Popen(command("log-key"), stdout=subprocess.PIPE, text=True, env=env)
    bundle = tmp / "bundle"
    cli(env, "export-bundle", str(bundle))
    vkey = log_key.communicate(timeout=TIMEOUT)[0].strip()
    assert log_key.returncode == 0 and vkey, "log-key failed"
    leaves = read_ledger(bundle)
    return Run(request.param, env, tmp, workload, setup_size, finished, bundle, leaves, vkey)


# ---------------------------------------------------------------- what must hold afterwards


def test_every_process_finishes_cleanly(run: Run) -> None:
    for f in run.finished.values():
        assert f.returncode == 0, (
            f"{f.name} {f.args} exited {f.returncode}:\n{f.stdout}\n{f.stderr}"
        )
        assert "Traceback" not in f.stderr, f"{f.name}:\n{f.stderr}"
    for name in SUBMITTERS:
        outcomes = run.outcomes(name)
        assert len(outcomes) == len(run.workload.files[name])
        refused = [o for o in outcomes if not o["accepted"]]
        assert refused == [], f"{name} had forms refused: {refused}"


def test_the_processes_really_wrote_at_the_same_time(run: Run) -> None:
    """Not a property of tallyproof: a check that this test interleaved the writers at all."""
    assert [leaf.doc["kind"] for leaf in run.leaves[: run.setup_size]] == [
        "structure",
        *["key_registration"] * 3,
    ]
    owner = {
        o["id"]: name
        for name in SUBMITTERS
        for o in run.outcomes(name)
        if o["accepted"] and not o.get("duplicate")
    }
    order = [owner.get(leaf.entry_id) for leaf in run.leaves[run.setup_size :]]
    forms = [name for name in order if name is not None]
    switches = sum(1 for a, b in pairwise(forms) if a != b)
    assert switches > len(SUBMITTERS) - 1, f"the submitters wrote one after another: {forms}"
    # the admin's commands ran meanwhile; where their entries land (before, among or after the
    # forms) is up to the scheduler, so it is not asserted


def test_the_bundle_audits(run: Run) -> None:
    done = cli(run.env, "audit", str(run.bundle), "--json", check=None)
    report = json.loads(done.stdout)
    issues = [(i["code"], i["where"], i["message"]) for i in report["issues"]]
    assert done.returncode == 0 and report["ok"] is True, (
        f"audit exited {done.returncode} with {len(issues)} issues "
        f"({Counter(code for code, _, _ in issues)}): {issues[:5]}"
    )


def test_received_at_never_goes_backwards_in_leaf_order(run: Run) -> None:
    assert [leaf.index for leaf in run.leaves] == list(range(len(run.leaves)))
    backwards = [
        (b.index, a.doc["received_at"], b.doc["received_at"])
        for a, b in pairwise(run.leaves)
        if b.doc["received_at"] < a.doc["received_at"]
    ]
    assert backwards == [], (
        f"{len(backwards)} leaves received before the leaf ahead: {backwards[:5]}"
    )


def test_results_equal_a_recount_of_the_stored_official_forms(run: Run) -> None:
    official = [
        leaf.doc["body"]
        for leaf in run.leaves
        if leaf.doc["kind"] == "form" and leaf.doc["body"]["source"] in OFFICIAL
    ]
    superseded = {body["supersedes"] for body in official if "supersedes" in body}
    heads: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for body in official:
        if content_id(body) not in superseded:
            heads[(body["station"], body["contest"])].append(body)
    assert all(len(h) == 1 for h in heads.values()), {
        k: len(h) for k, h in heads.items() if len(h) != 1
    }
    recount: dict[str, dict[str, int]] = {c: dict.fromkeys(ids, 0) for c, ids in CONTESTS.items()}
    for (_, contest), (body,) in heads.items():
        for candidate, n in body["votes"].items():
            recount[contest][candidate] += n

    results = {
        r["contest"]: r for r in json.loads(cli(run.env, "results", "--json").stdout)["results"]
    }
    assert {c: r["votes"] for c, r in results.items()} == recount
    assert recount == run.workload.expected_totals()  # and nothing was lost on the way in
    assert {c: r["stations_reported"] for c, r in results.items()} == dict.fromkeys(
        CONTESTS, STATIONS
    )


def test_every_receipt_verifies_and_names_its_leaf_in_the_bundle(run: Run) -> None:
    by_id = {(leaf.doc["kind"], leaf.entry_id): leaf for leaf in run.leaves}
    seen: dict[str, dict[str, Any]] = {}
    checks = {
        name: subprocess.Popen(
            command("verify-receipt", str(run.receipts(name)), "--log-key", run.log_key),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=run.env,
        )
        for name in SUBMITTERS
    }
    for name in SUBMITTERS:
        receipts = [json.loads(line) for line in run.receipts(name).read_text().splitlines()]
        assert len(receipts) == len(run.workload.files[name]), name
        stdout, stderr = checks[name].communicate(timeout=TIMEOUT)
        assert checks[name].returncode == 0, f"{name}: {stdout}{stderr}"
        assert stdout.count("ok: form ") == len(receipts), stdout
        for r in receipts:
            leaf = by_id.get((r["kind"], r["entry_id"]))
            assert leaf is not None, (
                f"{name}: receipt for {r['entry_id']} has no leaf in the bundle"
            )
            assert r["leaf_index"] == leaf.index
            assert r["received_at"] == leaf.doc["received_at"]
            assert base64.b64decode(r["leaf_hash"]) == leaf_hash(leaf.raw)
            # a duplicate's receipt is the original one, whichever process got it first
            assert seen.setdefault(r["entry_id"], r) == r, (
                f"{name}: two receipts for {r['entry_id']}"
            )


def test_every_form_is_accepted_exactly_once(run: Run) -> None:
    form_ids = [leaf.entry_id for leaf in run.leaves if leaf.doc["kind"] == "form"]
    twice = [i for i, n in Counter(form_ids).items() if n > 1]
    assert twice == [], f"{len(twice)} forms are in the log more than once"
    assert set(form_ids) == set(run.workload.forms), "forms lost or made up"

    sent = Counter(content_id(e["form"]) for name in SUBMITTERS for e in run.workload.files[name])
    new: Counter[str] = Counter()
    duplicate: Counter[str] = Counter()
    for name in SUBMITTERS:
        for o in run.outcomes(name):
            if o["accepted"]:  # a refusal is neither, so the counts below come out short
                (duplicate if o.get("duplicate") else new)[o["id"]] += 1
    assert new == Counter(dict.fromkeys(run.workload.forms, 1)), "not every form was new once"
    assert duplicate == Counter({i: n - 1 for i, n in sent.items() if n > 1})
    # both forms of each shared station come from two processes, three of them also from the
    # agent's; and the agent's file holds one of its forms twice
    assert sum(duplicate.values()) == 2 * len(SHARED) + 3 + 1

    kinds = Counter(leaf.doc["kind"] for leaf in run.leaves)
    assert kinds == {
        "structure": 1,
        "key_registration": 3 + 2,
        "status": 2,
        "form": len(run.workload.forms),
    }
