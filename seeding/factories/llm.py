import datetime as dt
from decimal import Decimal

import factory
from factory.random import randgen

from modernize.llm.models import LLMModelPricing, LLMProvider, LLMUsageLog, LLMUsageSummary, PeriodType
from modernize.llm.selectors import llm_pricing_for
from modernize.llm.services import llm_cost_for, llm_period_bounds
from seeding.factories.base import ModernizeFactory
from seeding.factories.tenancy import ClientAccountFactory, EngagementFactory

# (provider, model, version, endpoint, weight, priced since): models priced by migration llm.0003.
MODEL_MIX = [
    (LLMProvider.OPENAI, "gpt-4o", "2024-08-06", "/v1/chat/completions", 24, dt.date(2024, 8, 6)),
    (LLMProvider.OPENAI, "gpt-4o-mini", "2024-07-18", "/v1/chat/completions", 18, dt.date(2024, 7, 18)),
    (LLMProvider.OPENAI, "gpt-4.1", "2025-04-14", "/v1/chat/completions", 8, dt.date(2025, 4, 14)),
    (LLMProvider.OPENAI, "text-embedding-3-small", "", "/v1/embeddings", 16, dt.date(2024, 1, 25)),
    (LLMProvider.ANTHROPIC, "claude-3-5-sonnet", "20241022", "/v1/messages", 8, dt.date(2024, 10, 22)),
    (LLMProvider.ANTHROPIC, "claude-3-5-haiku", "20241022", "/v1/messages", 6, dt.date(2024, 11, 4)),
    (LLMProvider.ANTHROPIC, "claude-sonnet-4", "20250514", "/v1/messages", 8, dt.date(2025, 5, 22)),
    (LLMProvider.GOOGLE, "gemini-1.5-pro", "", "/v1beta/models/gemini-1.5-pro:generateContent", 3, dt.date(2024, 5, 14)),
    (LLMProvider.GOOGLE, "gemini-2.0-flash", "", "/v1beta/models/gemini-2.0-flash:generateContent", 5, dt.date(2025, 2, 5)),
    (LLMProvider.DEEPINFRA, "meta-llama/Meta-Llama-3.1-70B-Instruct", "", "/v1/openai/chat/completions", 4, dt.date(2024, 7, 23)),
]

# (page, feature, agent making the call)
CALL_CONTEXTS = [
    ("attribute_mapping", "field_mapping", "Field Mapping Agent"),
    ("data_cleansing", "data_cleansing", "Data Cleansing Agent"),
    ("asset_inventory", "asset_classification", "Asset Inventory Agent"),
    ("dependency_analysis", "dependency_mapping", "Dependency Analysis Agent"),
    ("six_r_review", "six_r_strategy", "Six R Strategy Agent"),
    ("wave_planning", "wave_planning", "Migration Wave Planner"),
    ("risk_dashboard", "risk_assessment", "Risk Assessment Agent"),
]

FAILURES = [
    ("rate_limit", "429 Too Many Requests: rate limit reached for requests per minute"),
    ("timeout", "Request timed out after 60 s"),
    ("context_length_exceeded", "This model's maximum context length is 128000 tokens"),
    ("server_error", "500 Internal Server Error from provider"),
]

REQUEST_ID_PREFIX = {
    LLMProvider.OPENAI: "chatcmpl-",
    LLMProvider.ANTHROPIC: "msg_",
    LLMProvider.GOOGLE: "gemini-",
    LLMProvider.DEEPINFRA: "chatcmpl-",
}


def _hex(n: int) -> str:
    return "".join(randgen.choice("0123456789abcdef") for _ in range(n))


def _models_priced_on(day: dt.date) -> list[tuple]:
    return [m for m in MODEL_MIX if m[5] <= day] or MODEL_MIX


def _pick_model(when: dt.datetime):
    """A model of the mix that had a price at ``when`` (calls of the past use the models of then)."""
    available = _models_priced_on(when.astimezone(dt.UTC).date())
    return randgen.choices(available, weights=[m[4] for m in available], k=1)[0]


def _is_embedding(o) -> bool:
    return o.endpoint.endswith("/embeddings")


def _input_tokens(o) -> int:
    if not o.success:
        return 0
    return randgen.randint(40, 8000) if _is_embedding(o) else randgen.randint(400, 12000)


def _output_tokens(o) -> int:
    if not o.success or _is_embedding(o):
        return 0
    return randgen.randint(60, 2500)


def _response_time(o) -> int:
    if o.error_type == "timeout":
        return 60000
    if _is_embedding(o):
        return randgen.randint(60, 700)
    return randgen.randint(350, 900) + o.output_tokens * randgen.randint(8, 25)


class _TenantFromParents(ModernizeFactory):
    """Nullable-engagement rows: the client account follows a given flow or engagement."""

    class Meta:
        abstract = True

    @classmethod
    def _generate(cls, strategy, params):
        params = dict(params)
        flow = params.get("flow")
        if flow is not None:
            params.setdefault("engagement", flow.engagement)
            params.setdefault("client_account", flow.client_account)
        engagement = params.get("engagement")
        if engagement is not None:
            params.setdefault("client_account", engagement.client_account)
        return super()._generate(strategy, params)


class LLMModelPricingFactory(ModernizeFactory):
    """A fine-tuned model's price (global row: create it inside platform_context)."""

    class Meta:
        model = LLMModelPricing

    provider = LLMProvider.OPENAI
    # Fine-tuned model names are unique per training job, so rows never collide with the price list.
    model_name = factory.Sequence(lambda n: f"ft:gpt-4o-mini-2024-07-18:modernize:migration-{n:04d}")
    model_version = ""
    input_cost_per_1k = Decimal("0.0003")
    output_cost_per_1k = Decimal("0.0012")
    currency = "USD"
    effective_from = factory.Faker("date_time_between", start_date="-1y", end_date="-30d", tzinfo=dt.UTC)
    effective_to = None
    is_active = True


class LLMUsageLogFactory(_TenantFromParents):
    """One call, priced from llm_model_pricing at its time, exactly as llm_usage_record would.

    ``LLMUsageLogFactory(client_account=c)``, ``(engagement=e)`` or ``(flow=f)``; pass
    ``engagement=None`` for a client-level call.
    """

    class Meta:
        model = LLMUsageLog
        exclude = ["_model", "_context", "_failure", "_cost"]

    client_account = factory.SubFactory(ClientAccountFactory)
    engagement = factory.SubFactory(EngagementFactory, client_account=factory.SelfAttribute("..client_account"))
    flow = None
    user = None
    created_at = factory.Faker("date_time_between", start_date="-60d", end_date="now", tzinfo=dt.UTC)
    _model = factory.LazyAttribute(lambda o: _pick_model(o.created_at))
    _context = factory.LazyFunction(lambda: randgen.choice(CALL_CONTEXTS))
    _failure = factory.LazyFunction(lambda: randgen.choice(FAILURES) if randgen.random() < 0.04 else None)
    llm_provider = factory.LazyAttribute(lambda o: o._model[0])
    model_name = factory.LazyAttribute(lambda o: o._model[1])
    model_version = factory.LazyAttribute(lambda o: o._model[2])
    endpoint = factory.LazyAttribute(lambda o: o._model[3])
    page_context = factory.LazyAttribute(lambda o: o._context[0])
    feature_context = factory.LazyAttribute(lambda o: "pattern_embedding" if o.endpoint.endswith("/embeddings") else o._context[1])
    success = factory.LazyAttribute(lambda o: o._failure is None)
    error_type = factory.LazyAttribute(lambda o: o._failure[0] if o._failure else "")
    error_message = factory.LazyAttribute(lambda o: o._failure[1] if o._failure else "")
    request_id = factory.LazyAttribute(lambda o: REQUEST_ID_PREFIX.get(o.llm_provider, "req-") + _hex(24))
    input_tokens = factory.LazyAttribute(_input_tokens)
    output_tokens = factory.LazyAttribute(_output_tokens)
    total_tokens = factory.LazyAttribute(lambda o: o.input_tokens + o.output_tokens)
    pricing = factory.LazyAttribute(lambda o: llm_pricing_for(o.llm_provider, o.model_name, o.model_version, at=o.created_at))
    _cost = factory.LazyAttribute(lambda o: llm_cost_for(pricing=o.pricing, input_tokens=o.input_tokens, output_tokens=o.output_tokens))
    input_cost = factory.LazyAttribute(lambda o: o._cost.input_cost)
    output_cost = factory.LazyAttribute(lambda o: o._cost.output_cost)
    total_cost = factory.LazyAttribute(lambda o: o._cost.total_cost)
    currency = factory.LazyAttribute(lambda o: o._cost.currency)
    response_time_ms = factory.LazyAttribute(_response_time)
    request_metadata = factory.LazyAttribute(
        lambda o: {"agent": o._context[2], "temperature": 0.0 if _is_embedding(o) else 0.2, "max_tokens": None if _is_embedding(o) else 4096}
    )
    response_metadata = factory.LazyAttribute(
        lambda o: {"finish_reason": "stop"} if o.success and not _is_embedding(o) else ({"dimensions": 1536} if o.success else {})
    )
    ip_address = factory.Faker("ipv4_private")
    user_agent = "modernize-agents/1.4 crewai/0.86 python-httpx/0.28"



class LLMUsageSummaryFactory(_TenantFromParents):
    """A self-consistent daily summary; real ones come from llm_usage_summary_rollup.

    ``LLMUsageSummaryFactory(engagement=e)`` or ``(client_account=c, engagement=None)``.
    """

    class Meta:
        model = LLMUsageSummary
        exclude = ["_n", "_model", "_context"]

    client_account = factory.SubFactory(ClientAccountFactory)
    engagement = factory.SubFactory(EngagementFactory, client_account=factory.SelfAttribute("..client_account"))
    period_type = PeriodType.DAILY
    # Model, context and day walk the sequence, so rows of one engagement do not collide on
    # the natural key (10 models × 7 contexts × a year of days).
    _n = factory.Sequence(lambda n: n)
    period_start = factory.LazyAttribute(
        lambda o: dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1 + (o._n // (len(MODEL_MIX) * len(CALL_CONTEXTS))) % 365)
    )
    period_end = factory.LazyAttribute(lambda o: llm_period_bounds(period_type=o.period_type, period_start=o.period_start)[1])
    _model = factory.LazyAttribute(lambda o: _models_priced_on(o.period_start)[o._n % len(_models_priced_on(o.period_start))])
    _context = factory.LazyAttribute(lambda o: CALL_CONTEXTS[(o._n // len(MODEL_MIX)) % len(CALL_CONTEXTS)])
    llm_provider = factory.LazyAttribute(lambda o: o._model[0])
    model_name = factory.LazyAttribute(lambda o: o._model[1])
    page_context = factory.LazyAttribute(lambda o: o._context[0])
    feature_context = factory.LazyAttribute(lambda o: o._context[1])
    total_requests = factory.LazyFunction(lambda: randgen.randint(20, 1500))
    failed_requests = factory.LazyAttribute(lambda o: randgen.randint(0, o.total_requests // 20))
    successful_requests = factory.LazyAttribute(lambda o: o.total_requests - o.failed_requests)
    total_input_tokens = factory.LazyAttribute(lambda o: o.successful_requests * randgen.randint(800, 6000))
    total_output_tokens = factory.LazyAttribute(lambda o: o.successful_requests * randgen.randint(100, 1500))
    total_tokens = factory.LazyAttribute(lambda o: o.total_input_tokens + o.total_output_tokens)
    # Priced like the calls it stands for, at the start of its period.
    total_cost = factory.LazyAttribute(
        lambda o: llm_cost_for(
            pricing=llm_pricing_for(
                o.llm_provider, o.model_name, o._model[2], at=dt.datetime.combine(o.period_start, dt.time.min, tzinfo=dt.UTC)
            ),
            input_tokens=o.total_input_tokens,
            output_tokens=o.total_output_tokens,
        ).total_cost
    )
    currency = "USD"
    min_response_time_ms = factory.LazyFunction(lambda: randgen.randint(200, 600))
    max_response_time_ms = factory.LazyAttribute(lambda o: o.min_response_time_ms + randgen.randint(2000, 30000))
    # Latencies are skewed: the mean sits in the lower part of [min, max].
    avg_response_time_ms = factory.LazyAttribute(
        lambda o: (Decimal(o.min_response_time_ms) + Decimal(o.max_response_time_ms - o.min_response_time_ms) * Decimal(randgen.randint(5, 40)) / 100).quantize(Decimal("0.01"))
    )
