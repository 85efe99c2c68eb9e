"""What one seed writes: every model, one tenant per graph, roll-ups that agree, priced calls, searchable patterns.

Each test seeds the mini profile inside its own transaction (rolled back afterwards) and
reads the result back through the owner connection (platform_context).
"""

from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connections
from django.db.models import Avg, Count, F, Max, Min, Q, Sum

from modernize.agents.models import AgentPerformanceDaily, AgentTaskHistory
from modernize.llm.models import LLMUsageLog, LLMUsageSummary
from modernize.llm.selectors import llm_pricing_for
from modernize.llm.services import llm_cost_for
from modernize.platforms.models import CredentialAccessLog, PlatformCredential
from modernize.security.models import RoleChangeApproval, SecurityAuditLog
from patterns.models import AgentDiscoveredPattern
from patterns.selectors import SearchScope, patterns_similar_to_pattern
from seeding.constants import PLATFORM_ADMIN_EMAIL, TEST_TENANT_1, TEST_TENANT_2
from tenancy.context import OWNER_ALIAS, platform_context
from tenancy.models import ClientMembership, User

pytestmark = pytest.mark.django_db(databases=["default", "owner"])

SEEDED = [TEST_TENANT_1, TEST_TENANT_2]
OUR_APPS = ("tenancy", "flows", "agents", "llm", "security", "platforms", "patterns")


def _our_models():
    return [m for m in apps.get_models() if m._meta.app_label in OUR_APPS]


def _tenant_fields(model):
    return {f.name for f in model._meta.concrete_fields} & {"client_account", "engagement"}


def test_every_model_has_rows_and_rls_stays_forced(seed):
    report = seed()
    with platform_context(reason="tests: count seeded rows"):
        empty = [m._meta.label for m in _our_models() if not m.objects.exists()]
        with connections[OWNER_ALIAS].cursor() as cursor:
            cursor.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
                "WHERE a.attname = 'client_account_id' AND c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace "
                "AND NOT (c.relrowsecurity AND c.relforcerowsecurity)"
            )
            unprotected = cursor.fetchall()
    assert empty == []
    assert unprotected == []
    assert report.stats["agent_task_history"].rows > 0 and report.total_rows == sum(s.rows for s in report.stats.values())


def test_every_reference_stays_inside_its_tenant(seed):
    seed()
    with platform_context(reason="tests: tenant consistency of the seeded graph"):
        members = defaultdict(set)
        for user_id, client_id in ClientMembership.objects.values_list("user_id", "client_account_id"):
            members[client_id].add(user_id)
        platform_admin = User.objects.get(email=PLATFORM_ADMIN_EMAIL).pk
        crossing, outsiders = [], []
        for model in _our_models():
            tenant = _tenant_fields(model)
            if not tenant:
                continue
            rows = model.objects.filter(client_account_id__in=SEEDED)
            for field in model._meta.concrete_fields:
                if not field.is_relation:
                    continue
                parent_tenant = _tenant_fields(field.related_model)
                for name in sorted(tenant & parent_tenant):
                    if field.name == name:
                        continue
                    bad = rows.filter(**{f"{field.name}__isnull": False}).exclude(**{f"{field.name}__{name}": F(name)})
                    if name == "engagement":
                        bad = bad.filter(engagement__isnull=False)
                    if bad.exists():
                        crossing.append(f"{model.__name__}.{field.name} ({name})")
                if field.related_model is User:
                    pairs = rows.filter(**{f"{field.name}__isnull": False}).values_list("client_account_id", field.attname)
                    strays = {(c, u) for c, u in pairs if u not in members[c] and u != platform_admin}
                    if strays:
                        outsiders.append(f"{model.__name__}.{field.name}: {len(strays)}")
        # Task ids quoted by patterns and LLM calls are tasks of the same engagement / flow.
        tasks = {t: (e, f) for t, e, f in AgentTaskHistory.objects.values_list("task_id", "engagement_id", "flow_id")}
        pattern_refs = list(AgentDiscoveredPattern.objects.exclude(task_id="").values_list("task_id", "engagement_id"))
        call_refs = list(LLMUsageLog.objects.filter(flow__isnull=False).values_list("request_metadata__task_id", "flow_id"))
    assert crossing == []
    assert outsiders == []
    assert pattern_refs and all(tasks[t][0] == e for t, e in pattern_refs)
    assert call_refs and all(tasks[t][1] == f for t, f in call_refs)


def test_rollups_agree_with_the_facts(seed):
    seed()
    with platform_context(reason="tests: roll-ups against facts"):
        performance = {
            (r.client_account_id, r.engagement_id, r.agent_name, r.date_recorded): r
            for r in AgentPerformanceDaily.objects.filter(client_account_id__in=SEEDED)
        }
        facts = (
            AgentTaskHistory.objects.filter(client_account_id__in=SEEDED)
            .annotate(day=F("started_at__date"))
            .values("client_account_id", "engagement_id", "agent_name", "day")
            .annotate(n=Count("id"), done=Count("id", filter=Q(status="completed")), calls=Sum("llm_calls_count"))
        )
        facts = {(f["client_account_id"], f["engagement_id"], f["agent_name"], f["day"]): f for f in facts}
        daily = LLMUsageSummary.objects.filter(client_account_id__in=SEEDED, period_type="daily")
        summary_totals = daily.aggregate(n=Sum("total_requests"), tokens=Sum("total_tokens"), cost=Sum("total_cost"))
        log_totals = LLMUsageLog.objects.filter(client_account_id__in=SEEDED).aggregate(n=Count("id"), tokens=Sum("total_tokens"), cost=Sum("total_cost"))
        weekly = LLMUsageSummary.objects.filter(client_account_id__in=SEEDED, period_type="weekly").aggregate(n=Sum("total_requests"))
        one_day = daily.order_by("period_start", "model_name").first()
        day_logs = LLMUsageLog.objects.filter(
            client_account_id=one_day.client_account_id, engagement_id=one_day.engagement_id, llm_provider=one_day.llm_provider,
            model_name=one_day.model_name, page_context=one_day.page_context, feature_context=one_day.feature_context,
            created_at__date=one_day.period_start,
        ).aggregate(n=Count("id"), cost=Sum("total_cost"), low=Min("response_time_ms"), high=Max("response_time_ms"), avg=Avg("response_time_ms"))
        calls_per_task = Counter(LLMUsageLog.objects.filter(flow__isnull=False).values_list("request_metadata__task_id", flat=True))
        tokens_per_task = defaultdict(int)
        for task_id, tokens in LLMUsageLog.objects.filter(flow__isnull=False).values_list("request_metadata__task_id", "total_tokens"):
            tokens_per_task[task_id] += tokens
        tasks = list(AgentTaskHistory.objects.values_list("task_id", "llm_calls_count", "token_usage"))
    assert performance.keys() == facts.keys() and performance
    assert all(
        (p.tasks_attempted, p.tasks_completed, p.total_llm_calls) == (facts[k]["n"], facts[k]["done"], facts[k]["calls"])
        for k, p in performance.items()
    )
    assert summary_totals == log_totals and weekly["n"] == log_totals["n"]
    assert (one_day.total_requests, one_day.total_cost) == (day_logs["n"], day_logs["cost"])
    assert (one_day.min_response_time_ms, one_day.max_response_time_ms) == (day_logs["low"], day_logs["high"])
    assert all(calls_per_task[t] == n and tokens_per_task[t] == usage["total"] for t, n, usage in tasks)


def test_llm_calls_are_priced_with_the_pricing_in_effect(seed):
    seed()
    with platform_context(reason="tests: LLM costs"):
        logs = list(LLMUsageLog.objects.filter(client_account_id__in=SEEDED).select_related("pricing").order_by("id")[:400])
        wrong = []
        for log in logs:
            pricing = llm_pricing_for(log.llm_provider, log.model_name, log.model_version, at=log.created_at)
            cost = llm_cost_for(pricing=pricing, input_tokens=log.input_tokens, output_tokens=log.output_tokens)
            if (log.pricing_id, log.input_cost, log.output_cost, log.total_cost) != (pricing.pk, cost.input_cost, cost.output_cost, cost.total_cost):
                wrong.append(log.pk)
        models = {(log.llm_provider, log.model_name) for log in logs}
    assert len(logs) == 400 and wrong == []
    assert len(models) >= 5 and any(log.total_cost > Decimal(0) for log in logs)


def test_patterns_come_in_families_that_are_each_others_neighbours(seed):
    seed()
    with platform_context(reason="tests: pattern families"):
        patterns = AgentDiscoveredPattern.objects.filter(client_account_id=TEST_TENANT_1)
        unembedded = patterns.filter(embedding__isnull=True).count()
        sample = list(patterns.filter(embedding__isnull=False).defer("embedding").order_by("id")[:25])
        same_family = total = 0
        for pattern in sample:
            matches = patterns_similar_to_pattern(pattern=pattern, k=5, scope=SearchScope.CLIENT, client_account_id=TEST_TENANT_1)
            family = pattern.execution_context["finding_group"]
            same_family += sum(m.pattern.execution_context["finding_group"] == family for m in matches)
            total += len(matches)
        low_confidence = patterns.filter(confidence_score__lt=0.4).count()
        # Near-duplicates are re-reports with other formatting (the seeder ends them with a space).
        twin = patterns.filter(embedding__isnull=False, pattern_description__endswith=" ").defer("embedding").first()
        twin_match = patterns_similar_to_pattern(pattern=twin, k=1, scope=SearchScope.CLIENT, client_account_id=TEST_TENANT_1)[0]
    assert total == 5 * len(sample) == 125
    assert same_family / total >= 0.8
    # The dedupe threshold (PATTERN_DUPLICATE_SIMILARITY) finds the near-duplicate's original.
    assert twin_match.similarity >= 0.97 and twin_match.pattern.pattern_name == twin.pattern_name
    assert unembedded > 0 and low_confidence > 0


def test_the_data_has_its_documented_imperfections(seed):
    seed()
    with platform_context(reason="tests: data quality variety"):
        task_statuses = set(AgentTaskHistory.objects.values_list("status", flat=True))
        longest = AgentTaskHistory.objects.aggregate(longest=Max("duration_seconds"))["longest"]
        biggest_call = LLMUsageLog.objects.aggregate(biggest=Max("input_tokens"))["biggest"]
        failed_calls = LLMUsageLog.objects.filter(success=False).exists()
        client_level_calls = LLMUsageLog.objects.filter(engagement__isnull=True, client_account_id__in=SEEDED).exists()
        credential_statuses = set(PlatformCredential.objects.filter(client_account_id=TEST_TENANT_1).values_list("status", flat=True))
        refused = set(CredentialAccessLog.objects.filter(success=False).values_list("failure_reason", flat=True))
        suspicious = SecurityAuditLog.objects.filter(client_account_id__in=SEEDED, is_suspicious=True, requires_review=True).exists()
        categories = set(SecurityAuditLog.objects.filter(client_account_id__in=SEEDED).values_list("event_category", flat=True))
        missing_description = AgentTaskHistory.objects.filter(task_description="").exists()
    assert {"completed", "failed", "timeout"} <= task_statuses and task_statuses - {"completed", "failed", "timeout"}
    assert longest >= 7200 and biggest_call >= 90_000
    assert failed_calls and client_level_calls and missing_description
    assert {"active", "expired", "pending_rotation", "revoked"} <= credential_statuses
    assert {"credential_expired", "credential_revoked"} <= refused
    assert suspicious
    assert {"authentication", "admin_access", "role_change", "credential_access", "data_access"} <= categories


def test_role_change_approvals_match_their_events_and_the_memberships(seed):
    seed()
    with platform_context(reason="tests: role changes"):
        approvals = list(RoleChangeApproval.objects.filter(client_account_id__in=SEEDED).order_by("requested_at"))
        events = defaultdict(set)
        for event_type, details in SecurityAuditLog.objects.filter(event_category="role_change").values_list("event_type", "details"):
            events[details.get("approval_id")].add(event_type)
        roles = dict(ClientMembership.objects.filter(client_account_id__in=SEEDED).values_list("user_id", "role"))
    expected = {"PENDING": set(), "APPROVED": {"role_change", "role_escalation"}, "REJECTED": {"role_change_rejected"}}
    assert {a.status for a in approvals} >= {"APPROVED", "REJECTED"}
    for approval in approvals:
        decided = events[str(approval.pk)] - {"role_change_requested"}
        assert "role_change_requested" in events[str(approval.pk)]
        assert len(decided) == (0 if approval.status == "PENDING" else 1) and decided <= expected[approval.status]
    last_approved = {}
    for approval in approvals:
        if approval.status == "APPROVED":
            last_approved[approval.target_user_id] = approval.requested_role
    assert last_approved and all(roles[user] == role for user, role in last_approved.items())


def test_nothing_seeded_happens_after_the_reference_time(seed):
    report = seed()
    # Expiries lie ahead by design; the roll-up services stamp their rows with the wall clock.
    future_by_design = {"expires_at", "new_expires_at", "old_expires_at", "target_completion_date"}
    late = []
    with platform_context(reason="tests: seeded times"):
        for model in _our_models():
            if model in (AgentPerformanceDaily, LLMUsageSummary) or "client_account" not in _tenant_fields(model):
                continue
            for field in model._meta.concrete_fields:
                if field.get_internal_type() == "DateTimeField" and field.name not in future_by_design:
                    after = model.objects.filter(client_account_id__in=SEEDED, **{f"{field.name}__gt": report.reference_time})
                    if after.exists():
                        late.append(f"{model.__name__}.{field.name}")
    assert late == [], late
