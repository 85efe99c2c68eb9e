import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from modernize.llm.models import LLMModelPricing, LLMUsageLog, LLMUsageSummary
from modernize.llm.selectors import LLMPricingNotFound, llm_pricing_for
from modernize.llm.services import llm_cost_for, llm_period_bounds, llm_usage_record, llm_usage_summary_rollup
from seeding.factories.flows import MasterFlowFactory
from seeding.factories.llm import LLMUsageLogFactory
from tenancy.context import platform_context, tenant_context

pytestmark = pytest.mark.django_db(databases=["default", "owner"])


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def test_cost_is_tokens_over_a_thousand_times_the_price_quantized_half_up():
    pricing = LLMModelPricing(input_cost_per_1k=Decimal("0.00000005"), output_cost_per_1k=Decimal("0.00000015"), currency="USD")
    # 1 token: 5e-11 and 1.5e-10, rounded half up to 10 places.
    cost = llm_cost_for(pricing=pricing, input_tokens=1, output_tokens=1)
    assert (cost.input_cost, cost.output_cost, cost.total_cost) == (Decimal("0.0000000001"), Decimal("0.0000000002"), Decimal("0.0000000003"))
    with pytest.raises(ValueError):
        llm_cost_for(pricing=pricing, input_tokens=-1, output_tokens=0)


def test_record_prices_the_call_with_the_exact_version(world):
    with tenant_context(world.a.id):
        log = llm_usage_record(
            engagement=world.a.engagements[0],
            llm_provider="openai",
            model_name="gpt-4o",
            model_version="2024-08-06",
            input_tokens=1234,
            output_tokens=567,
            at=at("2025-03-10T14:00:00"),
            response_time_ms=2150,
            feature_context="field_mapping",
            request_id="chatcmpl-abc",
        )
        stored = LLMUsageLog.objects.get(pk=log.pk)
    # 1234 × 0.0025 / 1000 and 567 × 0.01 / 1000.
    assert (stored.input_cost, stored.output_cost, stored.total_cost) == (Decimal("0.003085"), Decimal("0.00567"), Decimal("0.008755"))
    assert (stored.total_tokens, stored.currency, stored.client_account_id, stored.engagement_id) == (1801, "USD", world.a.id, world.a.engagements[0].id)
    assert stored.created_at == at("2025-03-10T14:00:00")
    assert (stored.pricing.model_version, stored.pricing.input_cost_per_1k) == ("2024-08-06", Decimal("0.0025"))


def test_record_uses_the_price_in_effect_at_the_calls_time(world):
    with tenant_context(world.a.id):
        before = llm_usage_record(engagement=world.a.engagements[0], llm_provider="openai", model_name="gpt-4o",
                                  input_tokens=1234, output_tokens=567, at=at("2024-09-15T08:00:00"))
        after = llm_usage_record(engagement=world.a.engagements[0], llm_provider="openai", model_name="gpt-4o",
                                 input_tokens=1234, output_tokens=567, at=at("2024-10-02T08:00:00"))
    # Before the alias moved: 1234 × 0.005 / 1000 + 567 × 0.015 / 1000.
    assert (before.input_cost, before.output_cost, before.total_cost) == (Decimal("0.00617"), Decimal("0.008505"), Decimal("0.014675"))
    assert after.total_cost == Decimal("0.008755")


def test_an_embedding_call_costs_only_its_input(world):
    with tenant_context(world.a.id):
        log = llm_usage_record(engagement=world.a.engagements[0], llm_provider="openai", model_name="text-embedding-3-small",
                               input_tokens=8191, output_tokens=0, at=at("2025-06-01"))
    assert (log.input_cost, log.output_cost, log.total_cost) == (Decimal("0.00016382"), Decimal("0"), Decimal("0.00016382"))


def test_a_flows_call_belongs_to_the_flows_engagement(world):
    with tenant_context(world.a.id):
        flow = MasterFlowFactory(engagement=world.a.engagements[1])
        log = llm_usage_record(flow=flow, llm_provider="anthropic", model_name="claude-sonnet-4", model_version="20250514",
                               input_tokens=1000, output_tokens=1000, at=at("2025-07-01"))
        assert (log.client_account_id, log.engagement_id, log.flow_id) == (world.a.id, world.a.engagements[1].id, flow.id)
        assert log.total_cost == Decimal("0.018")  # 0.003 + 0.015


def test_a_client_level_call_takes_the_tenant_of_the_context(world):
    with tenant_context(world.a.id):
        log = llm_usage_record(llm_provider="google", model_name="gemini-2.0-flash", input_tokens=2000, output_tokens=500, at=at("2025-03-01"))
        assert (log.client_account_id, log.engagement_id) == (world.a.id, None)
        assert log.total_cost == Decimal("0.0004")  # 2 × 0.0001 + 0.5 × 0.0004
    with pytest.raises(ValueError, match="client_account_id or a tenant context"):
        llm_usage_record(llm_provider="google", model_name="gemini-2.0-flash", input_tokens=1, output_tokens=1)


def test_a_failed_call_needs_an_error_type(world):
    with tenant_context(world.a.id):
        with pytest.raises(ValueError, match="error_type"):
            llm_usage_record(engagement=world.a.engagements[0], llm_provider="openai", model_name="gpt-4o", input_tokens=0, output_tokens=0, success=False)
        log = llm_usage_record(engagement=world.a.engagements[0], llm_provider="openai", model_name="gpt-4o", input_tokens=0, output_tokens=0,
                               success=False, error_type="rate_limit", error_message="429")
        assert (log.success, log.error_type, log.total_cost) == (False, "rate_limit", Decimal("0"))


def test_a_call_without_a_price_is_refused_and_not_logged(world):
    with tenant_context(world.a.id):
        with pytest.raises(LLMPricingNotFound):
            llm_usage_record(engagement=world.a.engagements[0], llm_provider="openai", model_name="gpt-4.1",
                             input_tokens=10, output_tokens=10, at=at("2025-01-01"))
        assert LLMUsageLog.objects.count() == 0


def test_the_log_factory_prices_like_the_service(world):
    with tenant_context(world.a.id):
        logs = LLMUsageLogFactory.create_batch(25, engagement=world.a.engagements[0])
        for log in logs:
            expected = llm_cost_for(pricing=log.pricing, input_tokens=log.input_tokens, output_tokens=log.output_tokens)
            assert log.pricing.pk == llm_pricing_for(log.llm_provider, log.model_name, log.model_version, at=log.created_at).pk
            assert (log.input_cost, log.output_cost, log.total_cost) == (expected.input_cost, expected.output_cost, expected.total_cost)


# --- period summaries ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period_type", "start", "end"),
    [
        ("daily", dt.date(2025, 6, 2), dt.date(2025, 6, 3)),
        ("weekly", dt.date(2025, 6, 2), dt.date(2025, 6, 9)),
        ("monthly", dt.date(2024, 2, 1), dt.date(2024, 3, 1)),
        ("monthly", dt.date(2025, 12, 1), dt.date(2026, 1, 1)),
    ],
)
def test_period_bounds(period_type, start, end):
    assert llm_period_bounds(period_type=period_type, period_start=start) == (start, end)


@pytest.mark.parametrize(
    ("period_type", "start"), [("weekly", dt.date(2025, 6, 3)), ("monthly", dt.date(2025, 6, 2)), ("hourly", dt.date(2025, 6, 2))]
)
def test_misaligned_periods_are_refused(period_type, start):
    with pytest.raises(ValueError):
        llm_period_bounds(period_type=period_type, period_start=start)


def _call(engagement, when, *, model=("openai", "gpt-4o", "2024-08-06"), tokens=(1000, 100), ms=1000, success=True, feature="field_mapping", client=None):
    provider, name, version = model
    return llm_usage_record(
        engagement=engagement,
        client_account_id=client,
        llm_provider=provider,
        model_name=name,
        model_version=version,
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        at=at(when),
        response_time_ms=ms,
        success=success,
        error_type="" if success else "timeout",
        page_context="attribute_mapping",
        feature_context=feature,
    )


def test_daily_rollup_matches_hand_computed_values(world):
    e0, e1 = world.a.engagements
    with tenant_context(world.a.id):
        _call(e0, "2025-06-02T00:00:00", tokens=(1000, 100), ms=800)
        _call(e0, "2025-06-02T12:30:00", tokens=(2000, 300), ms=1201)
        _call(e0, "2025-06-02T23:59:59.999999", tokens=(0, 0), ms=60000, success=False)
        _call(e0, "2025-06-03T00:00:00", tokens=(5000, 5000), ms=5)  # next day
        _call(e0, "2025-06-02T10:00:00", tokens=(400, 0), ms=300, model=("openai", "text-embedding-3-small", ""), feature="pattern_embedding")
        _call(e1, "2025-06-02T10:00:00", tokens=(100, 10), ms=900)
        _call(None, "2025-06-02T10:00:00", tokens=(10, 1), ms=100, client=world.a.id)

        assert llm_usage_summary_rollup(period_type="daily", period_start=dt.date(2025, 6, 2)) == 4

        gpt = LLMUsageSummary.objects.get(engagement=e0, model_name="gpt-4o", period_type="daily", period_start=dt.date(2025, 6, 2))
        assert gpt.period_end == dt.date(2025, 6, 3)
        assert (gpt.total_requests, gpt.successful_requests, gpt.failed_requests) == (3, 2, 1)
        assert (gpt.total_input_tokens, gpt.total_output_tokens, gpt.total_tokens) == (3000, 400, 3400)
        # (1000 + 2000) × 0.0025 / 1000 + (100 + 300) × 0.01 / 1000
        assert gpt.total_cost == Decimal("0.0115")
        assert (gpt.min_response_time_ms, gpt.max_response_time_ms) == (800, 60000)
        assert gpt.avg_response_time_ms == Decimal("20667.00")  # 62001 / 3
        embedding = LLMUsageSummary.objects.get(engagement=e0, model_name="text-embedding-3-small")
        assert (embedding.total_requests, embedding.total_cost, embedding.feature_context) == (1, Decimal("0.000008"), "pattern_embedding")
        other = LLMUsageSummary.objects.get(engagement=e1)
        assert (other.total_requests, other.total_tokens, other.total_cost) == (1, 110, Decimal("0.00035"))
        client_level = LLMUsageSummary.objects.get(engagement__isnull=True)
        assert (client_level.total_requests, client_level.total_tokens, client_level.avg_response_time_ms) == (1, 11, Decimal("100.00"))


def test_rollup_rerun_updates_in_place_and_drops_empty_keys(world):
    e0 = world.a.engagements[0]
    with tenant_context(world.a.id):
        _call(e0, "2025-06-02T09:00:00", tokens=(1000, 100), ms=500)
        dropped = _call(e0, "2025-06-02T09:00:00", feature="risk_assessment")
        client_level = _call(None, "2025-06-02T09:00:00", client=world.a.id)
        llm_usage_summary_rollup(period_type="daily", period_start=dt.date(2025, 6, 2))
        row = LLMUsageSummary.objects.get(feature_context="field_mapping", engagement=e0)
        assert LLMUsageSummary.objects.count() == 3

        dropped.delete()
        client_level.delete()
        _call(e0, "2025-06-02T10:00:00", tokens=(3000, 300), ms=1500)
        llm_usage_summary_rollup(period_type="daily", period_start=dt.date(2025, 6, 2))

        again = LLMUsageSummary.objects.get()
        assert again.pk == row.pk
        assert (again.total_requests, again.total_tokens, again.avg_response_time_ms, again.total_cost) == (
            2,
            4400,
            Decimal("1000.00"),
            Decimal("0.014"),  # 4000 × 0.0025 / 1000 + 400 × 0.01 / 1000
        )


def _python_summaries(logs, start, end) -> dict:
    groups = defaultdict(list)
    for log in logs:
        if start <= log.created_at.astimezone(dt.UTC).date() < end:
            key = (log.client_account_id, log.engagement_id, log.llm_provider, log.model_name, log.page_context, log.feature_context, log.currency)
            groups[key].append(log)
    result = {}
    for key, group in groups.items():
        times = [log.response_time_ms for log in group]
        result[key] = {
            "total_requests": len(group),
            "successful_requests": sum(log.success for log in group),
            "failed_requests": sum(not log.success for log in group),
            "total_input_tokens": sum(log.input_tokens for log in group),
            "total_output_tokens": sum(log.output_tokens for log in group),
            "total_tokens": sum(log.total_tokens for log in group),
            "total_cost": sum((log.total_cost for log in group), Decimal(0)),
            "avg_response_time_ms": (Decimal(sum(times)) / len(times)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
            "min_response_time_ms": min(times),
            "max_response_time_ms": max(times),
        }
    return result


@pytest.mark.parametrize(
    ("period_type", "period_start"),
    [("daily", dt.date(2025, 5, 14)), ("weekly", dt.date(2025, 5, 12)), ("monthly", dt.date(2025, 5, 1))],
)
def test_rollup_agrees_with_a_python_recomputation_across_tenants(world, period_type, period_start):
    with platform_context(reason="tests: LLM summary roll-up across tenants"):
        logs = []
        for tenant in world.tenants:
            flow = MasterFlowFactory(engagement=tenant.engagements[0])
            # Every period of the test holds a client-level call; the first calls fall before May.
            logs.append(LLMUsageLogFactory(client_account=tenant.account, engagement=None, created_at=at("2025-05-14T12:00:00")))
            for i in range(60):
                when = dt.datetime(2025, 4, 28, tzinfo=dt.UTC) + dt.timedelta(hours=7 * i)
                if i % 9 == 0:
                    logs.append(LLMUsageLogFactory(client_account=tenant.account, engagement=None, created_at=when))
                elif i % 3 == 0:
                    logs.append(LLMUsageLogFactory(flow=flow, created_at=when))
                else:
                    logs.append(LLMUsageLogFactory(engagement=tenant.engagements[i % 2], created_at=when))
        start, end = llm_period_bounds(period_type=period_type, period_start=period_start)
        written = llm_usage_summary_rollup(period_type=period_type, period_start=period_start)
        expected = _python_summaries(logs, start, end)
        fields = list(next(iter(expected.values())))
        stored = {
            (s.client_account_id, s.engagement_id, s.llm_provider, s.model_name, s.page_context, s.feature_context, s.currency): {
                name: getattr(s, name) for name in fields
            }
            for s in LLMUsageSummary.objects.filter(period_type=period_type, period_start=start)
        }
        assert written == len(expected) == len(stored)
        assert stored == expected
        assert {key[0] for key in stored} == {world.a.id, world.b.id}
        assert any(key[1] is None for key in stored)
        # The period's totals agree with the log rows themselves.
        in_period = [log for log in logs if start <= log.created_at.date() < end]
        assert sum(v["total_cost"] for v in stored.values()) == sum((log.total_cost for log in in_period), Decimal(0))
        assert sum(v["total_requests"] for v in stored.values()) == len(in_period)


def test_rollup_for_one_client_leaves_the_others_alone(world):
    with platform_context(reason="tests: LLM summary roll-up of one client"):
        for tenant in world.tenants:
            LLMUsageLogFactory(engagement=tenant.engagements[0], created_at=at("2025-06-02T10:00:00"))
        assert llm_usage_summary_rollup(period_type="daily", period_start=dt.date(2025, 6, 2), client_account_id=world.b.id) == 1
        assert llm_usage_summary_rollup(period_type="daily", period_start=dt.date(2025, 6, 2), client_account_id=world.a.id) == 1
        assert set(LLMUsageSummary.objects.values_list("client_account_id", flat=True)) == {world.a.id, world.b.id}


def test_rollup_is_one_aggregate_query_one_upsert_and_the_stale_deletes(world):
    with tenant_context(world.a.id):
        for feature in ("field_mapping", "risk_assessment", "six_r_strategy"):
            _call(world.a.engagements[0], "2025-06-02T09:00:00", feature=feature)
        with CaptureQueriesContext(connections["default"]) as captured:
            assert llm_usage_summary_rollup(period_type="daily", period_start=dt.date(2025, 6, 2)) == 3
    sqls = [q["sql"] for q in captured.captured_queries if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE"))]
    assert [s.split()[0].upper() for s in sqls] == ["SELECT", "INSERT", "DELETE", "DELETE"]
    assert "GROUP BY" in sqls[0] and "ON CONFLICT" in sqls[1]
