"""Domain care in the admin: masked and rotated credentials, reviewed security events,
decided role changes, and patterns shown by their embedding's shape and neighbours."""

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from modernize.platforms.encryption import secret_decrypt
from modernize.platforms.models import CredentialRotationHistory, PlatformCredential
from modernize.platforms.services import credential_permission_grant, platform_credential_create
from modernize.security.models import RoleChangeApproval, SecurityAuditLog
from modernize.security.services import role_change_request
from patterns.embedders import get_embedder
from patterns.models import AgentDiscoveredPattern
from seeding.factories.patterns import AgentDiscoveredPatternFactory
from seeding.factories.platforms import shipped_adapter
from seeding.factories.security import RoleChangeApprovalFactory, SecurityAuditLogFactory
from tenancy.context import platform_context, tenant_context

from .pages import change_url, changelist_url

pytestmark = pytest.mark.django_db(databases=["default", "owner"])

OLD_SECRET = "AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
NEW_SECRET = "AKIAZZROTATED0000001:9f8e7d6c5b4a39281706f5e4d3c2b1a0ROTATED"


def _credential(world, name="aws-prod-discovery-readonly"):
    return platform_credential_create(
        engagement=world.a.engagements[0],
        platform_adapter=shipped_adapter("Amazon Web Services"),
        credential_name=name,
        credential_type="api_key",
        secret=OLD_SECRET,
        created_by=world.a.users["client_admin"],
    )


def _secret_of(credential_id) -> str:
    row = PlatformCredential.objects.get(pk=credential_id)
    return secret_decrypt(ciphertext=row.encrypted_secret, key_id=row.encryption_key_id, credential_id=row.pk)


def _rotate_url(credential):
    return reverse("admin:platforms_platformcredential_rotate", args=[credential.pk])


def test_a_granted_user_rotates_a_credential_through_the_service(world, client):
    analyst = world.a.users["analyst"]
    client.force_login(analyst)
    with tenant_context(world.a.id):
        credential = _credential(world)
        credential_permission_grant(credential=credential, permission_type="rotate", granted_by=world.a.users["client_admin"], user=analyst)
        change = client.get(change_url(credential))
        assert 'id="rotate-secret"' in change.content.decode()
        form = client.get(_rotate_url(credential))
        response = client.post(_rotate_url(credential), {"new_secret": NEW_SECRET, "new_expires_at": "2030-01-31T12:00", "reason": "90-day rotation policy"})
        assert response.status_code == 302 and response["Location"] == change_url(credential)
        assert _secret_of(credential.pk) == NEW_SECRET
        rotation = CredentialRotationHistory.objects.get(credential=credential)
        assert (rotation.rotation_type, rotation.success, rotation.rotated_by_id, rotation.reason) == ("manual", True, analyst.pk, "90-day rotation policy")
        assert rotation.new_expires_at.year == 2030
        assert LogEntry.objects.get(object_id=str(credential.pk)).change_message == "Rotated the secret."
        after = client.get(change_url(credential))
    for page in (change, form, after):
        body = page.content
        assert OLD_SECRET.encode() not in body and NEW_SECRET.encode() not in body
    assert "The secret of aws-prod-discovery-readonly was rotated" in after.content.decode()


def test_rotation_without_a_grant_is_refused_by_the_service(world, client):
    client.force_login(world.a.users["engagement_manager"])
    with tenant_context(world.a.id):
        credential = _credential(world)
        response = client.post(_rotate_url(credential), {"new_secret": NEW_SECRET, "reason": "try"}, follow=True)
        assert "has no live rotate permission" in response.content.decode()
        assert _secret_of(credential.pk) == OLD_SECRET


def test_viewers_get_no_rotation(world, client):
    client.force_login(world.a.users["viewer"])
    with tenant_context(world.a.id):
        credential = _credential(world)
        assert 'id="rotate-secret"' not in client.get(change_url(credential)).content.decode()
        assert client.get(_rotate_url(credential)).status_code == 403


def test_a_platform_admin_rotation_is_a_forced_platform_job(world, client):
    with platform_context(reason="test: platform admin rotates"):
        client.force_login(world.platform_admin)
        credential = _credential(world)
        response = client.post(_rotate_url(credential), {"new_secret": NEW_SECRET, "reason": "key exposed in a CI log"})
        assert response.status_code == 302
        rotation = CredentialRotationHistory.objects.get(credential=credential)
        assert _secret_of(credential.pk) == NEW_SECRET
    assert rotation.rotation_type == "forced" and rotation.rotated_by_id is None
    assert rotation.reason == "key exposed in a CI log (platform admin platform@modernize.example)"


def test_another_tenants_credential_rotation_url_is_a_404(world, client):
    # Written on the runtime connection in B's context: A's requests share the transaction, RLS hides it.
    with tenant_context(world.b.id):
        credential = platform_credential_create(
            engagement=world.b.engagements[0], platform_adapter=shipped_adapter("Amazon Web Services"),
            credential_name="aws-b-only", credential_type="api_key", secret=OLD_SECRET,
        )
    client.force_login(world.a.users["client_admin"])
    for url in (_rotate_url(credential), change_url(credential)):
        response = client.get(url)
        assert response.status_code == 404 and "aws-b-only" not in response.content.decode()
    assert client.post(_rotate_url(credential), {"new_secret": NEW_SECRET, "reason": "takeover"}).status_code == 404
    with tenant_context(world.b.id):
        assert _secret_of(credential.pk) == OLD_SECRET


def test_mark_reviewed_goes_through_the_service_and_skips_ones_own_events(world, client):
    admin_a = world.a.users["client_admin"]
    client.force_login(admin_a)
    with tenant_context(world.a.id):
        others = [SecurityAuditLogFactory(client_account=world.a.account, actor_user=world.a.users["analyst"], is_suspicious=True) for _ in range(2)]
        own = SecurityAuditLogFactory(client_account=world.a.account, actor_user=admin_a, is_suspicious=True)
        ids = [str(e.pk) for e in [*others, own]]
        response = client.post(changelist_url(SecurityAuditLog), {"action": "mark_reviewed", "_selected_action": ids}, follow=True)
        page = response.content.decode()
        assert "2 event(s) marked reviewed." in page and "another admin must review them" in page
        reviewed = {e.pk: (e.reviewed_by_id, e.reviewed_at is not None) for e in SecurityAuditLog.objects.filter(pk__in=ids)}
        record = SecurityAuditLog.objects.get(event_type="security_events_reviewed", actor_user=admin_a)
    assert reviewed == {others[0].pk: (admin_a.pk, True), others[1].pk: (admin_a.pk, True), own.pk: (None, False)}
    assert record.details["count"] == 2 and set(record.details["event_ids"]) == {str(others[0].pk), str(others[1].pk)}


def test_only_client_admins_review_events(world, client):
    client.force_login(world.a.users["engagement_manager"])
    assert client.get(changelist_url(SecurityAuditLog)).status_code == 403


def test_reject_action_decides_through_the_service(world, client):
    client.force_login(world.a.users["client_admin"])
    with tenant_context(world.a.id):
        approval = role_change_request(
            requested_by=world.a.users["engagement_manager"], target_user=world.a.users["analyst"], client_account_id=world.a.id,
            requested_role="engagement_manager", justification="Leads wave 2 planning for the SAP estate.",
        )
        response = client.post(changelist_url(RoleChangeApproval), {"action": "reject_selected", "_selected_action": [str(approval.pk)]}, follow=True)
        assert "1 request(s) rejected." in response.content.decode()
        approval.refresh_from_db()
        assert (approval.status, approval.approved_by_id) == ("REJECTED", world.a.users["client_admin"].pk)
        assert SecurityAuditLog.objects.filter(event_type="role_change_rejected", details__approval_id=str(approval.pk)).exists()


def test_a_request_by_someone_outside_the_tenant_is_still_listed(world, client):
    # Users are under RLS: a platform admin (no membership) is invisible to the tenant,
    # which must not hide the request they opened.
    client.force_login(world.a.users["client_admin"])
    with tenant_context(world.a.id):
        approval = RoleChangeApprovalFactory(
            client_account=world.a.account, requested_by=world.platform_admin, target_user=world.a.users["viewer"],
            current_role="viewer", requested_role="analyst",
        )
        listing = client.get(changelist_url(RoleChangeApproval))
        detail = client.get(change_url(approval))
    assert listing.status_code == 200 and listing.context["cl"].result_count == 1
    row = listing.content.decode()
    assert "viewer@a.example" in row and "platform@modernize.example" not in row
    assert detail.status_code == 200 and "platform@modernize.example" not in detail.content.decode()


def test_analysts_do_not_see_role_change_requests(world, client):
    client.force_login(world.a.users["analyst"])
    assert client.get(changelist_url(RoleChangeApproval)).status_code == 403


def _oracle_patterns(engagement, n):
    return [
        AgentDiscoveredPatternFactory(
            engagement=engagement,
            pattern_type="RISK_FACTOR",
            pattern_name=f"Unsupported Oracle Database 11g on billing cluster {i}",
            pattern_description=f"Oracle Database 11g on billing cluster {i} is past end of support; upgrade before rehosting.",
        )
        for i in range(n)
    ]


def test_pattern_page_shows_the_embedding_shape_and_the_five_most_similar(world, client):
    client.force_login(world.a.users["client_admin"])
    with platform_context(reason="test: a near-identical pattern of tenant B"):
        foreign = _oracle_patterns(world.b.engagements[0], 1)[0]
    with tenant_context(world.a.id):
        pattern, *neighbours = _oracle_patterns(world.a.engagements[0], 7)
        AgentDiscoveredPatternFactory(engagement=world.a.engagements[1], pattern_name="Chatty calls between SAP and Kafka",
                                      pattern_description="Thousands of small synchronous calls per transaction.")
        with CaptureQueriesContext(connections["default"]) as queries:
            page = client.get(change_url(pattern))
        body = page.content.decode()
    assert page.status_code == 200
    assert f"1536 dimensions · norm 1.0000 · model {get_embedder().model_name}" in body
    table = body[body.index('id="similar-patterns"'):body.index("</table>", body.index('id="similar-patterns"'))]
    assert table.count("<tr>") == 6  # header + five
    linked = {str(n.pk) for n in neighbours if change_url(n) in table}
    assert len(linked) == 5 and change_url(pattern) not in table
    similarities = [float(cell.split("<")[0]) for cell in table.split('class="similarity">')[1:]]
    assert similarities == sorted(similarities, reverse=True) and all(0 < s <= 1 for s in similarities)
    assert str(foreign.pk) not in body
    # The vector is measured in SQL; the page's own queries never fetch the 1536 numbers.
    fetched = [q["sql"] for q in queries.captured_queries if 'SELECT "agent_discovered_patterns"."id"' in q["sql"]]
    assert fetched and all('"agent_discovered_patterns"."embedding",' not in sql for sql in fetched)


def test_reembed_action_recomputes_through_the_service(world, client):
    client.force_login(world.a.users["analyst"])
    with tenant_context(world.a.id):
        patterns = _oracle_patterns(world.a.engagements[0], 2)
        AgentDiscoveredPattern.objects.filter(pk__in=[p.pk for p in patterns]).update(embedding=[0.5] * 1536, embedding_model="text-embedding-ada-002")
        response = client.post(
            changelist_url(AgentDiscoveredPattern), {"action": "reembed_selected", "_selected_action": [str(patterns[0].pk)]}, follow=True
        )
        assert "1 pattern(s) re-embedded." in response.content.decode()
        models = dict(AgentDiscoveredPattern.objects.filter(pk__in=[p.pk for p in patterns]).values_list("pk", "embedding_model"))
        vector = AgentDiscoveredPattern.objects.get(pk=patterns[0].pk).embedding
    assert models == {patterns[0].pk: get_embedder().model_name, patterns[1].pk: "text-embedding-ada-002"}
    assert abs(sum(float(x) ** 2 for x in vector) - 1) < 1e-4


def test_viewers_cannot_reembed(world, client):
    client.force_login(world.a.users["viewer"])
    with tenant_context(world.a.id):
        pattern = _oracle_patterns(world.a.engagements[0], 1)[0]
        AgentDiscoveredPattern.objects.filter(pk=pattern.pk).update(embedding_model="text-embedding-ada-002")
        client.post(changelist_url(AgentDiscoveredPattern), {"action": "reembed_selected", "_selected_action": [str(pattern.pk)]})
        assert AgentDiscoveredPattern.objects.get(pk=pattern.pk).embedding_model == "text-embedding-ada-002"
