"""Hardship aid (困难职工帮扶): one household's case from application to yearly review.

The flow: applied (by the member in the portal, or opened by an aid officer) → reviewed by
the grassroots union (accepted for a home visit, or rejected) → home visit recorded →
approved or rejected by the approving union (the ancestor at the configured level) →
public notice (公示) for a set number of days, during which anyone of the same grassroots
union may object → objection upheld (rejected) or dismissed (the notice restarts) → aid
paid once the notice ended with no open objection → yearly review (continue with a new
year's case, or close).

Case details are for hardship aid officers only (`Access.AID`); every step checks it.
Counters, kept at the case's own (grassroots) union, so that a subtree SUM is the figure
of the unions above: `services.aid.cases` (cases opened), `services.aid.approved` (cases
whose approval stands), `services.aid.disbursed_count` and `services.aid.disbursed_fen`
(aid paid, in fen).
"""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.audit import record_audit
from members.actions.permissions import require
from members.models import Member
from notifications.actions import link_for, notify, notify_on_commit
from organizations import counters, scope
from organizations.models import Level, Organization, Role
from organizations.selectors import officers_of

from .. import statkeys as S
from ..models import (
    AidCase,
    AidObjection,
    AidStatus,
    AidStep,
    AidStepKind,
    AidTier,
)
from ..selectors.aid import (
    approver_for,
    belongs_to_union,
    count_aid_counters,
    notice_days_for,
)
from . import recorded_actor, require_current_member, required_text

__all__ = [
    "APPLICATION_FIELDS",
    "apply_for_aid",
    "approve_case",
    "available_steps",
    "object_to_case",
    "open_aid_case",
    "record_disbursement",
    "record_home_visit",
    "reject_case",
    "remind_notices_ended",
    "resolve_objection",
    "review_case",
    "start_notice",
    "yearly_review",
]

NOTIFICATION_KINDS = [
    (
        "services.aid.applied",
        gettext_lazy("A new hardship aid application at %(union)s"),
        gettext_lazy("Review it and arrange the home visit."),
    ),
    (
        "services.aid.to_approve",
        gettext_lazy("A hardship aid case from %(union)s waits for your approval"),
        gettext_lazy("The home visit is recorded; approve or reject the case."),
    ),
    (
        "services.aid.approved",
        gettext_lazy("Your hardship aid application was approved"),
        gettext_lazy(
            "Amount approved: %(amount)s yuan. It is shown in a public notice at your union "
            "before it is paid."
        ),
    ),
    (
        "services.aid.rejected",
        gettext_lazy("Your hardship aid application was not approved"),
        gettext_lazy("See your case in the portal; your union can explain the decision."),
    ),
    (
        "services.aid.disbursed",
        gettext_lazy("Your hardship aid of %(amount)s yuan was paid"),
        gettext_lazy("Your union reviews your situation again in a year."),
    ),
    (
        "services.aid.objection",
        gettext_lazy("An objection was raised to a hardship aid case at %(union)s"),
        gettext_lazy("The case is held until you uphold or dismiss the objection."),
    ),
    (
        "services.aid.notice_ended",
        gettext_lazy("The public notice of a hardship aid case at %(union)s has ended"),
        gettext_lazy("No objection is open: the aid can now be paid."),
    ),
    (
        "services.aid.notice_started",
        gettext_lazy("Your case is on public notice until %(until)s"),
        gettext_lazy(
            "Members of your union may raise objections until then. If none is upheld, "
            "the aid is paid after the notice."
        ),
    ),
]

# Only the hardship aid officers get the admin of cases; everyone else sees figures only.
ROLE_PERMISSIONS = {
    Role.AID: {"view_aidcase", "add_aidcase", "handle_aid", "view_aidstep", "view_aidobjection"},
}

SCHEDULES = [
    {
        "name": "daily hardship aid notice check",
        "task": "services.tasks.aid.remind_notices_ended_task",
        "hour": 7,
        "minute": 20,
    },
]

# What an application carries; everything else is set by the flow.
APPLICATION_FIELDS = (
    "tier",
    "reason",
    "household_size",
    "household_monthly_income",
    "situation",
    "amount_requested",
)

OPEN_STATUSES = frozenset(set(AidStatus.values) - {AidStatus.REJECTED, AidStatus.CLOSED})

DISBURSEMENT_METHODS = {
    "bank": gettext_lazy("Bank transfer"),
    "cash": gettext_lazy("Cash"),
    "card": gettext_lazy("Paid onto the membership card"),
    "in_kind": gettext_lazy("Goods in kind"),
}


# --- Counters -----------------------------------------------------------------------------


counters.register_source("services.aid.", count_aid_counters)


# --- Helpers ------------------------------------------------------------------------------


def _aid_officers(org: Organization | int) -> list[int]:
    return officers_of(org, roles=[Role.AID])


def _require_aid(user, org: Organization) -> None:
    require(user, scope.Access.AID, org, _("Only hardship aid officers of this union can do this."))


def _step(case: AidCase, kind: str, user, text: str = "", amount=None) -> AidStep:
    return AidStep.objects.create(
        case=case, kind=kind, actor=recorded_actor(user), text=text, amount=amount
    )


def _audit(case: AidCase, user, action: str, **changes) -> None:
    record_audit(
        actor=user,
        action=f"services.aid.{action}",
        obj=case,
        organization=case.organization,
        changes={k: str(v) if isinstance(v, Decimal) else v for k, v in changes.items()},
    )


def _locked(case: AidCase) -> AidCase:
    return (
        AidCase.objects.select_for_update(of=("self",))
        .select_related("organization", "approver", "member")
        .get(pk=case.pk)
    )


def _expect(case: AidCase, *statuses: str, doing: str) -> None:
    """A clear error when a step comes in the wrong order."""
    if case.status not in statuses:
        raise ValidationError(
            _("This case is at the step “%(status)s”, so you cannot %(doing)s now.")
            % {"status": AidStatus(case.status).label, "doing": doing},
            code="wrong_order",
        )


def _amount(value, field: str) -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationError(
            {field: [_("Enter an amount in yuan, e.g. 2000 or 1500.50.")]}
        ) from None
    if amount <= 0:
        raise ValidationError({field: [_("The amount must be more than zero.")]})
    if amount >= Decimal("100000000"):
        raise ValidationError({field: [_("This amount is too large.")]})
    return amount


def _member_user(case: AidCase) -> list[int]:
    return [case.member.user_id] if case.member.user_id else []


# --- Applying -----------------------------------------------------------------------------


def _new_case(
    *, member: Member, data: dict, acting_user, by_member: bool, year: int | None = None
) -> AidCase:
    require_current_member(member)
    union = Organization.objects.get(pk=member.organization_id)
    if union.level != Level.GRASSROOTS:
        raise ValidationError(_("Hardship aid is handled by a grassroots union."))
    unknown = set(data) - set(APPLICATION_FIELDS)
    if unknown:
        raise ValidationError(_("Unknown fields: %(f)s") % {"f": ", ".join(sorted(unknown))})
    case = AidCase(
        organization=union,
        member=member,
        approver=approver_for(union),
        year=year or timezone.localdate().year,
        applied_by_member=by_member,
        created_by=recorded_actor(acting_user),
        **{f: data.get(f) for f in APPLICATION_FIELDS},
    )
    if isinstance(case.situation, str):
        case.situation = case.situation.strip()
    case.full_clean(exclude=["created_by", "amount_approved"], validate_constraints=False)
    taken = _("There is already an open hardship aid case for this member for %(year)d.") % {
        "year": case.year
    }
    if AidCase.objects.filter(member=member, year=case.year, status__in=OPEN_STATUSES).exists():
        raise ValidationError(taken, code="one_per_year")
    try:
        with transaction.atomic():
            case.save()
            _step(case, AidStepKind.APPLIED, acting_user)
            counters.adjust({(union.pk, S.AID_CASES): 1})
            _audit(case, acting_user, "applied", by_member=by_member, year=case.year)
    except IntegrityError:  # a concurrent application won the race
        raise ValidationError(taken, code="one_per_year") from None
    notify_on_commit(
        [u for u in _aid_officers(union) if u != getattr(acting_user, "pk", None)],
        "services.aid.applied",
        {"union": union.name},
        link_for("admin:services_aidcase_change", case.pk),
        dedupe_key=f"aid:{case.pk}:applied",
    )
    return case


def apply_for_aid(*, member: Member, data: dict) -> AidCase:
    """The member applies for hardship aid from the portal (for the current year)."""
    with transaction.atomic():
        return _new_case(member=member, data=data, acting_user=member.user, by_member=True)


def open_aid_case(*, member: Member, data: dict, acting_user) -> AidCase:
    """An aid officer opens a case for a member of a union in their area."""
    _require_aid(acting_user, Organization.objects.get(pk=member.organization_id))
    with transaction.atomic():
        return _new_case(member=member, data=data, acting_user=acting_user, by_member=False)


# --- The grassroots union: review and home visit --------------------------------------------


def review_case(*, case: AidCase, accept: bool, text: str = "", acting_user) -> AidCase:
    """The grassroots union accepts an application for a home visit, or rejects it."""
    _require_aid(acting_user, case.organization)
    if not accept:
        text = required_text(text, "text", _("Give the reason for the rejection."), 2000)
    with transaction.atomic():
        case = _locked(case)
        _expect(case, AidStatus.APPLIED, doing=_("review it"))
        if accept:
            case.status = AidStatus.REVIEWED
            _step(case, AidStepKind.REVIEWED, acting_user, (text or "").strip()[:5000])
        else:
            case.status = AidStatus.REJECTED
            _step(case, AidStepKind.REJECTED, acting_user, text)
        case.save(update_fields=["status", "updated_at"])
        _audit(case, acting_user, "reviewed", accepted=accept)
        if not accept:
            _notify_rejected(case)
    return case


def record_home_visit(
    *, case: AidCase, text: str, visited_on: datetime.date, visitors: str, acting_user
) -> AidCase:
    """Record the home visit (入户走访): what was found, when, and who went."""
    _require_aid(acting_user, case.organization)
    text = required_text(text, "text", _("Write down what the visit found."), 4000)
    visitors = required_text(visitors, "visitors", _("Name who made the visit."), 500)
    if not isinstance(visited_on, datetime.date):
        raise ValidationError({"visited_on": [_("Give the date of the visit.")]})
    if visited_on > timezone.localdate():
        raise ValidationError({"visited_on": [_("The visit cannot be in the future.")]})
    with transaction.atomic():
        case = _locked(case)
        _expect(case, AidStatus.REVIEWED, doing=_("record the home visit"))
        if visited_on < timezone.localdate(case.created_at):
            raise ValidationError(
                {"visited_on": [_("The visit cannot be before the application.")]}
            )
        case.status = AidStatus.VISITED
        case.save(update_fields=["status", "updated_at"])
        record = _("Visited on %(date)s by %(visitors)s.") % {
            "date": visited_on.isoformat(),
            "visitors": visitors,
        }
        _step(case, AidStepKind.VISITED, acting_user, f"{record}\n\n{text}")
        _audit(case, acting_user, "visited", visited_on=visited_on.isoformat())
        notify_on_commit(
            _aid_officers(case.approver),
            "services.aid.to_approve",
            {"union": case.organization.name},
            link_for("admin:services_aidcase_change", case.pk),
            dedupe_key=f"aid:{case.pk}:to_approve",
        )
    return case


# --- The approving union ----------------------------------------------------------------------


def _require_approver(user, case: AidCase) -> None:
    require(
        user,
        scope.Access.AID,
        case.approver,
        _("Only hardship aid officers of %(union)s can approve or reject this case.")
        % {"union": case.approver.name},
    )


def approve_case(
    *, case: AidCase, amount: Decimal | str, tier: str, text: str = "", acting_user
) -> AidCase:
    """The approving union approves the case with the amount and confirms the tier."""
    _require_approver(acting_user, case)
    amount = _amount(amount, "amount")
    if tier not in AidTier.values:
        raise ValidationError({"tier": [_("Choose the hardship tier.")]})
    with transaction.atomic():
        case = _locked(case)
        _expect(case, AidStatus.VISITED, doing=_("approve it"))
        before_tier = case.tier
        case.status = AidStatus.APPROVED
        case.amount_approved = amount
        case.tier = tier
        case.save(update_fields=["status", "amount_approved", "tier", "updated_at"])
        _step(case, AidStepKind.APPROVED, acting_user, (text or "").strip()[:5000], amount)
        counters.adjust({(case.organization_id, S.AID_APPROVED): 1})
        _audit(case, acting_user, "approved", amount=amount, tier=tier, tier_before=before_tier)
        notify_on_commit(
            _member_user(case),
            "services.aid.approved",
            {"amount": f"{amount:.2f}"},
            link_for("aid-mine"),
            dedupe_key=f"aid:{case.pk}:approved",
        )
    return case


def reject_case(*, case: AidCase, text: str, acting_user) -> AidCase:
    """The approving union rejects the case, with the reason."""
    _require_approver(acting_user, case)
    text = required_text(text, "text", _("Give the reason for the rejection."), 2000)
    with transaction.atomic(durable=True):
        case = _locked(case)
        _expect(case, AidStatus.VISITED, doing=_("reject it"))
        case.status = AidStatus.REJECTED
        case.save(update_fields=["status", "updated_at"])
        _step(case, AidStepKind.REJECTED, acting_user, text)
        _audit(case, acting_user, "rejected")
        _notify_rejected(case)
    return case


def _notify_rejected(case: AidCase) -> None:
    notify_on_commit(
        _member_user(case),
        "services.aid.rejected",
        {},
        link_for("aid-mine"),
        dedupe_key=f"aid:{case.pk}:rejected",
    )


# --- Public notice (公示) and objections -------------------------------------------------------


def _notice_period(case: AidCase) -> tuple[datetime.date, datetime.date]:
    start = timezone.localdate()
    return start, start + datetime.timedelta(days=notice_days_for(case.organization) - 1)


def _notify_notice_started(case: AidCase) -> None:
    notify_on_commit(
        _member_user(case),
        "services.aid.notice_started",
        {"until": case.notice_ends_on.isoformat()},
        link_for("aid-mine"),
        dedupe_key=f"aid:{case.pk}:notice_started:{case.notice_starts_on.isoformat()}",
    )


def start_notice(*, case: AidCase, acting_user) -> AidCase:
    """Put an approved case on public notice at its union for the configured days."""
    _require_aid(acting_user, case.organization)
    with transaction.atomic():
        case = _locked(case)
        _expect(case, AidStatus.APPROVED, doing=_("start the public notice"))
        case.status = AidStatus.NOTICE
        case.notice_starts_on, case.notice_ends_on = _notice_period(case)
        case.save(update_fields=["status", "notice_starts_on", "notice_ends_on", "updated_at"])
        _step(
            case,
            AidStepKind.NOTICE,
            acting_user,
            _("Public notice from %(start)s to %(end)s.")
            % {"start": case.notice_starts_on.isoformat(), "end": case.notice_ends_on.isoformat()},
        )
        _audit(
            case,
            acting_user,
            "notice",
            starts=case.notice_starts_on.isoformat(),
            ends=case.notice_ends_on.isoformat(),
        )
        _notify_notice_started(case)
    return case


def object_to_case(*, case: AidCase, text: str, acting_user) -> AidObjection:
    """Someone of the same grassroots union objects to a case on public notice."""
    if not belongs_to_union(acting_user, case.organization_id):
        raise PermissionDenied(_("Only people of this union can object to its notices."))
    if case.member.user_id is not None and case.member.user_id == acting_user.pk:
        raise ValidationError(_("You cannot object to your own case."))
    text = required_text(text, "text", _("Say what you object to."), 2000)
    with transaction.atomic(durable=True):
        case = _locked(case)
        today = timezone.localdate()
        in_notice = case.status in (AidStatus.NOTICE, AidStatus.OBJECTED) and (
            case.notice_starts_on <= today <= case.notice_ends_on
        )
        if not in_notice:
            raise ValidationError(
                _("This case is not on public notice now, so objections are closed."),
                code="not_in_notice",
            )
        objection = AidObjection.objects.create(
            case=case, raised_by=recorded_actor(acting_user), text=text
        )
        if case.status != AidStatus.OBJECTED:
            case.status = AidStatus.OBJECTED
            case.save(update_fields=["status", "updated_at"])
        # The objection's text is kept on the objection; the history only says one came.
        _step(case, AidStepKind.OBJECTION, acting_user)
        _audit(case, acting_user, "objection", objection=objection.pk)
        notify_on_commit(
            _aid_officers(case.organization),
            "services.aid.objection",
            {"union": case.organization.name},
            link_for("admin:services_aidcase_change", case.pk),
            dedupe_key=f"aid:objection:{objection.pk}",
        )
    return objection


def resolve_objection(
    *, objection: AidObjection, upheld: bool, resolution: str, acting_user
) -> AidCase:
    """Uphold an objection (the case is rejected) or dismiss it (the notice restarts once
    no other objection is open)."""
    case = objection.case
    _require_aid(acting_user, case.organization)
    resolution = required_text(resolution, "resolution", _("Explain the decision."), 2000)
    with transaction.atomic(durable=True):
        case = _locked(case)
        objection = AidObjection.objects.select_for_update().get(pk=objection.pk)
        if objection.resolved_at is not None:
            raise ValidationError(_("This objection was already decided."))
        _expect(case, AidStatus.OBJECTED, doing=_("decide on an objection"))
        now = timezone.now()
        objection.upheld = upheld
        objection.resolution = resolution
        objection.resolved_at = now
        objection.save(update_fields=["upheld", "resolution", "resolved_at"])
        if upheld:
            # The case falls, and with it every other objection still open.
            case.objections.filter(resolved_at__isnull=True).update(
                upheld=True,
                resolution=_("Settled: another objection was upheld."),
                resolved_at=now,
            )
            case.status = AidStatus.REJECTED
            case.save(update_fields=["status", "updated_at"])
            _step(case, AidStepKind.OBJECTION_UPHELD, acting_user, resolution)
            counters.adjust({(case.organization_id, S.AID_APPROVED): -1})
            _notify_rejected(case)
        else:
            _step(case, AidStepKind.OBJECTION_DISMISSED, acting_user, resolution)
            if not case.objections.filter(resolved_at__isnull=True).exists():
                case.status = AidStatus.NOTICE
                case.notice_starts_on, case.notice_ends_on = _notice_period(case)
                _step(
                    case,
                    AidStepKind.NOTICE,
                    acting_user,
                    _("Public notice restarted from %(start)s to %(end)s.")
                    % {
                        "start": case.notice_starts_on.isoformat(),
                        "end": case.notice_ends_on.isoformat(),
                    },
                )
                # The member hears again: the notice now ends later, and so does the wait
                # for the aid. (A restart on the day the notice began has the same dedupe
                # key and sends nothing new.)
                _notify_notice_started(case)
            case.save(update_fields=["status", "notice_starts_on", "notice_ends_on", "updated_at"])
        _audit(case, acting_user, "objection_resolved", objection=objection.pk, upheld=upheld)
    return case


# --- Payment and yearly review --------------------------------------------------------------


def record_disbursement(
    *,
    case: AidCase,
    amount: Decimal | str | None = None,
    method: str,
    reference: str = "",
    acting_user,
) -> AidCase:
    """Record that the aid was paid, once the notice ended with no open objection."""
    _require_aid(acting_user, case.organization)
    if method not in DISBURSEMENT_METHODS:
        raise ValidationError({"method": [_("Choose how the aid was paid.")]})
    reference = (reference or "").strip()[:200]
    with transaction.atomic(durable=True):
        case = _locked(case)
        if case.status == AidStatus.OBJECTED:
            raise ValidationError(
                _("An objection is open: decide on it before the aid is paid."), code="objected"
            )
        _expect(case, AidStatus.NOTICE, doing=_("record the payment"))
        today = timezone.localdate()
        if case.notice_ends_on >= today:
            raise ValidationError(
                _("The public notice runs until %(date)s; the aid can be paid after it ends.")
                % {"date": case.notice_ends_on.isoformat()},
                code="notice_running",
            )
        amount = case.amount_approved if amount in (None, "") else _amount(amount, "amount")
        if amount > case.amount_approved:
            raise ValidationError(
                {
                    "amount": [
                        _("You cannot pay more than the amount approved (%(amount)s yuan).")
                        % {"amount": f"{case.amount_approved:.2f}"}
                    ]
                }
            )
        case.status = AidStatus.DISBURSED
        case.next_review_on = _one_year_later(today)
        case.save(update_fields=["status", "next_review_on", "updated_at"])
        record = " · ".join(p for p in (str(DISBURSEMENT_METHODS[method]), reference) if p)
        _step(case, AidStepKind.DISBURSED, acting_user, record, amount)
        counters.adjust(
            {
                (case.organization_id, S.AID_DISBURSED_COUNT): 1,
                (case.organization_id, S.AID_DISBURSED_FEN): counters.fen(amount),
            }
        )
        _audit(case, acting_user, "disbursed", amount=amount, method=method)
        notify_on_commit(
            _member_user(case),
            "services.aid.disbursed",
            {"amount": f"{amount:.2f}"},
            link_for("aid-mine"),
            dedupe_key=f"aid:{case.pk}:disbursed",
        )
    return case


def _one_year_later(day: datetime.date) -> datetime.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def yearly_review(
    *, case: AidCase, continue_aid: bool, text: str, acting_user, data: dict | None = None
) -> AidCase:
    """The yearly review of a paid case: close it, or continue with a new year's case
    (which goes through review, visit, approval and notice again). Returns the new case
    when continued, else the closed one."""
    _require_aid(acting_user, case.organization)
    text = required_text(text, "text", _("Write down what the review found."), 4000)
    with transaction.atomic(durable=True):
        case = _locked(case)
        _expect(case, AidStatus.DISBURSED, doing=_("do the yearly review"))
        case.status = AidStatus.CLOSED
        case.save(update_fields=["status", "updated_at"])
        outcome = _("Aid continues next year.") if continue_aid else _("Aid ends.")
        _step(case, AidStepKind.YEARLY_REVIEW, acting_user, f"{outcome}\n\n{text}")
        _step(case, AidStepKind.CLOSED, acting_user)
        _audit(case, acting_user, "yearly_review", continued=continue_aid)
        if not continue_aid:
            return case
        fields = {f: getattr(case, f) for f in APPLICATION_FIELDS}
        fields.update(data or {})
        member = Member.objects.select_related("organization").get(pk=case.member_id)
        return _new_case(
            member=member,
            data=fields,
            acting_user=acting_user,
            by_member=False,
            year=max(case.year + 1, timezone.localdate().year),
        )


# --- Steps available, for the surfaces ------------------------------------------------------


def available_steps(*, case: AidCase, user) -> set[str]:
    """What `user` may do on the case now: review, visit, approve, notice, resolve,
    disburse, yearly_review. The admin shows only these forms."""
    if not scope.can(user, scope.Access.AID, case):
        return set()
    status = case.status
    steps = {
        AidStatus.APPLIED: {"review"},
        AidStatus.REVIEWED: {"visit"},
        AidStatus.APPROVED: {"notice"},
        AidStatus.OBJECTED: {"resolve"},
        AidStatus.DISBURSED: {"yearly_review"},
    }.get(status, set())
    if status == AidStatus.VISITED and scope.can(user, scope.Access.AID, case.approver):
        steps = {"approve"}
    if (
        status == AidStatus.NOTICE
        and case.notice_ends_on is not None
        and case.notice_ends_on < timezone.localdate()
    ):
        steps = {"disburse"}
    return set(steps)


# --- The daily job ----------------------------------------------------------------------------


def remind_notices_ended(today: datetime.date | None = None) -> int:
    """Tell the aid officers of each union whose case's notice ended with no open objection
    that the aid can be paid (once per notice period); returns how many cases."""
    today = today or timezone.localdate()
    due = AidCase.objects.filter(status=AidStatus.NOTICE, notice_ends_on__lt=today).select_related(
        "organization"
    )
    count = 0
    for case in due:
        officers = _aid_officers(case.organization)
        if officers:
            notify(
                officers,
                "services.aid.notice_ended",
                {"union": case.organization.name},
                link_for("admin:services_aidcase_change", case.pk),
                dedupe_key=f"aid:{case.pk}:notice_ended:{case.notice_ends_on.isoformat()}",
            )
        count += 1
    return count
