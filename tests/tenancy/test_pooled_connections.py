"""Tenant context never survives a transaction: persistent connections and PgBouncer.

These run a real gunicorn against the committed world in the test database.
"""

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.db import connections

from tests.live import gunicorn_server, pgbouncer

pytestmark = pytest.mark.slow


def _token(base, world, user) -> str:
    response = httpx.post(f"{base}/api/v1/auth/token/", json={"email": user.email, "password": world.password}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["token"]


def _tenants_seen(base, token) -> set[str]:
    response = httpx.get(f"{base}/api/v1/engagements/", headers={"Authorization": f"Token {token}"}, timeout=10)
    assert response.status_code == 200, response.text
    rows = response.json()["results"]
    assert rows, "the tenant's own engagements must be visible"
    return {row["client_account_id"] for row in rows}


def _server_backends() -> int:
    """Runtime-role backends on the test database other than this test process's own."""
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = current_user AND datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_persistent_connection_alternating_tenants(world, django_db_blocker):
    with django_db_blocker.unblock(), gunicorn_server(threads=1) as base:
        token_a = _token(base, world, world.a.users["client_admin"])
        token_b = _token(base, world, world.b.users["client_admin"])
        for _ in range(10):
            assert _tenants_seen(base, token_a) == {str(world.a.id)}
            assert _tenants_seen(base, token_b) == {str(world.b.id)}
        # A request that fails inside its transaction (unique violation), then the other tenant.
        duplicate = httpx.post(
            f"{base}/api/v1/engagements/", json={"name": "dup", "slug": world.a.engagements[0].slug},
            headers={"Authorization": f"Token {token_a}"}, timeout=10,
        )
        assert duplicate.status_code == 409
        assert _tenants_seen(base, token_b) == {str(world.b.id)}
        assert _tenants_seen(base, token_a) == {str(world.a.id)}
        # One worker thread with CONN_MAX_AGE: every request above shared one connection.
        assert _server_backends() == 1


def test_pgbouncer_transaction_pooling_concurrent_tenants(world, django_db_blocker):
    with django_db_blocker.unblock(), pgbouncer(pool_size=3) as through_bouncer:
        with gunicorn_server(runtime_db=through_bouncer, threads=8, env={"DB_TRANSACTION_POOLER": "1"}) as base:
            tokens = [
                (str(world.a.id), _token(base, world, world.a.users["analyst"])),
                (str(world.b.id), _token(base, world, world.b.users["analyst"])),
            ]
            jobs = [tokens[i % 2] for i in range(160)]

            def run(job):
                expected, token = job
                return expected, _tenants_seen(base, token)

            with ThreadPoolExecutor(max_workers=12) as pool:
                results = list(pool.map(run, jobs))
    cross_tenant = [seen for expected, seen in results if seen != {expected}]
    assert len(results) == 160
    assert cross_tenant == []
