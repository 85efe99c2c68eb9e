"""The admin in a real browser: headless Debian chromium (Playwright) against gunicorn on
committed data. Screenshots of the main pages go to artifacts/screenshots/ (git-ignored).

The server has no static file handler (production serves /static/ from a proxy), so the
browser is given the admin's CSS and JavaScript from Django's static finders directly.
"""

from __future__ import annotations

import mimetypes
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.staticfiles import finders
from django.utils import timezone

from modernize.platforms.models import CredentialAccessLog, PlatformCredential
from modernize.platforms.services import platform_credential_create
from modernize.security.models import RoleChangeApproval, SecurityAuditLog
from modernize.security.services import role_change_request
from patterns.models import AgentDiscoveredPattern
from seeding.factories.patterns import AgentDiscoveredPatternFactory
from seeding.factories.platforms import shipped_adapter
from seeding.factories.tenancy import ClientMembershipFactory, UserFactory
from tenancy.context import platform_context
from tenancy.models import ClientMembership, User

from ..live import ROOT, gunicorn_server

pytestmark = [pytest.mark.browser, pytest.mark.django_db(databases=["default", "owner"])]

SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
SECRET = "AKIAIOSFODNN7BROWSER1:wJalrXUtnFEMI/K7MDENG/bPxRfiCYBROWSERKEY"
PATTERNS = "/admin/patterns/agentdiscoveredpattern/"


def _oracle(engagement, i):
    return AgentDiscoveredPatternFactory(
        engagement=engagement,
        pattern_type="RISK_FACTOR",
        pattern_name=f"Unsupported Oracle Database 11g on billing cluster {i}",
        pattern_description=f"Oracle Database 11g on billing cluster {i} is past end of support; upgrade before rehosting.",
    )


@pytest.fixture(scope="module")
def seeded(world, django_db_blocker):
    """Committed rows the browser works on, removed again (with what the server wrote) at the end."""
    started = timezone.now()
    with django_db_blocker.unblock():
        with platform_context(reason="tests: browser scenario data"):
            a_patterns = [_oracle(world.a.engagements[0], i) for i in range(7)]
            a_patterns.append(AgentDiscoveredPatternFactory(engagement=world.a.engagements[1], pattern_name="Chatty calls between SAP and Kafka"))
            b_patterns = [
                AgentDiscoveredPatternFactory(engagement=world.b.engagements[0], pattern_name=f"Mainframe CICS batch window {i} in tenant B")
                for i in range(3)
            ]
            credential = platform_credential_create(
                engagement=world.a.engagements[0], platform_adapter=shipped_adapter("Amazon Web Services"),
                credential_name="aws-browser-discovery", credential_type="api_key", secret=SECRET,
                created_by=world.a.users["client_admin"],
            )
            newcomer = UserFactory(email="newcomer@a.example", is_staff=True)
            ClientMembershipFactory(client_account=world.a.account, user=newcomer, role="viewer")
            approval = role_change_request(
                requested_by=world.a.users["engagement_manager"], target_user=newcomer, client_account_id=world.a.id,
                requested_role="analyst", justification="Joins the Dependency Analysis Agent review board.",
            )
    yield {"a_patterns": a_patterns, "b_patterns": b_patterns, "credential": credential, "newcomer": newcomer, "approval": approval}
    with django_db_blocker.unblock():
        with platform_context(reason="tests: remove the browser scenario data", audit=False):
            RoleChangeApproval.objects.filter(pk=approval.pk).delete()
            ClientMembership.objects.filter(user=newcomer).delete()
            CredentialAccessLog.objects.filter(credential_id=credential.pk).delete()
            PlatformCredential.objects.filter(pk=credential.pk).delete()
            AgentDiscoveredPattern.objects.filter(pk__in=[p.pk for p in a_patterns + b_patterns]).delete()
            SecurityAuditLog.objects.filter(created_at__gte=started).delete()
            LogEntry.objects.filter(action_time__gte=started).delete()
            User.objects.filter(pk=newcomer.pk).delete()


@pytest.fixture(scope="module")
def server(seeded):
    with gunicorn_server(threads=2) as base:
        yield base


def _serve_static(route):
    relative = urlsplit(route.request.url).path.removeprefix("/" + settings.STATIC_URL.lstrip("/"))
    found = finders.find(relative)
    if not found:
        route.fulfill(status=404, body="")
        return
    route.fulfill(path=found, content_type=mimetypes.guess_type(found)[0] or "application/octet-stream")


@contextmanager
def browser_page(base: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=base, viewport={"width": 1600, "height": 1000})
            context.route("**/static/**", _serve_static)
            page = context.new_page()
            page.set_default_timeout(20_000)
            yield page
        finally:
            browser.close()


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _log_in(page, user, password):
    page.goto("/admin/login/")
    page.fill("#id_username", user.email)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")


def test_client_admin_works_in_their_tenants(world, seeded, server):
    a_patterns, b_patterns = seeded["a_patterns"], seeded["b_patterns"]
    credential, approval = seeded["credential"], seeded["approval"]
    seen = {}
    with browser_page(server) as page:
        _log_in(page, world.multi_user, world.password)
        assert page.locator("#tenant-select option:checked").inner_text() == "Tenant A (Client admin)"
        _shot(page, "01-index-client-admin-tenant-a")

        page.goto(PATTERNS)
        listing = page.locator("#result_list").inner_text()
        assert a_patterns[0].pattern_name in listing and b_patterns[0].pattern_name not in listing
        _shot(page, "02-pattern-list-tenant-a")

        page.click(f"#result_list a:text-is('{a_patterns[0].pattern_name}')")
        page.wait_for_selector("#similar-patterns")
        assert "1536 dimensions" in page.locator(".field-embedding_summary").inner_text()
        similar = page.locator("#similar-patterns tbody tr")
        assert similar.count() == 5
        seen["similar"] = [float(t) for t in page.locator("#similar-patterns td.similarity").all_inner_texts()]
        _shot(page, "03-pattern-with-similar-patterns")
        neighbour = similar.first.locator("a")
        neighbour_name = neighbour.inner_text()
        neighbour.click()
        page.wait_for_selector("#similar-patterns")
        assert page.locator("#id_pattern_name").input_value() == neighbour_name

        page.goto("/admin/security/rolechangeapproval/")
        page.check(f"input[name=_selected_action][value='{approval.pk}']")
        page.select_option("select[name=action]", "approve_selected")
        page.click("button[name=index]")
        page.wait_for_selector(".messagelist")
        assert "1 request(s) approved." in page.locator(".messagelist").inner_text()
        _shot(page, "04-role-change-approved")

        page.goto(f"/admin/platforms/platformcredential/{credential.pk}/change/")
        assert "••••••••" in page.locator(".field-secret").inner_text()
        assert SECRET not in page.content()
        assert page.locator("#rotate-secret").count() == 1
        _shot(page, "05-credential-secret-masked")

        foreign = page.goto(f"{PATTERNS}{b_patterns[0].pk}/change/")
        assert foreign.status == 404
        assert b_patterns[0].pattern_name not in page.content()
        _shot(page, "06-foreign-pattern-404")

        page.goto(PATTERNS)
        page.select_option("#tenant-select", label="Tenant B (Engagement manager)")
        page.click("#tenant-switch-submit")
        page.wait_for_selector(".messagelist")
        assert "You are now working in Tenant B as Engagement manager." in page.locator(".messagelist").inner_text()
        listing = page.locator("#result_list").inner_text()
        assert b_patterns[0].pattern_name in listing and a_patterns[0].pattern_name not in listing
        _shot(page, "07-switched-to-tenant-b")
        assert page.goto(f"{PATTERNS}{b_patterns[0].pk}/change/").status == 200
        assert page.goto(f"{PATTERNS}{a_patterns[0].pk}/change/").status == 404

    assert seen["similar"] == sorted(seen["similar"], reverse=True)
    with platform_context(reason="tests: read what the browser changed"):
        approval.refresh_from_db()
        role = ClientMembership.objects.get(user=seeded["newcomer"], client_account=world.a.account).role
        escalation = SecurityAuditLog.objects.get(event_type="role_escalation", target_user=seeded["newcomer"])
    assert approval.status == "APPROVED" and approval.approved_by_id == world.multi_user.pk
    assert role == "analyst" and escalation.actor_user_id == world.multi_user.pk


def test_platform_admin_sees_both_tenants(world, seeded, server):
    with browser_page(server) as page:
        _log_in(page, world.platform_admin, world.password)
        assert "Platform context" in page.locator("[data-testid=platform-context]").inner_text()
        page.goto(PATTERNS)
        listing = page.locator("#result_list").inner_text()
        assert seeded["a_patterns"][0].pattern_name in listing and seeded["b_patterns"][0].pattern_name in listing
        assert "Tenant A" in listing and "Tenant B" in listing
        _shot(page, "08-platform-admin-pattern-list")
        page.goto(f"/admin/platforms/platformcredential/{seeded['credential'].pk}/change/")
        assert SECRET not in page.content()
    with platform_context(reason="tests: read the admin audit trail"):
        paths = set(
            SecurityAuditLog.objects.filter(actor_user=world.platform_admin, event_type="admin_access").values_list("request_path", flat=True)
        )
    assert {PATTERNS, f"/admin/platforms/platformcredential/{seeded['credential'].pk}/change/"} <= paths
