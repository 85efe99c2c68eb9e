"""`make soak`: the long versions of the reliability tests, then a report of their figures.

Runs tests/reliability with RELIABILITY_PROFILE=soak (60 s of load, 45 s of load around a
PostgreSQL restart, 150 fuzz examples per operation and the coverage phase, from a fresh
seed) and writes artifacts/soak-report.md and artifacts/soak-report.json. Exits non-zero
when a test failed; the figures of the tests that ran are reported either way.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
FIGURES = ARTIFACTS / "reliability-soak"


def _machine() -> dict:
    cpu = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")), "")
    return {"cpus": os.cpu_count(), "cpu": cpu, "python": platform.python_version(), "platform": platform.platform()}


def _tests(junit: Path) -> dict:
    if not junit.exists():
        return {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "failed": []}
    suite = ET.parse(junit).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    failed = [
        f"{case.get('classname')}::{case.get('name')}"
        for case in suite.iter("testcase")
        if case.find("failure") is not None or case.find("error") is not None
    ]
    return {key: int(suite.get(key, 0)) for key in ("tests", "failures", "errors", "skipped")} | {"failed": failed, "seconds": float(suite.get("time", 0))}


def _load(name: str) -> dict | None:
    path = FIGURES / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _ms(value) -> str:
    return "–" if value is None else f"{value:.0f}"


def _markdown(report: dict) -> str:
    out = ["# Soak report", ""]
    m, t = report["machine"], report["tests"]
    out += [
        f"Run {report['started']} on {m['cpus']} CPUs ({m['cpu']}), Python {m['python']}; {report['seconds']:.0f} s in all.",
        f"Tests: {t['tests']} run, {t['failures'] + t['errors']} failed, {t['skipped']} skipped." + (f" Failed: {', '.join(t['failed'])}." if t["failed"] else ""),
        "",
        "| criterion | result |",
        "| --- | --- |",
    ]
    for name, value in report["verdict"].items():
        out.append(f"| {name} | {value} |")
    load = report["figures"].get("load")
    if load:
        s = load["setup"]
        out += [
            "",
            "## Load with leak detection",
            "",
            f"{s['tenants']} tenants x {s['clients'] // s['tenants']} clients ({s['clients']} concurrent), {s['mix']}; {s['gunicorn']}; PgBouncer {s['pgbouncer']}.",
            f"{load['requests']} requests in {load['seconds']} s: **{load['requests_per_second']} requests/s**. "
            f"Rows checked against the client's tenant: {load['rows_checked']}; **cross-tenant rows: {load['cross_tenant_rows']}**. "
            f"Patterns created {load['patterns_created']} (missing afterwards: {load['creates_missing']}), updated {load['patterns_updated']} (lost: {load['updates_lost']}).",
            "",
            "| endpoint | requests | p50 ms | p95 ms | p99 ms | by status |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for endpoint, e in load["endpoints"].items():
            out.append(f"| `{endpoint}` | {e['requests']} | {_ms(e['p50_ms'])} | {_ms(e['p95_ms'])} | {_ms(e['p99_ms'])} | {e['by_status']} |")
        out.append(f"\nAll responses by status: {load['by_status']}; transport errors: {load['transport_errors'] or 'none'}.")
    faults = [report["figures"].get(f"fault_restart_{p}") for p in ("direct", "pgbouncer")]
    if any(faults):
        out += ["", "## PostgreSQL restarted under load", "", "| path | requests | by status | 503 p50 / max ms | transport errors | after recovery | partial writes | lost writes |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for f in filter(None, faults):
            down = ", ".join(f"{r['stop_requested']:.1f}–{r['started']:.1f} s" for r in f["restarts"])
            out.append(
                f"| {f['setup']['path']} (stopped at {down}) | {f['requests']} | {f['by_status']} | "
                f"{_ms(f['failed_503_p50_ms'])} / {_ms(f['failed_503_max_ms'])} | {f['transport_errors'] or 'none'} | "
                f"{f['requests_after_recovery']} requests, {f['failures_after_recovery']} failed | {f['create_audit']['partial']} | {f['creates_missing'] + f['updates_lost']} |"
            )
    timeout = report["figures"].get("fault_statement_timeout")
    if timeout:
        out += ["", f"Statement timeout {timeout['statement_timeout_ms']} ms on a `pg_sleep(5)`: " + ", ".join(f"{k}: {v['status']} `{v['body']['error']['code']}`" for k, v in timeout["answers"].items()) + "."]
    kill = report["figures"].get("kill_backfill")
    if kill:
        out += ["", f"backfill_pattern_embeddings SIGKILLed at {kill['embedded_after_each_kill']} of {kill['rows']} rows, rerun: {kill['rerun']} Duplicated rows: {kill['duplicated']}."]
    seeder = report["figures"].get("kill_seeder")
    if seeder:
        line = (
            f"seed_comprehensive SIGKILLed mid-run on an empty database: rows left {seeder['rows_after_kill_on_empty']}; "
            f"the rerun wrote {seeder['rows_written_by_rerun']} rows and {seeder['rows_stored']} are stored."
        )
        if "old_rows_intact_after_second_kill" in seeder:
            line += (
                f" Killed again over its own data: old rows intact {seeder['old_rows_intact_after_second_kill']}; "
                f"the next rerun gives the same digest: {seeder['same_digest_after_second_rerun']}."
            )
        out += ["", line]
    fuzz = report["figures"].get("fuzz")
    if fuzz:
        out += [
            "",
            "## Fuzzing (schemathesis)",
            "",
            f"Seed {fuzz['seed']}, {fuzz['examples_per_operation']} examples per operation and mode ({', '.join(fuzz['modes'])}): "
            f"**{fuzz['cases']} cases** over {fuzz['operations']} operations, **{fuzz['responses_5xx']} responses 5xx**, {len(fuzz['failures'])} check failures.",
        ]
        for failure in fuzz["failures"]:
            out.append(f"- {failure['operation']} → {failure['status']}: {failure['error'][:200]}")
    return "\n".join(out) + "\n"


def main() -> int:
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    t0 = time.monotonic()
    shutil.rmtree(FIGURES, ignore_errors=True)
    FIGURES.mkdir(parents=True)
    junit = FIGURES / "junit.xml"
    env = {**os.environ, "RELIABILITY_PROFILE": "soak", "RELIABILITY_FIGURES_DIR": str(FIGURES)}
    code = subprocess.call([sys.executable, "-m", "pytest", "-q", "tests/reliability", f"--junitxml={junit}"], cwd=ROOT, env=env)
    figures = {p.stem: json.loads(p.read_text()) for p in sorted(FIGURES.glob("*.json"))}
    tests = _tests(junit)
    load, fuzz = figures.get("load", {}), figures.get("fuzz", {})
    faults = [figures.get(f"fault_restart_{p}") for p in ("direct", "pgbouncer")]
    verdict = {
        "tests passed": f"{tests['tests'] - tests['failures'] - tests['errors'] - tests['skipped']} of {tests['tests']}",
        "cross-tenant rows (must be 0)": load.get("cross_tenant_rows", "not run"),
        "5xx under load (must be 0)": sum(n for s, n in load.get("by_status", {}).items() if s.startswith("5")) if load else "not run",
        "5xx other than 503 database_unavailable during restarts (must be 0)": sum(
            sum(n for s, n in f["by_status"].items() if s.startswith("5") and s != "503") for f in faults if f
        ) if any(faults) else "not run",
        "PostgreSQL restarts survived (recovered by itself, no failure outside the outages)": f"{sum(len(f['restarts']) for f in faults if f and f['failures_after_recovery'] == 0 and f['requests_after_recovery'] > 0 and f['failures_outside_outages'] == 0)} of {sum(len(f['restarts']) for f in faults if f)}",
        "partial or lost writes (must be 0)": sum(f["create_audit"]["partial"] + f["creates_missing"] + f["updates_lost"] for f in faults if f)
        + load.get("creates_missing", 0) + load.get("updates_lost", 0),
        "SIGKILLed commands rerun consistently": ", ".join(
            name for name, ok in (
                ("backfill_pattern_embeddings", figures.get("kill_backfill", {}).get("duplicated") == 0),
                ("seed_comprehensive", figures.get("kill_seeder", {}).get("rows_written_by_rerun") == figures.get("kill_seeder", {}).get("rows_stored", -1)),
            ) if ok
        ) or "none",
        "fuzz cases run": fuzz.get("cases", "not run"),
        "fuzz 5xx (must be 0)": fuzz.get("responses_5xx", "not run"),
    }
    report = {"started": started, "seconds": time.monotonic() - t0, "machine": _machine(), "tests": tests, "verdict": verdict, "figures": figures, "pytest_exit_code": code}
    (ARTIFACTS / "soak-report.json").write_text(json.dumps(report, indent=2, default=str))
    (ARTIFACTS / "soak-report.md").write_text(_markdown(report))
    print(f"\nSoak report: {ARTIFACTS / 'soak-report.md'} (and .json)")
    print(_markdown(report))
    return code


if __name__ == "__main__":
    sys.exit(main())
