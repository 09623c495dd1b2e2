"""The service menu (服务清单), members' orders (会员点单), service wishes and confidential notes.

- Staff with change access define services for their subtree; `publish_service` puts one
  on the menu of every member below (`services.selectors.menu.menu_for`).
- A member orders a service: a place is taken by a conditional UPDATE, so concurrent
  orders never exceed the capacity; a rejected or cancelled order gives the place back.
- The handling union's staff accept, start, complete or reject; the member may cancel
  early and rates the result once.
- Members propose wishes to a union of their chain and vote; staff decline a wish or
  answer it with a new service, and everyone who voted is told.
- Legal-aid and counselling requests carry confidential notes that only the handling
  staff read: officers at exactly the handling union, and the request's handler.

Counters are kept at the member's own union (requests) and at the addressed union
(wishes), in the transaction of the change.
"""

from __future__ import annotations

import datetime
from collections import Counter

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.audit import record_audit
from members.actions import require
from members.models import EmploymentType, Member
from notifications.actions import link_for, notify_on_commit
from organizations import counters, scope
from organizations.models import Level, Organization, OrgRole, Role

from ..models import (
    OPEN_REQUEST_STATUSES,
    ConfidentialNote,
    Delivery,
    Handling,
    PublishStatus,
    RequestStatus,
    RequestStep,
    Service,
    ServiceCategory,
    ServiceRequest,
    ServiceWish,
    WishStatus,
    WishVote,
)
from . import (
    check_active_org,
    check_offered_to,
    officers_of,
    recorded_actor,
    require_current_member,
    required_text,
    union_chain,
)

__all__ = [
    "accept_request",
    "add_confidential_note",
    "answer_wish_with_service",
    "available_steps",
    "can_see_confidential",
    "cancel_request",
    "clean_service",
    "close_service",
    "complete_request",
    "confidential_notes",
    "create_service",
    "decline_wish",
    "order_service",
    "propose_wish",
    "publish_service",
    "rate_request",
    "reject_request",
    "start_request",
    "update_service",
    "vote_wish",
    "withdraw_vote",
]

P = "services.menu."

NOTIFICATION_KINDS = [
    (
        f"{P}request_new",
        gettext_lazy("New order for “%(service)s”"),
        gettext_lazy("A member ordered this service; accept or reject it before %(due)s."),
    ),
    (
        f"{P}request_accepted",
        gettext_lazy("Your order for “%(service)s” was accepted"),
        gettext_lazy("%(union)s will handle it."),
    ),
    (
        f"{P}request_started",
        gettext_lazy("Work on your order for “%(service)s” has started"),
        gettext_lazy("%(union)s is working on it."),
    ),
    (
        f"{P}request_completed",
        gettext_lazy("Your order for “%(service)s” is done"),
        gettext_lazy("See the result and tell us how it went: rate it in My requests."),
    ),
    (
        f"{P}request_rejected",
        gettext_lazy("Your order for “%(service)s” was not accepted"),
        gettext_lazy("Reason: %(reason)s"),
    ),
    (
        f"{P}request_cancelled",
        gettext_lazy("The order for “%(service)s” was cancelled"),
        gettext_lazy("The place is free again."),
    ),
    (
        f"{P}request_rated",
        gettext_lazy("A member rated “%(service)s”: %(rating)s of 5"),
        gettext_lazy("See the request for the comment."),
    ),
    (
        f"{P}wish_answered",
        gettext_lazy("A wish you supported was answered: “%(wish)s”"),
        gettext_lazy("%(union)s now offers “%(service)s”."),
    ),
    (
        f"{P}wish_declined",
        gettext_lazy("A wish you supported was declined: “%(wish)s”"),
        gettext_lazy("%(union)s answered: %(answer)s"),
    ),
]

ROLE_PERMISSIONS = {
    Role.ADMIN: {
        "view_service",
        "add_service",
        "change_service",
        "view_servicerequest",
        "change_servicerequest",
        "view_servicewish",
        "change_servicewish",
    },
    Role.STAFF: {
        "view_service",
        "view_servicerequest",
        "change_servicerequest",
        "view_servicewish",
        "change_servicewish",
    },
}

SCHEDULES: list[dict] = []


# --- Counters ------------------------------------------------------------------------------


def count_menu_counters() -> dict[tuple[int, str], int]:
    """Ground truth of every `services.menu.` counter, from the rows."""
    truth: Counter = Counter()
    requests = ServiceRequest.objects.values_list(
        "member_union_id", "status", "service__category"
    ).annotate(n=Count("pk"))
    for union_id, status, category, n in requests:
        truth[(union_id, f"{P}requests")] += n
        truth[(union_id, f"{P}category.{category}")] += n
        if status in (RequestStatus.COMPLETED, RequestStatus.REJECTED, RequestStatus.CANCELLED):
            truth[(union_id, f"{P}{status}")] += n
    rated = (
        ServiceRequest.objects.filter(rating__isnull=False)
        .values_list("member_union_id")
        .annotate(total=Sum("rating"), n=Count("pk"))
    )
    for union_id, total, n in rated:
        truth[(union_id, f"{P}rating_sum")] += total
        truth[(union_id, f"{P}rating_count")] += n
    for org_id, n in (
        ServiceWish.objects.filter(status=WishStatus.OPEN)
        .values_list("organization_id")
        .annotate(n=Count("pk"))
    ):
        truth[(org_id, f"{P}wishes_open")] += n
    for org_id, n in WishVote.objects.values_list("wish__organization_id").annotate(n=Count("pk")):
        truth[(org_id, f"{P}wish_votes")] += n
    return dict(truth)


counters.register_source(P, count_menu_counters)


# --- Helpers ---------------------------------------------------------------------------------


def _is_member_self(user, member: Member) -> bool:
    return (
        recorded_actor(user) is not None
        and member.user_id is not None
        and member.user_id == user.pk
    )


def _require_member_self(user, member: Member) -> None:
    if not _is_member_self(user, member):
        raise PermissionDenied(_("Only the member themself can do this."))


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


def _save_service(obj: Service, audience_unions, acting_user, action: str) -> Service:
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
        return _save_service(obj, list(audience_unions), acting_user, f"{P}service_created")


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
        return _save_service(obj, audience_unions, acting_user, f"{P}service_changed")


def _set_service_status(service: Service, acting_user, allowed_from, to: str) -> Service:
    require(acting_user, scope.Access.CHANGE, service)
    with transaction.atomic():
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
        service, acting_user, {PublishStatus.DRAFT, PublishStatus.PUBLISHED}, PublishStatus.CLOSED
    )


# --- Ordering --------------------------------------------------------------------------------


def _request_context(req: ServiceRequest, **extra) -> dict:
    return {"service": req.service.title, "union": req.organization.name, **extra}


def _notify_member(req: ServiceRequest, kind: str, step: str, **extra) -> None:
    notify_on_commit(
        [req.member.user_id],
        f"{P}{kind}",
        _request_context(req, **extra),
        link_for("services-my-requests"),
        dedupe_key=f"{P}request:{req.pk}:{step}",
    )


def _notify_staff(req: ServiceRequest, kind: str, step: str, *, exclude=None, **extra) -> None:
    ids = set(officers_of(req.organization))
    if req.handler_id:
        ids.add(req.handler_id)
    ids.discard(getattr(exclude, "pk", None))
    notify_on_commit(
        sorted(ids),
        f"{P}{kind}",
        _request_context(req, **extra),
        link_for("admin:services_servicerequest_change", req.pk),
        dedupe_key=f"{P}request:{req.pk}:{step}",
    )


def order_service(
    *, service: Service, member: Member, note: str = "", acting_user
) -> ServiceRequest:
    """The member orders a service of their menu; a place is taken if it is limited."""
    _require_member_self(acting_user, member)
    require_current_member(member)
    note = (note or "").strip()
    if len(note) > 2000:
        raise ValidationError({"note": [_("Keep your note under 2001 characters.")]})
    member = Member.objects.select_related("organization").get(pk=member.pk)
    chain_ids = [o.pk for o in union_chain(member.organization)]
    service = Service.objects.select_related("organization").get(pk=service.pk)
    if service.status != PublishStatus.PUBLISHED:
        raise ValidationError(_("This service is not on offer any more."))
    today = timezone.localdate()
    if service.starts_on and service.starts_on > today:
        raise ValidationError(
            _("This service can be ordered from %(date)s.") % {"date": service.starts_on}
        )
    if service.ends_on and service.ends_on < today:
        raise ValidationError(_("The period of this service has ended."))
    check_offered_to(service, member, chain_ids)
    handling_org = (
        member.organization if service.handling == Handling.MEMBERS_UNION else service.organization
    )
    already = _("You already have an open order for this service; see My requests.")
    with transaction.atomic():
        if ServiceRequest.objects.filter(
            service=service, member=member, status__in=OPEN_REQUEST_STATUSES
        ).exists():
            raise ValidationError(already)
        # The place is taken by the database itself: the condition and the increment are
        # one statement, so two orders can never both take the last place.
        taken = Service.objects.filter(pk=service.pk, status=PublishStatus.PUBLISHED)
        if service.capacity is not None:
            taken = taken.filter(taken__lt=F("capacity"))
        if not taken.update(taken=F("taken") + 1):
            raise ValidationError(_("Sorry, all places of this service are taken."))
        now = timezone.now()
        req = ServiceRequest(
            service=service,
            member=member,
            organization=handling_org,
            member_union=member.organization,
            note=note,
            due_at=now + datetime.timedelta(days=service.due_days),
        )
        try:
            with transaction.atomic():
                req.save()
        except IntegrityError:
            raise ValidationError(already) from None
        RequestStep.objects.create(
            request=req, at=now, actor=recorded_actor(acting_user), status=RequestStatus.SUBMITTED
        )
        counters.adjust(
            {
                (member.organization_id, f"{P}requests"): 1,
                (member.organization_id, f"{P}category.{service.category}"): 1,
            }
        )
        record_audit(
            actor=acting_user,
            action=f"{P}request_submitted",
            obj=req,
            organization=handling_org,
            changes={"service": service.pk},
        )
        _notify_staff(req, "request_new", "new", due=f"{req.due_at:%Y-%m-%d}")
    return req


# --- Who handles a request -------------------------------------------------------------------


def _officer_here(user, org_id: int) -> bool:
    """Whether the user holds an admin or staff grant at exactly this organization."""
    if recorded_actor(user) is None:
        return False
    return OrgRole.objects.filter(
        user=user, organization_id=org_id, role__in=[Role.ADMIN, Role.STAFF]
    ).exists()


def can_see_confidential(user, req: ServiceRequest) -> bool:
    """Whether `user` may read and write the confidential notes of the request: officers
    at exactly the handling union and the request's handler; nobody above, not even the
    platform operators, and never the member's own union when it does not handle it."""
    if recorded_actor(user) is None:
        return False
    return req.handler_id == user.pk or _officer_here(user, req.organization_id)


def _require_handling(user, req: ServiceRequest) -> None:
    """PermissionDenied unless the user handles requests of the handling union. A
    confidential request is handled only by that union's own officers (or its handler)."""
    if user is None:
        return
    require(
        user,
        scope.Access.HANDLE,
        req.organization,
        _("Only the staff of %(union)s handle this request.") % {"union": req.organization},
    )
    if req.service.is_confidential and not can_see_confidential(user, req):
        raise PermissionDenied(
            _("Legal aid and counselling requests are handled only by the staff of %(union)s.")
            % {"union": req.organization}
        )


def _allowed(check, *args) -> bool:
    try:
        check(*args)
    except (PermissionDenied, ValidationError):
        return False
    return True


def available_steps(*, request: ServiceRequest, user) -> set[str]:
    """What the user may do now: accept, start, complete, reject, cancel, rate, note.
    Used to show only the buttons that would work."""
    steps: set[str] = set()
    if _is_member_self(user, request.member):
        if request.status in (RequestStatus.SUBMITTED, RequestStatus.ACCEPTED):
            steps.add("cancel")
        if request.status == RequestStatus.COMPLETED and request.rating is None:
            steps.add("rate")
        return steps
    if not _allowed(_require_handling, user, request):
        return steps
    if request.status == RequestStatus.SUBMITTED:
        steps |= {"accept", "start"}
    if request.status == RequestStatus.ACCEPTED:
        steps.add("start")
    if request.status in (RequestStatus.ACCEPTED, RequestStatus.IN_PROGRESS):
        steps.add("complete")
    if request.is_open:
        steps |= {"reject", "cancel"}
    if request.service.is_confidential and can_see_confidential(user, request):
        steps.add("note")
    return steps


# --- Steps on a request ----------------------------------------------------------------------


def _locked(req: ServiceRequest) -> ServiceRequest:
    return (
        ServiceRequest.objects.select_for_update(of=("self",))
        .select_related("service", "member", "organization", "member_union")
        .get(pk=req.pk)
    )


def _check_status(req: ServiceRequest, allowed, doing: str) -> None:
    if req.status not in allowed:
        raise ValidationError(
            _("This request is %(status)s; it cannot be %(doing)s.")
            % {"status": RequestStatus(req.status).label.lower(), "doing": doing}
        )


def _step(req: ServiceRequest, acting_user, status: str, text: str = "") -> None:
    RequestStep.objects.create(
        request=req, actor=recorded_actor(acting_user), status=status, text=text
    )


def _release_place(req: ServiceRequest) -> None:
    Service.objects.filter(pk=req.service_id, taken__gt=0).update(taken=F("taken") - 1)


def _staff_step(
    req: ServiceRequest, acting_user, *, allowed, to: str, doing: str, text: str = "", **fields
) -> ServiceRequest:
    with transaction.atomic():
        locked = _locked(req)
        _require_handling(acting_user, locked)
        _check_status(locked, allowed, doing)
        locked.status = to
        if to in (RequestStatus.COMPLETED, RequestStatus.REJECTED):
            fields["closed_at"] = timezone.now()
        update = ["status", "updated_at", *fields]
        for name, value in fields.items():
            setattr(locked, name, value)
        if locked.handler_id is None and recorded_actor(acting_user) is not None:
            locked.handler = acting_user
            update.append("handler")
        locked.save(update_fields=update)
        _step(locked, acting_user, to, text)
        record_audit(
            actor=acting_user,
            action=f"{P}request_{to}",
            obj=locked,
            organization=locked.organization,
            changes={"status": to},
        )
    return locked


def accept_request(*, request: ServiceRequest, acting_user) -> ServiceRequest:
    """The handling staff take the order on; the accepting officer becomes its handler."""
    with transaction.atomic():
        req = _staff_step(
            request,
            acting_user,
            allowed={RequestStatus.SUBMITTED},
            to=RequestStatus.ACCEPTED,
            doing=_("accepted"),
        )
        _notify_member(req, "request_accepted", "accepted")
    return req


def start_request(*, request: ServiceRequest, acting_user) -> ServiceRequest:
    """Work on the order has begun."""
    with transaction.atomic():
        req = _staff_step(
            request,
            acting_user,
            allowed={RequestStatus.SUBMITTED, RequestStatus.ACCEPTED},
            to=RequestStatus.IN_PROGRESS,
            doing=_("started"),
        )
        _notify_member(req, "request_started", "started")
    return req


def complete_request(*, request: ServiceRequest, result: str, acting_user) -> ServiceRequest:
    """The service was given; `result` tells the member what was done."""
    result = required_text(result, "result", _("Tell the member what was done."), 2000)
    with transaction.atomic():
        req = _staff_step(
            request,
            acting_user,
            allowed={RequestStatus.ACCEPTED, RequestStatus.IN_PROGRESS},
            to=RequestStatus.COMPLETED,
            doing=_("completed"),
            text=result,
            result=result,
        )
        counters.adjust({(req.member_union_id, f"{P}completed"): 1})
        _notify_member(req, "request_completed", "completed")
    return req


def reject_request(*, request: ServiceRequest, reason: str, acting_user) -> ServiceRequest:
    """The handling staff turn the order down, with a reason the member sees."""
    reason = required_text(reason, "reason", _("Give the reason for the rejection."), 500)
    with transaction.atomic():
        req = _staff_step(
            request,
            acting_user,
            allowed=OPEN_REQUEST_STATUSES,
            to=RequestStatus.REJECTED,
            doing=_("rejected"),
            text=reason,
            rejection_reason=reason,
        )
        _release_place(req)
        counters.adjust({(req.member_union_id, f"{P}rejected"): 1})
        _notify_member(req, "request_rejected", "rejected", reason=reason)
    return req


def cancel_request(*, request: ServiceRequest, acting_user, reason: str = "") -> ServiceRequest:
    """The member withdraws an order not yet started, or the handling staff cancel one."""
    reason = (reason or "").strip()[:500]
    with transaction.atomic():
        req = _locked(request)
        by_member = _is_member_self(acting_user, req.member)
        if by_member:
            allowed = {RequestStatus.SUBMITTED, RequestStatus.ACCEPTED}
            if req.status == RequestStatus.IN_PROGRESS:
                raise ValidationError(
                    _("Work on this request has started; ask %(union)s to cancel it.")
                    % {"union": req.organization}
                )
        else:
            _require_handling(acting_user, req)
            allowed = OPEN_REQUEST_STATUSES
        _check_status(req, allowed, _("cancelled"))
        req.status = RequestStatus.CANCELLED
        req.closed_at = timezone.now()
        req.save(update_fields=["status", "closed_at", "updated_at"])
        _step(req, acting_user, RequestStatus.CANCELLED, reason)
        _release_place(req)
        counters.adjust({(req.member_union_id, f"{P}cancelled"): 1})
        record_audit(
            actor=acting_user,
            action=f"{P}request_cancelled",
            obj=req,
            organization=req.organization,
            changes={"by_member": by_member},
        )
        if by_member:
            _notify_staff(req, "request_cancelled", "cancelled", exclude=acting_user)
        else:
            _notify_member(req, "request_cancelled", "cancelled")
    return req


def rate_request(
    *, request: ServiceRequest, rating: int, comment: str = "", acting_user
) -> ServiceRequest:
    """The member rates a completed request, once (1 to 5)."""
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        rating = 0
    if not 1 <= rating <= 5:
        raise ValidationError({"rating": [_("Choose a rating from 1 to 5.")]})
    comment = (comment or "").strip()
    if len(comment) > 500:
        raise ValidationError({"comment": [_("Keep your comment under 501 characters.")]})
    with transaction.atomic():
        req = _locked(request)
        _require_member_self(acting_user, req.member)
        if req.status != RequestStatus.COMPLETED:
            raise ValidationError(_("You can rate a request once it is completed."))
        if req.rating is not None:
            raise ValidationError(_("You have already rated this request."))
        req.rating = rating
        req.rating_comment = comment
        req.rated_at = timezone.now()
        req.save(update_fields=["rating", "rating_comment", "rated_at", "updated_at"])
        _step(
            req,
            acting_user,
            RequestStatus.COMPLETED,
            f"★{rating}" + (f" {comment}" if comment else ""),
        )
        counters.adjust(
            {
                (req.member_union_id, f"{P}rating_sum"): rating,
                (req.member_union_id, f"{P}rating_count"): 1,
            }
        )
        record_audit(
            actor=acting_user,
            action=f"{P}request_rated",
            obj=req,
            organization=req.organization,
            changes={"rating": rating},
        )
        _notify_staff(req, "request_rated", "rated", rating=rating)
    return req


def add_confidential_note(*, request: ServiceRequest, text: str, acting_user) -> ConfidentialNote:
    """A note on a legal-aid or counselling request that only the handling staff read."""
    text = required_text(text, "text", _("Write the note."), 5000)
    with transaction.atomic():
        req = _locked(request)
        if not req.service.is_confidential:
            raise ValidationError(
                _("Confidential notes are kept only on legal aid and counselling requests.")
            )
        # Outside the handling staff the request is not theirs to annotate; no hint why.
        require(acting_user, scope.Access.HANDLE, req.organization)
        if not can_see_confidential(acting_user, req):
            raise PermissionDenied(_("Only the handling staff write confidential notes."))
        note = ConfidentialNote.objects.create(
            request=req, author=recorded_actor(acting_user), text=text
        )
        # The audit entry records that a note exists, never its text.
        record_audit(
            actor=acting_user,
            action=f"{P}confidential_note_added",
            obj=note,
            organization=req.organization,
        )
    return note


def confidential_notes(*, request: ServiceRequest, user):
    """The request's confidential notes if the user may read them, otherwise none."""
    if not can_see_confidential(user, request):
        return ConfidentialNote.objects.none()
    return request.confidential_notes.select_related("author")


# --- Wishes ----------------------------------------------------------------------------------


def _member_chain_ids(member: Member) -> list[int]:
    return [o.pk for o in union_chain(member.organization)]


def propose_wish(
    *,
    member: Member,
    organization: Organization,
    title: str,
    description: str = "",
    category: str = ServiceCategory.OTHER,
    acting_user,
) -> ServiceWish:
    """The member asks a union of their chain for a service; their own vote comes with it."""
    _require_member_self(acting_user, member)
    require_current_member(member)
    title = required_text(title, "title", _("Say in a few words what service you want."), 120)
    description = (description or "").strip()
    if len(description) > 2000:
        raise ValidationError({"description": [_("Keep it under 2001 characters.")]})
    if category not in ServiceCategory.values:
        raise ValidationError({"category": [_("Choose a category from the list.")]})
    member = Member.objects.select_related("organization").get(pk=member.pk)
    if organization is None or organization.pk not in _member_chain_ids(member):
        raise ValidationError(
            {"organization": [_("Choose your own union or one of the unions above it.")]}
        )
    check_active_org(organization)
    with transaction.atomic():
        wish = ServiceWish.objects.create(
            organization=organization,
            proposer=member,
            title=title,
            description=description,
            category=category,
            votes=1,
        )
        WishVote.objects.create(wish=wish, member=member)
        counters.adjust(
            {(organization.pk, f"{P}wishes_open"): 1, (organization.pk, f"{P}wish_votes"): 1}
        )
        record_audit(
            actor=acting_user, action=f"{P}wish_proposed", obj=wish, organization=organization
        )
    return wish


def _open_wish_in_chain(wish: ServiceWish, member: Member) -> ServiceWish:
    """The wish locked, if it is open and addressed to the member's chain."""
    locked = ServiceWish.objects.select_for_update().get(pk=wish.pk)
    if locked.organization_id not in _member_chain_ids(member):
        raise ValidationError(_("This wish is addressed to another union."))
    if locked.status != WishStatus.OPEN:
        raise ValidationError(_("This wish is closed; votes are no longer counted."))
    return locked


def vote_wish(*, wish: ServiceWish, member: Member, acting_user) -> ServiceWish:
    """The member supports an open wish of their chain, once."""
    _require_member_self(acting_user, member)
    require_current_member(member)
    member = Member.objects.select_related("organization").get(pk=member.pk)
    with transaction.atomic():
        locked = _open_wish_in_chain(wish, member)
        try:
            with transaction.atomic():
                WishVote.objects.create(wish=locked, member=member)
        except IntegrityError:
            raise ValidationError(_("You have already voted for this wish.")) from None
        ServiceWish.objects.filter(pk=locked.pk).update(votes=F("votes") + 1)
        counters.adjust({(locked.organization_id, f"{P}wish_votes"): 1})
        locked.refresh_from_db(fields=["votes"])
    return locked


def withdraw_vote(*, wish: ServiceWish, member: Member, acting_user) -> ServiceWish:
    """The member takes back their vote for an open wish."""
    _require_member_self(acting_user, member)
    member = Member.objects.select_related("organization").get(pk=member.pk)
    with transaction.atomic():
        locked = _open_wish_in_chain(wish, member)
        deleted, _rows = WishVote.objects.filter(wish=locked, member=member).delete()
        if not deleted:
            raise ValidationError(_("You have not voted for this wish."))
        ServiceWish.objects.filter(pk=locked.pk).update(votes=F("votes") - 1)
        counters.adjust({(locked.organization_id, f"{P}wish_votes"): -1})
        locked.refresh_from_db(fields=["votes"])
    return locked


def _wish_supporters(wish: ServiceWish) -> list[int]:
    """Users of the proposer and every voter (ids only)."""
    ids = set(
        WishVote.objects.filter(wish=wish, member__user__isnull=False).values_list(
            "member__user_id", flat=True
        )
    )
    if wish.proposer_id:
        proposer_user = Member.objects.filter(pk=wish.proposer_id).values_list("user_id", flat=True)
        ids |= {u for u in proposer_user if u}
    return sorted(ids)


def _close_wish(locked: ServiceWish, status: str, answer: str, acting_user) -> None:
    locked.status = status
    locked.answer = answer
    locked.answered_by = recorded_actor(acting_user)
    locked.answered_at = timezone.now()
    locked.save(update_fields=["status", "answer", "answered_by", "answered_at"])
    counters.adjust({(locked.organization_id, f"{P}wishes_open"): -1})


def _locked_open_wish(wish: ServiceWish) -> ServiceWish:
    locked = ServiceWish.objects.select_for_update().select_related("organization").get(pk=wish.pk)
    if locked.status != WishStatus.OPEN:
        raise ValidationError(
            _("This wish was already %(status)s.")
            % {"status": WishStatus(locked.status).label.lower()}
        )
    return locked


def decline_wish(*, wish: ServiceWish, answer: str, acting_user) -> ServiceWish:
    """Staff of the addressed union (or above) decline a wish, saying why."""
    require(acting_user, scope.Access.HANDLE, wish)
    answer = required_text(answer, "answer", _("Tell the members why the wish is declined."), 2000)
    with transaction.atomic():
        locked = _locked_open_wish(wish)
        _close_wish(locked, WishStatus.DECLINED, answer, acting_user)
        record_audit(
            actor=acting_user,
            action=f"{P}wish_declined",
            obj=locked,
            organization=locked.organization,
        )
        notify_on_commit(
            _wish_supporters(locked),
            f"{P}wish_declined",
            {"wish": locked.title, "union": locked.organization.name, "answer": answer},
            link_for("services-wishes"),
            dedupe_key=f"{P}wish:{locked.pk}:declined",
        )
    return locked


def answer_wish_with_service(
    *,
    wish: ServiceWish,
    data: dict,
    audience_unions=(),
    publish: bool = False,
    organization: Organization | None = None,
    answer: str = "",
    acting_user,
) -> Service:
    """Create a service answering the wish (at the addressed union, or a union above it);
    the proposer and every voter are told."""
    organization = organization or wish.organization
    if organization.pk not in {o.pk for o in union_chain(wish.organization)}:
        raise ValidationError(
            {"organization": [_("Offer it at the addressed union or a union above it.")]}
        )
    require(acting_user, scope.Access.CHANGE, organization)
    obj = clean_service(organization=organization, data=data, audience_unions=audience_unions)
    with transaction.atomic():
        locked = _locked_open_wish(wish)
        obj.created_by = recorded_actor(acting_user)
        obj.from_wish = locked
        if publish:
            obj.status = PublishStatus.PUBLISHED
        service = _save_service(obj, list(audience_unions), acting_user, f"{P}service_created")
        text = (answer or "").strip()[:2000] or _("Answered with the service “%(s)s”.") % {
            "s": service.title
        }
        _close_wish(locked, WishStatus.ANSWERED, text, acting_user)
        record_audit(
            actor=acting_user,
            action=f"{P}wish_answered",
            obj=locked,
            organization=locked.organization,
            changes={"service": service.pk},
        )
        notify_on_commit(
            _wish_supporters(locked),
            f"{P}wish_answered",
            {"wish": locked.title, "union": organization.name, "service": service.title},
            link_for("services-wishes"),
            dedupe_key=f"{P}wish:{locked.pk}:answered",
        )
    return service
