"""Where every benchmark leaves its figures: bench/results/<date>-<name>.json for the run,
and bench/results/latest.json holding each benchmark's newest run under its name."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def write_results(name: str, figures: dict[str, Any]) -> Path:
    """Write one run's figures, stamped with the time and the machine they came from."""
    RESULTS.mkdir(exist_ok=True)
    now = datetime.now(UTC)
    run = {
        "benchmark": name,
        "at": now.isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        **figures,
    }
    path = RESULTS / f"{now:%Y-%m-%d}-{name}.json"
    path.write_text(json.dumps(run, indent=1) + "\n", "utf-8")
    latest_path = RESULTS / "latest.json"
    latest = json.loads(latest_path.read_text("utf-8")) if latest_path.exists() else {}
    latest[name] = run
    latest_path.write_text(json.dumps(latest, indent=1, sort_keys=True) + "\n", "utf-8")
    return path
