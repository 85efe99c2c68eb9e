"""Admin of master flows (tenant data; transitions and errors are written by the flow services)."""

from django.contrib import admin

from modernize.flows.models import MasterFlow
from tenancy.admin import TenantDataAdmin


@admin.register(MasterFlow)
class MasterFlowAdmin(TenantDataAdmin):
    list_display = ["flow_name", "flow_type", "flow_status", "current_phase", "phases", "errors", "retry_count", "engagement", "client_account", "created_at", "updated_at"]
    list_filter = ["flow_type", "flow_status"]
    search_fields = ["flow_name", "=flow_id", "current_phase"]
    list_select_related = ["client_account", "engagement"]
    autocomplete_fields = ["client_account", "engagement", "parent_flow"]
    user_fields = ("user",)
    # History is appended by master_flow_transition / master_flow_error_record, never edited.
    readonly_fields = ["flow_id", "phase_transitions", "error_history", "retry_count", "phases", "errors", "created_at", "updated_at"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description="transitions")
    def phases(self, flow):
        return len(flow.phase_transitions or [])

    @admin.display(description="errors")
    def errors(self, flow):
        return len(flow.error_history or [])
