"""Client accounts (the tenant root), engagements, users and their roles.

Every multi-tenant table of the platform derives from ``TenantModel`` (client account and
engagement) or ``ClientScopedModel`` (client account only); RLS policies key on their
``client_account_id``, and ``TenantForeignKey`` keeps references inside one tenant.
"""

import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tenancy.constraints import TenantForeignKey


class Role(models.TextChoices):
    """Roles in rank order; ``platform_admin`` is global, the others per client account."""

    VIEWER = "viewer", "Viewer"
    ANALYST = "analyst", "Analyst"
    ENGAGEMENT_MANAGER = "engagement_manager", "Engagement manager"
    CLIENT_ADMIN = "client_admin", "Client admin"
    PLATFORM_ADMIN = "platform_admin", "Platform admin"


ROLE_RANK = {role.value: rank for rank, role in enumerate(Role)}
CLIENT_ROLES = [r for r in Role if r != Role.PLATFORM_ADMIN]


class TimestampedModel(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class ClientScopedModel(TimestampedModel):
    """A row owned by one client account (RLS key ``client_account_id``)."""

    client_account = models.ForeignKey("tenancy.ClientAccount", on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True


class TenantModel(ClientScopedModel):
    """A row of one engagement of one client account; the engagement must be the client's."""

    engagement = models.ForeignKey("tenancy.Engagement", on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True
        constraints = [TenantForeignKey(field="engagement", name="%(class)s_engagement_tenant_fk")]


class SubscriptionTier(models.TextChoices):
    FREE = "free"
    STANDARD = "standard"
    PROFESSIONAL = "professional"
    ENTERPRISE = "enterprise"


class CompanySize(models.TextChoices):
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"
    ENTERPRISE = "enterprise"


class ClientAccount(TimestampedModel):
    name = models.CharField(max_length=255)
    slug = models.SlugField(max_length=100, unique=True)
    industry = models.CharField(max_length=100, blank=True)
    company_size = models.CharField(max_length=20, choices=CompanySize.choices, default=CompanySize.MEDIUM)
    subscription_tier = models.CharField(max_length=20, choices=SubscriptionTier.choices, default=SubscriptionTier.STANDARD)
    max_users = models.PositiveIntegerField(default=50)
    max_engagements = models.PositiveIntegerField(default=20)
    features_enabled = models.JSONField(default=dict, blank=True)
    settings = models.JSONField(default=dict, blank=True)
    agent_preferences = models.JSONField(default=dict, blank=True)
    business_objectives = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        db_table = "client_accounts"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(company_size__in=CompanySize.values), name="client_accounts_company_size_valid"),
            models.CheckConstraint(
                condition=Q(subscription_tier__in=SubscriptionTier.values), name="client_accounts_subscription_tier_valid"
            ),
            models.CheckConstraint(condition=Q(max_users__gte=1), name="client_accounts_max_users_positive"),
            models.CheckConstraint(condition=Q(max_engagements__gte=1), name="client_accounts_max_engagements_positive"),
        ]

    def __str__(self):
        return self.name


class EngagementStatus(models.TextChoices):
    PLANNING = "planning"
    ACTIVE = "active"
    ON_HOLD = "on_hold"
    COMPLETED = "completed"


class EngagementPriority(models.TextChoices):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Engagement(ClientScopedModel):
    name = models.CharField(max_length=255)
    slug = models.SlugField(max_length=100)
    engagement_type = models.CharField(max_length=50, default="migration")
    status = models.CharField(max_length=20, choices=EngagementStatus.choices, default=EngagementStatus.PLANNING)
    priority = models.CharField(max_length=20, choices=EngagementPriority.choices, default=EngagementPriority.MEDIUM)
    start_date = models.DateField(null=True, blank=True)
    target_completion_date = models.DateField(null=True, blank=True)
    actual_completion_date = models.DateField(null=True, blank=True)
    engagement_lead = models.ForeignKey(
        "tenancy.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="led_engagements"
    )
    migration_scope = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        db_table = "engagements"
        ordering = ["client_account_id", "name"]
        constraints = [
            # Target of the composite foreign keys of every engagement-scoped table.
            models.UniqueConstraint(fields=["id", "client_account"], name="engagements_id_tenant_key"),
            models.UniqueConstraint(fields=["client_account", "slug"], name="engagements_client_slug_key"),
            models.CheckConstraint(condition=Q(status__in=EngagementStatus.values), name="engagements_status_valid"),
            models.CheckConstraint(condition=Q(priority__in=EngagementPriority.values), name="engagements_priority_valid"),
            models.CheckConstraint(
                condition=Q(target_completion_date__isnull=True)
                | Q(start_date__isnull=True)
                | Q(target_completion_date__gte=models.F("start_date")),
                name="engagements_target_after_start",
            ),
        ]

    def __str__(self):
        return self.name


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True, is_platform_admin=True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person; global (not a tenant row). Tenancy comes from memberships."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May log in to the admin.")
    is_platform_admin = models.BooleanField(default=False, help_text="Global role: works across tenants.")
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        db_table = "users"
        ordering = ["email"]
        constraints = [
            models.CheckConstraint(condition=Q(email=models.functions.Lower("email")), name="users_email_lowercase"),
        ]

    def __str__(self):
        return self.email

    def get_full_name(self):
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def get_short_name(self):
        return self.first_name or self.email


class ClientMembership(ClientScopedModel):
    """A user's role in one client account."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=30, choices=[(r.value, r.label) for r in CLIENT_ROLES], default=Role.VIEWER)
    is_active = models.BooleanField(default=True)

    class Meta:
        db_table = "client_memberships"
        ordering = ["client_account_id", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["client_account", "user"], name="client_memberships_client_user_key"),
            models.UniqueConstraint(fields=["id", "client_account"], name="client_memberships_id_tenant_key"),
            models.CheckConstraint(condition=Q(role__in=[r.value for r in CLIENT_ROLES]), name="client_memberships_role_valid"),
        ]
        indexes = [models.Index(fields=["user", "client_account"], name="client_member_user_idx")]

    def __str__(self):
        return f"{self.user_id} {self.role} @ {self.client_account_id}"


class EngagementAssignment(TenantModel):
    """Staffs a user on one engagement (analysts and viewers see only these)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="engagement_assignments")

    class Meta:
        db_table = "engagement_assignments"
        ordering = ["engagement_id", "user_id"]
        constraints = TenantModel.Meta.constraints + [
            models.UniqueConstraint(fields=["client_account", "engagement", "user"], name="engagement_assignments_key"),
        ]
        indexes = [models.Index(fields=["user", "client_account"], name="eng_assign_user_idx")]

    def __str__(self):
        return f"{self.user_id} on {self.engagement_id}"


class ApiToken(models.Model):
    """A revocable, expiring API token; only its SHA-256 digest is stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    key_digest = models.CharField(max_length=64, unique=True)
    key_prefix = models.CharField(max_length=8, help_text="First characters, to recognise a token without storing it.")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "api_tokens"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")), name="api_tokens_expiry_after_creation"),
        ]

    def __str__(self):
        return f"{self.key_prefix}… ({self.user_id})"
