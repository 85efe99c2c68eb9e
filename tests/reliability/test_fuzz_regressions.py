"""What schemathesis found (seed 20261204), kept as plain tests: each response must match
the OpenAPI schema the server publishes.

- GET /api/v1/role-changes/?status= answered {"results": []} where the schema said a bare array.
- GET /api/v1/engagements/ had the same mismatch.
- /api/v1/patterns/{pattern_id}/similar/ declared pattern_id a free string, so clients (and
  the fuzzer) were told any text is valid where the route only matches a UUID.
- (soak, seed 1826705731) POST /api/v1/patterns/search/ with a vector of 1536 x 1.845e-83
  answered 500: finite and non-zero as float64, all zeros as pgvector's float4, so every
  cosine similarity was NaN and the JSON renderer refused it.
- (soak, seed 635658029) POST /api/v1/patterns/{id}/evidence/ with a NUL character (\u0000)
  in a string nested in the evidence answered 500: jsonb cannot store it.
"""

import datetime
import json

import httpx
import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from rest_framework.test import APIClient

from seeding.factories.patterns import AgentDiscoveredPatternFactory
from tenancy.context import tenant_context
from tenancy.services import api_token_create

pytestmark = pytest.mark.django_db(databases=["default", "owner"])


@pytest.fixture(scope="module")
def openapi():
    document = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    return document, schemathesis.openapi.from_dict(document)


def _validated(openapi, world, path_template: str, url: str):
    key, _ = api_token_create(user=world.a.users["client_admin"])
    client = APIClient()
    response = client.get(url, HTTP_AUTHORIZATION=f"Token {key}", HTTP_X_CLIENT_ACCOUNT_ID=str(world.a.id))
    assert response.status_code == 200, response.content
    as_httpx = httpx.Response(
        response.status_code,
        headers={"Content-Type": response["Content-Type"]},
        content=response.content,
        request=httpx.Request("GET", f"http://testserver{url}"),
    )
    as_httpx.read()
    as_httpx.elapsed = datetime.timedelta(0)
    openapi[1][path_template]["GET"].validate_response(as_httpx)
    return response.json()


def test_role_change_list_with_an_empty_status_filter_matches_the_schema(openapi, world):
    body = _validated(openapi, world, "/api/v1/role-changes/", "/api/v1/role-changes/?status=")
    assert body == {"results": []}


def test_engagement_list_matches_the_schema(openapi, world):
    body = _validated(openapi, world, "/api/v1/engagements/", "/api/v1/engagements/")
    assert {e["id"] for e in body["results"]} == {str(e.pk) for e in world.a.engagements}


def test_similar_declares_a_uuid_path_parameter_and_matches_the_schema(openapi, world):
    parameters = openapi[0]["paths"]["/api/v1/patterns/{pattern_id}/similar/"]["get"]["parameters"]
    path_parameter = next(p for p in parameters if p["in"] == "path")
    assert path_parameter["schema"] == {"type": "string", "format": "uuid"}
    with tenant_context(world.a.id):
        pattern, _ = AgentDiscoveredPatternFactory.create_batch(2, engagement=world.a.engagements[0])
    body = _validated(openapi, world, "/api/v1/patterns/{pattern_id}/similar/", f"/api/v1/patterns/{pattern.pk}/similar/")
    assert body["count"] == 1


def _search_with(world, vector):
    with tenant_context(world.a.id):
        AgentDiscoveredPatternFactory.create_batch(3, engagement=world.a.engagements[0])
    key, _ = api_token_create(user=world.a.users["analyst"])
    return APIClient().post(
        "/api/v1/patterns/search/", {"scope": "client", "vector": vector}, format="json",
        HTTP_AUTHORIZATION=f"Token {key}", HTTP_X_CLIENT_ACCOUNT_ID=str(world.a.id),
    )


@pytest.mark.parametrize("tiny", [1.8450026998998134e-83, 1e-46])
def test_a_vector_that_is_zero_as_float4_is_a_400_naming_the_vector(world, tiny):
    response = _search_with(world, [tiny] * 1536)
    assert response.status_code == 400, response.content
    assert "vector" in response.json()["error"]["fields"]


def test_a_vector_of_tiny_float4_values_still_searches(world):
    response = _search_with(world, [1e-30] * 1536)
    assert response.status_code == 200 and response.json()["count"] == 3


def test_the_selector_refuses_a_vector_that_is_zero_as_float4():
    from patterns.selectors import pattern_vector_validate

    with pytest.raises(ValueError, match="all zeros"):
        pattern_vector_validate([1e-83] * 1536)


def _post_as_analyst(world, url, body):
    key, _ = api_token_create(user=world.a.users["analyst"])
    return APIClient().post(url, body, format="json", HTTP_AUTHORIZATION=f"Token {key}", HTTP_X_CLIENT_ACCOUNT_ID=str(world.a.id))


def test_a_nul_character_in_evidence_is_a_400_naming_the_field(world):
    with tenant_context(world.a.id):
        pattern = AgentDiscoveredPatternFactory(engagement=world.a.engagements[0])
    response = _post_as_analyst(world, f"/api/v1/patterns/{pattern.pk}/evidence/", {"evidence": {"": [{"x": -171}, ["Qt=\u0080\u0000c"]]}})
    assert response.status_code == 400, response.content
    assert "evidence" in response.json()["error"]["fields"]


def test_a_nul_character_in_a_key_of_pattern_data_is_a_400(world):
    body = {
        "engagement_id": str(world.a.engagements[0].pk), "pattern_type": "RISK_FACTOR", "pattern_name": "Mainframe exit risk",
        "discovered_by_agent": "Risk Assessment Agent", "pattern_data": {"bad\u0000key": 1},
    }
    response = _post_as_analyst(world, "/api/v1/patterns/", body)
    assert response.status_code == 400, response.content
    assert "pattern_data" in response.json()["error"]["fields"]


def test_a_lone_surrogate_in_execution_context_is_a_400(world):
    with tenant_context(world.a.id):
        pattern = AgentDiscoveredPatternFactory(engagement=world.a.engagements[0])
    key, _ = api_token_create(user=world.a.users["analyst"])
    response = APIClient().patch(
        f"/api/v1/patterns/{pattern.pk}/", data='{"execution_context": {"crew": "x\\ud800y"}}', content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {key}", HTTP_X_CLIENT_ACCOUNT_ID=str(world.a.id),
    )
    assert response.status_code == 400, response.content
    assert "execution_context" in response.json()["error"]["fields"]


def test_data_the_database_refuses_is_a_400_not_a_500(world):
    """The backstop behind the serializers: a DataError from PostgreSQL is the request's fault."""
    from unittest import mock

    from django.db import DataError

    with tenant_context(world.a.id):
        pattern = AgentDiscoveredPatternFactory(engagement=world.a.engagements[0])
    with mock.patch("patterns.services.pattern_evidence_add", side_effect=DataError("unsupported Unicode escape sequence")):
        response = _post_as_analyst(world, f"/api/v1/patterns/{pattern.pk}/evidence/", {"evidence": {"host": "db01"}})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"
