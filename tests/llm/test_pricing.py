import datetime as dt
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connections, transaction

from modernize.llm.models import LLMModelPricing
from modernize.llm.selectors import LLMPricingNotFound, llm_pricing_for
from seeding.factories.llm import LLMModelPricingFactory
from tenancy.context import platform_context, tenant_context
from tests.flows.db import assert_rejected, constraint_of, db_insert

pytestmark = pytest.mark.django_db(databases=["default", "owner"])


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def test_the_price_list_ships_with_the_migrations(world):
    with tenant_context(world.a.id):  # readable by the runtime role
        models = set(LLMModelPricing.objects.values_list("provider", "model_name"))
    assert {
        ("openai", "gpt-4o"),
        ("openai", "gpt-4o-mini"),
        ("openai", "gpt-4.1"),
        ("openai", "text-embedding-3-small"),
        ("anthropic", "claude-3-5-sonnet"),
        ("anthropic", "claude-3-5-haiku"),
        ("anthropic", "claude-sonnet-4"),
        ("google", "gemini-1.5-pro"),
        ("google", "gemini-2.0-flash"),
        ("deepinfra", "meta-llama/Meta-Llama-3.1-70B-Instruct"),
    } <= models


@pytest.mark.parametrize(
    ("provider", "model", "version", "when", "input_per_1k", "output_per_1k"),
    [
        # The gpt-4o alias moved to the cheaper snapshot on 2024-10-02 (effective_to is exclusive).
        ("openai", "gpt-4o", None, "2024-09-15", "0.005", "0.015"),
        ("openai", "gpt-4o", None, "2024-10-01T23:59:59", "0.005", "0.015"),
        ("openai", "gpt-4o", None, "2024-10-02", "0.0025", "0.01"),
        # An exact version wins over the alias; an unknown version falls back to the alias.
        ("openai", "gpt-4o", "2024-05-13", "2025-03-01", "0.005", "0.015"),
        ("openai", "gpt-4o", "2024-11-20", "2025-03-01", "0.0025", "0.01"),
        ("anthropic", "claude-3-5-haiku", "20241022", "2024-11-20", "0.001", "0.005"),
        ("anthropic", "claude-3-5-haiku", "20241022", "2025-01-10", "0.0008", "0.004"),
        ("google", "gemini-1.5-pro", None, "2024-09-30", "0.0035", "0.0105"),
        ("google", "gemini-1.5-pro", None, "2024-10-01", "0.00125", "0.005"),
        ("openai", "text-embedding-3-small", None, "2025-06-01", "0.00002", "0"),
        ("deepinfra", "meta-llama/Meta-Llama-3.1-70B-Instruct", None, "2025-06-01", "0.00023", "0.0004"),
    ],
)
def test_pricing_in_effect_at_the_calls_time(world, provider, model, version, when, input_per_1k, output_per_1k):
    with tenant_context(world.a.id):
        pricing = llm_pricing_for(provider, model, version, at=at(when))
    assert (pricing.input_cost_per_1k, pricing.output_cost_per_1k, pricing.currency) == (Decimal(input_per_1k), Decimal(output_per_1k), "USD")


def test_no_pricing_is_a_clear_error(world):
    with tenant_context(world.a.id):
        with pytest.raises(LLMPricingNotFound, match=r"openai/gpt-4o at 2024-01-01"):
            llm_pricing_for("openai", "gpt-4o", at=at("2024-01-01"))
        with pytest.raises(LLMPricingNotFound, match="mistral/mistral-large@2411"):
            llm_pricing_for("mistral", "mistral-large", "2411", at=at("2025-01-01"))
        with pytest.raises(ValueError, match="timezone-aware"):
            llm_pricing_for("openai", "gpt-4o", at=dt.datetime(2025, 1, 1))


def test_a_withdrawn_price_is_not_used(world):
    with platform_context(reason="tests: withdrawn price"):
        live = LLMModelPricingFactory(effective_from=at("2025-01-01"))
        LLMModelPricingFactory(model_name=live.model_name, effective_from=at("2025-03-01"), input_cost_per_1k=Decimal("9"), is_active=False)
        assert llm_pricing_for("openai", live.model_name, at=at("2025-04-01")).pk == live.pk


def test_the_runtime_role_cannot_change_prices(world):
    with tenant_context(world.a.id):
        with pytest.raises(DatabaseError, match="permission denied"):
            LLMModelPricing.objects.filter(model_name="gpt-4o").update(input_cost_per_1k=0)
    with tenant_context(world.a.id):
        with pytest.raises(DatabaseError, match="permission denied"):
            db_insert(LLMModelPricingFactory.build())


def _price(**overrides) -> LLMModelPricing:
    price = LLMModelPricingFactory.build(effective_from=at("2025-01-01"), effective_to=at("2025-07-01"))
    for name, value in overrides.items():
        setattr(price, name, value)
    return price


@pytest.mark.parametrize(
    ("overrides", "constraint"),
    [
        ({"provider": "openrouter"}, "llm_model_pricing_provider_valid"),
        ({"input_cost_per_1k": Decimal("-0.0001")}, "llm_model_pricing_input_cost_nonneg"),
        ({"output_cost_per_1k": Decimal("-0.0001")}, "llm_model_pricing_output_cost_nonneg"),
        ({"currency": "usd"}, "llm_model_pricing_currency_iso"),
        ({"currency": "US"}, "llm_model_pricing_currency_iso"),
        ({"effective_to": at("2025-01-01")}, "llm_model_pricing_window_ordered"),
        ({"effective_to": at("2024-12-01")}, "llm_model_pricing_window_ordered"),
    ],
)
def test_pricing_check_constraints_reject_bad_rows(overrides, constraint):
    with platform_context(reason="tests: pricing checks"):
        assert_rejected(_price(**overrides), constraint)


def test_the_natural_key_is_unique():
    with platform_context(reason="tests: pricing key"):
        first = _price()
        db_insert(first)
        # Inactive, so the overlap trigger stays out of the way and the unique key speaks.
        assert_rejected(_price(model_name=first.model_name, is_active=False), "llm_model_pricing_model_from_key")


def test_active_windows_of_one_model_do_not_overlap():
    with platform_context(reason="tests: pricing windows"):
        first = _price()
        db_insert(first)
        # Adjacent windows are fine ([from, to) ranges), so are other versions and withdrawn rows.
        db_insert(_price(model_name=first.model_name, effective_from=at("2025-07-01"), effective_to=None))
        db_insert(_price(model_name=first.model_name, model_version="2025-02-01", effective_from=at("2025-02-01")))
        db_insert(_price(model_name=first.model_name, effective_from=at("2025-03-01"), is_active=False))
        with pytest.raises(IntegrityError) as info:
            db_insert(_price(model_name=first.model_name, effective_from=at("2025-06-30"), effective_to=at("2025-08-01")))
        assert constraint_of(info.value) == "llm_model_pricing_no_overlap"
        # Re-activating the withdrawn row would overlap too.
        with pytest.raises(IntegrityError):
            with transaction.atomic(using="owner"):
                LLMModelPricing.objects.filter(model_name=first.model_name, is_active=False).update(is_active=True)
        # Two overlapping rows in one statement are caught as well.
        with pytest.raises(IntegrityError):
            db_insert(
                _price(model_name="ft:gpt-4o-mini-2024-07-18:modernize:batch", effective_from=at("2025-01-01"), effective_to=None),
                _price(model_name="ft:gpt-4o-mini-2024-07-18:modernize:batch", effective_from=at("2025-05-01"), effective_to=None),
            )


def test_the_shipped_price_list_has_no_overlap():
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM llm_model_pricing p JOIN llm_model_pricing q
              ON (p.provider, p.model_name, p.model_version) = (q.provider, q.model_name, q.model_version)
             AND p.id < q.id AND p.is_active AND q.is_active
             AND tstzrange(p.effective_from, p.effective_to) && tstzrange(q.effective_from, q.effective_to)
            """
        )
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT count(*) FROM llm_model_pricing WHERE effective_to IS NOT NULL")
        assert cursor.fetchone()[0] >= 4  # the price changes over time
