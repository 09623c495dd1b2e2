"""The figures of the dashboard, the API and the report files: one computation for all three.

Everything is read from the subtree roll-ups (`organizations.rollups`, exact at every moment)
and, for what happened within a period, from the daily snapshots: a flow in a period is its
cumulative counter at the end minus the snapshot of the day before the start. Nothing here
counts member rows, and nothing returns a person.

Small numbers in sensitive categories (hardship aid, legal aid, counselling) are suppressed:
a value from 1 to 4 is returned as None and shown as "<5".
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass

from django.core.paginator import Paginator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members import statkeys as M
from members.models import EmploymentType, Gender
from organizations import counters, rollups, scope
from organizations import statkeys as O
from organizations.counters import yuan
from organizations.models import Level, Organization
from organizations.statkeys import AFFILIATED_PREFIX, INDUSTRY_PREFIX
from services import statkeys as S
from services.actions import suppressed
from services.models import CONFIDENTIAL_CATEGORIES, ServiceCategory

from .models import DailySnapshot

# Levels that get a dashboard and daily snapshots: those whose grants show aggregated figures
# (everything above grassroots unions; the scope's one statistics rule).
FEDERATION_LEVELS = tuple(
    level for level in Level.values if level not in scope.PERSONAL_DATA_LEVELS
)

ACTIVE = M.ACTIVE
JOINED = M.JOINED
WITHDRAWN = M.WITHDRAWN
TRANSFER_IN = M.TRANSFER_IN
TRANSFER_OUT = M.TRANSFER_OUT
GRASSROOTS = O.GRASSROOTS
EMPLOYEES = O.EMPLOYEES

# Cumulative keys kept in the daily snapshots (stocks and flows; the trends and periods).
SNAPSHOT_KEYS = (
    ACTIVE,
    M.RETAINED,
    JOINED,
    WITHDRAWN,
    TRANSFER_IN,
    TRANSFER_OUT,
    GRASSROOTS,
    EMPLOYEES,
    S.REQUESTS,
    S.COMPLETED,
    S.RAISED,
    S.ANSWERED,
    S.ATTENDANCE,
    M.DUES_DUE_FEN,
    M.DUES_PAID_FEN,
)
# Flows whose change over the period is shown.
PERIOD_FLOWS = (
    (JOINED, _("Joined")),
    (WITHDRAWN, _("Withdrew")),
    (TRANSFER_IN, _("Transferred in")),
    (TRANSFER_OUT, _("Transferred out")),
    (S.REQUESTS, _("Service orders")),
    (S.RAISED, _("Concerns raised")),
    (S.ATTENDANCE, _("Activity check-ins")),
)
SENSITIVE_CATEGORIES = frozenset({ServiceCategory.HARDSHIP, *CONFIDENTIAL_CATEGORIES})
AGE_BANDS = ((None, 24), (25, 34), (35, 44), (45, 54), (55, None))


@dataclass(frozen=True)
class Period:
    start: datetime.date
    end: datetime.date
    code: str = "custom"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


PERIOD_CHOICES = (
    ("30d", _("Last 30 days")),
    ("90d", _("Last 90 days")),
    ("ytd", _("This year")),
    ("12m", _("Last 12 months")),
    ("month", _("Last month")),
)
MAX_PERIOD_DAYS = 3 * 366


class PeriodError(ValueError):
    pass


def parse_period(
    code: str | None, start: str | None = None, end: str | None = None, today=None
) -> Period:
    """A period from the filter: a preset code, or a custom from/to (ISO dates)."""
    today = today or timezone.localdate()
    if start or end:
        try:
            first = datetime.date.fromisoformat(start or "")
            last = datetime.date.fromisoformat(end) if end else today
        except ValueError:
            raise PeriodError(_("Enter dates as YYYY-MM-DD.")) from None
        if first > last:
            raise PeriodError(_("The start of the period is after its end."))
        if last > today:
            raise PeriodError(_("The period cannot end in the future."))
        if (last - first).days >= MAX_PERIOD_DAYS:
            raise PeriodError(_("A period can be at most three years long."))
        return Period(first, last)
    code = code or "30d"
    if code == "30d":
        return Period(today - datetime.timedelta(days=29), today, code)
    if code == "90d":
        return Period(today - datetime.timedelta(days=89), today, code)
    if code == "ytd":
        return Period(today.replace(month=1, day=1), today, code)
    if code == "12m":
        return Period(_add_months(today, -12) + datetime.timedelta(days=1), today, code)
    if code == "month":
        return last_month(today)
    raise PeriodError(_("Unknown period."))


def last_month(today: datetime.date) -> Period:
    end = today.replace(day=1) - datetime.timedelta(days=1)
    return Period(end.replace(day=1), end, "month")


def _add_months(day: datetime.date, months: int) -> datetime.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, 28))


# --- Reading the figures --------------------------------------------------------------------


def suppress_counters(values: dict[str, int]) -> dict[str, int | None]:
    """Raw subtree counters with the sensitive small ones suppressed (None)."""
    out: dict[str, int | None] = dict(values)
    for key, value in values.items():
        category = key.removeprefix(S.CATEGORY.prefix + ".")
        if key.startswith(S.AID) or (category != key and category in SENSITIVE_CATEGORIES):
            out[key] = suppressed(value)
    count = S.AID_DISBURSED_COUNT
    if S.AID_DISBURSED_FEN in out:
        out[S.AID_DISBURSED_FEN] = (
            values[S.AID_DISBURSED_FEN] if suppressed(values.get(count, 0)) is not None else None
        )
    # Industry breakdowns of sensitive keys are not kept, so nothing else to hide.
    return out


def combined(raw: dict[str, int]) -> dict[str, int]:
    """A national industry union's figures: its own tree plus its affiliated unions."""
    out = {k: v for k, v in raw.items() if not k.startswith(AFFILIATED_PREFIX)}
    for key, value in raw.items():
        if key.startswith(AFFILIATED_PREFIX):
            plain = key[len(AFFILIATED_PREFIX) :]
            out[plain] = out.get(plain, 0) + value
    return out


def with_affiliated(keys) -> list[str]:
    """The keys and their ``affiliated.`` twins (held by national industry unions)."""
    return [*keys, *(AFFILIATED_PREFIX + k for k in keys)]


def current(org: Organization) -> dict[str, int]:
    return combined(rollups.totals(org))


def snapshot_values(
    org: Organization, day: datetime.date, keys=SNAPSHOT_KEYS
) -> dict[str, int] | None:
    """The figures at the end of `day` (the latest snapshot on or before it), or None."""
    keys = with_affiliated(keys)
    rows = DailySnapshot.objects.filter(organization=org, key__in=keys, date__lte=day)
    latest = rows.order_by("-date").values_list("date", flat=True).first()
    if latest is None:
        return None
    return combined(dict(rows.filter(date=latest).values_list("key", "value")))


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def _first_snapshot(org: Organization) -> datetime.date | None:
    return (
        DailySnapshot.objects.filter(organization=org)
        .order_by("date")
        .values_list("date", flat=True)
        .first()
    )


def counted_from_records(org: Organization) -> bool:
    """A grassroots union and a union group: their days are counted from their own records
    (small), not kept in daily snapshots (one per federation and day)."""
    return org.level in scope.PERSONAL_DATA_LEVELS


def _recorded(org: Organization, period: Period) -> dict[datetime.date, Counter]:
    """What the records of the union's subtree say changed each day from the period's start."""
    ids = list(org.get_descendants(include_self=True).values_list("pk", flat=True))
    return counters.recorded_by_day(ids, _local_midnight(period.start))


def period_flows(org: Organization, period: Period, now: dict[str, int], recorded=None) -> dict:
    """Each flow's change within the period, by the day it was recorded.

    A grassroots union or group counts its own records. A federation takes the difference
    of its daily snapshots (now, or the end of the period's last day, minus the end of the
    day before the period); where a snapshot is missing (the period starts before the daily
    figures were kept, or a backfilled day has no service figures) the flow is unknown
    (None), never the running total; `since` then says from which day they are kept.
    """
    if counted_from_records(org):
        days = recorded if recorded is not None else _recorded(org, period)
        flows = {
            key: sum(changes.get(key, 0) for day, changes in days.items() if day <= period.end)
            for key, _label in PERIOD_FLOWS
        }
        return {"values": flows, "since": None}
    today = timezone.localdate()
    end = now if period.end >= today else snapshot_values(org, period.end)
    base = snapshot_values(org, period.start - datetime.timedelta(days=1))
    if base is None or end is None:
        return {
            "values": {key: None for key, _label in PERIOD_FLOWS},
            "since": _first_snapshot(org),
        }
    flows = {}
    for key, _label in PERIOD_FLOWS:
        # A snapshot without the key (a backfilled day: member figures only) is unknown.
        known = key in base and (key in end or end is now)
        flows[key] = end.get(key, 0) - base.get(key, 0) if known else None
    return {"values": flows, "since": None}


TREND_KEYS = (ACTIVE, JOINED, WITHDRAWN)


def _month_ends(days: list[datetime.date]) -> list[datetime.date]:
    ends: dict[tuple[int, str], datetime.date] = {}
    for day in days:
        ends[(day.year, day.month)] = day
    return sorted(ends.values())


def _points(by_day: dict[datetime.date, dict[str, int]], period: Period) -> dict:
    """Trend points from the figures at the end of each day (and the day before the start)."""
    days = sorted(by_day)
    monthly = period.days > 92
    if monthly:
        days = _month_ends(days)
    points = []
    previous = None
    for day in days:
        values = by_day[day]
        if day >= period.start:
            point = {"date": day.isoformat(), "members": values.get(ACTIVE, 0)}
            if previous is not None:
                point["joined"] = values.get(JOINED, 0) - previous.get(JOINED, 0)
                point["withdrawn"] = values.get(WITHDRAWN, 0) - previous.get(WITHDRAWN, 0)
            points.append(point)
        previous = values
    return {"granularity": "month" if monthly else "day", "points": points}


def trend(org: Organization, period: Period, now: dict[str, int], recorded=None) -> dict:
    """Members and flows over the period: daily up to 92 days, else month ends."""
    today = timezone.localdate()
    if counted_from_records(org):
        # Each day's end: today's figures minus what was recorded after that day.
        days = recorded if recorded is not None else _recorded(org, period)
        last = min(period.end, today)
        running = {k: now.get(k, 0) for k in TREND_KEYS}
        by_day: dict[datetime.date, dict[str, int]] = {}
        day = today
        while day >= period.start - datetime.timedelta(days=1):
            if day <= last:
                by_day[day] = dict(running)
            for key in TREND_KEYS:
                running[key] -= days.get(day, {}).get(key, 0)
            day -= datetime.timedelta(days=1)
        return _points(by_day, period)
    rows = DailySnapshot.objects.filter(
        organization=org,
        key__in=with_affiliated(TREND_KEYS),
        date__gte=period.start - datetime.timedelta(days=1),
        date__lte=period.end,
    ).values_list("date", "key", "value")
    by_day = {}
    for day, key, value in rows:
        plain = key.removeprefix(AFFILIATED_PREFIX)
        by_day.setdefault(day, {})[plain] = by_day.get(day, {}).get(plain, 0) + value
    if period.end >= today:
        by_day[today] = {k: now.get(k, 0) for k in TREND_KEYS}
    return _points(by_day, period)


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _average(total: int, count: int, digits: int = 1) -> float | None:
    return round(total / count, digits) if count else None


def headline(values: dict[str, int]) -> dict:
    """The headline figures from one organization's combined subtree values."""
    v = values.get
    requests = v(S.REQUESTS, 0)
    return {
        "members": v(ACTIVE, 0),
        "retained": v(M.RETAINED, 0),
        "grassroots_unions": v(GRASSROOTS, 0),
        "union_groups": v(O.GROUPS, 0),
        "employees": v(EMPLOYEES, 0),
        "membership_rate": _rate(v(ACTIVE, 0), v(EMPLOYEES, 0)),
        "requests": requests,
        "requests_completed": v(S.COMPLETED, 0),
        "completion_rate": _rate(v(S.COMPLETED, 0), requests),
        "satisfaction": _average(v(S.REQUEST_RATING_SUM, 0), v(S.REQUEST_RATING_COUNT, 0)),
        "concerns_raised": v(S.RAISED, 0),
        "concerns_open": v(S.OPEN, 0),
        "concerns_overdue": v(S.OVERDUE, 0),
        "concern_escalations": v(S.ESCALATIONS, 0),
        "concern_response_hours": _average(v(S.RESPONSE_SECONDS, 0) / 3600, v(S.ANSWERED, 0)),
        "concern_satisfaction": _average(v(S.CONCERN_RATING_SUM, 0), v(S.CONCERN_RATING_COUNT, 0)),
        "activity_registrations": v(S.REGISTRATIONS, 0),
        "activity_attendance": v(S.ATTENDANCE, 0),
        "wishes_open": v(S.WISHES_OPEN, 0),
        "wish_votes": v(S.WISH_VOTES, 0),
        "dues_due": yuan(v(M.DUES_DUE_FEN, 0)),
        "dues_paid": yuan(v(M.DUES_PAID_FEN, 0)),
        "dues_collection_rate": _rate(v(M.DUES_PAID_FEN, 0), v(M.DUES_DUE_FEN, 0)),
        # Sensitive: suppressed under five.
        "aid_cases": suppressed(v(S.AID_CASES, 0)),
        "aid_approved": suppressed(v(S.AID_APPROVED, 0)),
        "aid_disbursed": yuan(v(S.AID_DISBURSED_FEN, 0))
        if suppressed(v(S.AID_DISBURSED_COUNT, 0)) is not None
        else None,
        "legal_aid_requests": suppressed(v(S.CATEGORY(ServiceCategory.LEGAL), 0)),
    }


# How each headline figure is labelled and shown: count, percent, yuan, hours, rating.
HEADLINE = (
    ("members", _("Members"), "count"),
    ("grassroots_unions", _("Grassroots unions"), "count"),
    ("union_groups", _("Union groups"), "count"),
    ("employees", _("Employees"), "count"),
    ("membership_rate", _("Membership rate"), "percent"),
    ("retained", _("Retained memberships"), "count"),
    ("requests", _("Service orders"), "count"),
    ("requests_completed", _("Orders completed"), "count"),
    ("completion_rate", _("Completion rate"), "percent"),
    ("satisfaction", _("Service rating (of 5)"), "rating"),
    ("concerns_raised", _("Concerns raised"), "count"),
    ("concerns_open", _("Concerns open"), "count"),
    ("concerns_overdue", _("Concerns overdue"), "count"),
    ("concern_escalations", _("Escalations"), "count"),
    ("concern_response_hours", _("Average first answer (hours)"), "hours"),
    ("concern_satisfaction", _("Concern rating (of 5)"), "rating"),
    ("activity_registrations", _("Activity registrations"), "count"),
    ("activity_attendance", _("Activity check-ins"), "count"),
    ("wishes_open", _("Open service wishes"), "count"),
    ("wish_votes", _("Wish votes"), "count"),
    ("dues_due", _("Dues due (yuan)"), "yuan"),
    ("dues_paid", _("Dues paid (yuan)"), "yuan"),
    ("dues_collection_rate", _("Dues collection rate"), "percent"),
    ("aid_cases", _("Hardship aid cases"), "sensitive"),
    ("aid_approved", _("Aid cases approved"), "sensitive"),
    ("aid_disbursed", _("Aid paid out (yuan)"), "yuan"),
    ("legal_aid_requests", _("Legal aid requests"), "sensitive"),
)
SUPPRESSED_TEXT = "<5"
# What a figure that cannot be given shows, and the line that says why (page and files).
UNKNOWN_TEXT = "—"
UNKNOWN_NOTE = _(
    "“—” means the figure cannot be given: a rate needs its base (a membership rate, the "
    "number of employees; a collection rate, dues due), a rating needs ratings, and a change "
    "over a period needs the daily figures from the period's first day."
)


def shown(value, kind: str) -> str:
    """A figure as text: thousands separated, percentages with %, suppressed as "<5"."""
    if value is None:
        return SUPPRESSED_TEXT if kind in ("sensitive", "yuan") else UNKNOWN_TEXT
    if kind == "percent":
        return f"{value:.1f}%"
    if kind in ("rating", "hours"):
        return f"{value:.1f}"
    if kind == "yuan":
        return f"{value:,.2f}"
    return f"{value:,}"


def breakdown(values: dict[str, int], family, choices) -> list[dict]:
    labels = dict(choices)
    rows = [
        {"key": code, "label": str(labels.get(code, code)), "value": values.get(family(code), 0)}
        for code in labels
    ]
    return [row for row in rows if row["value"]] or rows


def by_category(values: dict[str, int]) -> list[dict]:
    rows = []
    for code, label in ServiceCategory.choices:
        value = values.get(S.CATEGORY(code), 0)
        sensitive = code in SENSITIVE_CATEGORIES
        rows.append(
            {
                "key": code,
                "label": str(label),
                "value": suppressed(value) if sensitive else value,
                "sensitive": sensitive,
            }
        )
    return rows


def by_age(values: dict[str, int], today: datetime.date) -> list[dict]:
    """Age bands from the birth-year counters (ages as reached within this year)."""
    counts = [0] * len(AGE_BANDS)
    prefix = M.BIRTH_YEAR.prefix + "."
    for key, value in values.items():
        if not key.startswith(prefix):
            continue
        age = today.year - int(key[len(prefix) :])
        for i, (low, high) in enumerate(AGE_BANDS):
            if (low is None or age >= low) and (high is None or age <= high):
                counts[i] += value
                break
    labels = [
        _("under 25"),
        _("25–34"),
        _("35–44"),
        _("45–54"),
        _("55 and over"),
    ]
    return [
        {"key": f"{low or 0}-{high or ''}", "label": str(label), "value": n}
        for (low, high), label, n in zip(AGE_BANDS, labels, counts, strict=True)
    ]


def by_industry(org: Organization, values: dict[str, int]) -> list[dict]:
    """Members and unions of the subtree by national industry union (dual affiliation)."""
    per: dict[int, dict[str, int]] = {}
    for key, value in values.items():
        if not key.startswith(INDUSTRY_PREFIX):
            continue
        industry, _sep, plain = key[len(INDUSTRY_PREFIX) :].partition(".")
        per.setdefault(int(industry), {})[plain] = value
    names = dict(Organization.objects.filter(pk__in=per).values_list("pk", "name"))
    rows = [
        {
            "id": pk,
            "label": names.get(pk, str(pk)),
            "members": figures.get(ACTIVE, 0),
            "grassroots_unions": figures.get(GRASSROOTS, 0),
        }
        for pk, figures in per.items()
        if figures.get(ACTIVE) or figures.get(GRASSROOTS)
    ]
    rows.sort(key=lambda row: (-row["members"], row["label"]))
    rest_members = values.get(ACTIVE, 0) - sum(r["members"] for r in rows)
    rest_unions = values.get(GRASSROOTS, 0) - sum(r["grassroots_unions"] for r in rows)
    if org.level != Level.INDUSTRY and (rest_members or rest_unions):
        rows.append(
            {
                "id": None,
                "label": str(_("No industry union")),
                "members": rest_members,
                "grassroots_unions": rest_unions,
            }
        )
    return rows


def affiliated_by_region(org: Organization) -> list[dict]:
    """For a national industry union: its affiliated unions' members, province by province."""
    if org.level != Level.INDUSTRY or org.parent is None or org.parent.level != Level.NATIONAL:
        return []
    keys = [f"{INDUSTRY_PREFIX}{org.pk}.{k}" for k in (ACTIVE, GRASSROOTS)]
    provinces = list(
        Organization.objects.filter(parent=org.parent, level=Level.PROVINCIAL).order_by("pk")
    )
    values = rollups.many_totals(provinces, keys)
    rows = [
        {
            "id": p.pk,
            "label": p.name,
            "members": values[p.pk].get(keys[0], 0),
            "grassroots_unions": values[p.pk].get(keys[1], 0),
        }
        for p in provinces
        if values[p.pk]
    ]
    return sorted(rows, key=lambda row: (-row["members"], row["label"]))


CHILD_PAGE = 50


def child_unions(org: Organization):
    """The organizations directly below `org`: the rows of its breakdown."""
    return org.children.all()


def children(org: Organization, page: int | None = 1) -> dict:
    """The child unions with their subtree figures, largest first (paged; None: all)."""
    kids = list(child_unions(org).order_by("lft", "pk"))
    keys = (ACTIVE, GRASSROOTS, EMPLOYEES, S.OPEN, S.REQUESTS)
    prefetch = rollups.many_totals(kids, with_affiliated(keys))
    rows = []
    for kid in kids:
        values = combined(prefetch.get(kid.pk, {}))
        rows.append(
            {
                "id": kid.pk,
                "name": kid.name,
                "level": kid.level,
                "level_label": str(kid.get_level_display()),
                "members": values.get(ACTIVE, 0),
                "grassroots_unions": values.get(GRASSROOTS, 0),
                "employees": values.get(EMPLOYEES, 0),
                "membership_rate": _rate(values.get(ACTIVE, 0), values.get(EMPLOYEES, 0)),
                "concerns_open": values.get(S.OPEN, 0),
                "requests": values.get(S.REQUESTS, 0),
            }
        )
    rows.sort(key=lambda row: (-row["members"], row["name"]))
    if page is None:
        return {"count": len(rows), "page": 1, "pages": 1, "rows": rows}
    paged = Paginator(rows, CHILD_PAGE).get_page(page)
    return {
        "count": len(rows),
        "page": paged.number,
        "pages": paged.paginator.num_pages,
        "rows": list(paged.object_list),
    }


def dashboard(org: Organization, period: Period, *, child_page: int | None = 1) -> dict:
    """Every figure of one organization's dashboard, as plain data (JSON-serialisable)."""
    now = current(org)
    today = timezone.localdate()
    recorded = _recorded(org, period) if counted_from_records(org) else None
    return {
        "organization": {
            "id": org.pk,
            "name": org.name,
            "level": org.level,
            "level_label": str(org.get_level_display()),
        },
        "period": {"start": period.start, "end": period.end, "code": period.code},
        "as_of": timezone.localtime(),
        "headline": headline(now),
        "flows": period_flows(org, period, now, recorded),
        "trend": trend(org, period, now, recorded),
        "by_employment": breakdown(now, M.EMPLOYMENT, EmploymentType.choices),
        "by_gender": breakdown(now, M.GENDER, Gender.choices),
        "by_age": by_age(now, today),
        "by_industry": by_industry(org, now),
        "by_category": by_category(now),
        "children": children(org, child_page),
        "affiliated_by_region": affiliated_by_region(org),
    }
