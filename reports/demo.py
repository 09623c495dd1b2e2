"""Demo statistics: employee numbers, two industry affiliations and a year of history.

The demo members join on dates spread over ten years; their join events are dated on those
days here (as if the platform had recorded them then), and the daily figures of the last
year are rebuilt from that history, so the dashboard shows real trends.
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from members.demo import DEMO_UNIONS
from members.models import EventKind, Member, MembershipEvent
from organizations import actions as org_actions
from organizations.models import Level, Organization

from . import actions
from .models import DailySnapshot

EMPLOYEES = {name: round(count * 1.25) for name, count, _region, _types in DEMO_UNIONS}
AFFILIATIONS = {
    "杭州顺达快递服务有限公司工会": "中国国防邮电工会全国委员会",
    "宁波甬港物流有限公司工会委员会": "中国海员建设工会全国委员会",
}


def seed(stdout, password: str) -> None:
    if DailySnapshot.objects.exists():
        stdout.write("Demo statistics are already present; left as they are.")
        return
    with transaction.atomic():
        for union in Organization.objects.filter(name__in=EMPLOYEES, level=Level.GRASSROOTS):
            data = {"employees": EMPLOYEES[union.name]}
            industry = AFFILIATIONS.get(union.name)
            if industry:
                data["industry"] = Organization.objects.filter(name=industry).first()
            org_actions.update_organization(organization=union, data=data)
        joined = MembershipEvent.objects.filter(kind=EventKind.JOINED).select_related("member")
        for event in joined:
            member: Member = event.member
            at = datetime.datetime.combine(
                member.join_date, datetime.time(10), tzinfo=timezone.get_current_timezone()
            )
            MembershipEvent.objects.filter(pk=event.pk).update(at=at, effective_on=member.join_date)
    today = timezone.localdate()
    written = actions.backfill(today - datetime.timedelta(days=366))
    actions.take_snapshot()
    stdout.write(f"Demo statistics: {written} daily figures of the last year.")


def reset() -> None:
    DailySnapshot.objects.all().delete()
    # Affiliations protect the industry unions; the tree is deleted right after.
    Organization.objects.filter(industry__isnull=False).update(industry=None)
