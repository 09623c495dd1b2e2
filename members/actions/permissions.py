"""Who may do what to member records, beyond the tenant scope's own checks."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from organizations import scope
from organizations.models import Organization


def require(user, access: scope.Access, obj, message: str | None = None) -> None:
    """PermissionDenied unless `user` (None: the system itself) reaches `obj` for `access`."""
    if user is not None and not scope.can(user, access, obj):
        raise PermissionDenied(message or _("This is outside your area of responsibility."))


def keeps_member_records(user, org: Organization) -> bool:
    """Whether `user` (None: the system itself) keeps the member records of `org`:
    an administrator of the grassroots union (personal data and change)."""
    return user is None or (
        scope.can(user, scope.Access.PERSONAL, org) and scope.can(user, scope.Access.CHANGE, org)
    )


def require_member_admin(user, org: Organization) -> None:
    """Keeping member records: administrators of the member's own grassroots union."""
    if not keeps_member_records(user, org):
        raise PermissionDenied(_("This is outside your area of responsibility."))


def require_wage_admin(user, organization: Organization) -> None:
    """Wage bases: administrators of the member's union who hold `change_wage_base`."""
    require_member_admin(user, organization)
    if user is not None and not user.has_perm("members.change_wage_base"):
        raise PermissionDenied(_("You may not see or change wage bases."))
