import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from modernize.agents.models import AgentPerformanceDaily, AgentTaskHistory
from modernize.agents.services import (
    RESULT_PREVIEW_CHARS,
    AgentTaskStateError,
    agent_performance_daily_rollup,
    agent_task_complete,
    agent_task_start,
    agent_task_status_set,
    agent_task_tokens_add,
)
from seeding.factories.agents import AgentTaskHistoryFactory
from seeding.factories.flows import MasterFlowFactory
from tenancy.context import platform_context, tenant_context

pytestmark = pytest.mark.django_db(databases=["default", "owner"])

DAY = dt.date(2025, 6, 2)
T0 = dt.datetime(2025, 6, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def flow(world):
    with tenant_context(world.a.id):
        yield MasterFlowFactory(engagement=world.a.engagements[0], flow_type="discovery")


@pytest.fixture
def task(flow):
    return agent_task_start(flow=flow, agent_name="Field Mapping Agent", task_name="Map import fields", task_id="map-1", started_at=T0)


def test_start_records_a_running_task_in_the_flows_tenant(flow, task):
    stored = AgentTaskHistory.objects.get(pk=task.pk)
    assert (stored.client_account_id, stored.engagement_id, stored.flow_id) == (flow.client_account_id, flow.engagement_id, flow.id)
    assert (stored.status, stored.started_at, stored.completed_at, stored.success) == ("running", T0, None, None)
    assert stored.token_usage == {"input": 0, "output": 0, "total": 0}


def test_complete_computes_the_duration_from_start_and_end(task):
    agent_task_complete(
        task=task,
        success=True,
        result_preview="Mapped 31 of 37 columns automatically; 6 need review.",
        confidence_score=0.87,
        completed_at=T0 + dt.timedelta(minutes=2, seconds=3, microseconds=456_700),
    )
    stored = AgentTaskHistory.objects.get(pk=task.pk)
    # 123.4567 s, to the millisecond, half up.
    assert stored.duration_seconds == Decimal("123.457")
    assert (stored.status, stored.success, stored.confidence_score) == ("completed", True, Decimal("0.8700"))
    assert stored.result_preview == "Mapped 31 of 37 columns automatically; 6 need review."
    assert task.duration_seconds == Decimal("123.457")


def test_an_unsuccessful_task_fails_or_times_out(flow):
    failed = agent_task_start(flow=flow, agent_name="Data Cleansing Agent", task_name="Cleanse", started_at=T0)
    timed_out = agent_task_start(flow=flow, agent_name="Data Cleansing Agent", task_name="Cleanse", started_at=T0)
    agent_task_complete(task=failed, success=False, error_message="schema mismatch", completed_at=T0 + dt.timedelta(seconds=5))
    agent_task_complete(task=timed_out, success=False, timed_out=True, completed_at=T0 + dt.timedelta(seconds=600))
    assert AgentTaskHistory.objects.get(pk=failed.pk).status == "failed"
    assert AgentTaskHistory.objects.get(pk=failed.pk).error_message == "schema mismatch"
    stored = AgentTaskHistory.objects.get(pk=timed_out.pk)
    assert (stored.status, stored.success, stored.duration_seconds) == ("timeout", False, Decimal("600.000"))


def test_the_result_preview_is_cut(task):
    agent_task_complete(task=task, success=True, result_preview="x" * 2000, completed_at=T0)
    assert len(AgentTaskHistory.objects.get(pk=task.pk).result_preview) == RESULT_PREVIEW_CHARS == 500


def test_a_task_finishes_once(task):
    agent_task_complete(task=task, success=True, completed_at=T0 + dt.timedelta(seconds=1))
    with pytest.raises(AgentTaskStateError, match="already finished"):
        agent_task_complete(task=task, success=False, completed_at=T0 + dt.timedelta(seconds=2))
    assert AgentTaskHistory.objects.get(pk=task.pk).status == "completed"


def test_a_task_cannot_end_before_it_started(task):
    with pytest.raises(AgentTaskStateError, match="before it started"):
        agent_task_complete(task=task, success=True, completed_at=T0 - dt.timedelta(seconds=1))


def test_a_confidence_outside_zero_to_one_is_refused(task):
    with pytest.raises(ValueError, match="between 0 and 1"):
        agent_task_complete(task=task, success=True, confidence_score=1.2, completed_at=T0)
    assert AgentTaskHistory.objects.get(pk=task.pk).status == "running"


def test_tokens_accumulate_with_the_call_count(task):
    agent_task_tokens_add(task=task, input_tokens=1200, output_tokens=300)
    agent_task_tokens_add(task=task, input_tokens=800, output_tokens=150)
    agent_task_tokens_add(task=task, input_tokens=0, output_tokens=0, llm_calls=0)
    stored = AgentTaskHistory.objects.get(pk=task.pk)
    assert stored.token_usage == {"input": 2000, "output": 450, "total": 2450}
    assert stored.llm_calls_count == 2
    assert task.token_usage == stored.token_usage
    with pytest.raises(ValueError):
        agent_task_tokens_add(task=task, input_tokens=-1, output_tokens=0)


def test_entering_thinking_counts_a_phase(task):
    agent_task_status_set(task=task, status="thinking")
    agent_task_status_set(task=task, status="thinking")  # still the same phase
    agent_task_status_set(task=task, status="waiting_llm")
    agent_task_status_set(task=task, status="thinking")
    stored = AgentTaskHistory.objects.get(pk=task.pk)
    assert (stored.status, stored.thinking_phases_count) == ("thinking", 2)
    with pytest.raises(AgentTaskStateError):
        agent_task_status_set(task=task, status="completed")


# --- daily roll-up -------------------------------------------------------------------


def _finished(flow, agent, *, started, seconds, status, confidence=None, calls=0, tokens=0):
    return AgentTaskHistoryFactory(
        flow=flow,
        agent_name=agent,
        started_at=started,
        status=status,
        completed_at=None if seconds is None else started + dt.timedelta(seconds=seconds),
        duration_seconds=None if seconds is None else Decimal(str(seconds)),
        success=None if seconds is None else status == "completed",
        confidence_score=None if confidence is None else Decimal(confidence),
        llm_calls_count=calls,
        token_usage={"input": tokens - tokens // 4, "output": tokens // 4, "total": tokens},
    )


def test_rollup_matches_hand_computed_values(world, flow):
    other_flow = MasterFlowFactory(engagement=world.a.engagements[1])
    agent = "Field Mapping Agent"
    _finished(flow, agent, started=T0, seconds=10, status="completed", confidence="0.9", calls=2, tokens=1000)
    _finished(flow, agent, started=T0, seconds=20.5, status="completed", confidence="0.8", calls=1, tokens=500)
    _finished(flow, agent, started=T0, seconds=5.25, status="failed", calls=1, tokens=200)
    _finished(flow, agent, started=T0, seconds=600, status="timeout")
    _finished(flow, agent, started=dt.datetime(2025, 6, 2, 23, 59, 59, 999999, tzinfo=dt.UTC), seconds=None, status="running", calls=1, tokens=100)
    # Not this row: the day before, the day after (midnight belongs to the next day), another agent, another engagement.
    _finished(flow, agent, started=dt.datetime(2025, 6, 1, 23, 59, tzinfo=dt.UTC), seconds=1, status="completed", calls=9, tokens=9)
    _finished(flow, agent, started=dt.datetime(2025, 6, 3, tzinfo=dt.UTC), seconds=1, status="completed", calls=9, tokens=9)
    _finished(flow, "Risk Assessment Agent", started=T0, seconds=3, status="completed", confidence="0.5", calls=4, tokens=4000)
    _finished(other_flow, agent, started=T0, seconds=7, status="failed", calls=1, tokens=10)

    assert agent_performance_daily_rollup(date=DAY) == 3
    assert AgentPerformanceDaily.objects.count() == 3
    day = AgentPerformanceDaily.objects.get(agent_name=agent, engagement=flow.engagement, date_recorded=DAY)
    assert (day.tasks_attempted, day.tasks_completed, day.tasks_failed) == (5, 2, 2)
    assert day.success_rate == Decimal("40.00")
    assert day.avg_duration_seconds == Decimal("158.938")  # (10 + 20.5 + 5.25 + 600) / 4 = 158.9375
    assert day.avg_confidence_score == Decimal("0.8500")
    assert (day.total_llm_calls, day.total_tokens_used) == (5, 1800)
    risk = AgentPerformanceDaily.objects.get(agent_name="Risk Assessment Agent", date_recorded=DAY)
    assert (risk.tasks_attempted, risk.tasks_completed, risk.success_rate, risk.total_tokens_used) == (1, 1, Decimal("100.00"), 4000)
    other = AgentPerformanceDaily.objects.get(agent_name=agent, engagement=other_flow.engagement, date_recorded=DAY)
    assert (other.tasks_attempted, other.tasks_failed, other.success_rate, other.avg_confidence_score) == (1, 1, Decimal("0.00"), None)


def test_rollup_rerun_updates_in_place_and_drops_days_without_tasks(flow):
    _finished(flow, "Field Mapping Agent", started=T0, seconds=10, status="completed", confidence="0.9", calls=1, tokens=100)
    gone = _finished(flow, "Data Cleansing Agent", started=T0, seconds=10, status="completed", calls=1, tokens=100)
    agent_performance_daily_rollup(date=DAY)
    first = AgentPerformanceDaily.objects.get(agent_name="Field Mapping Agent")
    assert AgentPerformanceDaily.objects.count() == 2

    gone.delete()
    _finished(flow, "Field Mapping Agent", started=T0, seconds=30, status="failed", calls=3, tokens=900)
    agent_performance_daily_rollup(date=DAY)

    again = AgentPerformanceDaily.objects.get(agent_name="Field Mapping Agent")
    assert again.pk == first.pk
    assert (again.tasks_attempted, again.tasks_completed, again.tasks_failed) == (2, 1, 1)
    assert (again.success_rate, again.avg_duration_seconds, again.total_llm_calls, again.total_tokens_used) == (
        Decimal("50.00"),
        Decimal("20.000"),
        4,
        1000,
    )
    assert not AgentPerformanceDaily.objects.filter(agent_name="Data Cleansing Agent").exists()


def _python_rollup(tasks, day) -> dict:
    """The roll-up recomputed in Python from the task rows, as the service defines it."""
    groups = defaultdict(list)
    for t in tasks:
        if t.started_at.astimezone(dt.UTC).date() == day:
            groups[(t.client_account_id, t.engagement_id, t.agent_name)].append(t)

    def avg(values, step):
        values = [v for v in values if v is not None]
        return (sum(values, Decimal(0)) / len(values)).quantize(Decimal(step), rounding=ROUND_HALF_UP) if values else None

    result = {}
    for key, group in groups.items():
        completed = sum(t.status == "completed" for t in group)
        result[key] = {
            "tasks_attempted": len(group),
            "tasks_completed": completed,
            "tasks_failed": sum(t.status in ("failed", "timeout") for t in group),
            "success_rate": (Decimal(100 * completed) / len(group)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
            "avg_duration_seconds": avg([t.duration_seconds for t in group], "0.001"),
            "avg_confidence_score": avg([t.confidence_score for t in group], "0.0001"),
            "total_llm_calls": sum(t.llm_calls_count for t in group),
            "total_tokens_used": sum(t.token_usage["total"] for t in group),
        }
    return result


def test_rollup_agrees_with_a_python_recomputation_across_tenants(world):
    days = [dt.date(2025, 5, 30), dt.date(2025, 5, 31)]
    with platform_context(reason="tests: agent roll-up across tenants"):
        tasks = []
        for tenant in world.tenants:
            for engagement in tenant.engagements:
                flow = MasterFlowFactory(engagement=engagement)
                for i in range(24):
                    start = dt.datetime.combine(days[i % 2], dt.time(hour=i % 24, minute=7 * i % 60), tzinfo=dt.UTC)
                    tasks.append(AgentTaskHistoryFactory(flow=flow, started_at=start))
        for day in days:
            agent_performance_daily_rollup(date=day)
            expected = _python_rollup(tasks, day)
            stored = {
                (r.client_account_id, r.engagement_id, r.agent_name): {name: getattr(r, name) for name in next(iter(expected.values()))}
                for r in AgentPerformanceDaily.objects.filter(date_recorded=day)
            }
            assert stored == expected
            assert {k[0] for k in stored} == {world.a.id, world.b.id}


def test_rollup_for_one_client_leaves_the_others_alone(world):
    with platform_context(reason="tests: agent roll-up of one client"):
        for tenant in world.tenants:
            AgentTaskHistoryFactory(flow=MasterFlowFactory(engagement=tenant.engagements[0]), started_at=T0, status="completed")
        agent_performance_daily_rollup(date=DAY, client_account_id=world.b.id)
        agent_performance_daily_rollup(date=DAY, client_account_id=world.a.id)
        assert set(AgentPerformanceDaily.objects.values_list("client_account_id", flat=True)) == {world.a.id, world.b.id}


def test_rollup_in_a_tenant_context_sees_only_that_tenant(world):
    with tenant_context(world.b.id):
        AgentTaskHistoryFactory(flow=MasterFlowFactory(engagement=world.b.engagements[0]), started_at=T0)
    with tenant_context(world.a.id):
        AgentTaskHistoryFactory(flow=MasterFlowFactory(engagement=world.a.engagements[0]), started_at=T0)
        assert agent_performance_daily_rollup(date=DAY) == 1
        assert list(AgentPerformanceDaily.objects.values_list("client_account_id", flat=True)) == [world.a.id]
    with tenant_context(world.b.id):
        assert AgentPerformanceDaily.objects.count() == 0


def test_rollup_is_one_aggregate_query_one_upsert_and_one_delete(flow):
    for agent in ("Field Mapping Agent", "Risk Assessment Agent", "Data Cleansing Agent"):
        _finished(flow, agent, started=T0, seconds=10, status="completed", calls=1, tokens=100)
    with CaptureQueriesContext(connections["default"]) as captured:
        assert agent_performance_daily_rollup(date=DAY) == 3
    sqls = [q["sql"] for q in captured.captured_queries if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE"))]
    assert [s.split()[0].upper() for s in sqls] == ["SELECT", "INSERT", "DELETE"]
    assert "GROUP BY" in sqls[0] and "ON CONFLICT" in sqls[1]
