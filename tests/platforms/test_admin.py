"""The admin shows credentials with the secret masked and never offers it in a form."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from seeding.factories.platforms import PlatformCredentialFactory
from tenancy.context import platform_context, tenant_context
from tenancy.services import api_token_create

pytestmark = pytest.mark.django_db(databases=["default", "owner"])

SECRET = "vcenter-svc-P@ssw0rd-do-not-leak"


@pytest.mark.parametrize("app_label", ["platforms", "security", "tenancy"])
def test_every_model_is_registered(app_label):
    missing = [m.__name__ for m in apps.get_app_config(app_label).get_models() if not admin.site.is_registered(m)]
    assert missing == []


def test_credential_pages_mask_the_secret(world, client):
    # A's client admin works in A's tenant context, which the test's rows share.
    client.force_login(world.a.users["client_admin"])
    with tenant_context(world.a.id):
        credential = PlatformCredentialFactory(engagement=world.a.engagements[0], adapter_name="VMware vCenter", secret=SECRET)
        listing = client.get(reverse("admin:platforms_platformcredential_changelist"))
        detail = client.get(reverse("admin:platforms_platformcredential_change", args=[credential.pk]))
    assert listing.status_code == 200 and detail.status_code == 200
    assert credential.credential_name in listing.content.decode()
    page = detail.content.decode()
    assert credential.credential_name in page and "••••••••" in page
    for body in (listing.content, detail.content):
        assert SECRET.encode() not in body
        assert bytes(credential.encrypted_secret) not in body
    assert 'name="encrypted_secret"' not in page and 'name="secret"' not in page


def test_credentials_are_not_added_in_the_admin_and_adapters_only_by_platform_admins(world, client):
    client.force_login(world.platform_admin)
    assert client.get(reverse("admin:platforms_platformcredential_add")).status_code == 403
    assert client.get(reverse("admin:platforms_platformadapter_add")).status_code == 200
    client.force_login(world.a.users["client_admin"])
    assert client.get(reverse("admin:platforms_platformadapter_add")).status_code == 403
    assert client.get(reverse("admin:platforms_platformadapter_changelist")).status_code == 200


def test_user_admin_logs_in_by_email(world, client):
    client.force_login(world.platform_admin)
    add = client.get(reverse("admin:tenancy_user_add"))
    assert add.status_code == 200
    assert 'name="email"' in add.content.decode() and 'name="username"' not in add.content.decode()
    listing = client.get(reverse("admin:tenancy_user_changelist"), {"q": "platform@modernize.example"})
    assert "platform@modernize.example" in listing.content.decode()


def test_user_change_page_renders_without_username(world, client):
    client.force_login(world.platform_admin)
    page = client.get(reverse("admin:tenancy_user_change", args=[world.a.users["analyst"].pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="is_platform_admin"' in body and "analyst@a.example" in body and 'name="username"' not in body


def test_api_token_admin_is_read_only_and_hides_the_digest(world, client):
    # Inside the test's platform context every query (the session's too) uses the owner
    # connection, where the platform admin's admin requests read: write the token there.
    with platform_context(reason="test: a token for the admin"):
        client.force_login(world.platform_admin)
        key, token = api_token_create(user=world.a.users["analyst"])
        page = client.get(reverse("admin:tenancy_apitoken_change", args=[token.pk]))
        add = client.get(reverse("admin:tenancy_apitoken_add"))
    assert page.status_code == 200
    body = page.content.decode()
    assert token.key_prefix in body and token.key_digest not in body and key not in body
    assert add.status_code == 403
