"""Read-only queries over dues (会费): arrears, the split between the levels, period totals."""

from __future__ import annotations

import datetime
from decimal import ROUND_DOWN, Decimal

from django.core.exceptions import ValidationError
from django.db.models import Count, DecimalField, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from organizations import scope
from organizations.models import Level, Organization
from organizations.selectors import chain

from ..models import DuesRecord, MemberStatus

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
_MONEY = DecimalField(max_digits=14, decimal_places=2)


def current_period(today: datetime.date | None = None) -> datetime.date:
    """The first day of the current month (Asia/Shanghai)."""
    return (today or timezone.localdate()).replace(day=1)


def check_period(period) -> datetime.date:
    """A dues period is the first day of a month; anything else is refused."""
    if isinstance(period, datetime.datetime) or not isinstance(period, datetime.date):
        raise ValidationError(
            {
                "period": ValidationError(
                    _("Give the month as its first day."), code="invalid_period"
                )
            }
        )
    if period.day != 1:
        raise ValidationError(
            {
                "period": ValidationError(
                    _("A dues period is a month: give the first day of the month."),
                    code="invalid_period",
                )
            }
        )
    return period


def parse_month(text: str) -> datetime.date:
    """'2025-01' (or '2025-01-01') → date(2025, 1, 1); ValidationError otherwise."""
    text = (text or "").strip()
    try:
        if len(text) == 7:
            return datetime.datetime.strptime(text, "%Y-%m").date()
        value = datetime.date.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            {
                "period": ValidationError(
                    _("Give the month as YYYY-MM, e.g. 2025-01."), code="invalid_period"
                )
            }
        ) from None
    return check_period(value)


def outstanding_expression():
    """What is still owed on a record, never negative."""
    return Greatest(F("amount_due") - F("amount_paid"), Value(ZERO), output_field=_MONEY)


def paid_q() -> Q:
    """Paid in full: the query form of `DuesRecord.is_paid`."""
    return Q(amount_paid__gte=F("amount_due"))


def arrears_q(today: datetime.date | None = None) -> Q:
    return Q(amount_paid__lt=F("amount_due"), period__lt=current_period(today))


def arrears(queryset: QuerySet[DuesRecord], today: datetime.date | None = None) -> QuerySet:
    """Records not paid in full for a month that is over (欠缴)."""
    return queryset.filter(arrears_q(today))


def unpaid_by_member(today: datetime.date | None = None) -> QuerySet:
    """Per active member with a portal login and arrears (`arrears_q`): `months` not paid in
    full and the `outstanding` total, with the member's user id and union name; by member."""
    return (
        DuesRecord.objects.filter(
            arrears_q(today),
            member__status=MemberStatus.ACTIVE,
            member__deleted_at__isnull=True,
            member__user__isnull=False,
        )
        .values("member_id", "member__user_id", "member__organization__name")
        .annotate(months=Count("pk"), outstanding=Sum(outstanding_expression()))
        .order_by("member_id")
    )


def total_outstanding(queryset: QuerySet[DuesRecord]) -> Decimal:
    result = queryset.aggregate(
        total=Coalesce(Sum(outstanding_expression()), Value(ZERO), output_field=_MONEY)
    )["total"]
    return Decimal(result).quantize(CENT)


def collected(*, organization: Organization, period: datetime.date) -> Decimal:
    total = DuesRecord.objects.filter(organization=organization, period=period).aggregate(
        total=Coalesce(Sum("amount_paid"), Value(ZERO), output_field=_MONEY)
    )["total"]
    return Decimal(total).quantize(CENT)


def dues_split(*, organization: Organization, period: datetime.date) -> list[dict]:
    """How a grassroots union's dues collected for `period` are split between the levels.

    Each organization above it with a share gets collected × share / 100, rounded down to
    the cent; the grassroots union keeps the rest, so the parts sum exactly to the total.
    The grassroots union comes first, then its parent and so on up to the national
    federation. Each part: organization, percent, amount, kept (True for the union itself).
    """
    check_period(period)
    if organization.level != Level.GRASSROOTS:
        raise ValidationError(
            {
                "organization": ValidationError(
                    _("Dues are collected and split by grassroots unions."), code="not_grassroots"
                )
            }
        )
    ancestors = [a for a in reversed(chain(organization)) if a.dues_share_percent > 0]
    total_percent = sum((a.dues_share_percent for a in ancestors), ZERO)
    if total_percent > 100:
        raise ValidationError(
            {
                "organization": ValidationError(
                    _(
                        "The shares of dues of the organizations above this union add up to "
                        "%(percent)s %%, more than 100 %%. Correct them first."
                    )
                    % {"percent": total_percent},
                    code="shares_over_100",
                )
            }
        )
    total = collected(organization=organization, period=period)
    parts = [
        {
            "organization": a,
            "percent": a.dues_share_percent,
            "amount": (total * a.dues_share_percent / 100).quantize(CENT, rounding=ROUND_DOWN),
            "kept": False,
        }
        for a in ancestors
    ]
    kept = total - sum((p["amount"] for p in parts), ZERO)
    return [
        {
            "organization": organization,
            "percent": Decimal(100) - total_percent,
            "amount": kept,
            "kept": True,
        },
        *parts,
    ]


def period_summary(*, organizations_qs: QuerySet[Organization], period: datetime.date) -> list:
    """Per union: records, total due, paid and outstanding for `period` (one query)."""
    check_period(period)
    money = {"output_field": _MONEY}
    rows = (
        DuesRecord.objects.filter(organization__in=organizations_qs, period=period)
        .values("organization", "organization__name")
        .annotate(
            records=Count("pk"),
            due=Coalesce(Sum("amount_due"), Value(ZERO), **money),
            paid=Coalesce(Sum("amount_paid"), Value(ZERO), **money),
            outstanding=Coalesce(Sum(outstanding_expression()), Value(ZERO), **money),
        )
        .order_by("organization__name", "organization")
    )
    return [
        {
            "organization_id": row["organization"],
            "organization_name": row["organization__name"],
            "records": row["records"],
            "due": Decimal(row["due"]).quantize(CENT),
            "paid": Decimal(row["paid"]).quantize(CENT),
            "outstanding": Decimal(row["outstanding"]).quantize(CENT),
        }
        for row in rows
    ]


def summary_unions(user) -> QuerySet[Organization]:
    """Grassroots unions whose dues totals `user` may see (aggregates: view access)."""
    return (
        scope.organizations(user, scope.Access.VIEW)
        .filter(level=Level.GRASSROOTS)
        .order_by("name", "pk")
    )
