"""Reads of the adapter registry and of credential permissions (never of secrets)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from modernize.platforms.models import (
    AdapterStatus,
    CredentialPermission,
    CredentialStatus,
    PlatformAdapter,
    PlatformCredential,
)
from tenancy.models import CLIENT_ROLES, ROLE_RANK, ClientMembership


def platform_adapters_available() -> QuerySet[PlatformAdapter]:
    """Adapters a new credential may be created for (active ones), by name and version."""
    return PlatformAdapter.objects.filter(status=AdapterStatus.ACTIVE).order_by("adapter_name", "version")


def credential_permission_is_granted(*, credential: PlatformCredential, user, permission_type: str, at: datetime | None = None) -> bool:
    """Whether ``user`` holds a live ``permission_type`` grant on ``credential`` at ``at`` (now).

    The user must be active and an active member of the credential's client account
    (platform admins get nothing implicitly). A grant is live when neither revoked nor
    expired, and matches the user when it names them, or names a role the user holds or
    outranks, or both (then both must match).
    """
    if not user.is_active:
        return False
    role = (
        ClientMembership.objects.filter(user_id=user.pk, client_account_id=credential.client_account_id, is_active=True)
        .values_list("role", flat=True)
        .first()
    )
    if role is None:
        return False
    at = at or timezone.now()
    covered_roles = [r.value for r in CLIENT_ROLES if ROLE_RANK[r.value] <= ROLE_RANK[role]]
    return (
        CredentialPermission.objects.filter(credential_id=credential.pk, permission_type=permission_type, revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at))
        .filter(Q(user__isnull=True) | Q(user_id=user.pk))
        .filter(Q(role="") | Q(role__in=covered_roles))
        .exists()
    )


def platform_credentials_due_for_rotation(*, within: timedelta = timedelta(days=14)) -> QuerySet[PlatformCredential]:
    """Credentials marked pending_rotation, or active and expiring within ``within``, soonest first."""
    horizon = timezone.now() + within
    return (
        PlatformCredential.objects.filter(
            Q(status=CredentialStatus.PENDING_ROTATION) | Q(status=CredentialStatus.ACTIVE, expires_at__lte=horizon)
        )
        .select_related("platform_adapter")
        .order_by("expires_at")
    )
