"""Every list page renders with a bounded number of queries, the same for 1 row as for 31.

Client staff pages query the runtime connection (tenant context); platform admin pages
the owner connection (platform context). The counts include the tenant middleware's own
queries (session, user, memberships, the set_config calls, savepoints, which are nested
in the test's transaction here and so a few more than in production).
"""

import pytest
from django.contrib import admin
from django.db import connections
from django.test.utils import CaptureQueriesContext

from tenancy.context import platform_context, tenant_context
from tenancy.models import ClientMembership, EngagementAssignment

from .pages import changelist_url, rows_of, tenant_models

pytestmark = pytest.mark.django_db(databases=["default", "owner"])

MAX_TENANT_QUERIES = 24
MAX_PLATFORM_QUERIES = 14
# One membership per (client account, user) and one assignment per (engagement, user):
# the world's committed rows are what a list of them shows.
FIXED_ROWS = {ClientMembership, EngagementAssignment}
ALL_MODELS = sorted(admin.site._registry, key=lambda m: m._meta.label)
GROWING = [m for m in tenant_models() if m not in FIXED_ROWS]


def _label(model):
    return model._meta.label


@pytest.mark.parametrize("model", GROWING, ids=_label)
def test_client_staff_list_pages_do_not_grow_with_the_rows(world, client, model, django_assert_max_num_queries):
    client.force_login(world.a.users["client_admin"])
    url = changelist_url(model)
    with tenant_context(world.a.id):
        rows_of(model, world.a, 1)
    with CaptureQueriesContext(connections["default"]) as one_row:
        assert client.get(url).status_code == 200
    with tenant_context(world.a.id):
        rows_of(model, world.a, 30)
    with django_assert_max_num_queries(min(len(one_row), MAX_TENANT_QUERIES)):
        response = client.get(url)
    assert response.status_code == 200 and response.context["cl"].result_count >= 31


@pytest.mark.parametrize("model", GROWING, ids=_label)
def test_platform_admin_list_pages_do_not_grow_with_the_rows(world, client, model, django_assert_max_num_queries):
    url = changelist_url(model)
    owner = connections["owner"]
    with platform_context(reason="test: platform admin list pages"):
        client.force_login(world.platform_admin)
        rows_of(model, world.a, 1)
        with CaptureQueriesContext(owner) as one_row:
            assert client.get(url).status_code == 200
        rows_of(model, world.a, 15)
        rows_of(model, world.b, 15)
        with django_assert_max_num_queries(min(len(one_row), MAX_PLATFORM_QUERIES), connection=owner):
            response = client.get(url)
    assert response.status_code == 200 and response.context["cl"].result_count >= 31


@pytest.mark.parametrize("model", ALL_MODELS, ids=_label)
def test_every_list_page_is_bounded_for_both_kinds_of_user(world, client, model, django_assert_max_num_queries):
    url = changelist_url(model)
    client.force_login(world.a.users["client_admin"])
    with django_assert_max_num_queries(MAX_TENANT_QUERIES):
        # Users and API tokens are global, platform-only tables: 403 for client staff.
        assert client.get(url).status_code in (200, 403)
    with platform_context(reason="test: platform admin list pages"):
        client.force_login(world.platform_admin)
        with django_assert_max_num_queries(MAX_PLATFORM_QUERIES, connection=connections["owner"]):
            assert client.get(url).status_code == 200
