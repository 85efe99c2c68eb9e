from django.contrib import admin

from modernize.agents.models import AgentPerformanceDaily, AgentTaskHistory


@admin.register(AgentTaskHistory)
class AgentTaskHistoryAdmin(admin.ModelAdmin):
    list_display = ["agent_name", "task_name", "status", "success", "confidence_score", "duration_seconds", "llm_calls_count", "started_at"]
    list_filter = ["status", "agent_type", "success"]
    search_fields = ["agent_name", "task_name", "=task_id"]
    list_select_related = ["client_account", "engagement", "flow"]
    raw_id_fields = ["client_account", "engagement", "flow"]
    # Written by the agent services; the admin shows them, it does not recompute them.
    readonly_fields = ["duration_seconds", "token_usage", "llm_calls_count", "thinking_phases_count", "created_at", "updated_at"]
    date_hierarchy = "started_at"
    show_full_result_count = False


@admin.register(AgentPerformanceDaily)
class AgentPerformanceDailyAdmin(admin.ModelAdmin):
    list_display = [
        "agent_name",
        "date_recorded",
        "engagement",
        "tasks_attempted",
        "tasks_completed",
        "tasks_failed",
        "success_rate",
        "avg_duration_seconds",
        "total_tokens_used",
    ]
    list_filter = ["date_recorded"]
    search_fields = ["agent_name"]
    list_select_related = ["client_account", "engagement"]
    raw_id_fields = ["client_account", "engagement"]
    date_hierarchy = "date_recorded"
    show_full_result_count = False

    # A roll-up of agent_task_history (agent_performance_daily_rollup): read-only here.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
