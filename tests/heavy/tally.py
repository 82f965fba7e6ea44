"""The counts the heavy suite reports at its end: per backend, the runs, the kills, the
documents sent, those acknowledged, and those lost (which must be none)."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field

# one seed for the whole session, printed, so any run can be replayed with
# TALLYPROOF_HEAVY_SEED=<seed>
SEED = int(os.environ.get("TALLYPROOF_HEAVY_SEED") or random.SystemRandom().randrange(1 << 32))


def rng_for(*names: object) -> random.Random:
    """A run's own random numbers: from the session seed and the run's name, so one run
    replays alone with the same delays."""
    return random.Random(":".join(map(str, (SEED, *names))))


@dataclass
class Tally:
    runs: int = 0
    kills: dict[str, int] = field(default_factory=dict)  # by what was killed
    inputs: int = 0  # documents handed to a writer (the ingesting process, or POSTed)
    acknowledged: int = 0  # answered as logged (printed after commit, or 200/201)
    lost: int = 0  # acknowledged, then missing after a restart
    refused: int = 0  # writes refused with a store fault's code (disk full, read-only)

    def killed(self, what: str, n: int = 1) -> None:
        self.kills[what] = self.kills.get(what, 0) + n

    def line(self, name: str) -> str:
        text = f"{name}: runs {self.runs}"
        if self.kills:
            by = ", ".join(f"{k} {v}" for k, v in sorted(self.kills.items()))
            text += f", kills {sum(self.kills.values())} ({by})"
        text += f", inputs {self.inputs}, acknowledged {self.acknowledged}, lost {self.lost}"
        return text + (f", writes refused {self.refused}" if self.refused else "")


TALLIES: dict[str, Tally] = {}


def tally(name: str) -> Tally:
    return TALLIES.setdefault(name, Tally())
