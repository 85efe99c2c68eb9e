"""Who sees what in the admin: platform admins across tenants (audited), client staff in
their selected client account only, switching between their own accounts, 404 for the rest."""

import pytest
from django.test import Client
from django.urls import reverse

from modernize.security.models import SecurityAuditLog
from seeding.factories.tenancy import UserFactory
from tenancy.context import platform_context, tenant_context
from tenancy.middleware import SESSION_TENANT_KEY
from tenancy.models import Engagement, User

from .pages import change_url, changelist_url

pytestmark = pytest.mark.django_db(databases=["default", "owner"])

INDEX = "/admin/"


@pytest.fixture(scope="module")
def staff_without_membership(world, django_db_blocker):
    """A committed staff user who belongs to no client account and is no platform admin."""
    with django_db_blocker.unblock():
        with platform_context(reason="tests: a staff user without membership"):
            user = UserFactory(email="staff-nowhere@modernize.example", is_staff=True)
    yield user
    with django_db_blocker.unblock():
        with platform_context(reason="tests: remove the staff user without membership"):
            SecurityAuditLog.objects.filter(actor_user_id=user.pk).delete()
            User.objects.filter(pk=user.pk).delete()


def _names(response) -> str:
    return response.content.decode()


def test_platform_admin_sees_every_tenant_and_each_request_is_audited(world, client):
    client.force_login(world.platform_admin)
    url = changelist_url(Engagement)
    response = client.get(url)
    assert response.status_code == 200
    page = _names(response)
    assert "A engagement 1" in page and "B engagement 1" in page
    assert 'data-testid="platform-context"' in page
    with platform_context(reason="test: read the audit trail"):
        events = SecurityAuditLog.objects.filter(actor_user=world.platform_admin, request_path=url)
        assert [(e.event_type, e.event_category, e.request_method) for e in events] == [("admin_access", "admin_access", "GET")]
        # The admin-access row is the record of this platform access; no second row per request.
        assert not SecurityAuditLog.objects.filter(actor_user=world.platform_admin, event_type="platform_context_entered").exists()


def test_client_staff_see_only_their_client_account(world, client):
    client.force_login(world.b.users["viewer"])
    page = _names(client.get(changelist_url(Engagement)))
    assert "B engagement 1" in page
    assert "A engagement" not in page
    # Viewers are confined to their assigned engagement, as in the API.
    assert "B engagement 2" not in page


def test_tenant_staff_requests_are_not_platform_access(world, client):
    client.force_login(world.a.users["client_admin"])
    assert client.get(changelist_url(Engagement)).status_code == 200
    with platform_context(reason="test: read the audit trail"):
        assert not SecurityAuditLog.objects.filter(actor_user=world.a.users["client_admin"], event_type="admin_access").exists()


@pytest.mark.parametrize("view", ["change", "delete", "history"])
def test_another_tenants_object_url_is_a_404(world, client, view):
    foreign = world.b.engagements[0]
    client.force_login(world.a.users["client_admin"])
    response = client.get(reverse(f"admin:tenancy_engagement_{view}", args=[foreign.pk]))
    assert response.status_code == 404
    assert foreign.name not in _names(response)
    # A POST (delete confirmation, change) must not reach the object either.
    assert client.post(reverse(f"admin:tenancy_engagement_{view}", args=[foreign.pk]), {"post": "yes"}).status_code in (404, 405)
    with platform_context(reason="test: the engagement survived"):
        assert Engagement.objects.filter(pk=foreign.pk).exists()


@pytest.mark.parametrize("object_id", ["00000000-0000-4000-8000-000000000000", "not-a-uuid"])
def test_unknown_object_ids_are_a_404_too(world, client, object_id):
    client.force_login(world.a.users["client_admin"])
    assert client.get(f"/admin/tenancy/engagement/{object_id}/change/").status_code == 404


def test_staff_without_membership_are_not_admitted(world, client, staff_without_membership):
    client.force_login(staff_without_membership)
    response = client.get(INDEX)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_multi_tenant_user_switches_from_the_header(world, client):
    client.force_login(world.multi_user)
    index = _names(client.get(INDEX))
    assert 'id="tenant-select"' in index and "Tenant A (Client admin)" in index and "Tenant B (Engagement manager)" in index
    assert "A engagement 1" in _names(client.get(changelist_url(Engagement)))

    # Switching from an object page of A returns to the list, where the object is not.
    response = client.post(
        reverse("admin:tenant_switch"), {"client_account_id": str(world.b.id), "next": change_url(world.a.engagements[0])}
    )
    assert response.status_code == 302 and response["Location"] == changelist_url(Engagement)
    assert client.session[SESSION_TENANT_KEY] == str(world.b.id)
    listing = client.get(changelist_url(Engagement))
    page = _names(listing)
    assert "B engagement 1" in page and "A engagement" not in page
    assert "You are now working in Tenant B as Engagement manager." in page
    assert client.get(change_url(world.a.engagements[0])).status_code == 404
    assert client.get(change_url(world.b.engagements[0])).status_code == 200


def test_switching_to_a_foreign_account_is_refused_and_recorded(world, client):
    client.force_login(world.a.users["client_admin"])
    response = client.post(reverse("admin:tenant_switch"), {"client_account_id": str(world.b.id), "next": INDEX})
    assert response.status_code == 403
    assert SESSION_TENANT_KEY not in client.session
    with tenant_context(world.a.id):
        event = SecurityAuditLog.objects.get(event_type="forged_tenant_switch", actor_user=world.a.users["client_admin"])
    assert event.is_suspicious and event.details == {"requested_client_account_id": str(world.b.id)}
    assert "A engagement 1" in _names(client.get(changelist_url(Engagement)))


def test_switch_only_accepts_a_csrf_protected_post(world):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.multi_user)
    url = reverse("admin:tenant_switch")
    assert browser.get(url).status_code == 405
    assert browser.post(url, {"client_account_id": str(world.b.id)}).status_code == 403
    assert SESSION_TENANT_KEY not in browser.session


@pytest.mark.parametrize("target", ["https://evil.example/admin/", "/api/v1/engagements/", ""])
def test_switch_redirects_only_inside_the_admin(world, client, target):
    client.force_login(world.multi_user)
    response = client.post(reverse("admin:tenant_switch"), {"client_account_id": str(world.b.id), "next": target})
    assert response.status_code == 302 and response["Location"] == INDEX
