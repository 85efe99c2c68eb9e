"""Reads of LLM reference data."""

from __future__ import annotations

import datetime as dt

from django.db.models import Case, IntegerField, Q, Value, When
from django.utils import timezone

from modernize.llm.models import LLMModelPricing


class LLMPricingNotFound(LookupError):
    """No active price of the model covers the requested time."""


def llm_pricing_for(provider: str, model_name: str, model_version: str | None = None, *, at: dt.datetime | None = None) -> LLMModelPricing:
    """The active price of the model in effect at ``at`` (default: now).

    In effect means ``effective_from <= at < effective_to`` (open-ended when effective_to
    is null). A price of the exact ``model_version`` wins over the model's unversioned
    one; among equals the latest effective_from wins. One query. Raises
    LLMPricingNotFound when none applies, ValueError for a naive ``at``.
    """
    at = at or timezone.now()
    if timezone.is_naive(at):
        raise ValueError("llm_pricing_for needs a timezone-aware time.")
    version = model_version or ""
    pricing = (
        LLMModelPricing.objects.filter(
            provider=provider,
            model_name=model_name,
            model_version__in={version, ""},
            is_active=True,
            effective_from__lte=at,
        )
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gt=at))
        .annotate(_exact=Case(When(model_version=version, then=Value(0)), default=Value(1), output_field=IntegerField()))
        .order_by("_exact", "-effective_from")
        .first()
    )
    if pricing is None:
        shown = f"{provider}/{model_name}" + (f"@{version}" if version else "")
        raise LLMPricingNotFound(f"No active price for {shown} at {at.isoformat()}; add one to llm_model_pricing.")
    return pricing
