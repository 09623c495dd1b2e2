"""Dues (会费): wage bases, monthly dues records and payments.

The rule and the parsing of amounts are in `members.amounts`, the payroll import in
`.payroll`, the monthly reminder in `.dues_reminders`, the counters in `members.counters`
and the reads in `members.selectors.dues`. Wage bases are restricted: only administrators
of the member's union holding `members.change_wage_base` see and change them, and audit
entries name the field, never the amount.
"""

from __future__ import annotations

import datetime
from collections import Counter

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import record_audit
from organizations import counters
from organizations.models import Level, Organization, OrgStatus

from .. import statkeys as M
from ..amounts import compute_dues, parse_amount
from ..counters import count_dues_counters, record_counters
from ..models import DuesRecord, Member, MemberStatus, PaymentMethod
from ..selectors.dues import check_period
from .permissions import require_member_admin, require_wage_admin


def is_user(user) -> bool:
    """Whether `user` is a signed-in person (not None, the system, or an anonymous caller)."""
    return bool(getattr(user, "is_authenticated", False))


def lock_union(organization: Organization) -> None:
    """Serialize dues writes of one union (monthly generation, payroll import)."""
    list(Organization.objects.select_for_update().filter(pk=organization.pk).values_list("pk"))


def check_dues_union(organization: Organization) -> None:
    """Dues are kept by active grassroots unions."""
    if organization.level != Level.GRASSROOTS:
        raise ValidationError(
            {
                "organization": ValidationError(
                    _("Dues are kept by grassroots unions."), code="not_grassroots"
                )
            }
        )
    if organization.status != OrgStatus.ACTIVE:
        raise ValidationError(
            {
                "organization": ValidationError(
                    _("%(union)s is dissolved.") % {"union": organization.name}, code="dissolved"
                )
            }
        )


DUES_BATCH = 1000  # dues records inserted per statement


# --- Wage base --------------------------------------------------------------------------


def set_wage_base(*, member: Member, wage_base, acting_user=None) -> Member:
    """Set (or clear, with None) a member's monthly wage base; audited without the amount."""
    require_wage_admin(acting_user, member.organization)
    value = None
    if wage_base is not None and wage_base != "":
        value = parse_amount(wage_base, field="wage_base")
    with transaction.atomic():
        locked = Member.objects.select_for_update().get(pk=member.pk)
        if locked.deleted_at is not None:
            raise ValidationError(_("This member record was deleted."), code="deleted")
        if locked.wage_base == value:
            return locked
        locked.wage_base = value
        locked.save(update_fields=["wage_base", "updated_at"])
        record_audit(
            actor=acting_user,
            action="member.wage_base_changed",
            obj=locked,
            organization=locked.organization,
            changes={"fields": ["wage_base"]},
        )
    member.wage_base = value
    return locked


# --- Monthly dues and payments -----------------------------------------------------------


def generate_monthly_dues(
    *, organization: Organization, period: datetime.date, acting_user=None
) -> int:
    """Create the month's dues record of every active member with a wage base who has none.

    Idempotent: running it again creates nothing. Returns the number of records created.
    """
    require_member_admin(acting_user, organization)
    period = check_period(period)
    check_dues_union(organization)
    with transaction.atomic():
        lock_union(organization)
        missing = list(
            Member.objects.filter(
                organization=organization,
                status=MemberStatus.ACTIVE,
                deleted_at__isnull=True,
                wage_base__isnull=False,
            )
            .exclude(dues__period=period)
            .values_list("pk", "wage_base")
        )
        user = acting_user if is_user(acting_user) else None
        records = [
            DuesRecord(
                member_id=pk,
                organization=organization,
                period=period,
                wage_base=wage,
                amount_due=compute_dues(wage),
                recorded_by=user,
            )
            for pk, wage in missing
        ]
        delta: Counter = Counter()
        for start in range(0, len(records), DUES_BATCH):
            batch = records[start : start + DUES_BATCH]
            DuesRecord.objects.bulk_create(batch, ignore_conflicts=True)
            # A skipped conflict (the member's new union, after a transfer, made the month's
            # record meanwhile) leaves no trace on the instances: count the rows themselves.
            # Under the union lock, this union's rows of these members are the new ones.
            delta.update(
                count_dues_counters(
                    DuesRecord.objects.filter(
                        organization=organization,
                        period=period,
                        member_id__in=[record.member_id for record in batch],
                    )
                )
            )
        counters.adjust(delta)
        created = delta[(organization.pk, M.DUES_RECORDS)]
        if created:
            record_audit(
                actor=acting_user,
                action="dues.generated",
                obj=organization,
                organization=organization,
                changes={"period": period.strftime("%Y-%m"), "created": created},
            )
    return created


def record_payment(
    *,
    record: DuesRecord,
    amount,
    paid_on: datetime.date | None = None,
    method: str,
    acting_user=None,
) -> DuesRecord:
    """Add a payment to a month's dues; paying more than is due is refused."""
    require_member_admin(acting_user, record.organization)
    amount = parse_amount(amount, field="amount")
    errors = {}
    if amount <= 0:
        errors["amount"] = [_("Enter an amount above zero.")]
    if method not in PaymentMethod.values:
        errors["method"] = [_("Choose one of the listed payment methods.")]
    today = timezone.localdate()
    paid_on = paid_on or today
    if paid_on > today:
        errors["paid_on"] = [_("A payment date cannot be in the future.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = DuesRecord.objects.select_for_update().get(pk=record.pk)
        if locked.amount_paid + amount > locked.amount_due:
            raise ValidationError(
                {
                    "amount": ValidationError(
                        _("This is more than the %(outstanding)s yuan still due.")
                        % {"outstanding": locked.outstanding},
                        code="overpayment",
                    )
                }
            )
        before = record_counters(locked)
        locked.amount_paid += amount
        locked.paid_on = paid_on
        locked.method = method
        locked.recorded_by = acting_user if is_user(acting_user) else None
        locked.save(update_fields=["amount_paid", "paid_on", "method", "recorded_by", "updated_at"])
        delta = record_counters(locked)
        delta.subtract(before)
        counters.adjust(delta)
        record_audit(
            actor=acting_user,
            action="dues.payment_recorded",
            obj=locked,
            organization=locked.organization,
            changes={"fields": ["amount_paid", "paid_on", "method"]},
        )
    return locked
