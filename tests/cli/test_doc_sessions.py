"""The README and docs cannot drift: every ```sh block in README.md and docs/ is marked, just
above it, as a `<!-- session: NAME -->` or a `<!-- reference: why -->` (command syntax with
placeholders, or a set-up command CI runs itself). Each session runs here as written, line by
line, with bash, in a fresh directory with the files its text says a reader brings: every line
must exit 0, and the lines named below must print what they promise. Blocks of one name in
one file continue one session; a line ending in `&` runs in the background until the session
ends, once its `--port` answers. Lines running `make` are left to their targets."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
BIN = Path(sys.executable).parent
MARK = re.compile(r"<!-- (session|reference): ?([^>]*?) ?-->\n```sh\n")
BLOCK = re.compile(r"^```sh\n", re.M)


@dataclass
class Block:
    path: Path
    line: int
    kind: str  # session, reference, or "" when unmarked
    name: str
    lines: list[str]


def blocks(path: Path) -> list[Block]:
    text = path.read_text("utf-8")
    found = []
    for match in BLOCK.finditer(text):
        body = text[match.end() : text.index("```", match.end())]
        head = text[: match.end()]
        mark = MARK.search(head, max(0, match.start() - 300))
        marked = mark is not None and mark.end() == match.end()
        line = text.count("\n", 0, match.start()) + 1
        kind, name = (mark.group(1), mark.group(2)) if marked and mark else ("", "")
        found.append(Block(path, line, kind, name, body.splitlines()))
    return found


def every_block() -> list[Block]:
    return [
        b for p in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))] for b in blocks(p)
    ]


def sessions() -> dict[str, list[Block]]:
    """Session blocks by `file:name`, in the order they appear."""
    found: dict[str, list[Block]] = {}
    for block in every_block():
        if block.kind == "session":
            found.setdefault(f"{block.path.name}:{block.name}", []).append(block)
    return found


def test_every_sh_block_is_a_session_or_says_why_not():
    unmarked = [f"{b.path.relative_to(REPO)}:{b.line}" for b in every_block() if not b.kind]
    assert not unmarked, (
        f"mark each as <!-- session: NAME --> or <!-- reference: why -->: {unmarked}"
    )
    assert all(b.name for b in every_block()), "a session has a name, a reference its reason"


# --- running a session ----------------------------------------------------------------------


@dataclass
class Run:
    """A session's directory, environment, background processes and what each line printed."""

    cwd: Path
    env: dict[str, str]
    background: list[subprocess.Popen] = field(default_factory=list)
    printed: dict[str, str] = field(default_factory=dict)  # the line -> its stdout and stderr
    stdout: dict[str, str] = field(default_factory=dict)

    def line(self, text: str) -> None:
        command = _without_comment(text)
        if command.endswith("&"):
            self._start(command[:-1].strip())
            return
        done = subprocess.run(
            ["bash", "-c", command], cwd=self.cwd, env=self.env, capture_output=True,
            text=True, timeout=600,
        )  # fmt: skip
        self.printed[text], self.stdout[text] = done.stdout + done.stderr, done.stdout
        assert done.returncode == 0, f"{text}\nexit {done.returncode}\n{done.stdout}{done.stderr}"

    def _start(self, command: str) -> None:
        port = _port_of(command)
        _check_free(port)
        log = (self.cwd / f"background-{len(self.background)}.log").open("ab")
        self.background.append(
            subprocess.Popen(
                ["bash", "-c", f"exec {command}"], cwd=self.cwd, env=self.env, stdout=log,
                stderr=log, start_new_session=True,
            )
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.background[-1].poll() is None, f"{command} exited"
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.1)
        raise AssertionError(f"{command}: nothing answers on port {port}")

    def stop(self) -> None:
        for process in reversed(self.background):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)


def _without_comment(text: str) -> str:
    """The line without its trailing comment (a ` #` and what follows; no command here has
    ` #` inside quotes)."""
    return re.sub(r"\s+#\s.*$", "", text).strip()


def _port_of(command: str) -> int:
    words = shlex.split(command)
    if "--port" in words:
        return int(words[words.index("--port") + 1])
    raise AssertionError(f"a background line names its --port: {command}")


def _check_free(port: int) -> None:
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", port)) == 0:
            raise AssertionError(f"port {port} is taken: the session needs it, as written")


# --- what a reader brings, and what each session must show ---------------------------------


def _readme_files(cwd: Path) -> None:
    """The files "Using it" says a reader brings."""
    from tests.cli.test_readme_steps import write_inputs  # the README's election and forms

    write_inputs(cwd)
    (cwd / "report.txt").write_text(
        "outlet: Dawn\ndate: 2024-02-09\ntitle: Khosa leads in Lahore\n\n"
        "Sardar Latif Khosa received 512 votes at the first polling station of NA-122 "
        "(Lahore-VI), while Khawaja Saad Rafique secured 301 votes.\n"
    )


def _correct_declaration(run: Run) -> None:
    """form47-corrected.json supersedes the declaration the line before declared."""
    from tests.cli.test_readme_steps import write_correction

    declared = next(v for k, v in run.stdout.items() if "declare form47.json" in k)
    write_correction(run.cwd, declared)


SETUP: dict[str, Callable[[Path], None]] = {"README.md:readme": _readme_files}
BEFORE: dict[str, Callable[[Run], None]] = {"declare form47-corrected.json": _correct_declaration}
# a line (by the longest start that fits) -> what it must print; every line must exit 0
SHOWS: dict[str, tuple[str, ...]] = {
    "tallyproof init": ("var/tallyproof",),
    "tallyproof keygen pk-ge-2024/admin": ("key id",),
    "tallyproof import-structure election.json": ("accepted",),
    "tallyproof submit forms.jsonl": ("accepted",),
    "tallyproof status NA-8 postponed": ("accepted 1 new",),
    "tallyproof results NA-122 ": ("NA-122", "512"),
    "tallyproof forms LHR-001": ("LHR-001",),
    "tallyproof history NA-122": ("NA-122",),
    "tallyproof checkpoint": ("tallyproof.local/log", "\u2014 "),
    "tallyproof export-bundle bundle/": ("bundle",),
    "tallyproof audit bundle/ --report": ("checks out",),
    "tallyproof audit bundle/ --receipts": ("checks out",),
    "tallyproof verify-receipt": ("ok: form",),
    "tallyproof import-stations russia-2018": ("97,699",),
    "tallyproof import-dataset pk-2018": ("840", "contest.rejected_exceed_margin"),
    "tallyproof forensics report/": ("report/index.html",),
    "tallyproof forensics report/ --contest": ('"RU-PRES-2018"',),
    "tallyproof claims extract": ("512",),
    "tallyproof claims ingest": ("Dawn",),
    "curl -s localhost:8000/v1/elections/pk-ge-2024/contests/NA-122": ('"NA-122"', "tree_size"),
    'curl -sN "localhost:8000/v1/events': ("event:", "data:"),
    "tallyproof field sync": ("accepted",),
    "tallyproof collect-cosignatures": ("observers.example/w1: cosigned",),
    "tallyproof audit bundle/ --require-witnessed": ("checks out", "observers.example/w1"),
}


@pytest.mark.parametrize("session", sorted(sessions()))
def test_the_session_runs_as_written(session: str, tmp_path: Path) -> None:
    cwd = tmp_path / "work"
    cwd.mkdir()
    if SHARED.is_dir():  # the data sets beside the directory, as beside the repository
        (tmp_path / "shared").symlink_to(SHARED, target_is_directory=True)
    SETUP.get(session, lambda _cwd: None)(cwd)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALLYPROOF_")}
    env |= {"PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}", "COLUMNS": "200"}
    run = Run(cwd, env)
    ran = []
    try:
        for block in sessions()[session]:
            for text in block.lines:
                if not _without_comment(text) or text.startswith("make "):
                    continue
                for start, hook in BEFORE.items():
                    if start in text:
                        hook(run)
                run.line(text)
                ran.append(text)
    finally:
        run.stop()
    broken = []
    for text in ran:
        starts = [start for start in SHOWS if text.startswith(start)]
        if starts:  # the longest start that fits names what the line promises
            printed = run.printed.get(text, "")
            missing = [p for p in SHOWS[max(starts, key=len)] if p not in printed]
            if missing:
                broken.append(f"{text}\ndid not print {missing}:\n{printed[-1500:]}")
    assert not broken, "\n\n".join(broken)
