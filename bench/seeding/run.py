"""Seeding speed: `manage.py seed_comprehensive` on a fresh, migrated database.

Method
  * A scratch database is created by the owner role and migrated (``manage.py migrate``),
    then the command runs in a subprocess with DATABASE_URL / DATABASE_RUNTIME_URL
    pointing at it, exactly as a user runs it (DEBUG=1, default seed).
  * Reported: the command's wall time (process start to exit, Django start-up and the
    commit included), its own table (rows, seconds and rows/s per model, phases such as
    embedding and index builds), the machine (cores, load average before and after) and
    whether another benchmark was running.
  * Results go to bench/seeding/results/<profile>.json; the scratch database is dropped.

Targets (issue 5): demo <= 30 s; large (>= 1M rows, 100K embedded patterns) <= 5 min
on a 2-core machine.

Run: .venv/bin/python bench/seeding/run.py [--profile demo|large|both] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "modernize.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from tenancy.management.commands.database_url import libpq_uri  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
ROW = re.compile(r"^(\w+)\s+([\d,]+)\s+([\d.]+)\s+([\d,]+)$")
PHASE = re.compile(r"^  (.+): ([\d.]+) s$")


def _conninfo(dbname: str) -> str:
    db = settings.DATABASES["owner"]
    return f"host={db['HOST']} port={db['PORT']} dbname={dbname} user={db['USER']} password={db['PASSWORD']}"


def _env(database: str) -> dict:
    return {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": libpq_uri({**settings.DATABASES["owner"], "NAME": database}),
        "DATABASE_RUNTIME_URL": libpq_uri({**settings.DATABASES["default"], "NAME": database}),
    }


def _other_benchmarks() -> list[str]:
    result = subprocess.run(["pgrep", "-af", "bench/"], capture_output=True, text=True)
    return [line for line in result.stdout.splitlines() if str(os.getpid()) not in line.split()[0] and "bench/seeding" not in line]


def _drop(database: str) -> None:
    # Without FORCE: PostgreSQL stops an autovacuum worker on the fresh rows itself
    # (FORCE would need the right to signal it, which the owner role lacks).
    for _ in range(30):
        try:
            with psycopg.connect(_conninfo("postgres"), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}"')
            return
        except psycopg.errors.ObjectInUse:
            time.sleep(1)
    raise SystemExit(f"Could not drop {database}; drop it by hand.")


def _parse(stdout: str) -> dict:
    models, phases, total = {}, {}, None
    for line in stdout.splitlines():
        if match := ROW.match(line):
            name, rows, seconds, rate = match.groups()
            entry = {"rows": int(rows.replace(",", "")), "seconds": float(seconds), "rows_per_second": int(rate.replace(",", ""))}
            if name == "total":
                total = entry
            else:
                models[name] = entry
        elif match := PHASE.match(line):
            phases[match.group(1)] = float(match.group(2))
    return {"models": models, "phases": phases, "total": total}


def run(profile: str, keep: bool) -> dict:
    database = f"bench_seed_{profile}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(_conninfo("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--no-input"], cwd=ROOT, env=_env(database), check=True, capture_output=True)
        others = _other_benchmarks()
        load_before = os.getloadavg()
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "manage.py", "seed_comprehensive", "--profile", profile],
            cwd=ROOT, env=_env(database), capture_output=True, text=True,
        )
        wall = time.monotonic() - started
        load_after = os.getloadavg()
        if result.returncode != 0:
            raise SystemExit(f"seed_comprehensive failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        parsed = _parse(result.stdout)
        with psycopg.connect(_conninfo(database)) as conn:
            embedded = conn.execute("SELECT count(*) FILTER (WHERE embedding IS NOT NULL), count(*) FROM agent_discovered_patterns").fetchone()
            hnsw = conn.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'adp_embedding_ann_idx'").fetchone()
        report = {
            "profile": profile,
            "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": f"manage.py seed_comprehensive --profile {profile}",
            "wall_seconds": round(wall, 2),
            "rows": parsed["total"]["rows"] if parsed["total"] else None,
            "patterns": {"rows": embedded[1], "embedded": embedded[0]},
            "vector_index": hnsw[0] if hnsw else None,
            "models": parsed["models"],
            "phases": parsed["phases"],
            "machine": {
                "cores": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "load_average_before": [round(x, 2) for x in load_before],
                "load_average_after": [round(x, 2) for x in load_after],
                "other_benchmarks_running": others,
            },
            "stdout_tail": result.stdout.splitlines()[-60:],
        }
    finally:
        if not keep:
            _drop(database)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{profile}.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"{profile}: {report['rows']:,} rows in {report['wall_seconds']} s wall (load {load_before[0]:.2f} -> {load_after[0]:.2f})")
    for name, entry in report["models"].items():
        print(f"  {name:<32} {entry['rows']:>10,} {entry['seconds']:>8.2f} s {entry['rows_per_second']:>10,}/s")
    for name, seconds in report["phases"].items():
        print(f"  {name}: {seconds:.2f} s")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=["demo", "large", "both"], default="both")
    parser.add_argument("--keep", action="store_true", help="Keep the scratch database.")
    args = parser.parse_args()
    for profile in (["demo", "large"] if args.profile == "both" else [args.profile]):
        run(profile, args.keep)


if __name__ == "__main__":
    main()
