"""The heavy suite's seed and counts: the seed is printed first so a failing run can be
replayed, and each backend's counts (runs, kills, inputs, acknowledged, lost) last."""

from __future__ import annotations

import pytest

from tests.heavy.tally import SEED, TALLIES


def pytest_report_header() -> str:
    return f"heavy suite seed: {SEED} (replay with TALLYPROOF_HEAVY_SEED={SEED})"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLIES:
        return
    terminalreporter.section("heavy reliability counts")
    terminalreporter.write_line(f"seed {SEED}")
    for name, counts in sorted(TALLIES.items()):
        terminalreporter.write_line(counts.line(name))
