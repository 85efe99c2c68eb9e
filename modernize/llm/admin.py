"""Admin of the LLM price list (global: platform admins edit it) and of usage (read-only:
written by llm_usage_record and rolled up by llm_usage_summary_rollup)."""

from django.contrib import admin

from modernize.llm.models import LLMModelPricing, LLMUsageLog, LLMUsageSummary
from tenancy.admin_site import GlobalReferenceAdmin, ReadOnlyTenantAdmin


@admin.register(LLMModelPricing)
class LLMModelPricingAdmin(GlobalReferenceAdmin):
    list_display = ["provider", "model_name", "model_version", "input_cost_per_1k", "output_cost_per_1k", "cost_per_million", "currency", "effective_from", "effective_to", "is_active"]
    list_filter = ["provider", "is_active"]
    search_fields = ["model_name", "model_version"]
    ordering = ["provider", "model_name", "model_version", "-effective_from"]
    readonly_fields = ["cost_per_million", "created_at", "updated_at"]
    date_hierarchy = "effective_from"

    @admin.display(description="per 1M tokens (in / out)")
    def cost_per_million(self, pricing):
        if pricing.input_cost_per_1k is None or pricing.output_cost_per_1k is None:
            return "—"
        return f"{pricing.input_cost_per_1k * 1000:.2f} / {pricing.output_cost_per_1k * 1000:.2f} {pricing.currency}"


@admin.register(LLMUsageLog)
class LLMUsageLogAdmin(ReadOnlyTenantAdmin):
    list_display = [
        "created_at",
        "llm_provider",
        "model_name",
        "input_tokens",
        "output_tokens",
        "total_tokens",
        "cost",
        "response_time_ms",
        "success",
        "feature_context",
        "user",
        "engagement",
        "client_account",
    ]
    list_filter = ["llm_provider", "success"]
    search_fields = ["model_name", "=request_id", "feature_context", "page_context"]
    list_select_related = ["client_account", "engagement", "user"]
    readonly_fields = ["cost", "cost_per_1k_tokens"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    @admin.display(description="cost", ordering="total_cost")
    def cost(self, usage):
        return f"{usage.total_cost:.6f} {usage.currency}"

    @admin.display(description="cost per 1k tokens")
    def cost_per_1k_tokens(self, usage):
        if not usage.total_tokens:
            return "—"
        return f"{usage.total_cost * 1000 / usage.total_tokens:.6f} {usage.currency}"


@admin.register(LLMUsageSummary)
class LLMUsageSummaryAdmin(ReadOnlyTenantAdmin):
    list_display = [
        "period_type",
        "period_start",
        "llm_provider",
        "model_name",
        "feature_context",
        "total_requests",
        "success_rate",
        "total_tokens",
        "cost",
        "avg_response_time_ms",
        "engagement",
        "client_account",
    ]
    list_filter = ["period_type", "llm_provider"]
    search_fields = ["model_name", "feature_context", "page_context"]
    list_select_related = ["client_account", "engagement"]
    readonly_fields = ["success_rate", "cost"]
    date_hierarchy = "period_start"
    show_full_result_count = False

    @admin.display(description="success")
    def success_rate(self, summary):
        return f"{100 * summary.successful_requests / summary.total_requests:.1f} %" if summary.total_requests else "—"

    @admin.display(description="cost", ordering="total_cost")
    def cost(self, summary):
        return f"{summary.total_cost:.4f} {summary.currency}"
