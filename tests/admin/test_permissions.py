"""Admin permissions come from the role in the selected client account; global tables are
edited by platform admins only; the admin log is a tenant table."""

import pytest
from django.contrib.admin.models import LogEntry
from django.db import DatabaseError, connections, transaction
from django.urls import reverse

from modernize.llm.models import LLMModelPricing
from modernize.security.models import SecurityAuditLog
from patterns.models import AgentDiscoveredPattern
from seeding.factories.patterns import AgentDiscoveredPatternFactory
from tenancy.context import platform_context, tenant_context
from tenancy.models import ClientAccount, ClientMembership, Engagement, EngagementAssignment, User

from .pages import change_url, changelist_url, form_data

pytestmark = pytest.mark.django_db(databases=["default", "owner"])


def _status(client, url, method="get", data=None):
    return getattr(client, method)(url, data or {}).status_code


# role -> (engagement add page, pattern change POST allowed, membership list, audit log list, users list)
EXPECTED = {
    "viewer": (403, False, 403, 403, 403),
    "analyst": (403, True, 403, 403, 403),
    "engagement_manager": (200, True, 200, 403, 403),
    "client_admin": (200, True, 200, 200, 403),
}


@pytest.mark.parametrize("role", list(EXPECTED))
def test_each_role_gets_what_its_rank_allows(world, client, role):
    engagement_add, edits_patterns, memberships, audit_logs, users = EXPECTED[role]
    client.force_login(world.a.users[role])
    assert _status(client, reverse("admin:tenancy_engagement_add")) == engagement_add
    assert _status(client, changelist_url(ClientMembership)) == memberships
    assert _status(client, changelist_url(SecurityAuditLog)) == audit_logs
    assert _status(client, changelist_url(User)) == users
    # Everyone reads the tenant's data and the global reference tables, nobody but platform admins edits the latter.
    assert _status(client, changelist_url(AgentDiscoveredPattern)) == 200
    assert _status(client, changelist_url(LLMModelPricing)) == 200
    assert _status(client, reverse("admin:llm_llmmodelpricing_add")) == 403
    assert _status(client, reverse("admin:platforms_platformadapter_add")) == 403

    with tenant_context(world.a.id):
        pattern = AgentDiscoveredPatternFactory(engagement=world.a.engagements[0], pattern_name="Unsupported Oracle 11g on billing")
        page = client.get(change_url(pattern))
        assert page.status_code == 200
        body = page.content.decode()
        assert ('name="_save"' in body) is edits_patterns
        data = {**form_data(page), "pattern_name": "Unsupported Oracle 11g on the billing cluster"}
        response = client.post(change_url(pattern), data)
        assert response.status_code == (302 if edits_patterns else 403)
        pattern.refresh_from_db()
    assert (pattern.pattern_name == "Unsupported Oracle 11g on the billing cluster") is edits_patterns


def test_client_staff_index_lists_no_global_user_tables(world, client):
    client.force_login(world.a.users["client_admin"])
    index = client.get("/admin/").content.decode()
    assert "/admin/tenancy/engagement/" in index and "/admin/patterns/agentdiscoveredpattern/" in index
    assert "/admin/tenancy/user/" not in index and "/admin/tenancy/apitoken/" not in index
    # Client staff cannot write the users table, so they get no password-change link.
    assert "/admin/password_change/" not in index
    assert client.get("/admin/password_change/").status_code == 403


def test_platform_admin_edits_global_tables(world, client):
    client.force_login(world.platform_admin)
    assert client.get(reverse("admin:llm_llmmodelpricing_add")).status_code == 200
    assert client.get(reverse("admin:tenancy_user_add")).status_code == 200
    assert "/admin/password_change/" in client.get("/admin/").content.decode()


def test_a_client_admin_edits_the_profile_of_the_account_not_its_plan(world, client):
    client.force_login(world.a.users["client_admin"])
    with tenant_context(world.a.id):
        page = client.get(change_url(world.a.account))
        data = {**form_data(page), "industry": "logistics", "max_users": "100000", "subscription_tier": "enterprise"}
        assert client.post(change_url(world.a.account), data).status_code == 302
        account = ClientAccount.objects.get(pk=world.a.id)
    assert account.industry == "logistics"
    assert account.max_users == world.a.account.max_users and account.subscription_tier == world.a.account.subscription_tier


def test_tenant_forms_pin_the_client_account_and_offer_only_members(world, client):
    client.force_login(world.a.users["engagement_manager"])
    add = client.get(reverse("admin:tenancy_engagementassignment_add"))
    form = add.context["adminform"].form
    assert form.fields["client_account"].disabled and form["client_account"].value() == str(world.a.id)
    with tenant_context(world.a.id):
        members = set(form.fields["user"].queryset.values_list("email", flat=True))
    assert "viewer@a.example" in members and "viewer@b.example" not in members and "spare@a.example" not in members
    with tenant_context(world.a.id):
        data = {"user": str(world.a.users["viewer"].pk), "engagement": str(world.a.engagements[1].pk),
                "client_account": str(world.b.id)}  # a forged tenant is ignored: the field is disabled
        assert client.post(reverse("admin:tenancy_engagementassignment_add"), data).status_code == 302
        assignment = EngagementAssignment.objects.get(user=world.a.users["viewer"], engagement=world.a.engagements[1])
    assert assignment.client_account_id == world.a.id


def test_autocomplete_offers_only_the_tenants_rows(world, client):
    client.force_login(world.a.users["engagement_manager"])
    params = {"app_label": "tenancy", "model_name": "engagementassignment", "field_name": "engagement", "term": "engagement"}
    response = client.get(reverse("admin:autocomplete"), params)
    assert response.status_code == 200
    assert {r["text"] for r in response.json()["results"]} == {"A engagement 1", "A engagement 2"}
    # Users are a global table: client staff choose among members, never search all users.
    params = {"app_label": "tenancy", "model_name": "engagementassignment", "field_name": "user", "term": "example"}
    assert client.get(reverse("admin:autocomplete"), params).status_code == 403


def test_platform_admin_form_refuses_a_parent_of_another_tenant(world, client):
    with platform_context(reason="test: admin form"):
        client.force_login(world.platform_admin)
        data = {"user": str(world.a.users["viewer"].pk), "engagement": str(world.b.engagements[0].pk), "client_account": str(world.a.id)}
        response = client.post(reverse("admin:tenancy_engagementassignment_add"), data)
        assert response.status_code == 200
        assert "This belongs to another client account than the row." in response.content.decode()
        assert not EngagementAssignment.objects.filter(user=world.a.users["viewer"], engagement=world.b.engagements[0]).exists()


def test_a_platform_admin_setting_a_role_here_is_recorded_as_a_role_change(world, client):
    with platform_context(reason="test: platform admin sets a role"):
        client.force_login(world.platform_admin)
        membership = ClientMembership.objects.get(user=world.b.users["viewer"], client_account=world.b.account)
        page = client.get(change_url(membership))
        assert client.post(change_url(membership), {**form_data(page), "role": "analyst"}).status_code == 302
        event = SecurityAuditLog.objects.get(event_type="role_escalation", target_user=world.b.users["viewer"])
        assert ClientMembership.objects.get(pk=membership.pk).role == "analyst"
    assert (event.client_account_id, event.actor_user_id, event.details["old_role"], event.details["new_role"]) == (
        world.b.id, world.platform_admin.pk, "viewer", "analyst",
    )


def _log_tenant(entry_id):
    with connections["owner"].cursor() as cursor:
        cursor.execute("SELECT client_account_id FROM django_admin_log WHERE id = %s", [entry_id])
        return cursor.fetchone()


def test_admin_log_entries_belong_to_the_tenant_and_stay_there(world, client):
    client.force_login(world.a.users["client_admin"])
    with tenant_context(world.a.id):
        page = client.get(change_url(world.a.engagements[1]))
        data = {**form_data(page), "priority": "critical" if world.a.engagements[1].priority != "critical" else "low"}
        assert client.post(change_url(world.a.engagements[1]), data).status_code == 302
        entry = LogEntry.objects.get(object_id=str(world.a.engagements[1].pk))
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT client_account_id FROM django_admin_log WHERE id = %s", [entry.pk])
            assert cursor.fetchone() == (world.a.id,)
        history = client.get(reverse("admin:tenancy_engagement_history", args=[world.a.engagements[1].pk]))
        assert "Changed Priority." in history.content.decode()
        assert "A engagement 2" in client.get("/admin/").content.decode()  # recent actions
    with tenant_context(world.b.id):
        assert not LogEntry.objects.filter(pk=entry.pk).exists()
    assert not LogEntry.objects.filter(pk=entry.pk).exists()  # no context: nothing


def test_the_runtime_role_cannot_forge_or_edit_admin_log_entries(world):
    with tenant_context(world.a.id):
        with connections["default"].cursor() as cursor:
            for statement in (
                "INSERT INTO django_admin_log (action_time, object_repr, action_flag, change_message, user_id, client_account_id) "
                f"VALUES (now(), 'forged', 1, '', '{world.a.users['client_admin'].pk}', '{world.b.id}')",
                "UPDATE django_admin_log SET object_repr = 'x'",
                "DELETE FROM django_admin_log",
            ):
                with pytest.raises(DatabaseError, match="row-level security|permission denied"):
                    with transaction.atomic(using="default"):
                        cursor.execute(statement)


def test_platform_admin_log_entries_are_platform_level(world, client):
    with platform_context(reason="test: a platform admin edits tenant A"):
        client.force_login(world.platform_admin)
        page = client.get(change_url(world.a.engagements[0]))
        data = {**form_data(page), "engagement_type": "modernization"}
        assert client.post(change_url(world.a.engagements[0]), data).status_code == 302
        entry = LogEntry.objects.filter(object_id=str(world.a.engagements[0].pk)).latest("action_time")
        assert _log_tenant(entry.pk) == (None,)
        assert Engagement.objects.get(pk=world.a.engagements[0].pk).engagement_type == "modernization"
