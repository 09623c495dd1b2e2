"""Members' orders (会员点单) of the services on their menu, and confidential notes.

- A member orders a service: a place is taken by a conditional UPDATE, so concurrent
  orders never exceed the capacity; a rejected or cancelled order gives the place back.
- The handling union's staff accept, start, complete or reject; the member may cancel
  early and rates the result once.
- Legal-aid and counselling requests carry confidential notes that only the handling
  staff read: officers at exactly the handling union, and the request's handler
  (`services.selectors.menu.can_see_confidential`).

Counters are kept at the member's own union, in the transaction of the change.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.audit import record_audit
from members.actions.permissions import require
from members.models import Member
from notifications.actions import link_for, notify_on_commit
from organizations import counters, scope
from organizations.models import Role
from organizations.selectors import officers_of

from .. import statkeys as S
from ..models import (
    OPEN_REQUEST_STATUSES,
    ConfidentialNote,
    Handling,
    PublishStatus,
    RequestStatus,
    RequestStep,
    Service,
    ServiceRequest,
)
from ..selectors.menu import PREFIX as P
from ..selectors.menu import can_see_confidential
from . import (
    check_offered_to,
    is_member_self,
    recorded_actor,
    require_current_member,
    require_member_self,
    required_text,
    union_chain,
)

__all__ = [
    "accept_request",
    "add_confidential_note",
    "available_steps",
    "cancel_request",
    "complete_request",
    "order_service",
    "rate_request",
    "reject_request",
    "start_request",
]

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
]

ROLE_PERMISSIONS = {
    Role.ADMIN: {"view_servicerequest", "change_servicerequest"},
    Role.STAFF: {"view_servicerequest", "change_servicerequest"},
}


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
    require_member_self(acting_user, member)
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
                (member.organization_id, S.REQUESTS): 1,
                (member.organization_id, S.CATEGORY(service.category)): 1,
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
    if is_member_self(user, request.member):
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
        counters.adjust({(req.member_union_id, S.COMPLETED): 1})
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
        counters.adjust({(req.member_union_id, S.REJECTED): 1})
        _notify_member(req, "request_rejected", "rejected", reason=reason)
    return req


def cancel_request(*, request: ServiceRequest, acting_user, reason: str = "") -> ServiceRequest:
    """The member withdraws an order not yet started, or the handling staff cancel one."""
    reason = (reason or "").strip()[:500]
    with transaction.atomic():
        req = _locked(request)
        by_member = is_member_self(acting_user, req.member)
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
        counters.adjust({(req.member_union_id, S.CANCELLED): 1})
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
        require_member_self(acting_user, req.member)
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
                (req.member_union_id, S.REQUEST_RATING_SUM): rating,
                (req.member_union_id, S.REQUEST_RATING_COUNT): 1,
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
