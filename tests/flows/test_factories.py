"""The domain factories build rows the database accepts, in one tenant, at batch size."""

import pytest

from seeding.factories.agents import AgentPerformanceDailyFactory, AgentTaskHistoryFactory
from seeding.factories.flows import FLOW_PHASES, MasterFlowFactory
from seeding.factories.llm import LLMModelPricingFactory, LLMUsageLogFactory, LLMUsageSummaryFactory
from tenancy.context import platform_context, tenant_context
from tests.flows.db import make_immediate

pytestmark = pytest.mark.django_db(databases=["default", "owner"])

BATCH = 60


@pytest.mark.parametrize(
    "factory", [MasterFlowFactory, AgentTaskHistoryFactory, AgentPerformanceDailyFactory, LLMUsageLogFactory, LLMUsageSummaryFactory],
    ids=lambda f: f.__name__,
)
def test_a_batch_stays_inside_the_engagements_tenant(world, factory):
    engagement = world.a.engagements[0]
    with tenant_context(world.a.id):
        rows = factory.create_batch(BATCH, engagement=engagement)
        make_immediate("default")  # the composite tenant keys are checked now, not at commit
        assert {(r.client_account_id, r.engagement_id) for r in rows} == {(world.a.id, engagement.id)}
        assert factory._meta.model.objects.count() >= BATCH


def test_flows_walk_their_own_phases(world):
    with tenant_context(world.a.id):
        for flow in MasterFlowFactory.create_batch(BATCH, engagement=world.a.engagements[1]):
            phases = FLOW_PHASES[flow.flow_type]
            assert flow.current_phase in phases or (flow.flow_status == "initialized" and flow.current_phase == "")
            assert [t["to"] for t in flow.phase_transitions] == phases[: len(flow.phase_transitions)]


def test_tasks_of_a_flow_are_in_its_engagement(world):
    with tenant_context(world.a.id):
        flow = MasterFlowFactory(engagement=world.a.engagements[1])
        tasks = AgentTaskHistoryFactory.create_batch(20, flow=flow)
        make_immediate("default")
        assert {(t.flow_id, t.engagement_id) for t in tasks} == {(flow.id, flow.engagement_id)}
        assert all(t.token_usage["total"] == t.token_usage["input"] + t.token_usage["output"] for t in tasks)


def test_pricing_rows_do_not_collide_with_the_price_list():
    with platform_context(reason="tests: pricing factory"):
        rows = LLMModelPricingFactory.create_batch(20)
        assert len({r.model_name for r in rows}) == 20
