"""Dues counters (`members.dues.*`): every dues write keeps them exact per collecting union,
and `check_counters` finds a counter that drifted from the dues records."""

import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from members.actions import dues, payroll
from members.counters import count_dues_counters, count_member_counters, record_counters
from members.models import DuesRecord, ImportStatus, Member
from members.selectors import dues as selectors
from organizations import counters
from organizations.models import OrgCounter
from tests.factories import make_member

pytestmark = pytest.mark.django_db

KEYS = (
    "members.dues.records",
    "members.dues.due_fen",
    "members.dues.paid_fen",
    "members.dues.paid_records",
)


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def last_month() -> datetime.date:
    return (selectors.current_period() - datetime.timedelta(days=1)).replace(day=1)


def member_with_wage(org, wage) -> Member:
    member = make_member(org)
    return dues.set_wage_base(member=member, wage_base=Decimal(wage), acting_user=None)


def dues_counters(org) -> tuple[int, int, int, int]:
    """(records, due_fen, paid_fen, paid_records) as stored for the union."""
    stored = counters.values(org, KEYS)
    return tuple(stored.get(key, 0) for key in KEYS)


def assert_counters_match_the_records():
    stored = {
        (org, key): value
        for org, key, value in OrgCounter.objects.filter(key__startswith="members.dues.")
        .exclude(value=0)
        .values_list("organization_id", "key", "value")
    }
    truth = {k: v for k, v in count_dues_counters().items() if v}
    assert stored == truth
    members_truth = count_member_counters()  # what verify() holds the "members." keys to
    assert {k: v for k, v in members_truth.items() if k[1].startswith("members.dues.") and v} == (
        truth
    )
    drift = counters.verify(["members."])
    assert drift.ok, drift.wrong


def payroll_file(rows) -> SimpleUploadedFile:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(payroll.PAYROLL_HEADERS)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile("payroll.xlsx", buffer.getvalue())


def test_the_members_counter_source_is_registered_when_the_app_is_ready():
    # members.counters is imported by the app's ready(), not by whoever needs a helper first.
    assert counters.SOURCES["members."] is count_member_counters


def test_generation_payments_and_payroll_keep_the_dues_counters_exact(
    tree, officers, django_capture_on_commit_callbacks
):
    period = last_month()
    full = member_with_wage(tree.union_a, "4321.00")  # 21.61 due
    partial = member_with_wage(tree.union_a, "5000.00")  # 25.00 due
    unpaid = member_with_wage(tree.union_a, "3000.00")  # 15.00 due
    member_with_wage(tree.union_b, "6000.00")  # 30.00 due, the sibling's

    assert (
        dues.generate_monthly_dues(
            organization=tree.union_a, period=period, acting_user=officers.a_admin
        )
        == 3
    )
    dues.generate_monthly_dues(organization=tree.union_b, period=period, acting_user=None)
    assert dues_counters(tree.union_a) == (3, 6161, 0, 0)
    assert dues_counters(tree.union_b) == (1, 3000, 0, 0)
    assert_counters_match_the_records()

    # Running the generation again creates nothing and counts nothing.
    assert dues.generate_monthly_dues(organization=tree.union_a, period=period) == 0
    assert dues_counters(tree.union_a) == (3, 6161, 0, 0)

    records = {r.member_id: r for r in DuesRecord.objects.filter(organization=tree.union_a)}
    dues.record_payment(
        record=records[full.pk], amount="21.61", method="cash", acting_user=officers.a_admin
    )
    dues.record_payment(
        record=records[partial.pk], amount="10.00", method="wechat", acting_user=officers.a_admin
    )
    assert dues_counters(tree.union_a) == (3, 6161, 3161, 1)
    # The rest of the partial payment makes that month paid in full.
    dues.record_payment(
        record=records[partial.pk], amount="15.00", method="cash", acting_user=officers.a_admin
    )
    assert dues_counters(tree.union_a) == (3, 6161, 4661, 2)
    assert dues_counters(tree.union_b) == (1, 3000, 0, 0)
    assert_counters_match_the_records()

    # The payroll file: a new wage (due and paid change), a part payment of an existing
    # month, and a member without a record yet, who gets one.
    newcomer = member_with_wage(tree.union_a, "2000.00")
    paid_on = datetime.date.today().isoformat()
    file = payroll_file(
        [
            [full.membership_number, None, 5000, 25, paid_on, "工资代扣"],  # 25.00 paid
            [unpaid.membership_number, None, 3000, 5, paid_on, "现金"],  # 5 of 15.00
            [newcomer.membership_number, None, 2000, None, None, None],  # 10.00 due
        ]
    )
    with django_capture_on_commit_callbacks(execute=True):
        job = payroll.create_payroll_job(
            organization=tree.union_a, period=period, file=file, acting_user=officers.a_admin
        )
    job.refresh_from_db()
    assert job.status == ImportStatus.VALIDATED, job.errors
    with django_capture_on_commit_callbacks(execute=True):
        job = payroll.apply_payroll_file(job=job, acting_user=officers.a_admin)
    assert job.status == ImportStatus.DONE, job.errors
    assert (job.result["dues_created"], job.result["dues_updated"]) == (1, 2)
    # Records: 25.00/25.00, 25.00/25.00, 15.00/5.00, 10.00/0.
    assert dues_counters(tree.union_a) == (4, 7500, 5500, 2)
    assert dues_counters(tree.union_b) == (1, 3000, 0, 0)
    assert_counters_match_the_records()


def test_a_month_with_nothing_due_counts_as_paid_in_full_as_is_paid_says(tree):
    member_with_wage(tree.union_a, "0")
    dues.generate_monthly_dues(organization=tree.union_a, period=last_month())
    record = DuesRecord.objects.get()
    assert record.amount_due == 0 and record.is_paid
    assert dues_counters(tree.union_a) == (1, 0, 0, 1)
    assert_counters_match_the_records()


def test_generation_counts_only_the_records_it_inserted(tree, monkeypatch):
    """A record made meanwhile by the member's new union is skipped, and not counted here."""
    period = last_month()
    moved = member_with_wage(tree.union_a, "4321.00")
    member_with_wage(tree.union_a, "5000.00")
    manager = DuesRecord.objects
    bulk_create = manager.bulk_create

    def racing_bulk_create(objs, **kwargs):
        # What a concurrent generation in union B would have written, counters and all.
        other = DuesRecord.objects.create(
            member=moved,
            organization=tree.union_b,
            period=period,
            wage_base=Decimal("4321.00"),
            amount_due=Decimal("21.61"),
        )
        counters.adjust(record_counters(other))
        monkeypatch.setattr(manager, "bulk_create", bulk_create)
        return bulk_create(objs, **kwargs)

    monkeypatch.setattr(manager, "bulk_create", racing_bulk_create)
    assert dues.generate_monthly_dues(organization=tree.union_a, period=period) == 1
    assert DuesRecord.objects.filter(organization=tree.union_a).count() == 1
    assert dues_counters(tree.union_a) == (1, 2500, 0, 0)
    assert dues_counters(tree.union_b) == (1, 2161, 0, 0)
    assert_counters_match_the_records()


def test_a_tampered_dues_counter_is_found_and_repaired(tree):
    member_with_wage(tree.union_a, "4321.00")
    dues.generate_monthly_dues(organization=tree.union_a, period=last_month())
    assert counters.verify(["members."]).ok
    OrgCounter.objects.filter(organization=tree.union_a, key="members.dues.due_fen").update(value=1)
    counters.adjust({(tree.union_b.pk, "members.dues.paid_records"): 1})  # no records there

    drift = counters.verify(["members."])
    assert drift.wrong == {
        (tree.union_a.pk, "members.dues.due_fen"): (1, 2161),
        (tree.union_b.pk, "members.dues.paid_records"): (1, 0),
    }
    assert counters.repair(drift) == 2
    assert counters.verify(["members."]).ok
    assert dues_counters(tree.union_a) == (1, 2161, 0, 0)
