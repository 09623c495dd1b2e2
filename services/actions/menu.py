"""The service menu (服务清单): the services a union offers to the members of its subtree.

- Staff with change access define services for their subtree; `publish_service` puts one
  on the menu of every member below (`services.selectors.menu.menu_for`), `close_service`
  takes it off.
- Members order them (`services.actions.requests`) and ask for new ones
  (`services.actions.wishes`); both keep their counters under the menu's prefix,
  `services.menu.` (`services.selectors.menu.PREFIX`); their ground truth,
  `services.selectors.menu.count_menu_counters`, is registered here.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import record_audit
from members.actions.permissions import require
from members.models import EmploymentType
from organizations import counters, scope
from organizations.models import Level, Organization, Role

from ..models import Delivery, PublishStatus, Service
from ..selectors.menu import PREFIX as P
from ..selectors.menu import count_menu_counters
from . import check_active_org, recorded_actor, union_chain

__all__ = [
    "clean_service",
    "close_service",
    "create_service",
    "publish_service",
    "save_service",
    "update_service",
]

ROLE_PERMISSIONS = {
    Role.ADMIN: {"view_service", "add_service", "change_service"},
    Role.STAFF: {"view_service"},
}

SCHEDULES: list[dict] = []

# The requests' and wishes' counters too: `check_counters` compares them with the rows.
counters.register_source(P, count_menu_counters)


# --- The menu: services ----------------------------------------------------------------------

# The fields of a service that its actions take, in form order.
SERVICE_FIELDS = (
    "title",
    "category",
    "description",
    "capacity",
    "starts_on",
    "ends_on",
    "delivery",
    "station",
    "handling",
    "due_days",
    "audience_levels",
    "audience_employment_types",
)


def clean_service(
    *,
    organization: Organization,
    data: dict,
    audience_unions=(),
    service: Service | None = None,
) -> Service:
    """An unsaved Service for `organization` with `data` applied, or a ValidationError
    naming each bad field. Forms call it to show errors; the actions call it again."""
    unknown = set(data) - set(SERVICE_FIELDS)
    if unknown:
        raise ValidationError(_("Unknown fields: %(f)s.") % {"f": ", ".join(sorted(unknown))})
    check_active_org(organization)
    obj = Service(organization=organization) if service is None else service
    for field, value in data.items():
        setattr(obj, field, value)
    obj.title = (obj.title or "").strip()
    obj.description = (obj.description or "").strip()
    obj.audience_levels = list(obj.audience_levels or [])
    obj.audience_employment_types = list(obj.audience_employment_types or [])
    errors: dict[str, list[str]] = {}
    try:
        obj.full_clean(exclude=["organization", "created_by", "from_wish", "taken", "status"])
    except ValidationError as error:
        errors.update(error.message_dict)
    if obj.capacity is not None:
        if obj.capacity < 1:
            errors.setdefault("capacity", []).append(
                _("Give at least one place, or leave it empty for no limit.")
            )
        elif obj.pk and obj.capacity < obj.taken:
            errors.setdefault("capacity", []).append(
                _("%(n)s places are already taken; the capacity cannot be lower.")
                % {"n": obj.taken}
            )
    if obj.starts_on and obj.ends_on and obj.ends_on < obj.starts_on:
        errors.setdefault("ends_on", []).append(_("The end date is before the start date."))
    if obj.delivery == Delivery.STATION:
        station = obj.station
        if station is None:
            errors.setdefault("station", []).append(
                _("Choose the service station where the service is given.")
            )
        else:
            chain_ids = {o.pk for o in union_chain(organization)}
            if station.organization_id not in chain_ids:
                errors.setdefault("station", []).append(
                    _("Choose a station of this union or of a union above it.")
                )
            elif not station.is_active:
                errors.setdefault("station", []).append(_("This station is closed."))
    else:
        obj.station = None
    bad_levels = set(obj.audience_levels) - set(Level.values)
    if bad_levels:
        errors.setdefault("audience_levels", []).append(_("Choose levels from the list."))
    bad_types = set(obj.audience_employment_types) - set(EmploymentType.values)
    if bad_types:
        errors.setdefault("audience_employment_types", []).append(
            _("Choose employment types from the list.")
        )
    for union in audience_unions or ():
        if organization.pk not in {o.pk for o in union_chain(union)}:
            errors.setdefault("audience_unions", []).append(
                _("%(union)s is not below %(org)s.") % {"union": union, "org": organization}
            )
    if errors:
        raise ValidationError(errors)
    return obj


def save_service(obj: Service, audience_unions, acting_user, action: str) -> Service:
    """Write a cleaned service, its audience unions and its audit entry, inside the
    caller's transaction."""
    obj.save()
    if audience_unions is not None:
        obj.audience_unions.set(list(audience_unions))
    record_audit(
        actor=acting_user,
        action=action,
        obj=obj,
        organization=obj.organization,
        changes={"status": obj.status, "title": obj.title},
    )
    return obj


def create_service(
    *, organization: Organization, data: dict, audience_unions=(), acting_user
) -> Service:
    """Add a draft service to `organization`'s menu (publish it to show it to members)."""
    require(acting_user, scope.Access.CHANGE, organization)
    obj = clean_service(organization=organization, data=data, audience_unions=audience_unions)
    obj.created_by = recorded_actor(acting_user)
    with transaction.atomic():
        return save_service(obj, list(audience_unions), acting_user, f"{P}service_created")


def update_service(*, service: Service, data: dict, audience_unions=None, acting_user) -> Service:
    """Change a service's description, audience, capacity or period (not its status)."""
    require(acting_user, scope.Access.CHANGE, service)
    with transaction.atomic():
        locked = (
            Service.objects.select_for_update().select_related("organization").get(pk=service.pk)
        )
        obj = clean_service(
            organization=locked.organization,
            data=data,
            audience_unions=audience_unions or (),
            service=locked,
        )
        return save_service(obj, audience_unions, acting_user, f"{P}service_changed")


def _set_service_status(
    service: Service, acting_user, allowed_from, to: str, *, durable: bool = False
) -> Service:
    require(acting_user, scope.Access.CHANGE, service)
    with transaction.atomic(durable=durable):
        locked = Service.objects.select_for_update().get(pk=service.pk)
        if locked.status == to:
            raise ValidationError(
                _("“%(s)s” is already %(status)s.")
                % {"s": locked.title, "status": PublishStatus(to).label.lower()}
            )
        if locked.status not in allowed_from:
            raise ValidationError(
                _("“%(s)s” cannot be changed from %(status)s.")
                % {"s": locked.title, "status": PublishStatus(locked.status).label.lower()}
            )
        if to == PublishStatus.PUBLISHED:
            check_active_org(locked.organization)
            if locked.ends_on and locked.ends_on < timezone.localdate():
                raise ValidationError(
                    _("The period of “%(s)s” has ended; change its dates first.")
                    % {"s": locked.title}
                )
        previous = locked.status
        locked.status = to
        locked.save(update_fields=["status", "updated_at"])
        record_audit(
            actor=acting_user,
            action=f"{P}service_{to}",
            obj=locked,
            organization=locked.organization,
            changes={"status": [previous, to]},
        )
    return locked


def publish_service(*, service: Service, acting_user) -> Service:
    """Show the service on the menu of every member of the organization's subtree."""
    return _set_service_status(
        service, acting_user, {PublishStatus.DRAFT, PublishStatus.CLOSED}, PublishStatus.PUBLISHED
    )


def close_service(*, service: Service, acting_user) -> Service:
    """Take the service off the menu; open orders are still handled."""
    return _set_service_status(
        service,
        acting_user,
        {PublishStatus.DRAFT, PublishStatus.PUBLISHED},
        PublishStatus.CLOSED,
        durable=True,
    )
