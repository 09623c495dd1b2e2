"""Read-only querysets of the members app; feature modules beside this one add theirs."""

from django.db.models import QuerySet

from organizations import scope
from organizations.models import Level, Organization, OrgStatus


def member_record_unions(user) -> QuerySet[Organization]:
    """The active grassroots unions whose member records `user` keeps (personal + change)."""
    return (
        scope.organizations(user, scope.Access.PERSONAL)
        .filter(scope.org_q(user, scope.Access.CHANGE))
        .filter(level=Level.GRASSROOTS, status=OrgStatus.ACTIVE)
        .order_by("name", "pk")
    )
