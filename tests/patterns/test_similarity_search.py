import numpy as np
import pytest

from patterns.selectors import (
    STRATEGY_EXACT,
    STRATEGY_EXACT_FALLBACK,
    STRATEGY_INDEX,
    patterns_similar_to_pattern,
    patterns_similar_to_text,
    patterns_similar_to_vector,
)
from tenancy.context import TenantContextError, platform_context, tenant_context
from tests.patterns.conftest import create_patterns, exact_top, near, random_unit

pytestmark = pytest.mark.django_db(databases=["default", "owner"])


@pytest.fixture(params=[STRATEGY_EXACT, STRATEGY_INDEX])
def strategy(request, settings):
    """Run the test once per search strategy (a zero threshold forces the vector index)."""
    if request.param == STRATEGY_INDEX:
        settings.EXACT_SEARCH_MAX_ROWS = 0
    return request.param


def test_exact_search_equals_numpy_ordering_and_similarities(world, rng):
    query = random_unit(rng, 1)[0]
    vectors = np.vstack([near(rng, query, 40), random_unit(rng, 160)])
    with tenant_context(world.a.id):
        rows = create_patterns(world.a.engagements[0], vectors[:100]) + create_patterns(world.a.engagements[1], vectors[100:])
        found = patterns_similar_to_vector(vector=query.tolist(), k=10)

    expected = exact_top(rows, vectors, query, 10)
    assert found.strategy == STRATEGY_EXACT
    assert [str(m.pattern.pk) for m in found] == [pk for pk, _ in expected]
    assert [m.similarity for m in found] == pytest.approx([s for _, s in expected], abs=1e-5)


def test_index_search_returns_exact_similarities_in_order_with_high_recall(world, rng, settings):
    settings.EXACT_SEARCH_MAX_ROWS = 0
    query = random_unit(rng, 1)[0]
    vectors = np.vstack([near(rng, query, 40), random_unit(rng, 160)])
    with tenant_context(world.a.id):
        rows = create_patterns(world.a.engagements[0], vectors)
        found = patterns_similar_to_vector(vector=query.tolist(), k=10)

    assert found.strategy == STRATEGY_INDEX
    similarity_of = {str(r.pk): float(s) for r, s in zip(rows, vectors @ query)}
    assert [m.similarity for m in found] == pytest.approx([similarity_of[str(m.pattern.pk)] for m in found], abs=1e-5)
    assert [m.similarity for m in found] == sorted((m.similarity for m in found), reverse=True)
    expected = {pk for pk, _ in exact_top(rows, vectors, query, 10)}
    # Approximate by design; the benchmark measures recall at scale.
    assert len(expected & {str(m.pattern.pk) for m in found}) >= 9


def test_client_a_never_sees_b_even_when_b_is_nearer(world, rng, strategy):
    query = random_unit(rng, 1)[0]
    with tenant_context(world.b.id):
        b_rows = create_patterns(world.b.engagements[0], near(rng, query, 50, low=0.9, high=0.999))
    with tenant_context(world.a.id):
        a_rows = create_patterns(world.a.engagements[0], random_unit(rng, 30))
        found = patterns_similar_to_vector(vector=query.tolist(), k=20)

    assert len(found) == 20
    assert {m.pattern.pk for m in found} <= {r.pk for r in a_rows}
    assert not {m.pattern.pk for m in found} & {r.pk for r in b_rows}
    assert {m.pattern.client_account_id for m in found} == {world.a.id}


def test_a_tenant_with_one_percent_of_the_rows_gets_k_results(world, rng, strategy):
    query = random_unit(rng, 1)[0]
    with tenant_context(world.b.id):
        create_patterns(world.b.engagements[0], near(rng, query, 990, low=0.6, high=0.99))
    with tenant_context(world.a.id):
        a_vectors = random_unit(rng, 10)
        a_rows = create_patterns(world.a.engagements[0], a_vectors)
        found = patterns_similar_to_vector(vector=query.tolist(), k=10)

    assert [str(m.pattern.pk) for m in found] == [pk for pk, _ in exact_top(a_rows, a_vectors, query, 10)]


def test_an_under_filled_index_answer_falls_back_to_exact(world, rng, settings):
    # Without iterative scans the index returns the ef_search nearest rows overall, all
    # of B, and RLS filters every one out: the fallback must answer.
    settings.EXACT_SEARCH_MAX_ROWS = 0
    settings.HNSW_ITERATIVE_SCAN = "off"
    settings.HNSW_EF_SEARCH = 40
    query = random_unit(rng, 1)[0]
    with tenant_context(world.b.id):
        create_patterns(world.b.engagements[0], near(rng, query, 300, low=0.6, high=0.99))
    with tenant_context(world.a.id):
        a_vectors = random_unit(rng, 12)
        a_rows = create_patterns(world.a.engagements[0], a_vectors)
        found = patterns_similar_to_vector(vector=query.tolist(), k=10)

    assert found.strategy == STRATEGY_EXACT_FALLBACK
    assert [str(m.pattern.pk) for m in found] == [pk for pk, _ in exact_top(a_rows, a_vectors, query, 10)]


def test_filters_scope_and_min_similarity(world, rng, strategy):
    query = random_unit(rng, 1)[0]
    vectors = near(rng, query, 40, low=0.2, high=0.9)
    with tenant_context(world.a.id):
        risks = create_patterns(world.a.engagements[0], vectors[:20], pattern_type="RISK_FACTOR")
        mappings = create_patterns(world.a.engagements[1], vectors[20:], pattern_type="FIELD_MAPPING_SUGGESTION")

        # k covers every candidate, so even the approximate strategy must return them all.
        only_risks = patterns_similar_to_vector(vector=query.tolist(), k=40, insight_types=["risk_pattern"])
        engagement_two = patterns_similar_to_vector(vector=query.tolist(), k=40, engagement_id=world.a.engagements[1].pk)
        close = patterns_similar_to_vector(vector=query.tolist(), k=40, min_similarity=0.5)

    assert {m.pattern.pk for m in only_risks} == {r.pk for r in risks}
    assert {m.pattern.pk for m in engagement_two} == {r.pk for r in mappings}
    similarities = vectors @ query
    assert len(close) == int((similarities >= 0.5).sum()) > 0
    assert all(m.similarity >= 0.5 for m in close)
    assert close[0].similarity == pytest.approx(similarities.max(), abs=1e-5)


def test_similar_to_pattern_excludes_the_pattern_itself(world, rng, strategy):
    query = random_unit(rng, 1)[0]
    vectors = near(rng, query, 15)
    with tenant_context(world.a.id):
        rows = create_patterns(world.a.engagements[0], vectors)
        found = patterns_similar_to_pattern(pattern=rows[0], k=14)

    assert len(found) == 14
    assert rows[0].pk not in {m.pattern.pk for m in found}
    expected = exact_top(rows[1:], vectors[1:], vectors[0], 14)
    assert [str(m.pattern.pk) for m in found] == [pk for pk, _ in expected]


def test_similar_to_text_ranks_shared_words_first(world):
    from seeding.factories.patterns import AgentDiscoveredPatternFactory

    with tenant_context(world.a.id):
        oracle = AgentDiscoveredPatternFactory(
            engagement=world.a.engagements[0],
            pattern_name="Unsupported Oracle Database 12c version",
            pattern_description="Oracle Database 12c is past end of support and blocks the rehost.",
        )
        AgentDiscoveredPatternFactory(
            engagement=world.a.engagements[0],
            pattern_name="Map CUST_NO to customer_id",
            pattern_description="The CUST_NO column holds the customer key.",
        )
        found = patterns_similar_to_text(text="Oracle 12c database is out of support", k=2)

    assert found[0].pattern.pk == oracle.pk
    assert found[0].similarity > found[1].similarity


def test_vectors_of_another_embedder_are_not_compared(world, rng):
    query = random_unit(rng, 1)[0]
    with tenant_context(world.a.id):
        create_patterns(world.a.engagements[0], near(rng, query, 5), embedding_model="openai/text-embedding-3-small")
        assert len(patterns_similar_to_vector(vector=query.tolist(), k=5)) == 0
        assert len(patterns_similar_to_vector(vector=query.tolist(), k=5, embedding_model="openai/text-embedding-3-small")) == 5


def test_search_outside_a_context_refuses(world, rng):
    with pytest.raises(TenantContextError):
        patterns_similar_to_vector(vector=random_unit(rng, 1)[0].tolist())


def test_platform_job_searches_the_client_it_names(world, rng):
    query = random_unit(rng, 1)[0]
    with platform_context(reason="test: platform search"):
        rows = create_patterns(world.b.engagements[0], near(rng, query, 3))
        found = patterns_similar_to_vector(vector=query.tolist(), k=3, client_account_id=world.b.id)
    assert {m.pattern.pk for m in found} == {r.pk for r in rows}


def test_a_role_limited_user_searches_only_assigned_engagements(world, rng):
    query = random_unit(rng, 1)[0]
    with tenant_context(world.a.id):
        assigned = create_patterns(world.a.engagements[0], near(rng, query, 5, low=0.3, high=0.5))
        create_patterns(world.a.engagements[1], near(rng, query, 5, low=0.8, high=0.9))
    with tenant_context(world.a.id, role="analyst", engagement_ids=[world.a.engagements[0].pk]):
        found = patterns_similar_to_vector(vector=query.tolist(), k=10)
    assert {m.pattern.pk for m in found} == {r.pk for r in assigned}


def test_index_search_settings_do_not_leak_into_later_queries(world, rng, settings):
    from django.db import connections

    settings.EXACT_SEARCH_MAX_ROWS = 0
    query = random_unit(rng, 1)[0]
    with tenant_context(world.a.id):
        create_patterns(world.a.engagements[0], near(rng, query, 12))
        found = patterns_similar_to_vector(vector=query.tolist(), k=5)
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT current_setting('enable_sort'), current_setting('enable_indexscan')")
            assert cursor.fetchone() == ("on", "on")
    assert found.strategy == STRATEGY_INDEX


def _plan_of_search(world, rng, **search) -> str:
    """EXPLAIN of the top-k statement a search ran (with the settings it ran under)."""
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    query = random_unit(rng, 1)[0]
    with tenant_context(world.a.id):
        create_patterns(world.a.engagements[0], near(rng, query, 8))
        with CaptureQueriesContext(connections["default"]) as captured:
            patterns_similar_to_vector(vector=query.tolist(), k=5, **search)
        statements = [q["sql"] for q in captured.captured_queries]
        top_k = next(sql for sql in statements if "<=>" in sql and "LIMIT" in sql and "count(" not in sql)
        with connections["default"].cursor() as cursor:
            # As the index plan runs it; the exact plan must hold even so.
            cursor.execute("SELECT set_config('enable_sort', 'off', true)")
            cursor.execute("EXPLAIN " + top_k)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            cursor.execute("SELECT set_config('enable_sort', 'on', true)")
    return plan


def test_the_index_strategy_uses_the_vector_index(world, rng, settings):
    settings.EXACT_SEARCH_MAX_ROWS = 0
    assert "adp_embedding_ann_idx" in _plan_of_search(world, rng)


def test_the_exact_strategy_cannot_use_the_vector_index(world, rng):
    assert "adp_embedding_ann_idx" not in _plan_of_search(world, rng)
