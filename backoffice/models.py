from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra):
        if not email:
            raise ValueError("An operator needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """An operator of the console. Signs in by email; roles are Groups (backoffice.roles)."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(default=True, help_text="May open the console.")
    is_active = models.BooleanField(default=True)
    # Demo operators get a published password and TOTP secret (`manage.py totp_code`);
    # that command refuses every other account.
    is_demo = models.BooleanField(default=False, editable=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = "operator"
        verbose_name_plural = "operators"
        ordering = ["email"]
        permissions = [
            ("manage_operators", "Create operators and change their roles"),
            ("approve_grant_administrator", "Approve granting the administrator role"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @property
    def role_names(self) -> list[str]:
        return sorted(g.name for g in self.groups.all())


class AuditEvent(models.Model):
    """Insert-only record of every change an operator (or the system) makes.

    Written by services inside their own transaction. On PostgreSQL a trigger refuses
    UPDATE and DELETE (migration 0002)."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # A snapshot of who acted ("ops@x", "system", "api:frontend"): stays readable if the
    # operator is later renamed or deactivated.
    actor_label = models.CharField(max_length=254)
    action = models.CharField(max_length=100, db_index=True)
    target_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id", "-created_at"], name="audit_target_idx"),
            models.Index(fields=["actor", "-created_at"], name="audit_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action}"


class ApprovalRequest(models.Model):
    """A four-eyes request: an action one operator asks for and another must approve.

    The action names a handler registered in backoffice.approvals; approving runs it."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved and executed"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Approved, but execution failed"
        CANCELLED = "cancelled", "Cancelled by requester"

    action = models.CharField(max_length=100, db_index=True)
    payload = models.JSONField(default=dict)
    summary = models.CharField(max_length=300)
    reason = models.TextField(help_text="Why the requester asks for it.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["requested_at", "id"]
        indexes = [models.Index(fields=["state", "requested_at"], name="approval_queue_idx")]
        constraints = [
            # Four-eyes holds even for a write that bypasses the service.
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("requested_by")),
                name="approval_decider_not_requester",
            ),
            models.CheckConstraint(
                condition=Q(state="pending") | Q(state="cancelled") | Q(decided_by__isnull=False),
                name="approval_decided_has_decider",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.summary}"


class Heartbeat(models.Model):
    """One row per beat-driven heartbeat name: proves the worker and beat are alive."""

    name = models.CharField(max_length=50, unique=True)
    last_seen = models.DateTimeField()
    hostname = models.CharField(max_length=200, blank=True)
    runs = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_seen:%H:%M:%S}"


class ApiClient(models.Model):
    """A machine client of the platform API (the casino front end). Its key is shown once
    at creation (`manage.py create_api_client`); only the prefix, for lookup, and a
    SHA-256 of the whole high-entropy key are stored."""

    name = models.CharField(max_length=100, unique=True)
    key_prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API client"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
