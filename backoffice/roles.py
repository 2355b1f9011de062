"""The role map: which Django permissions each role (a Group) holds.

This module is the whole map, so a review sees who may do what. `sync_roles()` makes the
groups match it exactly; it runs after every `migrate` (post_migrate, once all apps'
permissions exist) and from `manage.py sync_roles`. Each app's permissions are added
here, never elsewhere."""

from django.contrib.auth.models import Group, Permission
from django.db import transaction

SUPPORT = "support"
COMPLIANCE = "compliance"
FINANCE = "finance"
MARKETING = "marketing"
RISK = "risk"
ADMINISTRATOR = "administrator"

ROLE_LABELS = {
    SUPPORT: "Support agent",
    COMPLIANCE: "Compliance officer",
    FINANCE: "Finance",
    MARKETING: "Marketing / CRM",
    RISK: "Risk / fraud",
    ADMINISTRATOR: "Administrator",
}
ROLES = list(ROLE_LABELS)

_AUDIT_READ = {"backoffice.view_auditevent"}
_APPROVALS = {"backoffice.view_approvalrequest"}

ROLE_PERMISSIONS: dict[str, set[str]] = {
    SUPPORT: set(),
    COMPLIANCE: _AUDIT_READ | _APPROVALS,
    FINANCE: _AUDIT_READ | _APPROVALS,
    MARKETING: set(),
    RISK: _AUDIT_READ,
    ADMINISTRATOR: _AUDIT_READ
    | _APPROVALS
    | {
        "backoffice.view_user",
        "backoffice.manage_operators",
        "backoffice.approve_grant_administrator",
        "backoffice.view_heartbeat",
        "django_celery_beat.view_periodictask",
        "django_celery_beat.change_periodictask",
        "django_celery_beat.add_periodictask",
        "django_celery_beat.view_crontabschedule",
        "django_celery_beat.add_crontabschedule",
        "django_celery_beat.change_crontabschedule",
        "django_celery_beat.view_intervalschedule",
        "django_celery_beat.add_intervalschedule",
        "django_celery_beat.change_intervalschedule",
    },
}


def role_permissions(role: str) -> set[str]:
    return set(ROLE_PERMISSIONS[role])


def _permission(code: str) -> Permission:
    app_label, codename = code.split(".", 1)
    try:
        return Permission.objects.get(content_type__app_label=app_label, codename=codename)
    except Permission.DoesNotExist:
        raise LookupError(f"Role map names an unknown permission: {code}") from None


@transaction.atomic
def sync_roles() -> dict[str, int]:
    """Create the groups and set each one's permissions to exactly the map."""
    counts = {}
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set([_permission(p) for p in sorted(perms)])
        counts[role] = len(perms)
    return counts
