"""A committed fleet of client accounts for the live-server reliability tests.

Built through the owner (platform_context) and committed, so a gunicorn process sees it;
removed with everything the tests wrote into it (patterns, audit rows, tokens) at the end
of the module.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest

from tests.reliability.profile import CLIENTS_PER_TENANT, TENANTS

PATTERNS_PER_TENANT = 40


@dataclass
class FleetTenant:
    account: object
    engagement_ids: list[str]
    # One engagement manager and one token per concurrent client.
    tokens: list[str]
    user_ids: list[str]
    pattern_ids: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.account.id)


@dataclass
class Fleet:
    tenants: list[FleetTenant]
    password: str

    def owner_of(self) -> dict[str, str]:
        """Seeded pattern id -> client account id."""
        return {pid: t.id for t in self.tenants for pid in t.pattern_ids}


def fleet_build(label: str, *, tenants: int = TENANTS, clients: int = CLIENTS_PER_TENANT) -> Fleet:
    from patterns.models import AgentDiscoveredPattern
    from seeding.factories.patterns import AgentDiscoveredPatternFactory
    from seeding.factories.tenancy import ClientAccountFactory, ClientMembershipFactory, EngagementFactory, UserFactory
    from tenancy.context import platform_context
    from tenancy.services import api_token_create
    from tests.conftest import PASSWORD

    built = []
    with platform_context(reason=f"tests: build the reliability fleet {label}"):
        for t in range(tenants):
            account = ClientAccountFactory(name=f"Fleet {label} client {t}", slug=f"fleet-{label}-{t}")
            engagements = [EngagementFactory(client_account=account) for _ in range(2)]
            tokens, user_ids = [], []
            for c in range(clients):
                user = UserFactory(email=f"manager{c}@fleet-{label}-{t}.example")
                ClientMembershipFactory(client_account=account, user=user, role="engagement_manager")
                tokens.append(api_token_create(user=user)[0])
                user_ids.append(str(user.pk))
            rows = [
                AgentDiscoveredPatternFactory.build(engagement=engagements[i % 2], pattern_id=f"fleet-{label}-{t}-{i}")
                for i in range(PATTERNS_PER_TENANT)
            ]
            AgentDiscoveredPattern.objects.bulk_create(rows)
            built.append(
                FleetTenant(
                    account=account,
                    engagement_ids=[str(e.pk) for e in engagements],
                    tokens=tokens,
                    user_ids=user_ids,
                    pattern_ids=[str(r.pk) for r in rows],
                )
            )
    return Fleet(tenants=built, password=PASSWORD)


def fleet_remove(fleet: Fleet) -> None:
    from django.db import connections

    from tenancy.context import platform_context
    from tenancy.models import ClientAccount, User

    # A fault test may have restarted the server under this process's connections.
    for alias in connections:
        connections[alias].close()
    with platform_context(reason="tests: remove the reliability fleet"):
        ClientAccount.objects.filter(pk__in=[t.account.pk for t in fleet.tenants]).delete()
        User.objects.filter(pk__in=[u for t in fleet.tenants for u in t.user_ids]).delete()


@pytest.fixture(scope="module")
def fleet(django_db_setup, django_db_blocker):
    """TENANTS committed client accounts, CLIENTS_PER_TENANT managers with tokens each, seeded patterns."""
    with django_db_blocker.unblock():
        built = fleet_build(uuid.uuid4().hex[:8])
    yield built
    with django_db_blocker.unblock():
        fleet_remove(built)
