"""Concurrent tenants through gunicorn (threads, persistent connections) and PgBouncer in
transaction pooling mode: no row of another tenant in any response, nothing acknowledged
is lost, nothing answers 5xx.
"""

import pytest

from tests.live import gunicorn_server, pgbouncer
from tests.reliability.checks import create_audit_consistency, lost_writes
from tests.reliability.load import client_specs, load_run
from tests.reliability.profile import LOAD_MAX_REQUESTS, LOAD_SECONDS, figures_record

pytestmark = pytest.mark.slow

THREADS = 8
POOL_SIZE = 4
# The per-user search throttle (600/min) is not what this measures.
SERVER_ENV = {"DB_TRANSACTION_POOLER": "1", "SEARCH_THROTTLE_RATE": "1000000/min"}


def test_tenants_under_concurrent_load_see_only_their_rows(fleet, django_db_blocker):
    specs = client_specs(fleet)
    with django_db_blocker.unblock():
        with pgbouncer(pool_size=POOL_SIZE) as through_bouncer:
            with gunicorn_server(runtime_db=through_bouncer, threads=THREADS, env=SERVER_ENV) as base:
                result = load_run(base, specs, owner_of=fleet.owner_of(), seconds=LOAD_SECONDS, max_requests=LOAD_MAX_REQUESTS)
        lost = lost_writes(result)
        audit = create_audit_consistency(result)

    summary = result.summary()
    figures_record(
        "load",
        {
            "setup": {
                "tenants": len(fleet.tenants),
                "clients": len(specs),
                "gunicorn": f"1 worker x {THREADS} threads, CONN_MAX_AGE=600",
                "pgbouncer": f"transaction pooling, default_pool_size={POOL_SIZE}",
                "mix": "search 35%, list 35%, create 15%, update 15%",
            },
            **summary,
            "creates_missing": len(lost["creates_missing"]),
            "updates_lost": len(lost["updates_lost"]),
            "create_audit": {k: (len(v) if isinstance(v, list) else v) for k, v in audit.items()},
            "cross_tenant_examples": result.cross_tenant_rows[:5],
        },
    )
    assert result.cross_tenant_rows == []
    assert result.rows_checked > len(specs), "the responses carried no rows to check"
    assert set(summary["by_status"]) <= {"200", "201"}, summary["by_status"]
    assert result.malformed_errors == []
    for endpoint, figures in summary["endpoints"].items():
        assert figures["ok"] > 0, f"{endpoint} never succeeded"
    assert lost == {"creates_missing": [], "updates_lost": []}
    assert audit["partial"] == [] and audit["both"] >= len(result.created)
