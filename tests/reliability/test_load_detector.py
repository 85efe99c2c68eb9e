"""The load generator's detectors catch what they claim to: a row of another tenant, a 5xx,
an error body that is not the API's JSON shape, a lost acknowledged write."""

import json
import uuid

import httpx

from tests.reliability.checks import lost_writes
from tests.reliability.load import ClientSpec, load_run

A, B = str(uuid.uuid4()), str(uuid.uuid4())
A_ENGAGEMENT, B_ENGAGEMENT = str(uuid.uuid4()), str(uuid.uuid4())
B_PATTERN = str(uuid.uuid4())


def _server(request: httpx.Request) -> httpx.Response:
    """A broken server: tenant A's list shows one row of B; creates succeed; searches fail."""
    if request.url.path == "/api/v1/patterns/" and request.method == "GET":
        rows = [{"id": str(uuid.uuid4()), "engagement_id": A_ENGAGEMENT}, {"id": B_PATTERN, "engagement_id": B_ENGAGEMENT}]
        return httpx.Response(200, json={"results": rows})
    if request.url.path == "/api/v1/patterns/" and request.method == "POST":
        body = json.loads(request.content)
        return httpx.Response(201, json={"id": str(uuid.uuid4()), "engagement_id": body["engagement_id"]})
    if request.url.path.endswith("/search/"):
        return httpx.Response(502, text="<html>Bad Gateway</html>")
    return httpx.Response(200, json={"id": request.url.path.split("/")[-2], "engagement_id": A_ENGAGEMENT})


def test_the_detectors_catch_a_leak_a_5xx_and_a_malformed_error():
    spec = ClientSpec(tenant_id=A, token="t", engagement_ids=[A_ENGAGEMENT], label="a0")
    result = load_run("http://127.0.0.1:9", [spec], owner_of={B_PATTERN: B}, seconds=0.3, max_requests=200, transport=httpx.MockTransport(_server))
    assert result.cross_tenant_rows and all(r["row"] == B_PATTERN for r in result.cross_tenant_rows)
    assert result.count_5xx() > 0
    assert result.malformed_errors and "502" in result.malformed_errors[0]
    assert result.created


def test_load_refuses_non_loopback_targets():
    import pytest

    with pytest.raises(ValueError, match="loopback"):
        load_run("http://192.0.2.10:8000", [], owner_of={}, seconds=0.1, max_requests=1)


def test_lost_writes_reports_an_acknowledged_create_missing_from_the_database(django_db_setup, django_db_blocker):
    from tests.reliability.load import LoadResult

    result = LoadResult(created={str(uuid.uuid4()): (A, "load-missing")})
    with django_db_blocker.unblock():
        assert len(lost_writes(result)["creates_missing"]) == 1
