"""Faults under load: PostgreSQL restarted mid-run, statement timeouts, connect timeouts.

While the database is down requests answer at once with 503 and a JSON error; the
server recovers by itself when it is back; a pattern and its audit row are written
together or not at all; acknowledged writes survive.
"""

import socket
import threading
from contextlib import ExitStack

import httpx
import pytest
from django.conf import settings
from django.db import OperationalError, connections
from django.db.backends.postgresql.base import DatabaseWrapper

from tests.live import gunicorn_server, pgbouncer
from tests.reliability.checks import create_audit_consistency, lost_writes
from tests.reliability.load import client_specs, load_run
from tests.reliability.postgres import Restart, postgres_restart
from tests.reliability.profile import FAULT_DOWN_SECONDS, FAULT_LOAD_SECONDS, FAULT_RESTARTS_AT_SECONDS, LOAD_MAX_REQUESTS, figures_record

pytestmark = pytest.mark.slow

SERVER_ENV = {"SEARCH_THROTTLE_RATE": "1000000/min", "DB_CONNECT_TIMEOUT": "2"}
# Without them a client waits up to 120 s for a server connection while PostgreSQL is
# down, and PgBouncer retries a failed server login only every 15 s (docs/reliability.md).
BOUNCER_OPTIONS = {"query_wait_timeout": 3, "server_login_retry": 1}
# Requests started this long after the database is accepting connections again must all
# succeed (PgBouncer retries its server login every second, see BOUNCER_OPTIONS).
RECOVERY_SECONDS = 3.0


def _probe(base: str) -> dict:
    response = httpx.get(f"{base}/healthz", timeout=30)
    return {"status": response.status_code, "body": response.json()}


@pytest.mark.parametrize("path", ["direct", "pgbouncer"])
def test_postgres_restart_during_load(fleet, django_db_blocker, path):
    specs = client_specs(fleet)[::2]  # 4 clients per tenant: the fault, not the throughput, is measured
    restarts = [Restart() for _ in FAULT_RESTARTS_AT_SECONDS]
    with django_db_blocker.unblock():
        for alias in connections:
            connections[alias].close()
        with ExitStack() as stack:
            runtime, env = None, SERVER_ENV
            if path == "pgbouncer":
                runtime = stack.enter_context(pgbouncer(pool_size=4, options=BOUNCER_OPTIONS))
                env = {**SERVER_ENV, "DB_TRANSACTION_POOLER": "1"}
            base = stack.enter_context(gunicorn_server(runtime_db=runtime, threads=8, env=env))

            def restart_event(record):
                return lambda t0: postgres_restart(down_seconds=FAULT_DOWN_SECONDS, t0=t0, record=record, while_down=lambda: _probe(base))

            result = load_run(
                base,
                specs,
                owner_of=fleet.owner_of(),
                seconds=FAULT_LOAD_SECONDS,
                max_requests=LOAD_MAX_REQUESTS,
                events=[(at, restart_event(record)) for at, record in zip(FAULT_RESTARTS_AT_SECONDS, restarts)],
                tail_seconds=RECOVERY_SECONDS + 4.0,
            )
            after = _probe(base)
        for alias in connections:
            connections[alias].close()
        lost = lost_writes(result)
        audit = create_audit_consistency(result)

    def in_outage(sample) -> bool:
        return any(r.stop_requested - 1.0 <= sample.started + sample.seconds and sample.started <= r.started + RECOVERY_SECONDS for r in restarts)

    failures = [s for s in result.samples if s.status not in (200, 201)]
    outside = [s for s in failures if not in_outage(s)]
    after_recovery = [s for s in result.samples if s.started >= restarts[-1].started + RECOVERY_SECONDS]
    failed_503 = sorted(s.seconds for s in failures if s.status == 503)
    summary = result.summary()
    figures_record(
        f"fault_restart_{path}",
        {
            "setup": {"path": path, "clients": len(specs), "restarts_at_s": FAULT_RESTARTS_AT_SECONDS, "down_s": FAULT_DOWN_SECONDS, "bouncer": BOUNCER_OPTIONS if path == "pgbouncer" else None},
            "restarts": [r.__dict__ for r in restarts],
            "requests": summary["requests"],
            "by_status": summary["by_status"],
            "error_codes": summary["error_codes"],
            "transport_errors": summary["transport_errors"],
            "transport_error_details": summary["transport_error_details"],
            "failed_503_max_ms": round(failed_503[-1] * 1000, 1) if failed_503 else None,
            "failed_503_p50_ms": round(failed_503[len(failed_503) // 2] * 1000, 1) if failed_503 else None,
            "last_failure_s_after_start": round(max((s.started for s in failures), default=restarts[-1].started) - restarts[-1].started, 2),
            "failures_outside_outages": len(outside),
            "requests_after_recovery": len(after_recovery),
            "failures_after_recovery": sum(1 for s in after_recovery if s.status not in (200, 201)),
            "cross_tenant_rows": len(result.cross_tenant_rows),
            "create_audit": {k: (len(v) if isinstance(v, list) else v) for k, v in audit.items()},
            "creates_missing": len(lost["creates_missing"]),
            "updates_lost": len(lost["updates_lost"]),
            "healthz_while_down": [r.while_down for r in restarts],
            "healthz_after": after,
        },
    )
    assert failures, "the restart was not observed by any request"
    assert {s.status for s in failures} == {503}, summary["by_status"]
    assert {s.error_code for s in failures} == {"database_unavailable"}, summary["error_codes"]
    assert result.transport_errors == {} and result.malformed_errors == [], summary["transport_error_details"]
    for r in restarts:
        assert r.while_down["status"] == 503 and r.while_down["body"]["error"]["code"] == "database_unavailable"
    assert outside == [], "requests failed while the database was up"
    assert after_recovery and all(s.status in (200, 201) for s in after_recovery), "the server did not recover by itself"
    assert after["status"] == 200
    assert result.cross_tenant_rows == []
    assert audit["partial"] == [], "a pattern without its audit row, or the reverse"
    assert lost == {"creates_missing": [], "updates_lost": []}


def test_slow_query_is_cancelled_with_a_clean_error(fleet, django_db_blocker):
    tenant = fleet.tenants[0]
    headers = {"Authorization": f"Token {tenant.tokens[0]}"}
    env = {"DJANGO_SETTINGS_MODULE": "tests.reliability.live_settings", "DB_STATEMENT_TIMEOUT_MS": "300"}
    with django_db_blocker.unblock():
        with gunicorn_server(threads=2, env=env) as base:
            answers = {}
            for kind in ("api", "plain"):
                response = httpx.post(f"{base}/test-only/sleep/{kind}/", params={"seconds": 5, "slug": f"slow-{kind}"}, headers=headers, timeout=30)
                answers[kind] = (response.status_code, response.json(), response.headers.get("Retry-After"))
            # The cancelled transaction was rolled back and its connection serves the next request.
            engagements = httpx.get(f"{base}/api/v1/engagements/", headers=headers, timeout=30)
    figures_record("fault_statement_timeout", {"statement_timeout_ms": 300, "answers": {k: {"status": v[0], "body": v[1]} for k, v in answers.items()}})
    for kind, (status, body, retry_after) in answers.items():
        assert status == 503, (kind, body)
        assert body["error"]["code"] == "query_timeout", (kind, body)
        assert retry_after is not None
    assert engagements.status_code == 200
    slugs = {e["slug"] for e in engagements.json()["results"]}
    assert slugs and not slugs & {"slow-api", "slow-plain"}, "the cancelled request's write was committed"


def test_connect_timeout_bounds_an_unresponsive_database(django_db_blocker):
    """A server that accepts TCP but never answers: the configured connect_timeout ends the wait."""
    assert connections["default"].get_connection_params()["connect_timeout"] == settings.DB_CONNECT_TIMEOUT
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # never accepted: the handshake completes in the kernel, no reply ever comes
        params = {**connections["default"].settings_dict, "HOST": "127.0.0.1", "PORT": str(silent.getsockname()[1])}
        wrapper = DatabaseWrapper(params, alias="unresponsive")
        outcome = {}

        def connect():
            try:
                wrapper.ensure_connection()
                outcome["error"] = None
            except OperationalError as exc:
                outcome["error"] = exc

        with django_db_blocker.unblock():
            worker = threading.Thread(target=connect, daemon=True)
            worker.start()
            worker.join(settings.DB_CONNECT_TIMEOUT * 6)
    assert not worker.is_alive(), "connecting to an unresponsive server did not time out"
    assert outcome["error"] is not None and "timeout" in str(outcome["error"]).lower()
