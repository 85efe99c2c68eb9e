"""Authentication happens once, in TenantContextMiddleware; DRF reads its result.

DRF authenticates inside the view, too late for the middleware to choose the tenant, so
the middleware resolves session and token users itself and these classes hand the result
to DRF (keeping DRF's CSRF rule for session-authenticated unsafe requests).
"""

from __future__ import annotations

import hashlib

from django.utils import timezone
from rest_framework import authentication, exceptions

from tenancy.context import authentication_lookup
from tenancy.models import ApiToken

KEYWORD = "Token"


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def token_from_header(request) -> str | None:
    """The raw key of an `Authorization: Token <key>` header, or None."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    parts = header.split()
    if len(parts) == 2 and parts[0] == KEYWORD:
        return parts[1]
    return None


def token_user(key: str):
    """The active user of a live token, or None (unknown, expired, revoked, inactive)."""
    now = timezone.now()
    with authentication_lookup():
        token = (
            ApiToken.objects.select_related("user")
            .filter(key_digest=token_digest(key), revoked_at__isnull=True, expires_at__gt=now, user__is_active=True)
            .first()
        )
    if token is None:
        return None
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


class ExpiringTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        if token_from_header(request._request) is None:
            return None
        user = getattr(request._request, "token_user", None)
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        return (user, None)

    def authenticate_header(self, request):
        return KEYWORD


class SessionAuthentication(authentication.SessionAuthentication):
    """DRF's session authentication; the session user was loaded by the middleware."""
