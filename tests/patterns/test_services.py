import pytest
from django.db import IntegrityError, connections, transaction

from patterns.embedders.local import LocalHashingEmbedder
from patterns.models import AgentDiscoveredPattern
from patterns.services import (
    pattern_evidence_add,
    pattern_feedback_record,
    pattern_record,
    pattern_text,
    pattern_update,
    patterns_reference_record,
)
from seeding.factories.patterns import AgentDiscoveredPatternFactory
from tenancy.context import tenant_context

pytestmark = pytest.mark.django_db(databases=["default", "owner"])

FINDING = {
    "pattern_type": "DEPENDENCY_PATTERN",
    "pattern_name": "Nightly COBOL batch chain feeds SAP ECC general ledger",
    "pattern_description": "Twelve COBOL batch jobs run nightly and load the SAP ECC general ledger; they must move in one wave.",
    "discovered_by_agent": "Dependency Analysis Agent",
}


def _record(engagement, **overrides):
    return pattern_record(engagement=engagement, **{**FINDING, **overrides})


def test_record_embeds_on_write_and_maps_the_insight_type(world):
    with tenant_context(world.a.id):
        recorded = _record(world.a.engagements[0], task_id="task-0042", confidence_score=0.8, evidence={"jobs": 12})
        row = AgentDiscoveredPattern.objects.get(pk=recorded.pattern.pk)

    assert recorded.created
    assert row.insight_type == "workflow_improvement"
    assert row.embedding_model == LocalHashingEmbedder.model_name
    expected = LocalHashingEmbedder().embed_text(pattern_text(pattern_name=FINDING["pattern_name"], pattern_description=FINDING["pattern_description"]))
    assert [float(x) for x in row.embedding] == pytest.approx(expected, abs=1e-6)
    assert row.evidence_count == 1
    assert row.pattern_data["evidence"][0]["details"] == {"jobs": 12}
    assert row.client_account_id == world.a.id


def test_a_near_duplicate_in_the_same_engagement_adds_evidence_instead_of_a_row(world):
    with tenant_context(world.a.id):
        first = _record(world.a.engagements[0], confidence_score=0.6)
        again = _record(
            world.a.engagements[0],
            pattern_name=FINDING["pattern_name"] + ".",
            discovered_by_agent="Migration Wave Planner",
            confidence_score=0.9,
        )
        rows = list(AgentDiscoveredPattern.objects.filter(engagement_id=world.a.engagements[0].pk))

    assert not again.created
    assert again.merged_similarity >= 0.97
    assert [r.pk for r in rows] == [first.pattern.pk]
    assert rows[0].evidence_count == 2
    assert rows[0].confidence_score == 0.9
    assert [e["agent"] for e in rows[0].pattern_data["evidence"]] == ["Dependency Analysis Agent", "Migration Wave Planner"]


def test_the_same_pattern_id_merges_whatever_the_text(world):
    with tenant_context(world.a.id):
        first = _record(world.a.engagements[0], pattern_id="dep-cobol-gl")
        again = _record(world.a.engagements[0], pattern_id="dep-cobol-gl", pattern_name="Something else entirely")
        assert AgentDiscoveredPattern.objects.count() == 1
    assert not again.created and again.pattern.pk == first.pattern.pk


def test_no_merge_across_engagements_or_below_the_threshold(world, settings):
    with tenant_context(world.a.id):
        _record(world.a.engagements[0])
        other_engagement = _record(world.a.engagements[1])
        different = _record(world.a.engagements[0], pattern_name="Hard-coded Oracle credentials in deploy scripts", pattern_description="")
        assert AgentDiscoveredPattern.objects.count() == 3
    with tenant_context(world.b.id):
        other_client = _record(world.b.engagements[0])
    assert other_engagement.created and different.created and other_client.created


def test_evidence_and_feedback_histories_are_bounded(world, settings):
    settings.PATTERN_HISTORY_LIMIT = 3
    with tenant_context(world.a.id):
        pattern = _record(world.a.engagements[0]).pattern
        for i in range(5):
            pattern_evidence_add(pattern=pattern, evidence={"run": i})
        for helpful in (True, True, True, False, True):
            pattern_feedback_record(pattern=pattern, helpful=helpful, comment="", user=world.a.users["analyst"])
        row = AgentDiscoveredPattern.objects.get(pk=pattern.pk)

    assert row.evidence_count == 6
    assert [e["run"] for e in row.pattern_data["evidence"]] == [2, 3, 4]
    assert [f["helpful"] for f in row.pattern_data["feedback"]] == [True, False, True]
    assert row.pattern_data["feedback_summary"] == {"helpful": 4, "not_helpful": 1}
    assert row.pattern_effectiveness_score == pytest.approx(5 / 7)


def test_references_count_every_use(world):
    with tenant_context(world.a.id):
        a, b = AgentDiscoveredPatternFactory.create_batch(2, engagement=world.a.engagements[0], times_referenced=0)
        assert patterns_reference_record(pattern_ids=[a.pk, b.pk]) == 2
        patterns_reference_record(pattern_ids=[a.pk])
        rows = {r.pk: r for r in AgentDiscoveredPattern.objects.all()}
    assert rows[a.pk].times_referenced == 2 and rows[b.pk].times_referenced == 1
    assert rows[a.pk].last_used_at is not None


def test_references_of_another_tenant_are_not_touched(world):
    with tenant_context(world.b.id):
        theirs = AgentDiscoveredPatternFactory(engagement=world.b.engagements[0], times_referenced=0)
    with tenant_context(world.a.id):
        assert patterns_reference_record(pattern_ids=[theirs.pk]) == 0


def test_update_re_embeds_only_when_the_text_changes(world):
    with tenant_context(world.a.id):
        pattern = AgentDiscoveredPatternFactory(engagement=world.a.engagements[0])
        before = list(AgentDiscoveredPattern.objects.values_list("embedding", flat=True).get(pk=pattern.pk))
        pattern_update(pattern=pattern, confidence_score=0.77)
        same = list(AgentDiscoveredPattern.objects.values_list("embedding", flat=True).get(pk=pattern.pk))
        pattern_update(pattern=pattern, pattern_name="Unsupported IBM DB2 9.7 on AIX")
        after = AgentDiscoveredPattern.objects.get(pk=pattern.pk)

    assert same == before
    expected = LocalHashingEmbedder().embed_text(
        pattern_text(pattern_name="Unsupported IBM DB2 9.7 on AIX", pattern_description=pattern.pattern_description)
    )
    assert [float(x) for x in after.embedding] == pytest.approx(expected, abs=1e-6)
    assert after.confidence_score == 0.77


def _insert_raw(world, **overrides):
    columns = {
        "id": "00000000-0000-4000-8000-000000000001",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "client_account_id": str(world.a.id),
        "engagement_id": str(world.a.engagements[0].pk),
        "pattern_id": "raw-1",
        "pattern_type": "RISK_FACTOR",
        "insight_type": "risk_pattern",
        "pattern_name": "raw",
        "pattern_description": "",
        "discovered_by_agent": "Risk Assessment Agent",
        "task_id": "",
        "confidence_score": 0.5,
        "evidence_count": 1,
        "times_referenced": 0,
        "pattern_data": "{}",
        "execution_context": "{}",
        "embedding_model": "",
        **overrides,
    }
    names = ", ".join(columns)
    placeholders = ", ".join(["%s"] * len(columns))
    with connections["default"].cursor() as cursor:
        cursor.execute(f"INSERT INTO agent_discovered_patterns ({names}) VALUES ({placeholders})", list(columns.values()))


@pytest.mark.parametrize(
    "overrides",
    [
        {"insight_type": "gut_feeling"},
        {"insight_type": None},
        {"pattern_type": "HUNCH"},
        {"confidence_score": 1.2},
        {"pattern_effectiveness_score": -0.1},
        {"evidence_count": -1},
        {"embedding_model": "local-hashing-v1"},  # a model named without a vector
        {"embedding": "[" + ",".join(["0.1"] * 1536) + "]"},  # a vector without its model
        {"embedding": "[" + ",".join(["0.1"] * 3) + "]", "embedding_model": "x"},
    ],
)
def test_the_database_enforces_the_constraints(world, overrides):
    from django.db import DataError

    with tenant_context(world.a.id):
        _insert_raw(world, id="00000000-0000-4000-8000-000000000002", pattern_id="ok")
        with pytest.raises((IntegrityError, DataError)):
            with transaction.atomic(using="default"):
                _insert_raw(world, **overrides)


def test_the_pattern_id_is_unique_per_engagement(world):
    with tenant_context(world.a.id):
        _insert_raw(world)
        with pytest.raises(IntegrityError):
            with transaction.atomic(using="default"):
                _insert_raw(world, id="00000000-0000-4000-8000-000000000003")
        _insert_raw(world, id="00000000-0000-4000-8000-000000000004", engagement_id=str(world.a.engagements[1].pk))


def test_a_pattern_cannot_point_at_another_clients_engagement(world):
    with tenant_context(world.a.id):
        with pytest.raises(IntegrityError, match="engagement_tenant_fk"):
            with transaction.atomic(using="default"):
                _insert_raw(world, engagement_id=str(world.b.engagements[0].pk))
                # The tenant foreign keys are deferred; check now rather than at commit.
                with connections["default"].cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
