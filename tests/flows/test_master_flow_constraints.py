import uuid

import pytest
from django.db import IntegrityError, connections

from modernize.flows.models import MasterFlow
from seeding.factories.flows import MasterFlowFactory
from tenancy.context import platform_context, tenant_context
from tests.flows.db import assert_rejected, constraint_of, db_insert, raw_insert

pytestmark = pytest.mark.django_db(databases=["default", "owner"])


def _flow(world, **overrides) -> MasterFlow:
    """A valid, unsaved flow of tenant A; ``overrides`` are set after building (the bad values)."""
    flow = MasterFlowFactory.build(engagement=world.a.engagements[0])
    for name, value in overrides.items():
        setattr(flow, name, value)
    return flow


def test_a_valid_flow_is_accepted(world):
    with tenant_context(world.a.id):
        db_insert(_flow(world))
        assert MasterFlow.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "constraint"),
    [
        ({"flow_type": "migration"}, "crewai_flow_state_ext_flow_type_valid"),
        ({"flow_status": "running"}, "crewai_flow_state_ext_flow_status_valid"),
        ({"retry_count": -1}, "crewai_flow_state_ext_retry_count_nonneg"),
        ({"phase_transitions": {"to": "field_mapping"}}, "crewai_flow_state_ext_transitions_array"),
        ({"error_history": "boom"}, "crewai_flow_state_ext_errors_array"),
        ({"agent_collaboration_log": {}}, "crewai_flow_state_ext_collab_log_array"),
    ],
)
def test_check_constraints_reject_bad_rows(world, overrides, constraint):
    with tenant_context(world.a.id):
        assert_rejected(_flow(world, **overrides), constraint)


def test_a_flow_cannot_be_its_own_parent(world):
    with tenant_context(world.a.id):
        flow = _flow(world)
        flow.parent_flow_id = flow.id
        assert_rejected(flow, "crewai_flow_state_ext_not_own_parent")


def test_flow_id_is_unique_within_a_client_account(world):
    flow_id = uuid.uuid4()
    with tenant_context(world.a.id):
        db_insert(_flow(world, flow_id=flow_id))
        # Even in the client's other engagement.
        assert_rejected(
            MasterFlowFactory.build(engagement=world.a.engagements[1], flow_id=flow_id), "crewai_flow_state_ext_client_flow_id_key"
        )


def test_the_same_flow_id_may_exist_in_another_client_account(world):
    flow_id = uuid.uuid4()
    with platform_context(reason="tests: flow ids per client"):
        db_insert(MasterFlowFactory.build(engagement=world.a.engagements[0], flow_id=flow_id))
        db_insert(MasterFlowFactory.build(engagement=world.b.engagements[0], flow_id=flow_id))
        assert MasterFlow.objects.filter(flow_id=flow_id).count() == 2


def test_tenant_keys_for_children_exist():
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'crewai_flow_state_extensions'::regclass AND contype = 'u'"
        )
        keys = dict(cursor.fetchall())
    assert keys["crewai_flow_state_ext_id_tenant_key"] == "UNIQUE (id, client_account_id)"
    assert keys["crewai_flow_state_ext_id_engagement_key"] == "UNIQUE (id, client_account_id, engagement_id)"


def test_a_parent_flow_of_another_client_is_rejected_by_the_database(world):
    with platform_context(reason="tests: cross-tenant parent flow"):
        parent_b = MasterFlowFactory(engagement=world.b.engagements[0])
        row = {
            "id": uuid.uuid4(),
            "created_at": parent_b.created_at,
            "updated_at": parent_b.created_at,
            "client_account_id": world.a.id,
            "engagement_id": world.a.engagements[0].id,
            "flow_id": uuid.uuid4(),
            "flow_type": "assessment",
            "flow_name": "Assessment spawned from another client's discovery",
            "flow_status": "initialized",
            "current_phase": "",
            "flow_configuration": "{}",
            "flow_persistence_data": "{}",
            "phase_transitions": "[]",
            "error_history": "[]",
            "agent_collaboration_log": "[]",
            "learning_patterns": "{}",
            "retry_count": 0,
            "parent_flow_id": parent_b.id,
        }
        with pytest.raises(IntegrityError) as info:
            raw_insert("owner", "crewai_flow_state_extensions", row)
        assert constraint_of(info.value) == "crewai_flow_state_ext_parent_tenant_fk"
        # The same row with a parent of its own client goes in: the key, not the SQL, refused it.
        parent_a = MasterFlowFactory(engagement=world.a.engagements[1])
        raw_insert("owner", "crewai_flow_state_extensions", {**row, "parent_flow_id": parent_a.id})
        assert MasterFlow.objects.get(pk=row["id"]).parent_flow_id == parent_a.id


def test_an_engagement_of_another_client_is_rejected_by_the_database(world):
    with platform_context(reason="tests: cross-tenant engagement"):
        flow = MasterFlowFactory.build(engagement=world.a.engagements[0])
        flow.engagement_id = world.b.engagements[0].id
        assert_rejected(flow, "masterflow_engagement_tenant_fk")


def test_a_tenant_sees_and_writes_only_its_own_flows(world):
    with tenant_context(world.b.id):
        MasterFlowFactory(engagement=world.b.engagements[0])
    with tenant_context(world.a.id):
        mine = MasterFlowFactory(engagement=world.a.engagements[0])
        assert list(MasterFlow.objects.values_list("id", flat=True)) == [mine.id]
    with tenant_context(world.b.id):
        assert MasterFlow.objects.count() == 1
        assert not MasterFlow.objects.filter(pk=mine.pk).exists()
    assert MasterFlow.objects.count() == 0  # no context, no rows
