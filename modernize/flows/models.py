"""Master flows: the state of one multi-phase agent workflow of an engagement.

The table keeps its historical name (crewai_flow_state_extensions): it extends the state
CrewAI persists for a flow with the platform's own bookkeeping.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.lookups import Exact

from tenancy.constraints import TenantForeignKey
from tenancy.models import TenantModel


class FlowType(models.TextChoices):
    DISCOVERY = "discovery"
    ASSESSMENT = "assessment"
    COLLECTION = "collection"
    PLANNING = "planning"
    EXECUTION = "execution"
    MODERNIZE = "modernize"
    FINOPS = "finops"
    OBSERVABILITY = "observability"
    DECOMMISSION = "decommission"


class FlowStatus(models.TextChoices):
    INITIALIZED = "initialized"
    ACTIVE = "active"
    PROCESSING = "processing"
    PAUSED = "paused"
    WAITING_FOR_APPROVAL = "waiting_for_approval"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


# A flow in one of these states takes no further transitions (a failed flow may be retried).
TERMINAL_FLOW_STATUSES = (FlowStatus.COMPLETED, FlowStatus.CANCELLED)


def _json_is(field: str, kind: str) -> Exact:
    return Exact(models.Func(F(field), function="jsonb_typeof", output_field=models.CharField()), Value(kind))


class MasterFlow(TenantModel):
    """One agent workflow (discovery, assessment, …) of an engagement, with its history."""

    Type = FlowType
    Status = FlowStatus

    flow_id = models.UUIDField(default=uuid.uuid4, editable=False, help_text="Public id, unique within the client account.")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    flow_type = models.CharField(max_length=20, choices=FlowType.choices)
    flow_name = models.CharField(max_length=255)
    flow_status = models.CharField(max_length=30, choices=FlowStatus.choices, default=FlowStatus.INITIALIZED)
    current_phase = models.CharField(max_length=100, blank=True)
    flow_configuration = models.JSONField(default=dict, blank=True)
    flow_persistence_data = models.JSONField(default=dict, blank=True)
    phase_transitions = models.JSONField(default=list, blank=True)
    error_history = models.JSONField(default=list, blank=True)
    agent_collaboration_log = models.JSONField(default=list, blank=True)
    learning_patterns = models.JSONField(default=dict, blank=True)
    retry_count = models.IntegerField(default=0)
    parent_flow = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="child_flows")

    class Meta:
        db_table = "crewai_flow_state_extensions"
        ordering = ["-created_at"]
        constraints = TenantModel.Meta.constraints + [
            # Targets of the composite foreign keys of children (agent tasks, LLM usage, sub-flows).
            models.UniqueConstraint(fields=["id", "client_account"], name="crewai_flow_state_ext_id_tenant_key"),
            models.UniqueConstraint(fields=["id", "client_account", "engagement"], name="crewai_flow_state_ext_id_engagement_key"),
            models.UniqueConstraint(fields=["client_account", "flow_id"], name="crewai_flow_state_ext_client_flow_id_key"),
            TenantForeignKey(field="parent_flow", name="crewai_flow_state_ext_parent_tenant_fk"),
            models.CheckConstraint(condition=Q(flow_type__in=FlowType.values), name="crewai_flow_state_ext_flow_type_valid"),
            models.CheckConstraint(condition=Q(flow_status__in=FlowStatus.values), name="crewai_flow_state_ext_flow_status_valid"),
            models.CheckConstraint(condition=Q(retry_count__gte=0), name="crewai_flow_state_ext_retry_count_nonneg"),
            models.CheckConstraint(condition=~Q(parent_flow=F("id")), name="crewai_flow_state_ext_not_own_parent"),
            models.CheckConstraint(condition=_json_is("phase_transitions", "array"), name="crewai_flow_state_ext_transitions_array"),
            models.CheckConstraint(condition=_json_is("error_history", "array"), name="crewai_flow_state_ext_errors_array"),
            models.CheckConstraint(
                condition=_json_is("agent_collaboration_log", "array"), name="crewai_flow_state_ext_collab_log_array"
            ),
        ]
        indexes = [
            models.Index(fields=["client_account", "engagement", "flow_status"], name="master_flow_eng_status_idx"),
            models.Index(fields=["client_account", "flow_type", "-created_at"], name="master_flow_type_time_idx"),
        ]

    def __str__(self):
        return f"{self.flow_name} ({self.flow_type}, {self.flow_status})"
