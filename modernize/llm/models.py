"""LLM calls: global price list, per-call usage log, and period summaries of the log."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from tenancy.constraints import TenantForeignKey
from tenancy.models import ClientScopedModel, TimestampedModel


class LLMProvider(models.TextChoices):
    OPENAI = "openai", "OpenAI"
    ANTHROPIC = "anthropic", "Anthropic"
    GOOGLE = "google", "Google"
    DEEPINFRA = "deepinfra", "DeepInfra"
    AZURE_OPENAI = "azure_openai", "Azure OpenAI"
    AWS_BEDROCK = "aws_bedrock", "AWS Bedrock"
    MISTRAL = "mistral", "Mistral AI"
    COHERE = "cohere", "Cohere"


class PeriodType(models.TextChoices):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


CURRENCY_CODE = r"^[A-Z]{3}$"
# Prices per 1K tokens reach 1e-8 USD (1 cent per million tokens); a call's cost then
# needs 11 decimals to be exact, kept at 10 (sub-nano-dollar rounding).
PRICE_DECIMALS = 8
COST_DECIMALS = 10


def _days_after(field: str, days: int) -> models.ExpressionWrapper:
    # date + integer is a date in PostgreSQL (an interval would turn it into a timestamp).
    return models.ExpressionWrapper(F(field) + models.Value(days), output_field=models.DateField())


class LLMModelPricing(TimestampedModel):
    """The price of one model (version) over a time window; global reference data.

    ``effective_to`` is exclusive and open-ended when null. A superseded price keeps its
    row (with effective_to set) so old calls can be re-priced; ``is_active = False`` withdraws
    a row entirely (entered in error). Active windows of one model never overlap (trigger
    llm_model_pricing_no_overlap, migration 0002).
    """

    provider = models.CharField(max_length=30, choices=LLMProvider.choices)
    model_name = models.CharField(max_length=100)
    model_version = models.CharField(max_length=50, blank=True, help_text="Empty: the model's default (unversioned alias).")
    input_cost_per_1k = models.DecimalField(max_digits=14, decimal_places=PRICE_DECIMALS)
    output_cost_per_1k = models.DecimalField(max_digits=14, decimal_places=PRICE_DECIMALS)
    currency = models.CharField(max_length=3, default="USD")
    effective_from = models.DateTimeField()
    effective_to = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        db_table = "llm_model_pricing"
        ordering = ["provider", "model_name", "model_version", "-effective_from"]
        verbose_name = "LLM model pricing"
        verbose_name_plural = "LLM model pricing"
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "model_name", "model_version", "effective_from"], name="llm_model_pricing_model_from_key"
            ),
            models.CheckConstraint(condition=Q(provider__in=LLMProvider.values), name="llm_model_pricing_provider_valid"),
            models.CheckConstraint(condition=Q(input_cost_per_1k__gte=0), name="llm_model_pricing_input_cost_nonneg"),
            models.CheckConstraint(condition=Q(output_cost_per_1k__gte=0), name="llm_model_pricing_output_cost_nonneg"),
            models.CheckConstraint(condition=Q(currency__regex=CURRENCY_CODE), name="llm_model_pricing_currency_iso"),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gt=F("effective_from")),
                name="llm_model_pricing_window_ordered",
            ),
        ]

    def __str__(self):
        version = f"@{self.model_version}" if self.model_version else ""
        return f"{self.provider}/{self.model_name}{version} from {self.effective_from:%Y-%m-%d}"


class LLMUsageLog(ClientScopedModel):
    """One LLM call; costs come from the pricing in effect at ``created_at`` (the call's time)."""

    Provider = LLMProvider

    engagement = models.ForeignKey("tenancy.Engagement", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    flow = models.ForeignKey("flows.MasterFlow", null=True, blank=True, on_delete=models.SET_NULL, related_name="llm_usage")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    pricing = models.ForeignKey(
        LLMModelPricing, null=True, blank=True, on_delete=models.PROTECT, related_name="+", help_text="The price row the costs came from."
    )
    request_id = models.CharField(max_length=100, blank=True)
    endpoint = models.CharField(max_length=255, blank=True)
    page_context = models.CharField(max_length=100, blank=True)
    feature_context = models.CharField(max_length=100, blank=True)
    llm_provider = models.CharField(max_length=30, choices=LLMProvider.choices)
    model_name = models.CharField(max_length=100)
    model_version = models.CharField(max_length=50, blank=True)
    input_tokens = models.IntegerField(default=0)
    output_tokens = models.IntegerField(default=0)
    total_tokens = models.IntegerField(default=0)
    input_cost = models.DecimalField(max_digits=18, decimal_places=COST_DECIMALS, default=0)
    output_cost = models.DecimalField(max_digits=18, decimal_places=COST_DECIMALS, default=0)
    total_cost = models.DecimalField(max_digits=18, decimal_places=COST_DECIMALS, default=0)
    currency = models.CharField(max_length=3, default="USD")
    response_time_ms = models.IntegerField(default=0)
    success = models.BooleanField(default=True)
    error_type = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    request_metadata = models.JSONField(default=dict, blank=True)
    response_metadata = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True)

    class Meta:
        db_table = "llm_usage_logs"
        ordering = ["-created_at"]
        verbose_name = "LLM usage log"
        constraints = [
            TenantForeignKey(field="engagement", name="llm_usage_logs_engagement_tenant_fk"),
            # Without an engagement only the first key applies (MATCH SIMPLE skips rows
            # with a NULL column); with one, the flow must also be of that engagement.
            TenantForeignKey(field="flow", name="llm_usage_logs_flow_tenant_fk"),
            TenantForeignKey(field="flow", columns=("client_account", "engagement"), name="llm_usage_logs_flow_engagement_fk"),
            models.CheckConstraint(condition=Q(llm_provider__in=LLMProvider.values), name="llm_usage_logs_provider_valid"),
            models.CheckConstraint(condition=Q(input_tokens__gte=0), name="llm_usage_logs_input_tokens_nonneg"),
            models.CheckConstraint(condition=Q(output_tokens__gte=0), name="llm_usage_logs_output_tokens_nonneg"),
            models.CheckConstraint(
                condition=Q(total_tokens=F("input_tokens") + F("output_tokens")), name="llm_usage_logs_total_tokens_sum"
            ),
            models.CheckConstraint(condition=Q(input_cost__gte=0), name="llm_usage_logs_input_cost_nonneg"),
            models.CheckConstraint(condition=Q(output_cost__gte=0), name="llm_usage_logs_output_cost_nonneg"),
            models.CheckConstraint(condition=Q(total_cost=F("input_cost") + F("output_cost")), name="llm_usage_logs_total_cost_sum"),
            models.CheckConstraint(condition=Q(currency__regex=CURRENCY_CODE), name="llm_usage_logs_currency_iso"),
            models.CheckConstraint(condition=Q(response_time_ms__gte=0), name="llm_usage_logs_response_time_nonneg"),
            # A failed call says how it failed; a successful one carries no error type.
            models.CheckConstraint(
                condition=(Q(success=True) & Q(error_type="")) | (Q(success=False) & ~Q(error_type="")),
                name="llm_usage_logs_error_type_matches_success",
            ),
        ]
        indexes = [
            models.Index(fields=["client_account", "-created_at"], name="llm_usage_client_time_idx"),
            models.Index(fields=["client_account", "engagement", "-created_at"], name="llm_usage_eng_time_idx"),
            models.Index(fields=["client_account", "llm_provider", "model_name", "-created_at"], name="llm_usage_model_time_idx"),
            models.Index(fields=["request_id"], name="llm_usage_request_id_idx"),
        ]

    def __str__(self):
        return f"{self.llm_provider}/{self.model_name} {self.total_tokens} tokens"


class LLMUsageSummary(ClientScopedModel):
    """LLM usage of one period, rolled up from llm_usage_logs.

    The period is ``[period_start, period_end)`` in UTC days: one day, an ISO week
    (Monday to Monday) or a calendar month. Written only by ``llm_usage_summary_rollup``.
    """

    engagement = models.ForeignKey("tenancy.Engagement", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    period_type = models.CharField(max_length=10, choices=PeriodType.choices)
    period_start = models.DateField()
    period_end = models.DateField(help_text="Exclusive.")
    llm_provider = models.CharField(max_length=30, choices=LLMProvider.choices)
    model_name = models.CharField(max_length=100)
    page_context = models.CharField(max_length=100, blank=True)
    feature_context = models.CharField(max_length=100, blank=True)
    total_requests = models.IntegerField(default=0)
    successful_requests = models.IntegerField(default=0)
    failed_requests = models.IntegerField(default=0)
    total_input_tokens = models.BigIntegerField(default=0)
    total_output_tokens = models.BigIntegerField(default=0)
    total_tokens = models.BigIntegerField(default=0)
    total_cost = models.DecimalField(max_digits=22, decimal_places=COST_DECIMALS, default=0)
    currency = models.CharField(max_length=3, default="USD")
    avg_response_time_ms = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    min_response_time_ms = models.IntegerField(null=True, blank=True)
    max_response_time_ms = models.IntegerField(null=True, blank=True)

    class Meta:
        db_table = "llm_usage_summary"
        ordering = ["-period_start", "llm_provider", "model_name"]
        verbose_name = "LLM usage summary"
        verbose_name_plural = "LLM usage summaries"
        constraints = [
            TenantForeignKey(field="engagement", name="llm_usage_summary_engagement_tenant_fk"),
            # NULLS NOT DISTINCT: client-level usage (no engagement) has one row per key too.
            models.UniqueConstraint(
                fields=[
                    "client_account",
                    "engagement",
                    "period_type",
                    "period_start",
                    "llm_provider",
                    "model_name",
                    "page_context",
                    "feature_context",
                    "currency",
                ],
                name="llm_usage_summary_natural_key",
                nulls_distinct=False,
            ),
            models.CheckConstraint(condition=Q(period_type__in=PeriodType.values), name="llm_usage_summary_period_type_valid"),
            models.CheckConstraint(condition=Q(llm_provider__in=LLMProvider.values), name="llm_usage_summary_provider_valid"),
            models.CheckConstraint(
                # An unknown period type is llm_usage_summary_period_type_valid's to report.
                condition=~Q(period_type__in=PeriodType.values)
                | (Q(period_type=PeriodType.DAILY) & Q(period_end=_days_after("period_start", 1)))
                | (
                    Q(period_type=PeriodType.WEEKLY)
                    & Q(period_start__iso_week_day=1)
                    & Q(period_end=_days_after("period_start", 7))
                )
                | (
                    Q(period_type=PeriodType.MONTHLY)
                    & Q(period_start__day=1)
                    & Q(period_end__day=1)
                    & Q(period_end__gte=_days_after("period_start", 28))
                    & Q(period_end__lte=_days_after("period_start", 31))
                ),
                name="llm_usage_summary_period_bounds",
            ),
            # total_requests >= 0 follows from these two and the sum below.
            models.CheckConstraint(condition=Q(successful_requests__gte=0), name="llm_usage_summary_successful_nonneg"),
            models.CheckConstraint(condition=Q(failed_requests__gte=0), name="llm_usage_summary_failed_nonneg"),
            models.CheckConstraint(
                condition=Q(total_requests=F("successful_requests") + F("failed_requests")), name="llm_usage_summary_requests_sum"
            ),
            models.CheckConstraint(condition=Q(total_input_tokens__gte=0), name="llm_usage_summary_input_tokens_nonneg"),
            models.CheckConstraint(condition=Q(total_output_tokens__gte=0), name="llm_usage_summary_output_tokens_nonneg"),
            models.CheckConstraint(
                condition=Q(total_tokens=F("total_input_tokens") + F("total_output_tokens")), name="llm_usage_summary_tokens_sum"
            ),
            models.CheckConstraint(condition=Q(total_cost__gte=0), name="llm_usage_summary_cost_nonneg"),
            models.CheckConstraint(condition=Q(currency__regex=CURRENCY_CODE), name="llm_usage_summary_currency_iso"),
            models.CheckConstraint(
                condition=Q(min_response_time_ms__isnull=True) | Q(min_response_time_ms__gte=0),
                name="llm_usage_summary_min_response_nonneg",
            ),
            models.CheckConstraint(
                # All three or none; spelled out so a NULL cannot make the check unknown (= passing).
                condition=Q(min_response_time_ms__isnull=True, avg_response_time_ms__isnull=True, max_response_time_ms__isnull=True)
                | Q(
                    min_response_time_ms__isnull=False,
                    avg_response_time_ms__isnull=False,
                    max_response_time_ms__isnull=False,
                    avg_response_time_ms__gte=F("min_response_time_ms"),
                    max_response_time_ms__gte=F("avg_response_time_ms"),
                ),
                name="llm_usage_summary_response_times_ordered",
            ),
        ]
        indexes = [
            models.Index(fields=["client_account", "period_type", "period_start"], name="llm_summary_client_period_idx"),
            models.Index(fields=["client_account", "engagement", "period_type", "period_start"], name="llm_summary_eng_period_idx"),
        ]

    def __str__(self):
        return f"{self.period_type} {self.period_start} {self.llm_provider}/{self.model_name}"
