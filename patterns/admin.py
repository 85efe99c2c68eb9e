from django.contrib import admin

from patterns.models import AgentDiscoveredPattern


@admin.register(AgentDiscoveredPattern)
class AgentDiscoveredPatternAdmin(admin.ModelAdmin):
    list_display = [
        "pattern_name",
        "pattern_type",
        "insight_type",
        "client_account",
        "engagement",
        "confidence_score",
        "evidence_count",
        "times_referenced",
        "has_embedding",
        "created_at",
    ]
    list_filter = ["insight_type", "pattern_type", "embedding_model", "discovered_by_agent"]
    search_fields = ["pattern_name", "pattern_id", "discovered_by_agent", "task_id"]
    list_select_related = ["client_account", "engagement"]
    show_full_result_count = False
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    # 1536 numbers are no form field: the vector is written by the embedder only.
    exclude = ["embedding"]
    readonly_fields = [
        "embedding_summary",
        "embedding_model",
        "evidence_count",
        "times_referenced",
        "pattern_effectiveness_score",
        "last_used_at",
        "created_at",
        "updated_at",
    ]
    raw_id_fields = ["client_account", "engagement"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        # The change form shows a summary of the vector; the list never needs it.
        return queryset if request.resolver_match.url_name.endswith("_change") else queryset.defer("embedding")

    @admin.display(boolean=True, description="embedded", ordering="embedding_model")
    def has_embedding(self, pattern):
        return bool(pattern.embedding_model)

    @admin.display(description="embedding")
    def embedding_summary(self, pattern):
        if pattern.embedding is None:
            return "— (backfill_pattern_embeddings fills it)"
        values = [float(x) for x in pattern.embedding]
        head = ", ".join(f"{x:.4f}" for x in values[:6])
        return f"{len(values)} dimensions [{head}, …]"
