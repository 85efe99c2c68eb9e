from django.contrib import admin

from modernize.llm.models import LLMModelPricing, LLMUsageLog, LLMUsageSummary


@admin.register(LLMModelPricing)
class LLMModelPricingAdmin(admin.ModelAdmin):
    list_display = ["provider", "model_name", "model_version", "input_cost_per_1k", "output_cost_per_1k", "currency", "effective_from", "effective_to", "is_active"]
    list_filter = ["provider", "is_active", "currency"]
    search_fields = ["model_name", "model_version"]
    ordering = ["provider", "model_name", "model_version", "-effective_from"]


@admin.register(LLMUsageLog)
class LLMUsageLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "llm_provider", "model_name", "total_tokens", "total_cost", "currency", "response_time_ms", "success", "feature_context", "client_account"]
    list_filter = ["llm_provider", "success", "currency"]
    search_fields = ["model_name", "=request_id", "feature_context", "page_context"]
    list_select_related = ["client_account", "engagement"]
    raw_id_fields = ["client_account", "engagement", "flow", "user", "pricing"]
    # Costs and totals come from the pricing (llm_usage_record); editing them would break that link.
    readonly_fields = ["pricing", "total_tokens", "input_cost", "output_cost", "total_cost", "currency", "created_at", "updated_at"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(LLMUsageSummary)
class LLMUsageSummaryAdmin(admin.ModelAdmin):
    list_display = ["period_type", "period_start", "llm_provider", "model_name", "feature_context", "total_requests", "failed_requests", "total_tokens", "total_cost", "avg_response_time_ms"]
    list_filter = ["period_type", "llm_provider"]
    search_fields = ["model_name", "feature_context", "page_context"]
    list_select_related = ["client_account", "engagement"]
    raw_id_fields = ["client_account", "engagement"]
    date_hierarchy = "period_start"
    show_full_result_count = False

    # A roll-up of llm_usage_logs (llm_usage_summary_rollup): read-only here.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
