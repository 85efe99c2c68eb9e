import pytest

from seeding.factories.patterns import AgentDiscoveredPatternFactory
from tenancy.context import platform_context

pytestmark = pytest.mark.django_db(databases=["default", "owner"])


def test_admin_list_and_change_pages_render(world, client):
    # Plain ModelAdmin for now: a platform admin's pages read through the owner.
    with platform_context(reason="test: admin pages"):
        pattern = AgentDiscoveredPatternFactory(engagement=world.a.engagements[0])
        client.force_login(world.platform_admin)
        listing = client.get("/admin/patterns/agentdiscoveredpattern/")
        change = client.get(f"/admin/patterns/agentdiscoveredpattern/{pattern.pk}/change/")
    assert listing.status_code == 200
    assert pattern.pattern_name in listing.content.decode()
    assert change.status_code == 200
    assert "1536 dimensions" in change.content.decode()
