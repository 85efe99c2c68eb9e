import pytest
from django.contrib import admin
from django.urls import reverse

from modernize.agents.models import AgentPerformanceDaily, AgentTaskHistory
from modernize.flows.models import MasterFlow
from modernize.llm.models import LLMModelPricing, LLMUsageLog, LLMUsageSummary

pytestmark = pytest.mark.django_db(databases=["default", "owner"])

MODELS = [MasterFlow, AgentTaskHistory, AgentPerformanceDaily, LLMModelPricing, LLMUsageLog, LLMUsageSummary]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_domain_model_has_a_working_changelist(client, world, model):
    assert model in admin.site._registry
    client.force_login(world.platform_admin)
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    response = client.get(url, {"q": "gpt-4o"})
    assert response.status_code == 200


def test_the_price_list_is_listed_in_the_admin(client, world):
    client.force_login(world.platform_admin)
    response = client.get(reverse("admin:llm_llmmodelpricing_changelist"), {"q": "claude-3-5-haiku"})
    assert response.status_code == 200
    assert b"claude-3-5-haiku" in response.content


def test_roll_ups_are_read_only_in_the_admin(client, world):
    client.force_login(world.platform_admin)
    for model in (AgentPerformanceDaily, LLMUsageSummary):
        response = client.get(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add"))
        assert response.status_code == 403
