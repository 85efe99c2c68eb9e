import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError

from modernize.agents.models import AgentPerformanceDaily, AgentTaskHistory
from seeding.factories.agents import AgentPerformanceDailyFactory, AgentTaskHistoryFactory
from seeding.factories.flows import MasterFlowFactory
from tenancy.context import platform_context, tenant_context
from tests.flows.db import assert_rejected, constraint_of, db_insert, raw_insert

pytestmark = pytest.mark.django_db(databases=["default", "owner"])

T0 = dt.datetime(2025, 6, 2, 9, 0, tzinfo=dt.UTC)


def _set(obj, **overrides):
    for name, value in overrides.items():
        setattr(obj, name, value)
    return obj


@pytest.fixture
def flow(world):
    with tenant_context(world.a.id):
        yield MasterFlowFactory(engagement=world.a.engagements[0])


def _task(flow, **overrides) -> AgentTaskHistory:
    """A valid, unsaved, completed task of ``flow``; then the overrides."""
    task = AgentTaskHistoryFactory.build(
        flow=flow,
        status="completed",
        started_at=T0,
        completed_at=T0 + dt.timedelta(seconds=42),
        duration_seconds=Decimal("42.000"),
        success=True,
        confidence_score=Decimal("0.9"),
    )
    return _set(task, **overrides)


def test_a_valid_task_is_accepted(flow):
    db_insert(_task(flow))
    db_insert(_task(flow, status="running", completed_at=None, duration_seconds=None, success=None, confidence_score=None))
    assert AgentTaskHistory.objects.count() == 2


@pytest.mark.parametrize(
    ("overrides", "constraint"),
    [
        ({"agent_type": "swarm"}, "agent_task_history_agent_type_valid"),
        ({"status": "done", "completed_at": None, "duration_seconds": None, "success": None}, "agent_task_history_status_valid"),
        ({"duration_seconds": Decimal("-0.001")}, "agent_task_history_duration_nonneg"),
        ({"confidence_score": Decimal("1.0001")}, "agent_task_history_confidence_range"),
        ({"confidence_score": Decimal("-0.1")}, "agent_task_history_confidence_range"),
        ({"llm_calls_count": -1}, "agent_task_history_llm_calls_nonneg"),
        ({"thinking_phases_count": -1}, "agent_task_history_thinking_nonneg"),
        ({"memory_usage_mb": Decimal("-1")}, "agent_task_history_memory_nonneg"),
        ({"completed_at": T0 - dt.timedelta(seconds=1)}, "agent_task_history_completed_after_started"),
        ({"completed_at": None, "duration_seconds": None}, "agent_task_history_finished_has_completed_at"),
        ({"status": "running", "success": None}, "agent_task_history_finished_has_completed_at"),
        ({"success": False}, "agent_task_history_success_matches_status"),
        # A NULL outcome must not slip through a three-valued check.
        ({"success": None}, "agent_task_history_success_matches_status"),
        ({"status": "failed", "success": True}, "agent_task_history_success_matches_status"),
        ({"status": "running", "completed_at": None, "duration_seconds": None, "success": True}, "agent_task_history_success_matches_status"),
    ],
)
def test_task_check_constraints_reject_bad_rows(flow, overrides, constraint):
    assert_rejected(_task(flow, **overrides), constraint)


def test_a_task_of_another_engagement_than_its_flow_is_rejected(world, flow):
    assert_rejected(_task(flow, engagement_id=world.a.engagements[1].id), "agent_task_history_flow_tenant_fk")


def _raw_task(*, client_account_id, engagement_id, flow_id) -> dict:
    return {
        "id": uuid.uuid4(),
        "created_at": T0,
        "updated_at": T0,
        "client_account_id": client_account_id,
        "engagement_id": engagement_id,
        "flow_id": flow_id,
        "agent_name": "Asset Inventory Agent",
        "agent_type": "crew_member",
        "task_id": "classify-assets-1",
        "task_name": "Classify discovered assets",
        "task_description": "",
        "started_at": T0,
        "status": "running",
        "result_preview": "",
        "error_message": "",
        "llm_calls_count": 0,
        "thinking_phases_count": 0,
        "token_usage": '{"input": 0, "output": 0, "total": 0}',
    }


def test_a_task_whose_flow_belongs_to_another_client_is_rejected_by_the_database(world):
    """Foreign-key checks bypass RLS; the composite key is what stops this row."""
    a_engagement = world.a.engagements[0]
    with platform_context(reason="tests: cross-tenant task"):
        flow_b = MasterFlowFactory(engagement=world.b.engagements[0])
        flow_a = MasterFlowFactory(engagement=a_engagement)
        row = _raw_task(client_account_id=world.a.id, engagement_id=a_engagement.id, flow_id=flow_b.id)
        with pytest.raises(IntegrityError) as info:
            raw_insert("owner", "agent_task_history", row)
        assert constraint_of(info.value) == "agent_task_history_flow_tenant_fk"
        # Control: the same statement with the tenant's own flow is accepted.
        raw_insert("owner", "agent_task_history", {**row, "flow_id": flow_a.id})
        assert AgentTaskHistory.objects.get(pk=row["id"]).flow_id == flow_a.id


def test_a_task_with_an_engagement_of_another_client_is_rejected(world, flow):
    task = _task(flow, engagement_id=world.b.engagements[0].id)
    with pytest.raises(IntegrityError) as info:
        db_insert(task)
    # Both composite keys are broken by this row; PostgreSQL reports whichever it checks first.
    assert constraint_of(info.value) in {"agenttaskhistory_engagement_tenant_fk", "agent_task_history_flow_tenant_fk"}


def _day(engagement, **overrides) -> AgentPerformanceDaily:
    row = AgentPerformanceDailyFactory.build(
        engagement=engagement,
        agent_name="Field Mapping Agent",
        date_recorded=dt.date(2025, 6, 2),
        tasks_attempted=10,
        tasks_completed=7,
        tasks_failed=2,
        success_rate=Decimal("70.00"),
        avg_duration_seconds=Decimal("12.500"),
        avg_confidence_score=Decimal("0.8"),
        total_llm_calls=30,
        total_tokens_used=90000,
    )
    return _set(row, **overrides)


def test_a_valid_day_is_accepted(world):
    with tenant_context(world.a.id):
        db_insert(_day(world.a.engagements[0]))
        # Boundaries are inside the ranges: all attempts decided, a perfect day.
        db_insert(_day(world.a.engagements[0], agent_name="Risk Assessment Agent", tasks_completed=10, tasks_failed=0, success_rate=Decimal("100")))
        assert AgentPerformanceDaily.objects.count() == 2


@pytest.mark.parametrize(
    ("overrides", "constraint"),
    [
        ({"tasks_attempted": -1, "tasks_completed": 0, "tasks_failed": 0}, "agent_performance_daily_attempted_nonneg"),
        ({"tasks_completed": -1}, "agent_performance_daily_completed_nonneg"),
        ({"tasks_failed": -1}, "agent_performance_daily_failed_nonneg"),
        ({"tasks_completed": 9, "tasks_failed": 2}, "agent_performance_daily_outcomes_le_attempted"),
        ({"success_rate": Decimal("100.01")}, "agent_performance_daily_success_rate_range"),
        ({"success_rate": Decimal("-0.01")}, "agent_performance_daily_success_rate_range"),
        ({"avg_duration_seconds": Decimal("-1")}, "agent_performance_daily_avg_duration_nonneg"),
        ({"avg_confidence_score": Decimal("1.5")}, "agent_performance_daily_avg_confidence_range"),
        ({"total_llm_calls": -1}, "agent_performance_daily_llm_calls_nonneg"),
        ({"total_tokens_used": -5}, "agent_performance_daily_tokens_nonneg"),
    ],
)
def test_day_check_constraints_reject_bad_rows(world, overrides, constraint):
    with tenant_context(world.a.id):
        assert_rejected(_day(world.a.engagements[0], **overrides), constraint)


def test_one_row_per_agent_day_and_engagement(world):
    with tenant_context(world.a.id):
        db_insert(_day(world.a.engagements[0]))
        db_insert(_day(world.a.engagements[1]))  # other engagement: its own row
        db_insert(_day(world.a.engagements[0], agent_name="Risk Assessment Agent"))
        assert_rejected(_day(world.a.engagements[0]), "agent_performance_daily_key")


def test_a_day_with_an_engagement_of_another_client_is_rejected(world):
    with tenant_context(world.a.id):
        assert_rejected(_day(world.a.engagements[0], engagement_id=world.b.engagements[0].id), "agentperformancedaily_engagement_tenant_fk")


@pytest.mark.parametrize("factory", [AgentTaskHistoryFactory, AgentPerformanceDailyFactory])
def test_a_tenant_sees_and_writes_only_its_own_rows(world, factory):
    model = factory._meta.model
    with tenant_context(world.b.id):
        theirs = factory(engagement=world.b.engagements[0])
    with tenant_context(world.a.id):
        mine = factory(engagement=world.a.engagements[0])
        assert list(model.objects.values_list("id", flat=True)) == [mine.id]
        extra = {"flow": theirs.flow} if model is AgentTaskHistory else {"agent_name": "Six R Strategy Agent"}
        with pytest.raises(DatabaseError, match="row-level security"):
            db_insert(factory.build(engagement=world.b.engagements[0], **extra))
    with tenant_context(world.b.id):
        assert list(model.objects.values_list("id", flat=True)) == [theirs.id]
    assert model.objects.count() == 0
