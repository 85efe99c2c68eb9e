import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError

from modernize.llm.models import LLMUsageLog, LLMUsageSummary
from seeding.factories.flows import MasterFlowFactory
from seeding.factories.llm import LLMUsageLogFactory, LLMUsageSummaryFactory
from tenancy.context import platform_context, tenant_context
from tests.flows.db import assert_rejected, constraint_of, db_insert, raw_insert

pytestmark = pytest.mark.django_db(databases=["default", "owner"])

T0 = dt.datetime(2025, 6, 2, 9, 30, tzinfo=dt.UTC)


def _set(obj, **overrides):
    for name, value in overrides.items():
        setattr(obj, name, value)
    return obj


def _log(engagement, **overrides) -> LLMUsageLog:
    log = LLMUsageLogFactory.build(
        engagement=engagement,
        created_at=T0,
        _model=("openai", "gpt-4o", "2024-08-06", "/v1/chat/completions", 1, dt.date(2024, 8, 6)),
        _failure=None,
    )
    return _set(log, **overrides)


def test_a_valid_log_is_accepted(world):
    with tenant_context(world.a.id):
        db_insert(_log(world.a.engagements[0]))
        db_insert(_log(None, client_account=world.a.account))  # client-level call
        failed = dict(success=False, error_type="rate_limit", input_tokens=0, output_tokens=0, total_tokens=0, input_cost=0, output_cost=0, total_cost=0)
        db_insert(_log(world.a.engagements[0], **failed))
        assert LLMUsageLog.objects.count() == 3


@pytest.mark.parametrize(
    ("overrides", "constraint"),
    [
        ({"llm_provider": "openrouter"}, "llm_usage_logs_provider_valid"),
        ({"input_tokens": -1, "output_tokens": 1, "total_tokens": 0}, "llm_usage_logs_input_tokens_nonneg"),
        ({"output_tokens": -10, "input_tokens": 20, "total_tokens": 10}, "llm_usage_logs_output_tokens_nonneg"),
        ({"total_tokens": 1}, "llm_usage_logs_total_tokens_sum"),
        ({"input_cost": Decimal("-1"), "output_cost": Decimal("1"), "total_cost": Decimal("0")}, "llm_usage_logs_input_cost_nonneg"),
        ({"output_cost": Decimal("-1"), "input_cost": Decimal("1"), "total_cost": Decimal("0")}, "llm_usage_logs_output_cost_nonneg"),
        ({"total_cost": Decimal("123.45")}, "llm_usage_logs_total_cost_sum"),
        ({"currency": "Usd"}, "llm_usage_logs_currency_iso"),
        ({"response_time_ms": -1}, "llm_usage_logs_response_time_nonneg"),
        ({"success": False, "error_type": ""}, "llm_usage_logs_error_type_matches_success"),
        ({"success": True, "error_type": "timeout"}, "llm_usage_logs_error_type_matches_success"),
    ],
)
def test_log_check_constraints_reject_bad_rows(world, overrides, constraint):
    with tenant_context(world.a.id):
        assert_rejected(_log(world.a.engagements[0], **overrides), constraint)


def test_a_log_with_an_engagement_of_another_client_is_rejected(world):
    with tenant_context(world.a.id):
        assert_rejected(_log(world.a.engagements[0], engagement_id=world.b.engagements[0].id), "llm_usage_logs_engagement_tenant_fk")


def test_a_log_may_name_a_flow_of_its_client_without_an_engagement(world):
    with tenant_context(world.a.id):
        flow = MasterFlowFactory(engagement=world.a.engagements[1])
        db_insert(_log(None, client_account=world.a.account, flow=flow))
        assert LLMUsageLog.objects.get(flow=flow).engagement_id is None


def test_a_log_whose_flow_is_of_another_engagement_is_rejected(world):
    with tenant_context(world.a.id):
        flow = MasterFlowFactory(engagement=world.a.engagements[1])
        assert_rejected(_log(world.a.engagements[0], flow=flow), "llm_usage_logs_flow_engagement_fk")


def test_a_log_whose_flow_belongs_to_another_client_is_rejected_by_the_database(world):
    with platform_context(reason="tests: cross-tenant LLM usage"):
        flow_b = MasterFlowFactory(engagement=world.b.engagements[0])
        row = {
            "id": uuid.uuid4(),
            "created_at": T0,
            "updated_at": T0,
            "client_account_id": world.a.id,
            "engagement_id": None,
            "flow_id": flow_b.id,
            "request_id": "chatcmpl-cross-tenant",
            "endpoint": "/v1/chat/completions",
            "page_context": "",
            "feature_context": "",
            "llm_provider": "openai",
            "model_name": "gpt-4o",
            "model_version": "",
            "input_tokens": 0,
            "output_tokens": 0,
            "total_tokens": 0,
            "input_cost": 0,
            "output_cost": 0,
            "total_cost": 0,
            "currency": "USD",
            "response_time_ms": 0,
            "success": True,
            "error_type": "",
            "error_message": "",
            "request_metadata": "{}",
            "response_metadata": "{}",
            "user_agent": "",
        }
        with pytest.raises(IntegrityError) as info:
            raw_insert("owner", "llm_usage_logs", row)
        assert constraint_of(info.value) == "llm_usage_logs_flow_tenant_fk"
        raw_insert("owner", "llm_usage_logs", {**row, "client_account_id": world.b.id})
        assert LLMUsageLog.objects.get(pk=row["id"]).client_account_id == world.b.id


def _summary(engagement, **overrides) -> LLMUsageSummary:
    summary = LLMUsageSummaryFactory.build(
        client_account=engagement.client_account if engagement else None,
        engagement=engagement,
        period_type="daily",
        period_start=dt.date(2025, 6, 2),
        period_end=dt.date(2025, 6, 3),
        _model=("openai", "gpt-4o", "2024-08-06", "/v1/chat/completions", 1, dt.date(2024, 8, 6)),
        page_context="attribute_mapping",
        feature_context="field_mapping",
        total_requests=10,
        failed_requests=1,
        min_response_time_ms=300,
        max_response_time_ms=9000,
        avg_response_time_ms=Decimal("1200.50"),
    )
    return _set(summary, **overrides)


def test_valid_summaries_are_accepted(world):
    e = world.a.engagements[0]
    with tenant_context(world.a.id):
        db_insert(_summary(e))
        db_insert(_summary(e, period_type="weekly", period_start=dt.date(2025, 6, 2), period_end=dt.date(2025, 6, 9)))
        db_insert(_summary(e, period_type="monthly", period_start=dt.date(2025, 2, 1), period_end=dt.date(2025, 3, 1)))
        db_insert(_summary(e, period_type="monthly", period_start=dt.date(2025, 1, 1), period_end=dt.date(2025, 2, 1)))
        db_insert(_summary(e, model_name="gpt-4o-mini", min_response_time_ms=None, avg_response_time_ms=None, max_response_time_ms=None))
        assert LLMUsageSummary.objects.count() == 5


@pytest.mark.parametrize(
    ("overrides", "constraint"),
    [
        ({"period_type": "hourly"}, "llm_usage_summary_period_type_valid"),
        ({"llm_provider": "openrouter"}, "llm_usage_summary_provider_valid"),
        ({"period_end": dt.date(2025, 6, 4)}, "llm_usage_summary_period_bounds"),
        ({"period_type": "weekly", "period_start": dt.date(2025, 6, 3), "period_end": dt.date(2025, 6, 10)}, "llm_usage_summary_period_bounds"),
        ({"period_type": "weekly", "period_end": dt.date(2025, 6, 8)}, "llm_usage_summary_period_bounds"),
        ({"period_type": "monthly", "period_start": dt.date(2025, 6, 2), "period_end": dt.date(2025, 7, 2)}, "llm_usage_summary_period_bounds"),
        ({"period_type": "monthly", "period_start": dt.date(2025, 6, 1), "period_end": dt.date(2025, 8, 1)}, "llm_usage_summary_period_bounds"),
        ({"successful_requests": -1, "failed_requests": 11}, "llm_usage_summary_successful_nonneg"),
        ({"failed_requests": -1, "successful_requests": 11}, "llm_usage_summary_failed_nonneg"),
        ({"failed_requests": 5}, "llm_usage_summary_requests_sum"),
        ({"total_input_tokens": -5, "total_output_tokens": 5, "total_tokens": 0}, "llm_usage_summary_input_tokens_nonneg"),
        ({"total_output_tokens": -5, "total_input_tokens": 5, "total_tokens": 0}, "llm_usage_summary_output_tokens_nonneg"),
        ({"total_tokens": 1}, "llm_usage_summary_tokens_sum"),
        ({"total_cost": Decimal("-0.01")}, "llm_usage_summary_cost_nonneg"),
        ({"currency": "€"}, "llm_usage_summary_currency_iso"),
        ({"min_response_time_ms": -1, "avg_response_time_ms": Decimal("0"), "max_response_time_ms": 0}, "llm_usage_summary_min_response_nonneg"),
        ({"avg_response_time_ms": Decimal("100")}, "llm_usage_summary_response_times_ordered"),
        ({"max_response_time_ms": 1000}, "llm_usage_summary_response_times_ordered"),
        ({"avg_response_time_ms": None}, "llm_usage_summary_response_times_ordered"),
        ({"min_response_time_ms": None}, "llm_usage_summary_response_times_ordered"),
    ],
)
def test_summary_check_constraints_reject_bad_rows(world, overrides, constraint):
    with tenant_context(world.a.id):
        assert_rejected(_summary(world.a.engagements[0], **overrides), constraint)


@pytest.mark.parametrize("engagement_index", [0, None])
def test_one_summary_per_natural_key_even_without_engagement(world, engagement_index):
    engagement = None if engagement_index is None else world.a.engagements[engagement_index]
    with tenant_context(world.a.id):
        first = _summary(engagement, client_account=world.a.account)
        db_insert(first)
        db_insert(_summary(engagement, client_account=world.a.account, feature_context="other_feature"))
        assert_rejected(_summary(engagement, client_account=world.a.account), "llm_usage_summary_natural_key")


def test_a_summary_with_an_engagement_of_another_client_is_rejected(world):
    with tenant_context(world.a.id):
        assert_rejected(
            _summary(world.a.engagements[0], engagement_id=world.b.engagements[0].id), "llm_usage_summary_engagement_tenant_fk"
        )


@pytest.mark.parametrize("factory", [LLMUsageLogFactory, LLMUsageSummaryFactory])
def test_a_tenant_sees_and_writes_only_its_own_rows(world, factory):
    model = factory._meta.model
    with tenant_context(world.b.id):
        theirs = factory(engagement=world.b.engagements[0], client_account=world.b.account)
    with tenant_context(world.a.id):
        mine = factory(engagement=world.a.engagements[0], client_account=world.a.account)
        assert list(model.objects.values_list("id", flat=True)) == [mine.id]
        with pytest.raises(DatabaseError, match="row-level security"):
            db_insert(factory.build(engagement=world.b.engagements[0], client_account=world.b.account))
    with tenant_context(world.b.id):
        assert list(model.objects.values_list("id", flat=True)) == [theirs.id]
    assert model.objects.count() == 0
