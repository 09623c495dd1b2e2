"""Portal views of activities: what my unions offer me, registering for a session (or its
waiting list), my registrations with cancelling, and checking in by scanning the session's
code at the venue. A member reaches only activities offered to them and their own rows."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from core.portal import FIND_A_UNION, no_member_page
from members.models import CURRENT_STATUSES
from members.selectors.people import member_of
from organizations import scope

from ..actions import activities as actions
from ..models import ActivitySession, ActivityStatus, Delivery, Registration, RegistrationStatus
from ..selectors import activities as selectors


def _member_or_page(request):
    """(member, None), or (None, a friendly page) for a user without a current membership."""
    member = member_of(request.user)
    if member is None or member.status not in CURRENT_STATUSES:
        return None, _no_member_page(request, member)
    return member, None


def _no_member_page(request, member):
    if member is not None:
        text = _(
            "Your membership is not current, so you cannot take part in union activities. "
            "Contact your union if you think this is wrong."
        )
        link = None  # nothing to find: they already have a union
    else:
        text = _(
            "Find the union of your workplace or area and apply to join online. Once you are a "
            "member, the activities of your union and the federations above it appear here."
        )
        link = FIND_A_UNION
    return no_member_page(
        request,
        title=_("Activities"),
        heading=_("Activities are for union members"),
        text=text,
        link=link,
    )


def _errors(request, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


@login_required
@never_cache
def activity_list(request):
    member, page = _member_or_page(request)
    if page is not None:
        return page
    activities = selectors.offered_activities(member)
    return render(
        request, "services/activities_list.html", {"member": member, "activities": activities}
    )


@login_required
@never_cache
def activity_detail(request, pk: int):
    member, page = _member_or_page(request)
    if page is not None:
        return page
    activity = selectors.offered_activity(member, pk)
    if activity is None:
        raise Http404(_("Not found."))
    now = timezone.now()
    mine = {r.session_id: r for r in selectors.live_registrations(member, activity)}
    positions = selectors.waitlist_positions(mine.values())
    closed = activity.status != ActivityStatus.PUBLISHED or (
        activity.registration_closes_at is not None and activity.registration_closes_at <= now
    )
    sessions = [
        {
            "session": s,
            "registration": mine.get(s.pk),
            "position": positions.get(getattr(mine.get(s.pk), "pk", None)),
            "open": not closed and s.starts_at > now,
            "full": s.registered >= s.capacity,
        }
        for s in activity.sessions.all()
    ]
    return render(
        request,
        "services/activities_detail.html",
        {"member": member, "activity": activity, "sessions": sessions, "closed": closed},
    )


@login_required
@require_POST
def activity_register(request, pk: int):
    member, page = _member_or_page(request)
    if page is not None:
        return page
    session = get_object_or_404(ActivitySession.objects.select_related("activity"), pk=pk)
    # An activity not offered to the member does not exist for them.
    if selectors.offered_activity(member, session.activity_id) is None:
        raise Http404(_("Not found."))
    try:
        reg = actions.register(session=session, member=member, acting_user=request.user)
    except ValidationError as error:
        _errors(request, error)
    else:
        if (
            reg.status == RegistrationStatus.REGISTERED
            and session.activity.delivery == Delivery.ONLINE
        ):
            messages.success(request, _("You are registered. The link to join is on this page."))
        elif reg.status == RegistrationStatus.REGISTERED:
            messages.success(request, _("You are registered. See you there!"))
        else:
            messages.success(
                request,
                _(
                    "The session is full, so you are on the waiting list. If a place becomes "
                    "free, you get it automatically and we tell you."
                ),
            )
    return redirect("activities-detail", pk=session.activity_id)


@login_required
@never_cache
def my_activities(request):
    member = member_of(request.user)
    if member is None:
        return _no_member_page(request, None)
    registrations = list(selectors.member_registrations(member))
    positions = selectors.waitlist_positions(registrations)
    now = timezone.now()
    rows = [
        {
            "registration": r,
            "position": positions.get(r.pk),
            "can_cancel": r.status != RegistrationStatus.CANCELLED
            and r.checked_in_at is None
            and r.session.starts_at > now,
        }
        for r in registrations
    ]
    return render(request, "services/activities_mine.html", {"member": member, "rows": rows})


@login_required
@require_POST
def registration_cancel(request, pk: int):
    reg = scope.own_object_or_404(
        request.user, Registration.objects.select_related("session", "member"), pk=pk
    )
    try:
        actions.cancel_registration(registration=reg, acting_user=request.user)
    except PermissionDenied as error:
        messages.error(request, str(error))
    except ValidationError as error:
        _errors(request, error)
    else:
        messages.success(request, _("Your registration was cancelled."))
    return redirect("activities-mine")


@login_required
@never_cache
def checkin(request, code: str):
    """GET shows what the member is checking in to; POST confirms (a scan alone never
    checks anyone in, so a code seen in a photo does not count as attendance)."""
    member, page = _member_or_page(request)
    if page is not None:
        return page
    session = get_object_or_404(
        ActivitySession.objects.select_related("activity__organization", "activity__station"),
        checkin_code=code,
    )
    reg = selectors.registration_for(member, session)
    # An activity neither offered to the member nor registered for does not exist for them.
    if reg is None and selectors.offered_activity(member, session.activity_id) is None:
        raise Http404(_("Not found."))
    if request.method == "POST":
        try:
            actions.check_in_by_code(code=code, member=member)
        except ValidationError as error:
            _errors(request, error)
        else:
            messages.success(request, _("You are checked in. Enjoy the activity!"))
        return redirect("activities-checkin", code=code)
    return render(
        request,
        "services/activities_checkin.html",
        {"member": member, "session": session, "activity": session.activity, "registration": reg},
    )


urlpatterns = [
    path("activities/", activity_list, name="activities-list"),
    path("activities/<int:pk>/", activity_detail, name="activities-detail"),
    path("activities/sessions/<int:pk>/register/", activity_register, name="activities-register"),
    path("activities/checkin/<str:code>/", checkin, name="activities-checkin"),
    path("me/activities/", my_activities, name="activities-mine"),
    path("me/activities/<int:pk>/cancel/", registration_cancel, name="activities-cancel"),
]
