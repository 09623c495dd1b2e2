"""Activities (活动): sessions, registration with a waiting list, and check-in.

An activity is organized by a union for the members of its subtree (audience rules as for
services). Its staff (Access.HANDLE at the organizing union) create, publish, cancel and
finish it and check members in by scanning their membership card; members register in
the portal and may check themselves in by scanning the session's code.

Capacity is kept exact under concurrent registrations: every change to a session's
places locks the session row first (lock order: session, then registrations), so
`ActivitySession.registered` always equals its REGISTERED rows and never exceeds the
capacity. When a session is full, a registration goes on the waiting list; a cancelled
place goes to the first in line, in the same transaction.

Counters, at the member's own union: `services.activities.registrations` (places held,
status registered) and `services.activities.attendance` (check-ins).
"""

from __future__ import annotations

import datetime
import itertools
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from operator import itemgetter

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.audit import record_audit
from members.actions.permissions import require
from members.cards import member_for_card_token
from members.models import Member
from notifications.actions import link_for, notify, notify_on_commit
from organizations import counters, scope
from organizations.models import Organization, Role

from ..models import (
    Activity,
    ActivitySession,
    ActivityStatus,
    Delivery,
    Registration,
    RegistrationStatus,
    Station,
)
from ..selectors.activities import ATTENDANCE, REGISTRATIONS, count_activity_counters
from . import (
    check_active_org,
    check_offered_to,
    clean_audience,
    require_current_member,
    union_chain,
)

__all__ = [
    "CHECKIN_OPENS_BEFORE",
    "add_session",
    "cancel_activity",
    "cancel_registration",
    "change_session",
    "check_in_by_card",
    "check_in_by_code",
    "clean_activity",
    "create_activity",
    "delete_session",
    "finish_activity",
    "publish_activity",
    "register",
    "remind_upcoming_sessions",
    "token_from_scan",
    "update_activity",
]

# Members arrive early; check-in opens this long before a session starts and closes at
# its end.
CHECKIN_OPENS_BEFORE = datetime.timedelta(hours=1)
# Members holding a place are reminded this long before their session starts.
REMIND_BEFORE = datetime.timedelta(hours=24)
# Recipients per notify call: all of one session, so they share its context.
REMINDER_BATCH = 500

NOTIFICATION_KINDS = [
    (
        "services.activities.registered",
        gettext_lazy("You are registered for %(activity)s"),
        gettext_lazy("Session: %(when)s. Show your membership card at check-in."),
    ),
    (
        "services.activities.registered_online",
        gettext_lazy("You are registered for %(activity)s"),
        gettext_lazy("Session: %(when)s, online. The link to join is on the activity's page."),
    ),
    (
        "services.activities.waitlisted",
        gettext_lazy("You are on the waiting list for %(activity)s"),
        gettext_lazy(
            "Session: %(when)s. If a place becomes free, you get it automatically and we tell you."
        ),
    ),
    (
        "services.activities.promoted",
        gettext_lazy("A place became free: you are registered for %(activity)s"),
        gettext_lazy(
            "Session: %(when)s. If you cannot come, cancel in “My activities” so the next "
            "person gets the place."
        ),
    ),
    (
        "services.activities.reminder_online",
        gettext_lazy("Reminder: %(activity)s starts %(when)s"),
        gettext_lazy(
            "Join online: %(where)s. If you cannot take part, cancel in “My activities” so the "
            "next person gets the place."
        ),
    ),
    (
        "services.activities.cancelled",
        gettext_lazy("%(activity)s is cancelled"),
        gettext_lazy("The organizing union cancelled the activity. %(reason)s"),
    ),
    (
        "services.activities.registration_cancelled",
        gettext_lazy("Your registration for %(activity)s was cancelled"),
        gettext_lazy("Session: %(when)s."),
    ),
    (
        "services.activities.reminder",
        gettext_lazy("Reminder: %(activity)s starts %(when)s"),
        gettext_lazy(
            "Where: %(where)s. Show your membership card at check-in. If you cannot come, "
            "cancel in “My activities” so the next person gets the place."
        ),
    ),
]

ROLE_PERMISSIONS = {
    # Staff "handle activities" (DESIGN.md): they run them end to end, like admins.
    Role.ADMIN: {
        "view_activity",
        "add_activity",
        "change_activity",
        "view_activitysession",
        "add_activitysession",
        "change_activitysession",
        "delete_activitysession",
        "view_registration",
    },
    Role.STAFF: {
        "view_activity",
        "add_activity",
        "change_activity",
        "view_activitysession",
        "add_activitysession",
        "change_activitysession",
        "delete_activitysession",
        "view_registration",
    },
    Role.VIEWER: {"view_activity", "view_activitysession"},
}

SCHEDULES = [
    {
        "name": "services: hourly activity reminders",
        "task": "services.tasks.activities.remind_upcoming_sessions_task",
        "every_minutes": 60,
    }
]

# The fields of an activity that its actions take, in form order.
ACTIVITY_FIELDS = (
    "title",
    "description",
    "delivery",
    "station",
    "venue",
    "online_url",
    "registration_closes_at",
    "audience_levels",
    "audience_employment_types",
)


counters.register_source("services.activities.", count_activity_counters)


# --- Helpers ----------------------------------------------------------------------------


def _when(session: ActivitySession) -> str:
    start = timezone.localtime(session.starts_at)
    end = timezone.localtime(session.ends_at)
    fmt = "%H:%M" if start.date() == end.date() else "%Y-%m-%d %H:%M"
    return f"{start:%Y-%m-%d %H:%M}–{end.strftime(fmt)}"


def _context(session: ActivitySession) -> dict:
    return {"activity": session.activity.title, "when": _when(session)}


def _where(activity: Activity) -> str:
    """Where members go: the online link, or the station (name, address) and venue."""
    if activity.delivery == Delivery.ONLINE:
        return activity.online_url
    station = activity.station
    parts = [station.name, station.address] if station is not None else []
    return ", ".join(p for p in [*parts, activity.venue] if p)


def _notify_member(registration: Registration, kind: str, step: str) -> None:
    user_id = registration.member.user_id
    if user_id:
        notify_on_commit(
            [user_id],
            kind,
            _context(registration.session),
            link_for("activities-mine"),
            dedupe_key=f"activity-reg:{registration.pk}:{step}",
        )


def _is_member_self(user, member: Member) -> bool:
    return (
        getattr(user, "is_authenticated", False)
        and member.user_id is not None
        and member.user_id == user.pk
    )


def _lock_session(session: ActivitySession) -> ActivitySession:
    return (
        ActivitySession.objects.select_for_update(of=("self",))
        .select_related("activity", "activity__organization")
        .get(pk=session.pk)
    )


# --- Activities -------------------------------------------------------------------------


def clean_activity(organization: Organization, data: Mapping, audience_unions) -> dict:
    """Validated activity fields; ValidationError per field."""
    errors: dict[str, list] = {}
    values = {f: data[f] for f in ACTIVITY_FIELDS if f in data}
    values["title"] = str(values.get("title") or "").strip()
    values["description"] = str(values.get("description") or "").strip()
    if not values["title"]:
        errors["title"] = [_("Give the activity a title.")]
    elif len(values["title"]) > 120:
        errors["title"] = [_("A title has at most 120 characters.")]
    if not values["description"]:
        errors["description"] = [_("Say what the activity is and who it is for.")]
    delivery = values.get("delivery") or Delivery.STATION
    values["delivery"] = delivery
    if delivery not in Delivery.values:
        errors["delivery"] = [_("Choose online or at a venue.")]
    values["venue"] = str(values.get("venue") or "").strip()[:255]
    values["online_url"] = str(values.get("online_url") or "").strip()
    station: Station | None = values.get("station")
    if delivery == Delivery.ONLINE:
        if not values["online_url"]:
            errors["online_url"] = [_("Give the link where members join online.")]
        values["station"] = None
    elif delivery == Delivery.STATION:
        if station is None and not values["venue"]:
            errors["venue"] = [_("Choose a service station or write the venue's address.")]
        if station is not None:
            chain_ids = {o.pk for o in union_chain(organization)}
            in_subtree = station.organization.is_descendant_of(organization, include_self=True)
            if station.organization_id not in chain_ids and not in_subtree:
                errors["station"] = [
                    _("Choose a station of the organizing union, above it or below it.")
                ]
    values["audience_levels"], values["audience_employment_types"] = clean_audience(
        organization,
        values.get("audience_levels"),
        values.get("audience_employment_types"),
        audience_unions,
        errors,
    )
    if errors:
        raise ValidationError(errors)
    return values


def create_activity(
    *,
    organization: Organization,
    data: Mapping,
    acting_user,
    audience_unions: Iterable[Organization] = (),
) -> Activity:
    """A draft activity of `organization`; sessions are added before publishing."""
    require(acting_user, scope.Access.HANDLE, organization)
    check_active_org(organization)
    audience_unions = list(audience_unions)
    values = clean_activity(organization, data, audience_unions)
    with transaction.atomic():
        activity = Activity.objects.create(
            organization=organization,
            created_by=acting_user if getattr(acting_user, "is_authenticated", False) else None,
            **values,
        )
        activity.audience_unions.set(audience_unions)
        record_audit(
            actor=acting_user,
            action="activity.created",
            obj=activity,
            organization=organization,
            changes={"title": activity.title},
        )
    return activity


def update_activity(
    *,
    activity: Activity,
    data: Mapping,
    acting_user,
    audience_unions: Iterable[Organization] | None = None,
) -> Activity:
    """Correct an activity's details (not its organizer or status)."""
    require(acting_user, scope.Access.HANDLE, activity)
    if activity.status in (ActivityStatus.CANCELLED, ActivityStatus.FINISHED):
        raise ValidationError(_("A cancelled or finished activity can no longer be changed."))
    unions = list(audience_unions) if audience_unions is not None else None
    current = {f: getattr(activity, f) for f in ACTIVITY_FIELDS}
    values = clean_activity(
        activity.organization,
        {**current, **data},
        unions if unions is not None else activity.audience_unions.all(),
    )
    with transaction.atomic():
        locked = Activity.objects.select_for_update().get(pk=activity.pk)
        changed = {f: v for f, v in values.items() if getattr(locked, f) != v}
        for field, value in values.items():
            setattr(locked, field, value)
        locked.save()
        if unions is not None:
            locked.audience_unions.set(unions)
        record_audit(
            actor=acting_user,
            action="activity.changed",
            obj=locked,
            organization=locked.organization,
            changes={"fields": sorted(changed)},
        )
    return locked


def _locked_activity(activity: Activity, acting_user) -> Activity:
    require(acting_user, scope.Access.HANDLE, activity)
    return (
        Activity.objects.select_for_update(of=("self",))
        .select_related("organization")
        .get(pk=activity.pk)
    )


def publish_activity(*, activity: Activity, acting_user) -> Activity:
    """Open a draft activity for registration; it needs at least one upcoming session."""
    with transaction.atomic():
        activity = _locked_activity(activity, acting_user)
        if activity.status != ActivityStatus.DRAFT:
            raise ValidationError(
                _("Only a draft can be published; this activity is “%(status)s”.")
                % {"status": ActivityStatus(activity.status).label}
            )
        check_active_org(activity.organization)
        if not activity.sessions.filter(starts_at__gt=timezone.now()).exists():
            raise ValidationError(_("Add at least one upcoming session before publishing."))
        activity.status = ActivityStatus.PUBLISHED
        activity.save(update_fields=["status"])
        record_audit(
            actor=acting_user,
            action="activity.published",
            obj=activity,
            organization=activity.organization,
        )
    return activity


def cancel_activity(*, activity: Activity, acting_user, reason: str = "") -> Activity:
    """Call off an activity: open registrations are cancelled and their members told.

    Check-ins already made stay: those members took part.
    """
    reason = (reason or "").strip()[:500]
    with transaction.atomic(durable=True):
        activity = _locked_activity(activity, acting_user)
        if activity.status not in (ActivityStatus.DRAFT, ActivityStatus.PUBLISHED):
            raise ValidationError(
                _("This activity is already “%(status)s”.")
                % {"status": ActivityStatus(activity.status).label}
            )
        now = timezone.now()
        sessions = list(
            ActivitySession.objects.select_for_update().filter(activity=activity).order_by("pk")
        )
        open_regs = list(
            Registration.objects.select_for_update()
            .filter(
                session__in=sessions,
                status__in=[RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED],
                checked_in_at__isnull=True,
            )
            .select_related("member")
        )
        delta: Counter = Counter()
        for reg in open_regs:
            if reg.status == RegistrationStatus.REGISTERED:
                delta[(reg.member_union_id, REGISTRATIONS)] -= 1
        Registration.objects.filter(pk__in=[r.pk for r in open_regs]).update(
            status=RegistrationStatus.CANCELLED, cancelled_at=now
        )
        for session in sessions:
            session.registered = session.registrations.filter(
                status=RegistrationStatus.REGISTERED
            ).count()
            session.save(update_fields=["registered"])
        counters.adjust(delta)
        activity.status = ActivityStatus.CANCELLED
        activity.save(update_fields=["status"])
        record_audit(
            actor=acting_user,
            action="activity.cancelled",
            obj=activity,
            organization=activity.organization,
            changes={"reason": reason, "registrations_cancelled": len(open_regs)},
        )
        user_ids = {r.member.user_id for r in open_regs if r.member.user_id}
        notify_on_commit(
            user_ids,
            "services.activities.cancelled",
            {"activity": activity.title, "reason": reason},
            link_for("activities-mine"),
            dedupe_key=f"activity:{activity.pk}:cancelled",
        )
    return activity


def finish_activity(*, activity: Activity, acting_user) -> Activity:
    """Close a published activity once its last session has ended."""
    with transaction.atomic(durable=True):
        activity = _locked_activity(activity, acting_user)
        if activity.status != ActivityStatus.PUBLISHED:
            raise ValidationError(_("Only an activity open for registration can be finished."))
        if activity.sessions.filter(ends_at__gt=timezone.now()).exists():
            raise ValidationError(_("The activity can be finished after its last session ends."))
        activity.status = ActivityStatus.FINISHED
        activity.save(update_fields=["status"])
        record_audit(
            actor=acting_user,
            action="activity.finished",
            obj=activity,
            organization=activity.organization,
        )
    return activity


# --- Sessions ---------------------------------------------------------------------------


# Session times outside these years are typing mistakes (and before 1901 Asia/Shanghai has
# no whole-minute UTC offset, so such a time could not even be written back in the API).
SESSION_YEARS = (2000, 2099)


def _check_session_times(starts_at, ends_at) -> None:
    if starts_at is None or ends_at is None:
        raise ValidationError(_("Give the start and the end of the session."))
    first, last = SESSION_YEARS
    for field, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if not first <= value.year <= last:
            raise ValidationError(
                {
                    field: [
                        _("Enter a date between %(first)s and %(last)s.")
                        % {"first": first, "last": last}
                    ]
                }
            )
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": [_("A session must end after it starts.")]})


def _check_capacity(capacity) -> int:
    if capacity is None or int(capacity) < 1:
        raise ValidationError({"capacity": [_("A session has room for at least one person.")]})
    return int(capacity)


def add_session(
    *, activity: Activity, starts_at, ends_at, capacity: int, acting_user
) -> ActivitySession:
    """A new date of the activity, with its own capacity and check-in code."""
    _check_session_times(starts_at, ends_at)
    capacity = _check_capacity(capacity)
    with transaction.atomic():
        activity = _locked_activity(activity, acting_user)
        if activity.status not in (ActivityStatus.DRAFT, ActivityStatus.PUBLISHED):
            raise ValidationError(_("Sessions can no longer be added to this activity."))
        session = ActivitySession.objects.create(
            activity=activity, starts_at=starts_at, ends_at=ends_at, capacity=capacity
        )
        record_audit(
            actor=acting_user,
            action="activity.session_added",
            obj=session,
            organization=activity.organization,
            changes={"starts_at": starts_at.isoformat(), "capacity": capacity},
        )
    return session


def _promote(session: ActivitySession, how_many: int) -> list[Registration]:
    """Give up to `how_many` free places to the first in line (session locked by the caller)."""
    if how_many <= 0:
        return []
    promoted = list(
        Registration.objects.select_for_update()
        .filter(session=session, status=RegistrationStatus.WAITLISTED)
        .select_related("member", "session__activity")
        .order_by("waitlisted_at", "pk")[:how_many]
    )
    for reg in promoted:
        reg.status = RegistrationStatus.REGISTERED
        reg.save(update_fields=["status"])
        counters.adjust({(reg.member_union_id, REGISTRATIONS): 1})
        _notify_member(reg, "services.activities.promoted", "promoted")
    if promoted:
        session.registered += len(promoted)
        session.save(update_fields=["registered"])
    return promoted


def change_session(
    *, session: ActivitySession, starts_at, ends_at, capacity: int, acting_user
) -> ActivitySession:
    """Move a session or change its capacity; more room promotes the waiting list."""
    _check_session_times(starts_at, ends_at)
    capacity = _check_capacity(capacity)
    require(acting_user, scope.Access.HANDLE, session)
    with transaction.atomic():
        locked = _lock_session(session)
        if locked.activity.status not in (ActivityStatus.DRAFT, ActivityStatus.PUBLISHED):
            raise ValidationError(_("Sessions of this activity can no longer be changed."))
        if capacity < locked.registered:
            raise ValidationError(
                {
                    "capacity": [
                        _(
                            "%(n)s members are already registered; the capacity cannot be "
                            "lower. Cancel registrations first."
                        )
                        % {"n": locked.registered}
                    ]
                }
            )
        before = (locked.starts_at, locked.ends_at, locked.capacity)
        locked.starts_at, locked.ends_at, locked.capacity = starts_at, ends_at, capacity
        locked.save(update_fields=["starts_at", "ends_at", "capacity"])
        if locked.activity.status == ActivityStatus.PUBLISHED and starts_at > timezone.now():
            _promote(locked, capacity - locked.registered)
        if before != (starts_at, ends_at, capacity):
            record_audit(
                actor=acting_user,
                action="activity.session_changed",
                obj=locked,
                organization=locked.activity.organization,
                changes={"capacity": [before[2], capacity]},
            )
    return locked


def delete_session(*, session: ActivitySession, acting_user) -> None:
    """Remove a session nobody has registered for (otherwise cancel the activity)."""
    require(acting_user, scope.Access.HANDLE, session)
    with transaction.atomic():
        locked = _lock_session(session)
        if locked.registrations.exists():
            raise ValidationError(
                _("Members have registered for this session, so it cannot be removed.")
            )
        record_audit(
            actor=acting_user,
            action="activity.session_removed",
            obj=locked,
            organization=locked.activity.organization,
        )
        locked.delete()


# --- Registration -----------------------------------------------------------------------


def _check_registration_open(session: ActivitySession, now: datetime.datetime) -> None:
    activity = session.activity
    if activity.status != ActivityStatus.PUBLISHED:
        raise ValidationError(_("This activity is not open for registration."))
    if activity.registration_closes_at is not None and activity.registration_closes_at <= now:
        raise ValidationError(_("Registration for this activity has closed."))
    if session.starts_at <= now:
        raise ValidationError(_("This session has already started; registration is closed."))


def register(*, session: ActivitySession, member: Member, acting_user) -> Registration:
    """Register `member` for a session: a place if one is free, else the waiting list.

    By the member themself, or by an officer of the member's own union.
    """
    if not _is_member_self(acting_user, member):
        require(acting_user, scope.Access.PERSONAL, member)
    member = require_current_member(member)
    member = Member.objects.select_related("organization").get(pk=member.pk)
    chain_ids = [o.pk for o in union_chain(member.organization)]
    with transaction.atomic():
        session = _lock_session(session)
        activity = session.activity
        check_offered_to(activity, member, chain_ids)
        now = timezone.now()
        _check_registration_open(session, now)
        existing = (
            Registration.objects.filter(session=session, member=member)
            .exclude(status=RegistrationStatus.CANCELLED)
            .first()
        )
        if existing is not None:
            if existing.status == RegistrationStatus.WAITLISTED:
                raise ValidationError(_("You are already on the waiting list for this session."))
            raise ValidationError(_("You are already registered for this session."))
        full = session.registered >= session.capacity
        reg = Registration(
            session=session,
            member=member,
            member_union=member.organization,
            status=RegistrationStatus.WAITLISTED if full else RegistrationStatus.REGISTERED,
            waitlisted_at=now if full else None,
        )
        try:
            with transaction.atomic():
                reg.save()
        except IntegrityError:
            # Only reachable if a registration slipped past the session lock.
            raise ValidationError(_("You are already registered for this session.")) from None
        if not full:
            session.registered += 1
            session.save(update_fields=["registered"])
            counters.adjust({(member.organization_id, REGISTRATIONS): 1})
        record_audit(
            actor=acting_user,
            action="activity.waitlisted" if full else "activity.registered",
            obj=reg,
            organization=activity.organization,
            changes={"session": session.pk},
        )
        kind = "services.activities.waitlisted" if full else "services.activities.registered"
        if not full and activity.delivery == Delivery.ONLINE:
            kind = "services.activities.registered_online"  # no venue, no card at check-in
        _notify_member(reg, kind, reg.status)
    return reg


def cancel_registration(*, registration: Registration, acting_user) -> Registration:
    """Give up a place or leave the waiting list; a freed place goes to the first in line.

    By the member themself, or by the organizing union's staff.
    """
    member = registration.member
    by_member = _is_member_self(acting_user, member)
    if not by_member:
        require(acting_user, scope.Access.HANDLE, registration.session)
    with transaction.atomic():
        session = _lock_session(registration.session)
        reg = (
            Registration.objects.select_for_update(of=("self",))
            .select_related("member")
            .get(pk=registration.pk)
        )
        if reg.status == RegistrationStatus.CANCELLED:
            raise ValidationError(_("This registration is already cancelled."))
        if reg.checked_in_at is not None:
            raise ValidationError(_("You have already checked in; this can no longer be undone."))
        now = timezone.now()
        if session.starts_at <= now:
            raise ValidationError(_("The session has already started; it can't be cancelled."))
        held_place = reg.status == RegistrationStatus.REGISTERED
        reg.status = RegistrationStatus.CANCELLED
        reg.cancelled_at = now
        reg.save(update_fields=["status", "cancelled_at"])
        promoted = []
        if held_place:
            session.registered -= 1
            session.save(update_fields=["registered"])
            counters.adjust({(reg.member_union_id, REGISTRATIONS): -1})
            if session.activity.status == ActivityStatus.PUBLISHED:
                promoted = _promote(session, session.capacity - session.registered)
        record_audit(
            actor=acting_user,
            action="activity.registration_cancelled",
            obj=reg,
            organization=session.activity.organization,
            changes={"held_place": held_place, "promoted": [r.pk for r in promoted]},
        )
        if not by_member:
            reg.session = session
            _notify_member(reg, "services.activities.registration_cancelled", "cancelled")
    return reg


# --- Check-in ---------------------------------------------------------------------------

# A scanner types what the card's QR code holds: the verification URL .../verify/<token>/.
_VERIFY_URL = re.compile(r"/verify/([^/?#\s]+)/?")


def token_from_scan(text: str) -> str:
    """The card token in what a scanner typed: the full verification URL or the bare token."""
    text = (text or "").strip()
    match = _VERIFY_URL.search(text)
    return match.group(1) if match else text


def _check_window(session: ActivitySession, now: datetime.datetime) -> None:
    opens = session.starts_at - CHECKIN_OPENS_BEFORE
    if now < opens:
        raise ValidationError(
            _("Check-in opens at %(time)s, one hour before the session starts.")
            % {"time": timezone.localtime(opens).strftime("%Y-%m-%d %H:%M")}
        )
    if now >= session.ends_at:
        raise ValidationError(_("This session has ended; check-in is closed."))


def _check_in(
    session: ActivitySession, member: Member, *, method: str, acting_user, by_member: bool
) -> Registration:
    """Mark the member's registration as attended (session locked by the caller)."""
    activity = session.activity
    if activity.status != ActivityStatus.PUBLISHED:
        raise ValidationError(_("This activity is not taking place (it is not open)."))
    reg = (
        Registration.objects.select_for_update(of=("self",))
        .filter(session=session, member=member)
        .exclude(status=RegistrationStatus.CANCELLED)
        .first()
    )
    if reg is None:
        raise ValidationError(
            _("You are not registered for this session.")
            if by_member
            else _("This member is not registered for this session.")
        )
    if reg.status == RegistrationStatus.WAITLISTED:
        raise ValidationError(
            _("You are on the waiting list and have no place in this session.")
            if by_member
            else _("This member is on the waiting list and has no place in this session.")
        )
    if reg.checked_in_at is not None:
        raise ValidationError(
            _("Already checked in at %(time)s.")
            % {"time": timezone.localtime(reg.checked_in_at).strftime("%H:%M")},
            code="already_checked_in",
        )
    now = timezone.now()
    _check_window(session, now)
    reg.checked_in_at = now
    reg.checked_in_by = acting_user if getattr(acting_user, "is_authenticated", False) else None
    reg.checkin_method = method
    reg.save(update_fields=["checked_in_at", "checked_in_by", "checkin_method"])
    counters.adjust({(reg.member_union_id, ATTENDANCE): 1})
    record_audit(
        actor=acting_user,
        action="activity.checked_in",
        obj=reg,
        organization=activity.organization,
        changes={"method": method, "session": session.pk},
    )
    return reg


def check_in_by_card(*, session: ActivitySession, card_token: str, acting_user) -> Registration:
    """Staff at the venue scan a member's card (the token or the verification URL)."""
    require(acting_user, scope.Access.HANDLE, session)
    member, valid = member_for_card_token(token_from_scan(card_token))
    if member is None:
        raise ValidationError(_("This is not a valid membership card. Scan it again."))
    if not valid:
        raise ValidationError(
            _(
                "This card is no longer valid (it was replaced or the membership ended). "
                "Ask the member to show their current card in the portal."
            )
        )
    with transaction.atomic():
        session = _lock_session(session)
        reg = _check_in(session, member, method="card", acting_user=acting_user, by_member=False)
    reg.member = member
    return reg


def check_in_by_code(*, code: str, member: Member) -> Registration:
    """The member scans the session's code at the venue and confirms in the portal."""
    session = ActivitySession.objects.filter(checkin_code=code).first()
    if session is None:
        raise ValidationError(_("This check-in code is not valid. Scan the code at the venue."))
    member = require_current_member(member)
    with transaction.atomic(durable=True):
        session = _lock_session(session)
        reg = _check_in(session, member, method="code", acting_user=member.user, by_member=True)
    return reg


# --- Reminders --------------------------------------------------------------------------


def remind_upcoming_sessions(*, now: datetime.datetime | None = None) -> int:
    """Remind every member holding a place in a session of a published activity that starts
    within `REMIND_BEFORE`; returns how many reminders are new.

    Once per registration and start time: the dedupe key names the session and its start
    (`notify` adds the recipient, and a member holds at most one live registration per
    session), so the hourly runs never remind twice, and a session moved to another time
    reminds again. Each run covers the whole next 24 hours rather than a one-hour slice, so
    a place taken inside that window, however shortly before a run, is reminded by the next
    run that comes before the session starts, and a missed run is caught up. A place taken
    after the last run before its session starts gets no reminder: the confirmation sent
    on registering already gave the time.
    """
    now = now or timezone.now()
    places = (
        Registration.objects.filter(
            session__activity__status=ActivityStatus.PUBLISHED,
            session__starts_at__gt=now,
            session__starts_at__lte=now + REMIND_BEFORE,
            status=RegistrationStatus.REGISTERED,
            checked_in_at__isnull=True,
            member__user__isnull=False,
            member__deleted_at__isnull=True,
        )
        .order_by("session_id", "pk")
        .values_list("session_id", "member__user_id")
    )
    link = link_for("activities-mine")
    sent = 0
    rows = places.iterator(chunk_size=2000)
    for session_id, group in itertools.groupby(rows, key=itemgetter(0)):
        session = ActivitySession.objects.select_related("activity", "activity__station").get(
            pk=session_id
        )
        context = {**_context(session), "where": _where(session.activity)}
        key = f"activity-session:{session.pk}:reminder:{session.starts_at.isoformat()}"
        kind = "services.activities.reminder"
        if session.activity.delivery == Delivery.ONLINE:
            kind = "services.activities.reminder_online"
        user_ids = (user_id for _session, user_id in group)
        while batch := list(itertools.islice(user_ids, REMINDER_BATCH)):
            sent += notify(batch, kind, context, link, dedupe_key=key)
    return sent
