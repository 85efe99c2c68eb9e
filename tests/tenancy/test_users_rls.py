"""Users are global rows, but a request sees only itself and its tenant's members."""

import pytest
from django.db import connections

from tenancy.context import authentication_lookup, session_user_context, tenant_context

pytestmark = pytest.mark.django_db(databases=["default", "owner"])


def _emails() -> set[str]:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT email FROM users")
        return {row[0] for row in cursor.fetchall()}


def test_no_context_sees_no_user(world):
    assert _emails() == set()


def test_tenant_context_sees_its_members_only(world):
    with tenant_context(world.a.id):
        emails = _emails()
    assert {u.email for u in world.a.users.values()} <= emails
    assert not {u.email for u in world.b.users.values()} & emails
    assert world.platform_admin.email not in emails


def test_a_user_sees_itself_before_choosing_a_tenant(world):
    with session_user_context(world.b.spare_user.pk):
        assert _emails() == {world.b.spare_user.email}


def test_authentication_lookup_sees_everyone_and_ends_with_its_block(world):
    with tenant_context(world.a.id):
        with authentication_lookup():
            assert world.b.users["viewer"].email in _emails()
        assert world.b.users["viewer"].email not in _emails()


def test_login_by_email_works_for_any_user(client, world):
    response = client.post("/api/v1/auth/token/", {"email": world.b.users["viewer"].email, "password": world.password}, content_type="application/json")
    assert response.status_code == 201
