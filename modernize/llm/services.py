"""Writes of LLM usage: one call's log row (priced), and the period summaries.

Call these inside a tenant context (or platform_context for platform jobs). Costs are
Decimal, computed from llm_model_pricing and quantized to COST_DECIMALS places.
"""

from __future__ import annotations

import calendar
import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Avg, Count, Exists, Max, Min, OuterRef, Q, Sum
from django.utils import timezone

from modernize.flows.models import MasterFlow
from modernize.llm.models import COST_DECIMALS, LLMModelPricing, LLMUsageLog, LLMUsageSummary, PeriodType
from modernize.llm.selectors import llm_pricing_for
from tenancy.context import current_tenant
from tenancy.models import Engagement

COST_STEP = Decimal(1).scaleb(-COST_DECIMALS)
MILLISECONDS = Decimal("0.01")
THOUSAND = Decimal(1000)


@dataclass(frozen=True)
class LLMCost:
    input_cost: Decimal
    output_cost: Decimal
    currency: str

    @property
    def total_cost(self) -> Decimal:
        return self.input_cost + self.output_cost


def llm_cost_for(*, pricing: LLMModelPricing, input_tokens: int, output_tokens: int) -> LLMCost:
    """Cost of a call under ``pricing``: tokens / 1000 × price per 1K, each part quantized.

    The total is the sum of the two quantized parts, so it matches the log's check
    constraint exactly. Raises ValueError for negative token counts.
    """
    if input_tokens < 0 or output_tokens < 0:
        raise ValueError("Token counts cannot be negative.")

    def part(tokens: int, per_1k: Decimal) -> Decimal:
        return (Decimal(tokens) * per_1k / THOUSAND).quantize(COST_STEP, rounding=ROUND_HALF_UP)

    return LLMCost(
        input_cost=part(input_tokens, pricing.input_cost_per_1k),
        output_cost=part(output_tokens, pricing.output_cost_per_1k),
        currency=pricing.currency,
    )


def llm_usage_record(
    *,
    llm_provider: str,
    model_name: str,
    input_tokens: int,
    output_tokens: int,
    model_version: str = "",
    engagement: Engagement | None = None,
    flow: MasterFlow | None = None,
    user=None,
    client_account_id=None,
    at: dt.datetime | None = None,
    response_time_ms: int = 0,
    success: bool = True,
    error_type: str = "",
    error_message: str = "",
    request_id: str = "",
    endpoint: str = "",
    page_context: str = "",
    feature_context: str = "",
    request_metadata: dict | None = None,
    response_metadata: dict | None = None,
    ip_address: str | None = None,
    user_agent: str = "",
) -> LLMUsageLog:
    """Log one LLM call at ``at`` (default now), priced with the pricing in effect then.

    The client account comes from the flow, the engagement, ``client_account_id`` or the
    tenant context, in that order; a flow's call belongs to the flow's engagement.
    total_tokens = input + output; costs from llm_cost_for. Raises LLMPricingNotFound
    when the model has no price at ``at``, ValueError when no client account is known or
    a failed call has no error_type.
    """
    at = at or timezone.now()
    if flow is not None:
        client_account_id, engagement_id = flow.client_account_id, flow.engagement_id
    elif engagement is not None:
        client_account_id, engagement_id = engagement.client_account_id, engagement.pk
    else:
        engagement_id = None
        tenant = current_tenant()
        client_account_id = client_account_id or (tenant.client_account_id if tenant else None)
    if client_account_id is None:
        raise ValueError("llm_usage_record needs a flow, an engagement, a client_account_id or a tenant context.")
    client_account_id = uuid.UUID(str(client_account_id))
    if not success and not error_type:
        raise ValueError("A failed LLM call needs an error_type (timeout, rate_limit, …).")
    pricing = llm_pricing_for(llm_provider, model_name, model_version, at=at)
    cost = llm_cost_for(pricing=pricing, input_tokens=input_tokens, output_tokens=output_tokens)
    return LLMUsageLog.objects.create(
        client_account_id=client_account_id,
        engagement_id=engagement_id,
        flow=flow,
        user=user,
        pricing=pricing,
        created_at=at,
        request_id=request_id,
        endpoint=endpoint,
        page_context=page_context,
        feature_context=feature_context,
        llm_provider=llm_provider,
        model_name=model_name,
        model_version=model_version,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens,
        input_cost=cost.input_cost,
        output_cost=cost.output_cost,
        total_cost=cost.total_cost,
        currency=cost.currency,
        response_time_ms=response_time_ms,
        success=success,
        error_type="" if success else error_type,
        error_message=error_message,
        request_metadata=request_metadata or {},
        response_metadata=response_metadata or {},
        ip_address=ip_address,
        user_agent=user_agent,
    )


def llm_period_bounds(*, period_type: str, period_start: dt.date) -> tuple[dt.date, dt.date]:
    """``(period_start, period_end)`` with period_end exclusive.

    Raises ValueError for an unknown period type or a start that is not a Monday (weekly)
    or the first of a month (monthly).
    """
    if period_type == PeriodType.DAILY:
        return period_start, period_start + dt.timedelta(days=1)
    if period_type == PeriodType.WEEKLY:
        if period_start.isoweekday() != 1:
            raise ValueError(f"A weekly period starts on a Monday; {period_start} is not one.")
        return period_start, period_start + dt.timedelta(days=7)
    if period_type == PeriodType.MONTHLY:
        if period_start.day != 1:
            raise ValueError(f"A monthly period starts on the first of the month, not {period_start}.")
        days = calendar.monthrange(period_start.year, period_start.month)[1]
        return period_start, period_start + dt.timedelta(days=days)
    raise ValueError(f"Unknown period type {period_type!r}; expected one of {', '.join(PeriodType.values)}.")


def _utc_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


SUMMARY_KEY = [
    "client_account",
    "engagement",
    "period_type",
    "period_start",
    "llm_provider",
    "model_name",
    "page_context",
    "feature_context",
    "currency",
]


@transaction.atomic
def llm_usage_summary_rollup(*, period_type: str, period_start: dt.date, client_account_id=None) -> int:
    """Recompute llm_usage_summary for one period from llm_usage_logs.

    One aggregate query over the calls of ``[period_start, period_end)`` (UTC), grouped by
    client account, engagement, provider, model, page and feature context and currency,
    then one upsert on the natural key; rows of the period with no call left are deleted.
    Covers the tenants visible in the current context, or only ``client_account_id``.
    avg_response_time_ms is rounded to 2 decimals. Returns the number of rows written;
    raises ValueError for a period that llm_period_bounds refuses.
    """
    start, end = llm_period_bounds(period_type=period_type, period_start=period_start)
    logs = LLMUsageLog.objects.filter(created_at__gte=_utc_midnight(start), created_at__lt=_utc_midnight(end))
    existing = LLMUsageSummary.objects.filter(period_type=period_type, period_start=start)
    if client_account_id is not None:
        logs = logs.filter(client_account_id=client_account_id)
        existing = existing.filter(client_account_id=client_account_id)
    groups = (
        logs.order_by()
        .values("client_account_id", "engagement_id", "llm_provider", "model_name", "page_context", "feature_context", "currency")
        .annotate(
            requests=Count("id"),
            successful=Count("id", filter=Q(success=True)),
            failed=Count("id", filter=Q(success=False)),
            input_tokens=Sum("input_tokens"),
            output_tokens=Sum("output_tokens"),
            tokens=Sum("total_tokens"),
            cost=Sum("total_cost"),
            avg_ms=Avg("response_time_ms"),
            min_ms=Min("response_time_ms"),
            max_ms=Max("response_time_ms"),
        )
    )
    rows = [
        LLMUsageSummary(
            client_account_id=g["client_account_id"],
            engagement_id=g["engagement_id"],
            period_type=period_type,
            period_start=start,
            period_end=end,
            llm_provider=g["llm_provider"],
            model_name=g["model_name"],
            page_context=g["page_context"],
            feature_context=g["feature_context"],
            currency=g["currency"],
            total_requests=g["requests"],
            successful_requests=g["successful"],
            failed_requests=g["failed"],
            total_input_tokens=g["input_tokens"],
            total_output_tokens=g["output_tokens"],
            total_tokens=g["tokens"],
            total_cost=g["cost"],
            avg_response_time_ms=Decimal(g["avg_ms"]).quantize(MILLISECONDS, rounding=ROUND_HALF_UP),
            min_response_time_ms=g["min_ms"],
            max_response_time_ms=g["max_ms"],
        )
        for g in groups
    ]
    if rows:
        LLMUsageSummary.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=SUMMARY_KEY,
            update_fields=[
                "period_end",
                "total_requests",
                "successful_requests",
                "failed_requests",
                "total_input_tokens",
                "total_output_tokens",
                "total_tokens",
                "total_cost",
                "avg_response_time_ms",
                "min_response_time_ms",
                "max_response_time_ms",
                "updated_at",
            ],
        )
    # By key, not by pk: an upserted row keeps its old id, which bulk_create does not return.
    # (IS NOT DISTINCT FROM would be needed for a NULL engagement, hence the explicit branch.)
    same_key = logs.filter(
        client_account_id=OuterRef("client_account_id"),
        llm_provider=OuterRef("llm_provider"),
        model_name=OuterRef("model_name"),
        page_context=OuterRef("page_context"),
        feature_context=OuterRef("feature_context"),
        currency=OuterRef("currency"),
    )
    existing.filter(engagement__isnull=False).exclude(Exists(same_key.filter(engagement_id=OuterRef("engagement_id")))).delete()
    existing.filter(engagement__isnull=True).exclude(Exists(same_key.filter(engagement__isnull=True))).delete()
    return len(rows)
