"""What waits on a union's officers in the services app (`core.todo`): service requests,
concerns (escalated ones included: they wait on the union they were escalated to),
hardship aid cases at the stages where a union acts, and members' wishes."""

import datetime

from django.db.models import Case, DateField, Q, When
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core import todo
from organizations import scope

from ..models import (
    OPEN_REQUEST_STATUSES,
    AidCase,
    AidStatus,
    Concern,
    ConcernStatus,
    ServiceRequest,
    ServiceWish,
    WishStatus,
)

Access = scope.Access

# A paid case's yearly review comes into the to-do this long before it is due.
REVIEW_AHEAD = datetime.timedelta(days=30)


def _requests(user):
    return ServiceRequest.objects.filter(
        scope.served_q(user, "organization", Access.HANDLE),
        status__in=OPEN_REQUEST_STATUSES,
    ).select_related("organization", "service")


def _request_item(request: ServiceRequest) -> todo.Item:
    return todo.Item(
        source="request",
        label=str(_("Service request")),
        title=_("%(service)s · no. %(number)d")
        % {"service": request.service.title, "number": request.pk},
        union=request.organization.name,
        since=request.created_at,
        due=request.due_at,
        url=reverse("admin:services_servicerequest_change", args=[request.pk]),
        note=str(request.get_status_display()),
    )


def _concerns(user):
    return Concern.objects.filter(
        scope.served_q(user, "organization", Access.HANDLE), status=ConcernStatus.OPEN
    ).select_related("organization")


def _concern_item(concern: Concern) -> todo.Item:
    note = ""
    if concern.escalations:
        note = ngettext(
            "escalated %(count)d time", "escalated %(count)d times", concern.escalations
        ) % {"count": concern.escalations}
    return todo.Item(
        source="concern",
        label=str(_("Concern")),
        title=concern.title,
        union=concern.organization.name,
        since=concern.created_at,
        due=concern.due_at,
        url=reverse("admin:services_concern_change", args=[concern.pk]),
        note=note,
    )


def _aid_cases(user):
    """Cases at a stage where a union's aid officers act: the grassroots union at every
    stage but the approval, which waits on the approving union; a case under public notice
    once the notice has ended; a paid case as its yearly review comes near."""
    today = timezone.localdate()
    here = scope.served_q(user, "organization", Access.AID)
    waiting_here = Q(
        status__in=[AidStatus.APPLIED, AidStatus.REVIEWED, AidStatus.APPROVED, AidStatus.OBJECTED]
    )
    waiting_here |= Q(status=AidStatus.NOTICE, notice_ends_on__lt=today)
    waiting_here |= Q(status=AidStatus.DISBURSED, next_review_on__lte=today + REVIEW_AHEAD)
    approving = scope.served_q(user, "approver", Access.AID) & Q(status=AidStatus.VISITED)
    return (
        AidCase.objects.filter((here & waiting_here) | approving)
        .annotate(
            todo_due=Case(
                When(status=AidStatus.NOTICE, then="notice_ends_on"),
                When(status=AidStatus.DISBURSED, then="next_review_on"),
                default=None,
                output_field=DateField(),
            )
        )
        .select_related("organization", "approver")
    )


def _start_of(day: datetime.date | None) -> datetime.datetime | None:
    if day is None:
        return None
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _aid_item(case: AidCase) -> todo.Item:
    union = case.approver if case.status == AidStatus.VISITED else case.organization
    return todo.Item(
        source="aid",
        label=str(_("Hardship aid")),
        title=_("Case no. %(number)d") % {"number": case.pk},
        union=union.name,
        since=case.updated_at,
        due=_start_of(case.todo_due),
        url=reverse("admin:services_aidcase_change", args=[case.pk]),
        note=str(case.get_status_display()),
    )


def _wishes(user):
    return ServiceWish.objects.filter(
        scope.served_q(user, "organization", Access.HANDLE), status=WishStatus.OPEN
    ).select_related("organization")


def _wish_item(wish: ServiceWish) -> todo.Item:
    return todo.Item(
        source="wish",
        label=str(_("Service wish")),
        title=wish.title,
        union=wish.organization.name,
        since=wish.created_at,
        url=reverse("admin:services_servicewish_change", args=[wish.pk]),
    )


def _changelist(name: str, query: str = "") -> str:
    return reverse(f"admin:services_{name}_changelist") + query


def register() -> None:
    todo.register(
        todo.Source(
            key="request",
            label=_("Service orders"),
            waiting=_requests,
            item=_request_item,
            due_field="due_at",
            since_field="created_at",
            more_url=lambda: _changelist("servicerequest"),
        )
    )
    todo.register(
        todo.Source(
            key="concern",
            label=_("Concerns"),
            waiting=_concerns,
            item=_concern_item,
            due_field="due_at",
            since_field="created_at",
            more_url=lambda: _changelist("concern", "?status__exact=open"),
        )
    )
    todo.register(
        todo.Source(
            key="aid",
            label=_("Hardship aid"),
            waiting=_aid_cases,
            item=_aid_item,
            due_field="todo_due",
            since_field="updated_at",
            more_url=lambda: _changelist("aidcase"),
        )
    )
    todo.register(
        todo.Source(
            key="wish",
            label=_("Service wishes"),
            waiting=_wishes,
            item=_wish_item,
            due_field=None,
            since_field="created_at",
            more_url=lambda: _changelist("servicewish", "?status__exact=open"),
        )
    )
