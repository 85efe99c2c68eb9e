"""Short (make test) and long (make soak) versions of the reliability tests, and their figures.

RELIABILITY_PROFILE=soak (set by soak/run.py) selects the long version. Every test writes
its figures to artifacts/reliability/<name>.json; soak/run.py turns them into a report.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOAK = os.environ.get("RELIABILITY_PROFILE", "short") == "soak"
FIGURES_DIR = Path(os.environ.get("RELIABILITY_FIGURES_DIR", ROOT / "artifacts" / "reliability"))

TENANTS = 5
CLIENTS_PER_TENANT = 8
LOAD_SECONDS = 60.0 if SOAK else 10.0
# Upper bound on requests whatever the speed: the load stops at whichever comes first.
LOAD_MAX_REQUESTS = 200_000 if SOAK else 20_000
# The fault load lasts this long, and at least 7 s after the last restart (recovery).
FAULT_LOAD_SECONDS = 45.0 if SOAK else 8.0
# Seconds into the fault load at which PostgreSQL is stopped (and started FAULT_DOWN_SECONDS later).
FAULT_RESTARTS_AT_SECONDS = [8.0, 26.0] if SOAK else [4.0]
FAULT_DOWN_SECONDS = 4.0 if SOAK else 3.0
FUZZ_EXAMPLES = 150 if SOAK else 10


def figures_record(name: str, figures: dict) -> Path:
    """Write one test's figures as JSON (with the profile) and return the path."""
    FIGURES_DIR.mkdir(parents=True, exist_ok=True)
    path = FIGURES_DIR / f"{name}.json"
    path.write_text(json.dumps({"profile": "soak" if SOAK else "short", **figures}, indent=2, sort_keys=True, default=str))
    return path
