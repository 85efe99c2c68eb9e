"""A small profile for in-process seeding tests, and the seeded world they share."""

from dataclasses import replace

import pytest

from seeding import constants
from seeding.services import seed_comprehensive

# The demo profile, smaller: one seed takes a few seconds inside the test transaction.
MINI = replace(
    constants.PROFILES["demo"],
    name="mini",
    engagements_per_tenant=2,
    staff_per_tenant=3,
    flows_per_engagement=5,
    patterns=300,
    activity_days=30,
    credentials_per_engagement=3,
    role_changes_per_tenant=5,
)


@pytest.fixture
def mini_profile(monkeypatch):
    monkeypatch.setitem(constants.PROFILES, "mini", MINI)
    return "mini"


@pytest.fixture
def seed(mini_profile, world):
    """Seed the mini profile in the test's transaction (rolled back after the test)."""

    def run(**options):
        options = {"profile": mini_profile, "tenants": 2, "allow_demo_users": True, **options}
        return seed_comprehensive(**options)

    return run
