"""Admin of agent task history and its daily roll-up (both written by the agent services: read-only)."""

from django.contrib import admin

from modernize.agents.models import AgentPerformanceDaily, AgentTaskHistory
from tenancy.admin_site import ReadOnlyTenantAdmin

# A task names its flow; the flow's JSON state would only weigh down the joined rows.
FLOW_STATE_FIELDS = tuple(
    f"flow__{name}"
    for name in ("flow_configuration", "flow_persistence_data", "phase_transitions", "error_history", "agent_collaboration_log", "learning_patterns")
)


@admin.register(AgentTaskHistory)
class AgentTaskHistoryAdmin(ReadOnlyTenantAdmin):
    list_display = [
        "started_at",
        "agent_name",
        "task_name",
        "status",
        "success",
        "confidence_score",
        "duration",
        "llm_calls_count",
        "tokens",
        "flow",
        "engagement",
        "client_account",
    ]
    list_filter = ["status", "agent_type", "success"]
    search_fields = ["agent_name", "task_name", "=task_id"]
    list_select_related = ["client_account", "engagement", "flow"]
    readonly_fields = ["duration", "tokens"]
    date_hierarchy = "started_at"
    show_full_result_count = False

    def get_queryset(self, request):
        # The changelist skips list_select_related once the queryset selects related rows itself.
        return super().get_queryset(request).select_related(*self.list_select_related).defer(*FLOW_STATE_FIELDS)

    @admin.display(description="duration", ordering="duration_seconds")
    def duration(self, task):
        if task.duration_seconds is None:
            return "running" if task.completed_at is None else "—"
        seconds = float(task.duration_seconds)
        minutes, seconds = divmod(seconds, 60)
        return f"{int(minutes)} min {seconds:.1f} s" if minutes else f"{seconds:.1f} s"

    @admin.display(description="tokens")
    def tokens(self, task):
        return (task.token_usage or {}).get("total", 0)


@admin.register(AgentPerformanceDaily)
class AgentPerformanceDailyAdmin(ReadOnlyTenantAdmin):
    """A roll-up of agent_task_history (agent_performance_daily_rollup)."""

    list_display = [
        "date_recorded",
        "agent_name",
        "engagement",
        "tasks_attempted",
        "tasks_completed",
        "tasks_failed",
        "success_rate",
        "avg_duration_seconds",
        "avg_confidence_score",
        "total_llm_calls",
        "total_tokens_used",
        "tokens_per_task",
        "client_account",
    ]
    search_fields = ["agent_name"]
    list_select_related = ["client_account", "engagement"]
    readonly_fields = ["tokens_per_task"]
    date_hierarchy = "date_recorded"
    show_full_result_count = False

    @admin.display(description="tokens / task")
    def tokens_per_task(self, day):
        return round(day.total_tokens_used / day.tasks_attempted) if day.tasks_attempted else 0
