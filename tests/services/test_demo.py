"""`manage.py seed_demo` fills a living services slice, consistent with the counters, once."""

import datetime
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from members.demo import DEMO_MEMBER_USERNAME
from organizations import counters
from organizations.models import OrgRole, Role
from services.models import (
    Activity,
    AidCase,
    AidStatus,
    Concern,
    ConcernStatus,
    Registration,
    RegistrationStatus,
    RequestStatus,
    Service,
    ServiceRequest,
    ServiceWish,
    Station,
    StationVisit,
)

MODELS = (Station, StationVisit, Service, ServiceRequest, ServiceWish, Activity, Concern, AidCase)


def seed(*args) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (*MODELS, Registration, get_user_model())}


@pytest.mark.django_db
def test_seed_demo_builds_the_services_slice_once_and_reset_removes_it():
    out = seed()

    aid_row = next(line for line in out.splitlines() if "yunfan_aid" in line)
    assert aid_row.split()[:4] == ["hardship", "aid", "officer", "yunfan_aid"]
    assert Station.objects.filter(kind="outdoor", organization__name="西湖区总工会").exists()
    assert StationVisit.objects.count() >= 3
    published = Service.objects.filter(status="published")
    assert set(published.values_list("organization__name", flat=True)) == {
        "浙江省总工会",
        "杭州市总工会",
        "西湖区总工会",
        "杭州云帆信息科技有限公司工会委员会",
    }
    assert Service.objects.filter(status="draft").count() == 1
    assert published.filter(category="legal", organization__name="杭州市总工会").exists()
    statuses = set(ServiceRequest.objects.values_list("status", flat=True))
    assert {RequestStatus.SUBMITTED, RequestStatus.ACCEPTED, RequestStatus.COMPLETED} <= statuses
    assert ServiceRequest.objects.filter(rating__isnull=False).exists()
    assert ServiceRequest.objects.filter(
        member__user__username=DEMO_MEMBER_USERNAME, service__organization__name="浙江省总工会"
    ).exists()
    wishes = ServiceWish.objects.all()
    assert 4 <= wishes.count() <= 6
    assert len({w.organization_id for w in wishes}) == wishes.count()
    assert all(w.votes >= 3 for w in wishes)

    # Today's session: check-in open now, full, with a waiting list, demo_member in it.
    today = Registration.objects.filter(session__activity__organization__name__contains="云帆")
    session = today.first().session
    now = timezone.now()
    assert session.starts_at - now <= datetime.timedelta(hours=1) < session.ends_at - now
    assert session.registered == session.capacity
    assert today.filter(status=RegistrationStatus.WAITLISTED).exists()
    assert today.filter(
        member__user__username=DEMO_MEMBER_USERNAME, status=RegistrationStatus.REGISTERED
    ).exists()
    assert Activity.objects.filter(delivery="online", organization__name="杭州市总工会").exists()

    escalated = Concern.objects.get(escalations__gt=0)
    assert escalated.organization.name == "西湖区总工会"
    assert escalated.status == ConcernStatus.OPEN and escalated.due_at > now
    assert Concern.objects.filter(status=ConcernStatus.OPEN, escalations=0).exists()
    assert Concern.objects.filter(member__user__username=DEMO_MEMBER_USERNAME).exists()
    assert set(AidCase.objects.values_list("status", flat=True)) >= {
        AidStatus.APPLIED,
        AidStatus.NOTICE,
    }
    assert OrgRole.objects.filter(
        user__username="xihu_aid", role=Role.AID, organization__name="西湖区总工会"
    ).exists()
    drift = counters.verify()
    assert drift.ok, drift.wrong
    assert any(prefix.startswith("services.") for prefix in counters.SOURCES)

    before = snapshot()
    seed("--password", "another-pass-2026")
    log = Path(settings.BASE_DIR) / "var" / "seed_demo.log"
    assert "Demo services are already present" in log.read_text(encoding="utf-8")
    assert snapshot() == before
    assert get_user_model().objects.get(username="yunfan_aid").check_password("another-pass-2026")
    assert counters.verify().ok

    seed("--reset")  # services rows must go before the members they protect
    assert all(m.objects.count() for m in MODELS)
    assert Concern.objects.get(escalations__gt=0).organization.name == "西湖区总工会"
    assert counters.verify().ok
