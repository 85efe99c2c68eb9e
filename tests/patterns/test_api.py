import json

import numpy as np
import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from patterns.models import AgentDiscoveredPattern
from seeding.factories.patterns import AgentDiscoveredPatternFactory
from tenancy.context import tenant_context
from tenancy.models import ClientAccount
from tenancy.services import api_token_create
from tests.patterns.conftest import create_patterns, exact_top, near, random_unit

pytestmark = pytest.mark.django_db(databases=["default", "owner"])

SEARCH = "/api/v1/patterns/search/"
# Per request, before the view: token lookup and touch, memberships, entering and leaving
# the tenant context (savepoints and settings, since tests run inside a transaction).
FRAMEWORK_QUERIES = 16
# The list: one query. A search: the feature switch, the candidate count (which also
# chooses the strategy), and the top-k query.
LIST_QUERIES = FRAMEWORK_QUERIES + 1
SEARCH_QUERIES = FRAMEWORK_QUERIES + 3


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()


@pytest.fixture
def api(world):
    """api(tenant, role) -> an APIClient with a token of that user and the tenant header."""

    def make(tenant, role="client_admin"):
        key, _ = api_token_create(user=tenant.users[role])
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}", HTTP_X_CLIENT_ACCOUNT_ID=str(tenant.id))
        return client

    return make


def _rows(tenant):
    with tenant_context(tenant.id):
        return AgentDiscoveredPattern.objects.count()


# --- list and detail -------------------------------------------------------------------


def test_list_shows_only_the_tenants_patterns_and_filters(world, api):
    with tenant_context(world.b.id):
        AgentDiscoveredPatternFactory.create_batch(3, engagement=world.b.engagements[0])
    with tenant_context(world.a.id):
        risk = AgentDiscoveredPatternFactory(engagement=world.a.engagements[0], pattern_type="RISK_FACTOR", confidence_score=0.9)
        mapping = AgentDiscoveredPatternFactory(engagement=world.a.engagements[1], pattern_type="FIELD_MAPPING_SUGGESTION", confidence_score=0.6)
        low = AgentDiscoveredPatternFactory(engagement=world.a.engagements[0], pattern_type="COST_OPTIMIZATION", confidence_score=0.2)
    client = api(world.a)

    def ids(**params):
        response = client.get("/api/v1/patterns/", params)
        assert response.status_code == 200, response.content
        return {r["id"] for r in response.json()["results"]}

    assert ids() == {str(risk.pk), str(mapping.pk), str(low.pk)}
    assert ids(insight_type="risk_pattern") == {str(risk.pk)}
    assert ids(insight_type=["risk_pattern", "field_mapping_suggestion"]) == {str(risk.pk), str(mapping.pk)}
    assert ids(pattern_type="COST_OPTIMIZATION") == {str(low.pk)}
    assert ids(engagement=str(world.a.engagements[1].pk)) == {str(mapping.pk)}
    assert ids(min_confidence=0.5) == {str(risk.pk), str(mapping.pk)}


def test_list_pages_with_a_cursor_in_a_bounded_number_of_queries(world, api, django_assert_max_num_queries):
    with tenant_context(world.a.id):
        created = AgentDiscoveredPatternFactory.create_batch(7, engagement=world.a.engagements[0])
    client = api(world.a)
    seen = []
    url = "/api/v1/patterns/?page_size=3"
    while url:
        with django_assert_max_num_queries(LIST_QUERIES):
            response = client.get(url)
        body = response.json()
        assert "embedding" not in body["results"][0]
        seen += [r["id"] for r in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(str(p.pk) for p in created)
    assert len(seen) == 7


def test_analysts_list_only_their_assigned_engagements(world, api):
    with tenant_context(world.a.id):
        assigned = AgentDiscoveredPatternFactory(engagement=world.a.engagements[0])
        other = AgentDiscoveredPatternFactory(engagement=world.a.engagements[1])
    client = api(world.a, "analyst")
    assert [r["id"] for r in client.get("/api/v1/patterns/").json()["results"]] == [str(assigned.pk)]
    assert client.get(f"/api/v1/patterns/{other.pk}/").status_code == 404


def test_create_embeds_and_a_near_duplicate_becomes_evidence(world, api):
    client = api(world.a, "analyst")
    body = {
        "engagement_id": str(world.a.engagements[0].pk),
        "pattern_type": "SECURITY_VULNERABILITY",
        "pattern_name": "Hard-coded Oracle credentials in deployment scripts",
        "pattern_description": "Connection strings with passwords are committed in the Ansible playbooks.",
        "discovered_by_agent": "Risk Assessment Agent",
        "confidence_score": 0.7,
        "evidence": {"files": ["deploy/oracle.yml"]},
    }
    first = client.post("/api/v1/patterns/", body, format="json")
    assert first.status_code == 201, first.content
    assert first.json()["insight_type"] == "risk_pattern"
    assert first.json()["has_embedding"] is True

    again = client.post("/api/v1/patterns/", {**body, "confidence_score": 0.8}, format="json")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["evidence_count"] == 2
    assert _rows(world.a) == 1


def test_create_refuses_other_clients_engagements_and_viewers(world, api):
    body = {
        "engagement_id": str(world.b.engagements[0].pk),
        "pattern_type": "RISK_FACTOR",
        "pattern_name": "x",
        "discovered_by_agent": "Risk Assessment Agent",
    }
    response = api(world.a).post("/api/v1/patterns/", body, format="json")
    assert response.status_code == 400
    assert "engagement_id" in response.json()["error"]["fields"]
    # An analyst may write only in an assigned engagement.
    response = api(world.a, "analyst").post("/api/v1/patterns/", {**body, "engagement_id": str(world.a.engagements[1].pk)}, format="json")
    assert response.status_code == 400
    response = api(world.a, "viewer").post("/api/v1/patterns/", {**body, "engagement_id": str(world.a.engagements[0].pk)}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "role_forbidden"
    assert _rows(world.a) == 0 and _rows(world.b) == 0


def test_patch_re_embeds_when_the_text_changes_and_delete_needs_a_manager(world, api):
    with tenant_context(world.a.id):
        pattern = AgentDiscoveredPatternFactory(engagement=world.a.engagements[0])
        before = list(AgentDiscoveredPattern.objects.values_list("embedding", flat=True).get(pk=pattern.pk))
    client = api(world.a, "analyst")

    response = client.patch(f"/api/v1/patterns/{pattern.pk}/", {"pattern_name": "Unsupported RHEL 6 hosts"}, format="json")
    assert response.status_code == 200 and response.json()["pattern_name"] == "Unsupported RHEL 6 hosts"
    with tenant_context(world.a.id):
        after = list(AgentDiscoveredPattern.objects.values_list("embedding", flat=True).get(pk=pattern.pk))
    assert after != before

    assert client.delete(f"/api/v1/patterns/{pattern.pk}/").status_code == 403
    assert api(world.a, "engagement_manager").delete(f"/api/v1/patterns/{pattern.pk}/").status_code == 204
    assert _rows(world.a) == 0


def test_another_clients_pattern_is_not_found(world, api):
    with tenant_context(world.b.id):
        theirs = AgentDiscoveredPatternFactory(engagement=world.b.engagements[0])
    client = api(world.a)
    assert client.get(f"/api/v1/patterns/{theirs.pk}/").status_code == 404
    assert client.patch(f"/api/v1/patterns/{theirs.pk}/", {"pattern_name": "mine"}, format="json").status_code == 404
    assert client.delete(f"/api/v1/patterns/{theirs.pk}/").status_code == 404
    assert client.get(f"/api/v1/patterns/{theirs.pk}/similar/").status_code == 404
    assert _rows(world.b) == 1


# --- search ----------------------------------------------------------------------------


def test_search_by_vector_equals_exact_numpy_and_never_returns_another_client(world, api, rng, django_assert_max_num_queries):
    query = random_unit(rng, 1)[0]
    with tenant_context(world.b.id):
        b_rows = create_patterns(world.b.engagements[0], near(rng, query, 20, low=0.95, high=0.999))
    with tenant_context(world.a.id):
        a_vectors = np.vstack([near(rng, query, 15, low=0.2, high=0.8), random_unit(rng, 25)])
        a_rows = create_patterns(world.a.engagements[0], a_vectors)
    client = api(world.a)

    with django_assert_max_num_queries(SEARCH_QUERIES):
        response = client.post(SEARCH, {"vector": query.tolist(), "k": 10}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    expected = exact_top(a_rows, a_vectors, query, 10)
    assert [r["id"] for r in body["results"]] == [pk for pk, _ in expected]
    assert [r["similarity"] for r in body["results"]] == pytest.approx([s for _, s in expected], abs=1e-5)
    assert not {r["id"] for r in body["results"]} & {str(r.pk) for r in b_rows}
    assert body["count"] == 10 and body["k"] == 10 and body["scope"] == "client"
    assert set(body["results"][0]) >= {"id", "pattern_name", "insight_type", "engagement_id", "similarity"}


def test_search_query_count_does_not_grow_with_k(world, api, rng, django_assert_max_num_queries):
    with tenant_context(world.a.id):
        create_patterns(world.a.engagements[0], random_unit(rng, 60))
    client = api(world.a)
    for k in (1, 50):
        with django_assert_max_num_queries(SEARCH_QUERIES):
            response = client.post(SEARCH, {"query": "Oracle end of support", "k": k}, format="json")
        assert len(response.json()["results"]) == k


def test_search_by_text_scope_and_insight_types(world, api):
    with tenant_context(world.a.id):
        oracle = AgentDiscoveredPatternFactory(
            engagement=world.a.engagements[0],
            pattern_type="RISK_FACTOR",
            pattern_name="Unsupported Oracle Database 12c",
            pattern_description="Oracle Database 12c is past end of support.",
        )
        oracle_elsewhere = AgentDiscoveredPatternFactory(
            engagement=world.a.engagements[1],
            pattern_type="RISK_FACTOR",
            pattern_name="Oracle Database 12c support ended",
            pattern_description="Upgrade Oracle Database 12c before the rehost.",
        )
        mapping = AgentDiscoveredPatternFactory(
            engagement=world.a.engagements[1], pattern_type="FIELD_MAPPING_SUGGESTION", pattern_name="Map CUST_NO to customer_id"
        )
    client = api(world.a)

    def ids(**body):
        response = client.post(SEARCH, {"query": "Oracle Database 12c end of support", **body}, format="json")
        assert response.status_code == 200, response.content
        return [r["id"] for r in response.json()["results"]]

    assert ids(k=3)[:2] == [str(oracle.pk), str(oracle_elsewhere.pk)]
    assert ids(k=3, engagement_id=str(world.a.engagements[1].pk)) == [str(oracle_elsewhere.pk), str(mapping.pk)]
    assert ids(k=3, insight_types=["field_mapping_suggestion"]) == [str(mapping.pk)]
    assert ids(k=3, min_similarity=0.99) == []


def test_search_by_pattern_and_similar_exclude_the_pattern(world, api, rng):
    query = random_unit(rng, 1)[0]
    with tenant_context(world.a.id):
        rows = create_patterns(world.a.engagements[0], near(rng, query, 6)) + create_patterns(world.a.engagements[1], near(rng, query, 4))
        legacy = AgentDiscoveredPatternFactory(engagement=world.a.engagements[0], embedding=None)
    client = api(world.a)
    source = rows[0]

    by_id = client.post(SEARCH, {"pattern_id": str(source.pk), "k": 20}, format="json").json()
    assert str(source.pk) not in [r["id"] for r in by_id["results"]]
    assert len(by_id["results"]) == 9
    same_engagement = client.post(SEARCH, {"pattern_id": str(source.pk), "scope": "engagement"}, format="json").json()
    assert {r["engagement_id"] for r in same_engagement["results"]} == {str(world.a.engagements[0].pk)}
    assert len(same_engagement["results"]) == 5

    similar = client.get(f"/api/v1/patterns/{source.pk}/similar/?k=3")
    assert similar.status_code == 200
    assert [r["id"] for r in similar.json()["results"]] == [r["id"] for r in by_id["results"][:3]]
    assert client.get(f"/api/v1/patterns/{legacy.pk}/similar/").status_code == 409
    unembedded = client.post(SEARCH, {"pattern_id": str(legacy.pk)}, format="json")
    assert unembedded.status_code == 400 and "pattern_id" in unembedded.json()["error"]["fields"]


def test_search_by_another_clients_pattern_id_is_refused(world, api):
    with tenant_context(world.b.id):
        theirs = AgentDiscoveredPatternFactory(engagement=world.b.engagements[0])
    response = api(world.a).post(SEARCH, {"pattern_id": str(theirs.pk)}, format="json")
    assert response.status_code == 400
    assert "pattern_id" in response.json()["error"]["fields"]


VECTOR = [0.01] * 1536


@pytest.mark.parametrize(
    "body, field",
    [
        ({"vector": [0.1] * 1535}, "vector"),
        ({"vector": [0.1] * 1537}, "vector"),
        ({"vector": [0.0] * 1536}, "vector"),
        ({"vector": ["a"] + [0.1] * 1535}, "vector"),
        ({"vector": "[0.1, 0.2]"}, "vector"),
        ({"vector": [1e39] + [0.1] * 1535}, "vector"),
        ({"query": "x", "k": 0}, "k"),
        ({"query": "x", "k": 101}, "k"),
        ({"query": "x", "k": "ten"}, "k"),
        ({"query": "x", "insight_types": ["gut_feeling"]}, "insight_types"),
        ({"query": "x", "insight_types": []}, "insight_types"),
        ({"query": ""}, "query"),
        ({"query": "   "}, "query"),
        ({}, "query"),
        ({"query": "x", "vector": VECTOR}, "vector"),
        ({"query": "x", "pattern_id": "00000000-0000-4000-8000-000000000000"}, "pattern_id"),
        ({"pattern_id": "not-a-uuid"}, "pattern_id"),
        ({"query": "x", "engagement_id": "12345"}, "engagement_id"),
        ({"query": "x", "scope": "galaxy"}, "scope"),
        ({"query": "x", "scope": "engagement"}, "engagement_id"),
        ({"query": "x", "min_similarity": 2}, "min_similarity"),
    ],
)
def test_bad_search_input_is_a_400_naming_the_field(world, api, body, field):
    response = api(world.a).post(SEARCH, body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"], error


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_vector_values_are_a_400_naming_the_vector(world, api, token):
    raw = '{"vector": [' + token + ", " + ", ".join(["0.1"] * 1535) + "]}"
    response = api(world.a).post(SEARCH, raw, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "vector" in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"pattern_type": "HUNCH"}, "pattern_type"),
        ({"insight_type": "gut_feeling"}, "insight_type"),
        ({"confidence_score": 1.5}, "confidence_score"),
        ({"engagement_id": "not-a-uuid"}, "engagement_id"),
        ({"pattern_name": ""}, "pattern_name"),
    ],
)
def test_bad_create_input_is_a_400_naming_the_field_and_writes_nothing(world, api, body, field):
    valid = {
        "engagement_id": str(world.a.engagements[0].pk),
        "pattern_type": "RISK_FACTOR",
        "pattern_name": "Unsupported RHEL 6",
        "discovered_by_agent": "Risk Assessment Agent",
    }
    response = api(world.a).post("/api/v1/patterns/", {**valid, **body}, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert _rows(world.a) == 0


@pytest.mark.parametrize("params, field", [({"k": 0}, "k"), ({"k": 500}, "k"), ({"insight_types": "nope"}, "insight_types")])
def test_bad_similar_query_is_a_400(world, api, params, field):
    with tenant_context(world.a.id):
        pattern = AgentDiscoveredPatternFactory(engagement=world.a.engagements[0])
    response = api(world.a).get(f"/api/v1/patterns/{pattern.pk}/similar/", params)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_malformed_uuid_in_list_filter_is_a_400(world, api):
    response = api(world.a).get("/api/v1/patterns/", {"engagement": "nope"})
    assert response.status_code == 400 and "engagement" in response.json()["error"]["fields"]


# --- the feature flag, throttling, documentation ----------------------------------------


def test_the_global_flag_turns_search_off_and_nothing_else(world, api, settings):
    with tenant_context(world.a.id):
        pattern = AgentDiscoveredPatternFactory(engagement=world.a.engagements[0])
    settings.PATTERN_SEARCH_ENABLED = False
    client = api(world.a)
    for response in (client.post(SEARCH, {"query": "Oracle"}, format="json"), client.get(f"/api/v1/patterns/{pattern.pk}/similar/")):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "pattern_search_disabled"
        assert "PATTERN_SEARCH_ENABLED" in response.json()["error"]["message"]
    assert client.get("/api/v1/patterns/").status_code == 200
    assert client.get(f"/api/v1/patterns/{pattern.pk}/").status_code == 200


def test_the_client_switch_turns_search_off_for_that_client_only(world, api):
    with tenant_context(world.a.id):
        ClientAccount.objects.filter(pk=world.a.id).update(features_enabled={"pattern_search": False})
    a_search = api(world.a).post(SEARCH, {"query": "Oracle"}, format="json")
    assert a_search.status_code == 403
    assert a_search.json()["error"]["code"] == "pattern_search_disabled"
    assert api(world.a).get("/api/v1/patterns/").status_code == 200
    assert api(world.b).post(SEARCH, {"query": "Oracle"}, format="json").status_code == 200


def test_search_is_on_when_the_client_never_set_the_switch(world, api):
    with tenant_context(world.a.id):
        ClientAccount.objects.filter(pk=world.a.id).update(features_enabled={})
    assert api(world.a).post(SEARCH, {"query": "Oracle"}, format="json").status_code == 200


def test_search_is_throttled_per_user(world, api, monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"pattern_search": "2/min"})
    analyst, admin = api(world.a, "analyst"), api(world.a, "client_admin")
    assert [analyst.post(SEARCH, {"query": "Oracle"}, format="json").status_code for _ in range(3)] == [200, 200, 429]
    throttled = analyst.post(SEARCH, {"query": "Oracle"}, format="json")
    assert throttled.json()["error"]["code"] == "throttled"
    assert admin.post(SEARCH, {"query": "Oracle"}, format="json").status_code == 200


def test_requests_without_a_tenant_or_token_are_refused(world):
    anonymous = APIClient()
    assert anonymous.post(SEARCH, {"query": "Oracle"}, format="json").status_code in (401, 403)
    assert anonymous.get("/api/v1/patterns/").status_code in (401, 403)


def test_openapi_schema_and_offline_swagger_ui(world, client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = json.loads(schema.content)["paths"]
    assert {"/api/v1/patterns/", "/api/v1/patterns/search/", "/api/v1/patterns/{pattern_id}/", "/api/v1/patterns/{pattern_id}/similar/"} <= set(paths)
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist" in html
    assert "cdn.jsdelivr" not in html and "unpkg.com" not in html


# --- feedback, evidence, references --------------------------------------------------------


def test_feedback_evidence_and_reference_endpoints(world, api):
    with tenant_context(world.a.id):
        pattern = AgentDiscoveredPatternFactory(engagement=world.a.engagements[0], evidence_count=1, times_referenced=0, pattern_data={})
    viewer, analyst = api(world.a, "viewer"), api(world.a, "analyst")
    refused = viewer.post(f"/api/v1/patterns/{pattern.pk}/feedback/", {"helpful": True}, format="json")
    assert refused.status_code == 403 and "analyst" in refused.json()["error"]["message"]
    rated = analyst.post(f"/api/v1/patterns/{pattern.pk}/feedback/", {"helpful": True, "comment": "saved a day"}, format="json")
    assert rated.status_code == 200 and rated.json()["pattern_effectiveness_score"] == pytest.approx(2 / 3)
    assert viewer.post(f"/api/v1/patterns/{pattern.pk}/evidence/", {"evidence": {"k": 1}}, format="json").status_code == 403
    added = analyst.post(f"/api/v1/patterns/{pattern.pk}/evidence/", {"evidence": {"hosts": 4}}, format="json")
    assert added.status_code == 200 and added.json()["evidence_count"] == 2
    assert analyst.post(f"/api/v1/patterns/{pattern.pk}/reference/").status_code == 204
    assert analyst.get(f"/api/v1/patterns/{pattern.pk}/").json()["times_referenced"] == 1
