"""Test database set-up and the shared tenant world.

The owner role creates and migrates the test database (the runtime role cannot run DDL,
by design); the runtime alias then points at it too. Django's own set-up would create it
through the `default` alias, which is the runtime role here.
"""

import os

from dataclasses import dataclass

import pytest
from django.conf import settings
from django.db import connections


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker):
    with django_db_blocker.unblock():
        owner = connections["owner"]
        # One test database per pytest process, so concurrent runs never clobber each other.
        owner.settings_dict["TEST"]["NAME"] = f"test_{owner.settings_dict['NAME']}_{os.getpid()}"
        old_name = owner.settings_dict["NAME"]
        test_name = owner.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=False)
        runtime = connections["default"]
        runtime.close()
        runtime.settings_dict["NAME"] = test_name
        settings.DATABASES["default"]["NAME"] = test_name
    yield
    with django_db_blocker.unblock():
        for alias in connections:
            connections[alias].close()
        owner.creation.destroy_test_db(old_name, verbosity=0, keepdb=False)


PASSWORD = "correct horse battery staple"


@dataclass
class Tenant:
    account: object
    engagements: list
    users: dict  # role -> User
    spare_user: object  # committed, member of nothing

    @property
    def id(self):
        return self.account.id


@dataclass
class World:
    a: Tenant
    b: Tenant
    platform_admin: object
    multi_user: object  # client_admin of A (older membership) and engagement_manager of B
    password: str = PASSWORD

    @property
    def tenants(self):
        return [self.a, self.b]


def _build_tenant(label: str) -> Tenant:
    from seeding.factories.tenancy import (
        ClientAccountFactory,
        ClientMembershipFactory,
        EngagementAssignmentFactory,
        EngagementFactory,
        UserFactory,
    )

    account = ClientAccountFactory(name=f"Tenant {label.upper()}", slug=f"tenant-{label}")
    engagements = [EngagementFactory(client_account=account, name=f"{label.upper()} engagement {i}") for i in (1, 2)]
    users = {}
    for role in ("client_admin", "engagement_manager", "analyst", "viewer"):
        user = UserFactory(email=f"{role}@{label}.example", is_staff=True)
        ClientMembershipFactory(client_account=account, user=user, role=role)
        if role in ("analyst", "viewer"):
            EngagementAssignmentFactory(engagement=engagements[0], user=user)
        users[role] = user
    spare = UserFactory(email=f"spare@{label}.example")
    return Tenant(account=account, engagements=engagements, users=users, spare_user=spare)


@pytest.fixture(scope="session")
def world(django_db_setup, django_db_blocker) -> World:
    """Two committed tenants (A, B) with two engagements and one user per role each.

    Written once through the owner (platform context) and committed, so both the owner
    and the runtime connection see it from inside every test's transaction.
    """
    from seeding.factories.tenancy import ClientMembershipFactory, UserFactory
    from tenancy.context import platform_context

    with django_db_blocker.unblock():
        with platform_context(reason="tests: build the shared tenant world"):
            world = World(
                a=_build_tenant("a"),
                b=_build_tenant("b"),
                platform_admin=UserFactory(email="platform@modernize.example", is_staff=True, is_superuser=True, is_platform_admin=True),
                multi_user=UserFactory(email="multi@consultancy.example", is_staff=True),
            )
            ClientMembershipFactory(client_account=world.a.account, user=world.multi_user, role="client_admin")
            ClientMembershipFactory(client_account=world.b.account, user=world.multi_user, role="engagement_manager")
    return world
