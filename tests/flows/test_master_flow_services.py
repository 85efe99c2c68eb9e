import datetime as dt

import pytest

from modernize.flows.models import FlowStatus, MasterFlow
from modernize.flows.services import (
    ERROR_HISTORY_KEPT,
    PHASE_TRANSITIONS_KEPT,
    FlowTransitionError,
    master_flow_error_record,
    master_flow_transition,
)
from seeding.factories.flows import MasterFlowFactory
from tenancy.context import tenant_context

pytestmark = pytest.mark.django_db(databases=["default", "owner"])


@pytest.fixture
def flow(world):
    with tenant_context(world.a.id):
        yield MasterFlowFactory(
            engagement=world.a.engagements[0],
            flow_type="discovery",
            flow_status=FlowStatus.ACTIVE,
            current_phase="data_import",
            phase_transitions=[],
            error_history=[],
            retry_count=0,
        )


def test_transition_moves_the_flow_and_logs_it(flow):
    before = dt.datetime.now(dt.UTC)
    master_flow_transition(flow=flow, to_phase="field_mapping", to_status=FlowStatus.PROCESSING, reason="import validated")
    stored = MasterFlow.objects.get(pk=flow.pk)
    assert (stored.current_phase, stored.flow_status) == ("field_mapping", "processing")
    [entry] = stored.phase_transitions
    assert entry["from"] == "data_import"
    assert entry["to"] == "field_mapping"
    assert entry["reason"] == "import validated"
    assert entry["status"] == {"from": "active", "to": "processing"}
    assert dt.datetime.fromisoformat(entry["at"]) >= before
    # The caller's object reflects the stored state.
    assert (flow.current_phase, flow.flow_status, flow.phase_transitions) == ("field_mapping", "processing", stored.phase_transitions)


def test_transition_without_status_keeps_the_status(flow):
    master_flow_transition(flow=flow, to_phase="field_mapping", reason="next")
    stored = MasterFlow.objects.get(pk=flow.pk)
    assert stored.flow_status == "active"
    assert "status" not in stored.phase_transitions[0]


def test_transitions_are_bounded_to_the_newest(flow):
    flow.phase_transitions = [{"from": f"p{i}", "to": f"p{i + 1}", "at": "2025-01-01T00:00:00+00:00", "reason": ""} for i in range(PHASE_TRANSITIONS_KEPT)]
    flow.save()
    master_flow_transition(flow=flow, to_phase="asset_inventory", reason="cleansed")
    stored = MasterFlow.objects.get(pk=flow.pk).phase_transitions
    assert len(stored) == PHASE_TRANSITIONS_KEPT == 100
    assert stored[0]["from"] == "p1"  # p0 dropped
    assert stored[-1]["to"] == "asset_inventory"


def test_an_unknown_status_is_refused_and_nothing_changes(flow):
    with pytest.raises(FlowTransitionError, match="Unknown flow status 'done'"):
        master_flow_transition(flow=flow, to_phase="field_mapping", to_status="done", reason="x")
    stored = MasterFlow.objects.get(pk=flow.pk)
    assert (stored.current_phase, stored.flow_status, stored.phase_transitions) == ("data_import", "active", [])


@pytest.mark.parametrize("status", [FlowStatus.COMPLETED, FlowStatus.CANCELLED])
def test_a_finished_flow_takes_no_transition(flow, status):
    MasterFlow.objects.filter(pk=flow.pk).update(flow_status=status)
    with pytest.raises(FlowTransitionError, match=str(status)):
        master_flow_transition(flow=flow, to_phase="field_mapping", to_status=FlowStatus.ACTIVE, reason="reopen")
    assert MasterFlow.objects.get(pk=flow.pk).phase_transitions == []


def test_a_failed_flow_can_be_retried(flow):
    MasterFlow.objects.filter(pk=flow.pk).update(flow_status=FlowStatus.FAILED)
    master_flow_transition(flow=flow, to_phase="data_import", to_status=FlowStatus.ACTIVE, reason="retry")
    assert MasterFlow.objects.get(pk=flow.pk).flow_status == "active"


def test_error_record_appends_and_counts_a_retry_when_asked(flow):
    master_flow_error_record(flow=flow, error=TimeoutError("CMDB export timed out"), agent_name="Data Cleansing Agent", increment_retry=True)
    master_flow_error_record(flow=flow, error="schema mismatch", phase="field_mapping")
    stored = MasterFlow.objects.get(pk=flow.pk)
    assert stored.retry_count == 1
    first, second = stored.error_history
    assert (first["error_type"], first["message"], first["phase"], first["agent"], first["retry_count"]) == (
        "TimeoutError",
        "CMDB export timed out",
        "data_import",
        "Data Cleansing Agent",
        1,
    )
    assert (second["error_type"], second["message"], second["phase"], second["retry_count"]) == ("Error", "schema mismatch", "field_mapping", 1)
    assert flow.retry_count == 1 and flow.error_history == stored.error_history


def test_error_history_is_bounded_to_the_newest(flow):
    flow.error_history = [{"message": f"e{i}"} for i in range(ERROR_HISTORY_KEPT + 5)]
    flow.save()
    master_flow_error_record(flow=flow, error="latest", increment_retry=True)
    stored = MasterFlow.objects.get(pk=flow.pk)
    assert len(stored.error_history) == ERROR_HISTORY_KEPT == 100
    assert stored.error_history[0]["message"] == "e6"
    assert stored.error_history[-1]["message"] == "latest"
    assert stored.retry_count == 1
