"""Writes of the tenancy layer: API tokens."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from tenancy.authentication import token_digest
from tenancy.models import ApiToken, Engagement


def api_token_create(*, user) -> tuple[str, ApiToken]:
    """Issue a token for ``user``; return the raw key (shown once) and the stored row.

    Only the key's SHA-256 digest is stored, so a database dump reveals no usable token.
    """
    key = secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user,
        key_digest=token_digest(key),
        key_prefix=key[:8],
        created_at=now,
        expires_at=now + timedelta(hours=settings.API_TOKEN_TTL_HOURS),
    )
    return key, token


def api_token_revoke(*, key: str) -> bool:
    """Revoke the token with this raw key; return whether a live token was revoked."""
    return bool(
        ApiToken.objects.filter(key_digest=token_digest(key), revoked_at__isnull=True).update(revoked_at=timezone.now())
    )


def engagement_create(*, client_account_id, name: str, slug: str, **fields) -> Engagement:
    """Create an engagement of the client account in context (RLS refuses any other)."""
    return Engagement.objects.create(client_account_id=client_account_id, name=name, slug=slug, **fields)
