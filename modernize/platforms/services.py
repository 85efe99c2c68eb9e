"""Writes of platform credentials: creation, the one secret reveal, rotation, key rotation, grants.

Every service runs inside the caller's tenant_context (or platform_context for platform
jobs) and writes its access log and audit event in the same transaction. A refusal is
recorded durably (owner connection, own transaction) and then raised, so the raise that
rolls the caller back does not erase the record of the attempt.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, router, transaction
from django.http import HttpRequest
from django.utils import timezone

from modernize.platforms.encryption import (
    CredentialDecryptionError,
    CredentialKeyError,
    current_key_id,
    secret_decrypt,
    secret_encrypt,
)
from modernize.platforms.models import (
    AdapterStatus,
    CredentialAccessLog,
    CredentialAccessType,
    CredentialPermission,
    CredentialRotationHistory,
    CredentialStatus,
    PermissionType,
    PlatformAdapter,
    PlatformCredential,
    RotationType,
    VaultProvider,
)
from modernize.platforms.selectors import credential_permission_is_granted
from modernize.security.models import AuditCategory, Severity
from modernize.security.services import durable_audit_save, request_audit_fields, security_event_record
from tenancy.context import TenantContextError, current_platform, current_tenant, platform_context
from tenancy.models import CLIENT_ROLES, ClientMembership, Engagement, Role


class CredentialAccessDenied(PermissionDenied):
    """The credential may not be used this way now (revoked, expired, no live grant)."""


class CredentialInvalid(ValidationError):
    """The credential operation was asked with unusable arguments."""


def _require_context(action: str) -> None:
    if current_tenant() is None and current_platform() is None:
        raise TenantContextError(f"{action} must run inside tenant_context or platform_context.")


def _atomic():
    return transaction.atomic(using=router.db_for_write(PlatformCredential))


def _access_log(
    credential: PlatformCredential,
    *,
    user,
    access_type: str,
    purpose: str,
    success: bool,
    failure_reason: str = "",
    request: HttpRequest | None = None,
    at: datetime | None = None,
) -> CredentialAccessLog:
    origin = request_audit_fields(request)
    return CredentialAccessLog(
        client_account_id=credential.client_account_id,
        engagement_id=credential.engagement_id,
        credential_id=credential.pk,
        user_id=getattr(user, "pk", None),
        access_type=access_type,
        purpose=purpose[:255],
        success=success,
        failure_reason=failure_reason,
        accessed_at=at or timezone.now(),
        ip_address=origin.get("ip_address"),
        user_agent=origin.get("user_agent", ""),
    )


def _credential_event(
    credential: PlatformCredential, *, event_type: str, description: str, user=None, request=None, details=None, **flags
):
    return security_event_record(
        event_type=event_type,
        event_category=AuditCategory.CREDENTIAL_ACCESS,
        description=description,
        client_account_id=credential.client_account_id,
        engagement_id=credential.engagement_id,
        actor_user_id=getattr(user, "pk", None),
        request=request,
        details={"credential_id": str(credential.pk), "credential_name": credential.credential_name, **(details or {})},
        **flags,
    )


def _refuse(
    credential: PlatformCredential,
    *,
    user,
    access_type: str,
    purpose: str,
    reason: str,
    message: str,
    request=None,
    severity: str = Severity.WARNING,
    suspicious: bool = False,
    extra_rows=(),
) -> CredentialAccessDenied:
    """Record a refused access durably and return the exception to raise."""
    failed = _access_log(credential, user=user, access_type=access_type, purpose=purpose, success=False, failure_reason=reason, request=request)
    for row in (*extra_rows, failed):
        try:
            durable_audit_save(row)
        except IntegrityError:
            # The credential itself is still uncommitted (created in the caller's own
            # transaction), so the owner's foreign key cannot see it; the audit event
            # below, which does not reference it, still records the refusal.
            pass
    _credential_event(
        credential,
        event_type=f"credential_{access_type}_refused",
        description=message,
        user=user,
        request=request,
        details={"access_type": access_type, "reason": reason, "purpose": purpose},
        severity=severity,
        is_suspicious=suspicious,
        requires_review=True,
        durable=True,
    )
    return CredentialAccessDenied(message)


def _visible_credential(credential: PlatformCredential, *, lock: bool = False) -> PlatformCredential:
    """The credential's current row in this context (fresh status and ciphertext)."""
    queryset = PlatformCredential.objects.select_related("platform_adapter")
    if lock:
        # NO KEY UPDATE: a durable refusal row inserted meanwhile through the owner
        # connection takes KEY SHARE on this row for its foreign key, which FOR UPDATE
        # would block until this very transaction ends (a deadlock across connections).
        queryset = queryset.select_for_update(no_key=True, of=("self",))
    try:
        return queryset.get(pk=credential.pk)
    except PlatformCredential.DoesNotExist:
        raise CredentialAccessDenied("This credential is not visible in the current context.") from None


def platform_credential_create(
    *,
    engagement: Engagement,
    platform_adapter: PlatformAdapter,
    credential_name: str,
    credential_type: str,
    secret: str,
    vault_provider: str = VaultProvider.LOCAL,
    expires_at: datetime | None = None,
    created_by=None,
    request: HttpRequest | None = None,
) -> PlatformCredential:
    """Store a credential of ``engagement``'s client with ``secret`` encrypted under the current key.

    Writes a ``create`` access log and a ``credential_created`` audit event. Grants
    nobody anything (see credential_permission_grant). Raises CredentialInvalid for an
    empty secret or an adapter that is not active; the database refuses a duplicate
    name for the same adapter in the client account (IntegrityError).
    """
    _require_context("platform_credential_create")
    if not secret:
        raise CredentialInvalid("A credential needs a secret.")
    if platform_adapter.status != AdapterStatus.ACTIVE:
        raise CredentialInvalid(f"Adapter {platform_adapter} is {platform_adapter.status}; create credentials for an active adapter version.")
    credential = PlatformCredential(
        client_account_id=engagement.client_account_id,
        engagement=engagement,
        platform_adapter=platform_adapter,
        credential_name=credential_name,
        credential_type=credential_type,
        vault_provider=vault_provider,
        expires_at=expires_at,
        created_by=created_by,
    )
    credential.encryption_key_id, credential.encrypted_secret = secret_encrypt(secret=secret, credential_id=credential.pk)
    with _atomic():
        credential.save(force_insert=True)
        _access_log(credential, user=created_by, access_type=CredentialAccessType.CREATE, purpose="credential created", success=True, request=request).save(
            force_insert=True
        )
        _credential_event(
            credential,
            event_type="credential_created",
            description=f"Credential {credential_name} created for {platform_adapter}.",
            user=created_by,
            request=request,
            details={"adapter": str(platform_adapter), "credential_type": credential_type, "vault_provider": vault_provider},
        )
    return credential


def platform_credential_secret_reveal(*, credential: PlatformCredential, user, purpose: str, request: HttpRequest | None = None) -> str:
    """Return the clear secret of ``credential`` to ``user``: the only function that does.

    Checks the stored row (not the caller's copy): it must be neither revoked nor expired
    (status or ``expires_at``), and ``user`` must hold a live ``read`` grant (see
    ``credential_permission_is_granted``). Writes a ``decrypt`` access log and a
    ``credential_secret_revealed`` audit event. On refusal both are written with
    success false (durably) and CredentialAccessDenied is raised; a ciphertext that does
    not decrypt is recorded as suspicious and CredentialDecryptionError re-raised.
    """
    _require_context("platform_credential_secret_reveal")
    if not purpose or not purpose.strip():
        raise CredentialInvalid("Say why the secret is needed: the purpose goes into the access log.")
    access = CredentialAccessType.DECRYPT
    # Checks only read; a refusal is recorded outside any savepoint of this service, so a
    # caller that catches it (a platform job) keeps the record.
    current = _visible_credential(credential)
    now = timezone.now()
    refusal = None
    if current.status == CredentialStatus.REVOKED:
        refusal = ("credential_revoked", f"Credential {current.credential_name} is revoked; its secret can no longer be read.")
    elif current.status == CredentialStatus.EXPIRED or (current.expires_at is not None and current.expires_at <= now):
        refusal = ("credential_expired", f"Credential {current.credential_name} has expired; rotate it before use.")
    elif not credential_permission_is_granted(credential=current, user=user, permission_type=PermissionType.READ, at=now):
        refusal = (
            "no_read_permission",
            f"{user} has no live read permission on credential {current.credential_name}; ask a client admin for a grant.",
        )
    if refusal:
        raise _refuse(current, user=user, access_type=access, purpose=purpose, reason=refusal[0], message=refusal[1], request=request)
    try:
        secret = secret_decrypt(ciphertext=current.encrypted_secret, key_id=current.encryption_key_id, credential_id=current.pk)
    except (CredentialDecryptionError, CredentialKeyError) as error:
        tampered = isinstance(error, CredentialDecryptionError)
        _refuse(
            current, user=user, access_type=access, purpose=purpose, request=request,
            reason="decryption_failed" if tampered else "encryption_key_missing", message=str(error),
            severity=Severity.CRITICAL, suspicious=tampered,
        )
        raise
    with _atomic():
        _access_log(current, user=user, access_type=access, purpose=purpose, success=True, request=request, at=now).save(force_insert=True)
        _credential_event(
            current,
            event_type="credential_secret_revealed",
            description=f"Secret of credential {current.credential_name} revealed to {user}.",
            user=user,
            request=request,
            details={"purpose": purpose, "encryption_key_id": current.encryption_key_id},
        )
    return secret


def platform_credential_rotate(
    *,
    credential: PlatformCredential,
    new_secret: str,
    rotated_by,
    rotation_type: str,
    reason: str,
    new_expires_at: datetime | None = None,
    request: HttpRequest | None = None,
) -> PlatformCredential:
    """Replace the secret, encrypted with the current key, and record the rotation; return the row.

    ``rotated_by=None`` is a platform job (automatic or forced rotation, no permission
    check); a person needs a live ``rotate`` grant. The credential becomes active with
    ``expires_at = new_expires_at`` (None: no expiry) and ``last_rotated_at`` now.
    Writes rotation history, a ``rotate`` access log and a ``credential_rotated`` event.
    Raises CredentialInvalid for bad arguments and CredentialAccessDenied (recorded,
    with a failed rotation row) for a revoked credential or a missing grant.
    """
    _require_context("platform_credential_rotate")
    if rotation_type not in RotationType.values:
        raise CredentialInvalid(f"{rotation_type!r} is not a rotation type; choose one of {', '.join(RotationType.values)}.")
    if rotated_by is None and rotation_type == RotationType.MANUAL:
        raise CredentialInvalid("A manual rotation names the user who rotates (rotated_by).")
    if not new_secret:
        raise CredentialInvalid("A rotation needs the new secret.")
    now = timezone.now()
    if new_expires_at is not None and new_expires_at <= now:
        raise CredentialInvalid("The new expiry of a rotated credential must be in the future.")
    purpose = f"{rotation_type} rotation: {reason}"
    with _atomic():
        current = _visible_credential(credential, lock=True)
        history = CredentialRotationHistory(
            client_account_id=current.client_account_id,
            engagement_id=current.engagement_id,
            credential=current,
            rotation_type=rotation_type,
            old_expires_at=current.expires_at,
            new_expires_at=new_expires_at,
            reason=reason,
            rotated_by=rotated_by,
            rotated_at=now,
            success=True,
        )
        refusal = None
        if current.status == CredentialStatus.REVOKED:
            refusal = ("credential_revoked", f"Credential {current.credential_name} is revoked; create a new credential instead of rotating it.")
        elif rotated_by is not None and not credential_permission_is_granted(
            credential=current, user=rotated_by, permission_type=PermissionType.ROTATE, at=now
        ):
            refusal = ("no_rotate_permission", f"{rotated_by} has no live rotate permission on credential {current.credential_name}.")
        if refusal is None:
            _rotation_apply(current, history=history, new_secret=new_secret, request=request)
    if refusal:
        # Recorded after this service's savepoint (see platform_credential_secret_reveal);
        # the row lock stays with the caller's transaction.
        history.success, history.error_message = False, refusal[1]
        raise _refuse(
            current, user=rotated_by, access_type=CredentialAccessType.ROTATE, purpose=purpose,
            reason=refusal[0], message=refusal[1], request=request, extra_rows=[history],
        )
    return current


def _rotation_apply(current: PlatformCredential, *, history: CredentialRotationHistory, new_secret: str, request) -> None:
    """The writes of a permitted rotation (see platform_credential_rotate)."""
    current.encryption_key_id, current.encrypted_secret = secret_encrypt(secret=new_secret, credential_id=current.pk)
    current.status = CredentialStatus.ACTIVE
    current.expires_at = history.new_expires_at
    current.last_rotated_at = history.rotated_at
    current.save(update_fields=["encryption_key_id", "encrypted_secret", "status", "expires_at", "last_rotated_at", "updated_at"])
    history.save(force_insert=True)
    _access_log(
        current,
        user=history.rotated_by,
        access_type=CredentialAccessType.ROTATE,
        purpose=f"{history.rotation_type} rotation: {history.reason}",
        success=True,
        request=request,
        at=history.rotated_at,
    ).save(force_insert=True)
    _credential_event(
        current,
        event_type="credential_rotated",
        description=f"Credential {current.credential_name} rotated ({history.rotation_type}).",
        user=history.rotated_by,
        request=request,
        details={"rotation_type": history.rotation_type, "reason": history.reason, "rotation_id": str(history.pk)},
    )


def platform_credential_reencrypt_all(*, batch_size: int = 200) -> int:
    """Re-encrypt every secret not under the current key with it; return how many moved.

    The platform job of key rotation: put the new key first in CREDENTIAL_ENCRYPTION_KEYS,
    run this, then drop the old key. Opens platform_context itself (TenantContextError
    inside a tenant context); rows are locked batch by batch so a concurrent rotation is
    not overwritten. Raises CredentialKeyError, before changing anything, when a stored key
    id is not configured; CredentialDecryptionError (whole job rolled back) names a row
    whose ciphertext does not decrypt. Writes a ``reencrypt`` access log per credential.
    """
    target = current_key_id()
    with platform_context(reason=f"credential key rotation: re-encrypt secrets with key {target}"):
        stale = PlatformCredential.objects.exclude(encryption_key_id=target)
        old_key_ids = set(stale.values_list("encryption_key_id", flat=True).distinct())
        missing = sorted(old_key_ids - set(settings.CREDENTIAL_ENCRYPTION_KEYS))
        if missing:
            raise CredentialKeyError(
                f"Stored secrets use key ids {', '.join(missing)}, which are not in CREDENTIAL_ENCRYPTION_KEYS; add them back before re-encrypting."
            )
        moved, last_id = 0, None
        while True:
            page = stale.select_for_update().order_by("id")
            if last_id is not None:
                page = page.filter(id__gt=last_id)
            batch = list(page[:batch_size])
            if not batch:
                break
            now = timezone.now()
            logs = []
            for row in batch:
                secret = secret_decrypt(ciphertext=row.encrypted_secret, key_id=row.encryption_key_id, credential_id=row.pk)
                purpose = f"key rotation {row.encryption_key_id} -> {target}"
                row.encryption_key_id, row.encrypted_secret = secret_encrypt(secret=secret, credential_id=row.pk, key_id=target)
                row.updated_at = now
                logs.append(_access_log(row, user=None, access_type=CredentialAccessType.REENCRYPT, purpose=purpose, success=True, at=now))
            PlatformCredential.objects.bulk_update(batch, ["encryption_key_id", "encrypted_secret", "updated_at"])
            CredentialAccessLog.objects.bulk_create(logs)
            moved += len(batch)
            last_id = batch[-1].pk
        security_event_record(
            event_type="credential_keys_rotated",
            event_category=AuditCategory.CREDENTIAL_ACCESS,
            description=f"Re-encrypted {moved} credential secrets with key {target}.",
            details={"key_id": target, "from_key_ids": sorted(old_key_ids), "count": moved},
        )
    return moved


def _require_grant_authority(credential: PlatformCredential, actor, action: str) -> None:
    if getattr(actor, "is_platform_admin", False):
        return
    is_admin = ClientMembership.objects.filter(
        user_id=actor.pk, client_account_id=credential.client_account_id, role=Role.CLIENT_ADMIN, is_active=True
    ).exists()
    if not is_admin or not actor.is_active:
        raise CredentialAccessDenied(f"Only a client admin of this client account or a platform admin may {action} credential permissions.")


def credential_permission_grant(
    *,
    credential: PlatformCredential,
    permission_type: str,
    granted_by,
    user=None,
    role: str = "",
    expires_at: datetime | None = None,
    request: HttpRequest | None = None,
) -> CredentialPermission:
    """Grant ``permission_type`` on ``credential`` to a user, to a client role and above, or to a user while holding a role.

    A new grant replaces (revokes) the grantee's unrevoked grant of the same type.
    ``granted_by`` must be a client admin of the credential's client account or a
    platform admin (CredentialAccessDenied); a granted user must be an active member of
    that client account, and the role a client role (CredentialInvalid). Writes a
    ``credential_permission_granted`` audit event.
    """
    _require_context("credential_permission_grant")
    if permission_type not in PermissionType.values:
        raise CredentialInvalid(f"{permission_type!r} is not a permission; choose one of {', '.join(PermissionType.values)}.")
    if user is None and not role:
        raise CredentialInvalid("A credential permission is granted to a user, a role, or both.")
    if role and role not in [r.value for r in CLIENT_ROLES]:
        raise CredentialInvalid(f"{role!r} is not a client role; choose one of {', '.join(r.value for r in CLIENT_ROLES)}.")
    now = timezone.now()
    if expires_at is not None and expires_at <= now:
        raise CredentialInvalid("A permission must expire in the future.")
    _require_grant_authority(credential, granted_by, "grant")
    if user is not None and not ClientMembership.objects.filter(
        user_id=user.pk, client_account_id=credential.client_account_id, is_active=True
    ).exists():
        raise CredentialInvalid(f"{user} is not an active member of this credential's client account.")
    with _atomic():
        replaced = CredentialPermission.objects.filter(
            credential_id=credential.pk, user_id=getattr(user, "pk", None), role=role, permission_type=permission_type, revoked_at__isnull=True
        ).update(revoked_at=now, updated_at=now)
        permission = CredentialPermission.objects.create(
            client_account_id=credential.client_account_id,
            engagement_id=credential.engagement_id,
            credential_id=credential.pk,
            user=user,
            role=role,
            permission_type=permission_type,
            granted_by=granted_by,
            granted_at=now,
            expires_at=expires_at,
        )
        _credential_event(
            credential,
            event_type="credential_permission_granted",
            description=f"{permission_type} on {credential.credential_name} granted to {user or ''}{' as ' if user and role else ''}{role}.",
            user=granted_by,
            request=request,
            details={
                "permission_id": str(permission.pk),
                "permission_type": permission_type,
                "user_id": str(user.pk) if user else None,
                "role": role,
                "expires_at": expires_at.isoformat() if expires_at else None,
                "replaced": replaced,
            },
        )
    return permission


def credential_permission_revoke(*, permission: CredentialPermission, revoked_by, request: HttpRequest | None = None) -> CredentialPermission:
    """Revoke a grant now (a revoked one is returned unchanged); same authority as the grant.

    Writes a ``credential_permission_revoked`` audit event. Raises CredentialAccessDenied
    when ``revoked_by`` may not manage the credential's permissions.
    """
    _require_context("credential_permission_revoke")
    with _atomic():
        permission = CredentialPermission.objects.select_related("credential").select_for_update(of=("self",)).get(pk=permission.pk)
        _require_grant_authority(permission.credential, revoked_by, "revoke")
        if permission.revoked_at is not None:
            return permission
        permission.revoked_at = timezone.now()
        permission.save(update_fields=["revoked_at", "updated_at"])
        _credential_event(
            permission.credential,
            event_type="credential_permission_revoked",
            description=f"{permission.permission_type} permission {permission.pk} on {permission.credential.credential_name} revoked.",
            user=revoked_by,
            request=request,
            details={"permission_id": str(permission.pk), "permission_type": permission.permission_type},
        )
    return permission
