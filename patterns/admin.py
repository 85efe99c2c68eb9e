"""Admin of discovered patterns: analysis data that analysts curate.

Edits, deletions and re-embedding go through the pattern services (an edit of the name or
description re-embeds). The vector itself is never loaded here: the change page shows its
dimension, norm and embedding model, computed by pgvector, and the five most similar
patterns the client's agents would find (patterns_similar_to_pattern).
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.db.models import F, FloatField, Func, IntegerField
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from patterns.embedders import EmbeddingError
from patterns.models import AgentDiscoveredPattern
from patterns.selectors import PatternNotEmbedded, patterns_similar_to_pattern
from patterns.services import EDITABLE_FIELDS, pattern_delete, pattern_update, patterns_reembed
from tenancy.admin_site import TenantAwareAdmin
from tenancy.models import Role

SIMILAR_SHOWN = 5


class EmbeddedFilter(admin.SimpleListFilter):
    title = "embedding"
    parameter_name = "embedded"

    def lookups(self, request, model_admin):
        return (("yes", "Embedded"), ("no", "Not embedded yet"))

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(embedding__isnull=self.value() == "no")
        return queryset


@admin.register(AgentDiscoveredPattern)
class AgentDiscoveredPatternAdmin(TenantAwareAdmin):
    add_role = None  # agents record patterns (pattern_record merges near-duplicates)
    change_role = Role.ANALYST
    delete_role = Role.ENGAGEMENT_MANAGER
    list_display = [
        "pattern_name",
        "pattern_type",
        "confidence",
        "evidence_count",
        "effectiveness",
        "embedded_with",
        "discovered_by_agent",
        "engagement",
        "client_account",
        "created_at",
    ]
    list_filter = ["insight_type", "pattern_type", EmbeddedFilter]
    search_fields = ["pattern_name", "=pattern_id", "discovered_by_agent", "=task_id"]
    list_select_related = ["client_account", "engagement"]
    show_full_result_count = False
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    fieldsets = [
        (None, {"fields": ["pattern_name", "pattern_description", "pattern_type", "insight_type", "confidence_score"]}),
        ("Embedding", {"fields": ["embedding_summary", "similar_patterns"]}),
        (
            "Discovery",
            {
                "fields": [
                    "client_account",
                    "engagement",
                    "pattern_id",
                    "discovered_by_agent",
                    "task_id",
                    "evidence_count",
                    "times_referenced",
                    "pattern_effectiveness_score",
                    "last_used_at",
                ]
            },
        ),
        ("Data", {"classes": ["collapse"], "fields": ["pattern_data", "execution_context", "created_at", "updated_at"]}),
    ]
    readonly_fields = [
        "embedding_summary",
        "similar_patterns",
        "client_account",
        "engagement",
        "pattern_id",
        "evidence_count",
        "times_referenced",
        "pattern_effectiveness_score",
        "last_used_at",
        "pattern_data",
        "created_at",
        "updated_at",
    ]
    actions = ["reembed_selected"]

    def get_queryset(self, request):
        # 1536 floats per row never travel to Python; pgvector measures the vector in SQL,
        # on the change page only (a list would read every row's vector from TOAST for it).
        patterns = super().get_queryset(request).defer("embedding")
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name == "patterns_agentdiscoveredpattern_change":
            patterns = patterns.annotate(
                embedding_dimensions=Func(F("embedding"), function="vector_dims", output_field=IntegerField()),
                embedding_norm=Func(F("embedding"), function="vector_norm", output_field=FloatField()),
            )
        return patterns

    @admin.display(description="confidence", ordering="confidence_score")
    def confidence(self, pattern):
        return f"{pattern.confidence_score:.2f}"

    @admin.display(description="effectiveness", ordering="pattern_effectiveness_score")
    def effectiveness(self, pattern):
        return "—" if pattern.pattern_effectiveness_score is None else f"{pattern.pattern_effectiveness_score:.2f}"

    @admin.display(description="embedding model", ordering="embedding_model")
    def embedded_with(self, pattern):
        return pattern.embedding_model or "not embedded"

    @admin.display(description="embedding")
    def embedding_summary(self, pattern):
        if getattr(pattern, "embedding_dimensions", None) is None:
            return "— (not embedded yet: backfill_pattern_embeddings or the re-embed action fills it)"
        return f"{pattern.embedding_dimensions} dimensions · norm {pattern.embedding_norm:.4f} · model {pattern.embedding_model}"

    @admin.display(description=f"{SIMILAR_SHOWN} most similar patterns")
    def similar_patterns(self, pattern):
        try:
            similar = patterns_similar_to_pattern(pattern=pattern, k=SIMILAR_SHOWN, client_account_id=pattern.client_account_id)
        except PatternNotEmbedded:
            return "— (not embedded yet)"
        if not similar.matches:
            return "No other pattern of this client account is embedded with the same model."
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td class="similarity">{}</td></tr>',
            (
                (
                    reverse("admin:patterns_agentdiscoveredpattern_change", args=[quote(match.pattern.pk)]),
                    match.pattern.pattern_name,
                    match.pattern.get_pattern_type_display(),
                    match.pattern.discovered_by_agent,
                    f"{match.similarity:.3f}",
                )
                for match in similar
            ),
        )
        return format_html(
            '<table id="similar-patterns"><thead><tr><th>pattern</th><th>type</th><th>discovered by</th><th>similarity</th></tr></thead>'
            "<tbody>{}</tbody></table>",
            rows,
        )

    def save_model(self, request, obj, form, change):
        # A new name or description is re-embedded by the service; should the embedder
        # fail, the request fails and the tenant transaction rolls the edit back.
        pattern_update(pattern=obj, **{name: form.cleaned_data[name] for name in form.changed_data if name in EDITABLE_FIELDS})

    def delete_model(self, request, obj):
        pattern_delete(pattern=obj)

    def delete_queryset(self, request, queryset):
        for pattern in queryset:
            pattern_delete(pattern=pattern)

    @admin.action(description="Re-embed selected patterns", permissions=["change"])
    def reembed_selected(self, request, queryset):
        try:
            count = patterns_reembed(patterns=queryset)
        except EmbeddingError as error:
            messages.error(request, f"Nothing was re-embedded: {error}")
            return
        messages.success(request, f"{count} pattern(s) re-embedded.")
