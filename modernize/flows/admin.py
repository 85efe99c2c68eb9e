from django.contrib import admin

from modernize.flows.models import MasterFlow


@admin.register(MasterFlow)
class MasterFlowAdmin(admin.ModelAdmin):
    list_display = ["flow_name", "flow_type", "flow_status", "current_phase", "client_account", "engagement", "retry_count", "created_at"]
    list_filter = ["flow_type", "flow_status"]
    search_fields = ["flow_name", "=flow_id", "current_phase"]
    list_select_related = ["client_account", "engagement"]
    raw_id_fields = ["client_account", "engagement", "user", "parent_flow"]
    readonly_fields = ["flow_id", "phase_transitions", "error_history", "retry_count", "created_at", "updated_at"]
    date_hierarchy = "created_at"
    show_full_result_count = False
