"""Dues (会费): the rule and its rounding, wage bases, monthly records, payments, arrears,
the split between levels, the payroll import in the admin, the API, the portal, isolation."""

import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from core.models import AuditEntry
from members.actions import dues
from members.actions import records as member_actions
from members.amounts import compute_dues
from members.models import DuesRecord, ImportJob, ImportStatus, Member, MemberStatus
from members.selectors import dues as selectors
from organizations.models import Organization
from tests.factories import UserFactory, make_member

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def last_month() -> datetime.date:
    return (selectors.current_period() - datetime.timedelta(days=1)).replace(day=1)


def member_with_wage(org, wage="4321.00", **overrides) -> Member:
    member = make_member(org, **overrides)
    return dues.set_wage_base(member=member, wage_base=Decimal(wage), acting_user=None)


def dues_record(member, period=None, paid="0", wage="4321.00") -> DuesRecord:
    return DuesRecord.objects.create(
        member=member,
        organization=member.organization,
        period=period or last_month(),
        wage_base=Decimal(wage),
        amount_due=compute_dues(Decimal(wage)),
        amount_paid=Decimal(paid),
    )


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


# --- The rule ---------------------------------------------------------------------------


class TestComputeDues:
    def test_half_up_is_the_default(self):
        assert compute_dues(Decimal("4321.00")) == Decimal("21.61")
        assert compute_dues(Decimal("5000")) == Decimal("25.00")
        assert compute_dues(Decimal("0")) == Decimal("0.00")

    def test_half_even_rounds_a_half_cent_to_the_even_cent(self, settings):
        settings.MEMBERS_DUES_ROUNDING = "ROUND_HALF_EVEN"
        assert compute_dues(Decimal("4321.00")) == Decimal("21.60")  # 21.605
        assert compute_dues(Decimal("4323.00")) == Decimal("21.62")  # 21.615

    def test_round_down_and_a_whole_yuan_quantum(self, settings):
        settings.MEMBERS_DUES_ROUNDING = "ROUND_DOWN"
        assert compute_dues(Decimal("4399.99")) == Decimal("21.99")
        settings.MEMBERS_DUES_QUANTUM = Decimal("1")
        assert compute_dues(Decimal("4399.99")) == Decimal("21")

    def test_a_wrong_rounding_name_fails_loudly(self, settings):
        settings.MEMBERS_DUES_ROUNDING = "ROUND_NICELY"
        with pytest.raises(ImproperlyConfigured):
            compute_dues(Decimal("4321"))

    def test_negative_wage_is_refused(self):
        with pytest.raises(ValidationError) as error:
            compute_dues(Decimal("-1"))
        assert "wage_base" in error.value.message_dict


# --- Wage base --------------------------------------------------------------------------


class TestWageBase:
    def test_admin_sets_a_wage_base_and_the_audit_names_only_the_field(self, tree, officers):
        member = make_member(tree.union_a)
        dues.set_wage_base(member=member, wage_base="6543.21", acting_user=officers.a_admin)
        member.refresh_from_db()
        assert member.wage_base == Decimal("6543.21")
        entry = AuditEntry.objects.get(action="member.wage_base_changed")
        assert entry.changes == {"fields": ["wage_base"]}
        assert entry.actor == officers.a_admin

    @pytest.mark.parametrize("wage", ["-100", "10000000.01", "12.345", "abc"])
    def test_negative_absurd_or_malformed_wage_is_refused_and_nothing_written(
        self, tree, officers, wage
    ):
        member = member_with_wage(tree.union_a, "3000")
        audits = AuditEntry.objects.count()
        with pytest.raises(ValidationError) as error:
            dues.set_wage_base(member=member, wage_base=wage, acting_user=officers.a_admin)
        assert set(error.value.message_dict) == {"wage_base"}
        member.refresh_from_db()
        assert member.wage_base == Decimal("3000.00")
        assert AuditEntry.objects.count() == audits

    def test_staff_cannot_change_wage_bases(self, tree, officers):
        member = member_with_wage(tree.union_a, "3000")
        with pytest.raises(PermissionDenied):
            dues.set_wage_base(member=member, wage_base="4000", acting_user=officers.a_staff)
        member.refresh_from_db()
        assert member.wage_base == Decimal("3000.00")

    def test_sibling_and_higher_admins_cannot_change_wage_bases(self, tree, officers):
        member = make_member(tree.union_a)
        for user in (officers.b_admin, officers.zj_admin):
            with pytest.raises(PermissionDenied):
                dues.set_wage_base(member=member, wage_base="4000", acting_user=user)

    def test_wage_base_form_saves_through_the_action(self, tree, officers):
        from members.forms.dues import WageBaseForm, can_change_wage_base

        member = make_member(tree.union_a)
        assert can_change_wage_base(officers.a_admin, member)
        assert not can_change_wage_base(officers.a_staff, member)
        form = WageBaseForm({"wage_base": "-1"}, member=member)
        assert not form.is_valid()
        form = WageBaseForm({"wage_base": "5000.50"}, member=member)
        assert form.is_valid()
        assert form.save(acting_user=officers.a_admin).wage_base == Decimal("5000.50")


# --- Monthly dues, payments, arrears ------------------------------------------------------


class TestMonthlyDues:
    def test_generation_is_idempotent_and_skips_inactive_and_wageless_members(self, tree, officers):
        paying = member_with_wage(tree.union_a, "4321.00")
        make_member(tree.union_a)  # no wage base
        leaving = member_with_wage(tree.union_a, "5000")
        member_actions.change_status(
            member=leaving, status=MemberStatus.WITHDRAWN, reason="退休", acting_user=None
        )
        member_with_wage(tree.union_b, "5000")  # another union
        period = last_month()
        created = dues.generate_monthly_dues(
            organization=tree.union_a, period=period, acting_user=officers.a_admin
        )
        assert created == 1
        record = DuesRecord.objects.get()
        assert (record.member, record.organization, record.period) == (
            paying,
            tree.union_a,
            period,
        )
        assert (record.wage_base, record.amount_due, record.amount_paid) == (
            Decimal("4321.00"),
            Decimal("21.61"),
            Decimal("0"),
        )
        again = dues.generate_monthly_dues(
            organization=tree.union_a, period=period, acting_user=officers.a_admin
        )
        assert again == 0
        assert DuesRecord.objects.count() == 1

    def test_a_period_not_on_the_first_day_is_refused(self, tree, officers):
        member_with_wage(tree.union_a)
        with pytest.raises(ValidationError) as error:
            dues.generate_monthly_dues(
                organization=tree.union_a,
                period=datetime.date(2025, 1, 15),
                acting_user=officers.a_admin,
            )
        assert "period" in error.value.message_dict
        assert not DuesRecord.objects.exists()

    def test_only_the_unions_admin_generates(self, tree, officers):
        member_with_wage(tree.union_a)
        for user in (officers.b_admin, officers.a_staff, officers.zj_admin):
            with pytest.raises(PermissionDenied):
                dues.generate_monthly_dues(
                    organization=tree.union_a, period=last_month(), acting_user=user
                )
        assert not DuesRecord.objects.exists()

    def test_payments_add_up_and_over_payment_is_refused(self, tree, officers):
        record = dues_record(member_with_wage(tree.union_a))  # 21.61 due
        dues.record_payment(
            record=record, amount="10.00", method="cash", acting_user=officers.a_admin
        )
        record = dues.record_payment(
            record=record, amount=Decimal("11.61"), method="wechat", acting_user=officers.a_admin
        )
        assert record.amount_paid == Decimal("21.61") and record.is_paid
        assert record.method == "wechat" and record.paid_on == datetime.date.today()
        with pytest.raises(ValidationError) as error:
            dues.record_payment(
                record=record, amount="0.01", method="cash", acting_user=officers.a_admin
            )
        assert error.value.error_dict["amount"][0].code == "overpayment"
        record.refresh_from_db()
        assert record.amount_paid == Decimal("21.61")
        assert AuditEntry.objects.filter(action="dues.payment_recorded").count() == 2

    @pytest.mark.parametrize("amount", ["0", "-5", "1.001"])
    def test_zero_negative_or_fractional_cent_payments_are_refused(self, tree, officers, amount):
        record = dues_record(member_with_wage(tree.union_a))
        with pytest.raises(ValidationError) as error:
            dues.record_payment(
                record=record, amount=amount, method="cash", acting_user=officers.a_admin
            )
        assert "amount" in error.value.message_dict
        record.refresh_from_db()
        assert record.amount_paid == 0

    def test_staff_cannot_record_payments(self, tree, officers):
        record = dues_record(member_with_wage(tree.union_a))
        with pytest.raises(PermissionDenied):
            dues.record_payment(
                record=record, amount="1", method="cash", acting_user=officers.a_staff
            )

    def test_arrears_are_past_months_not_paid_in_full(self, tree):
        member = member_with_wage(tree.union_a)
        unpaid_past = dues_record(member, last_month(), paid="5.00")
        dues_record(member, (last_month() - datetime.timedelta(days=1)).replace(day=1), "21.61")
        dues_record(member, selectors.current_period())  # this month is not over
        assert list(selectors.arrears(DuesRecord.objects.all())) == [unpaid_past]
        assert selectors.total_outstanding(DuesRecord.objects.all()) == Decimal("38.22")


# --- The split --------------------------------------------------------------------------


class TestSplit:
    def set_shares(self, tree, zj, hz, xihu):
        for org, percent in ((tree.zj, zj), (tree.hz, hz), (tree.xihu, xihu)):
            Organization.objects.filter(pk=org.pk).update(dues_share_percent=Decimal(percent))

    def collect(self, tree, amounts):
        period = last_month()
        for amount in amounts:
            dues_record(member_with_wage(tree.union_a, "10000"), period, paid=amount)
        return period

    def test_parts_sum_exactly_to_what_was_collected(self, tree):
        self.set_shares(tree, 5, 10, 15)
        period = self.collect(tree, ["50.00", "50.00", "23.45"])  # 123.45
        other = member_with_wage(tree.union_b, "10000")
        dues_record(other, period, paid="50.00")  # the sibling's money is not union A's
        parts = selectors.dues_split(organization=tree.union_a, period=period)
        by_org = {p["organization"].pk: p for p in parts}
        assert parts[0]["organization"] == tree.union_a and parts[0]["kept"]
        assert by_org[tree.zj.pk]["amount"] == Decimal("6.17")  # 6.1725 rounded down
        assert by_org[tree.hz.pk]["amount"] == Decimal("12.34")  # 12.345
        assert by_org[tree.xihu.pk]["amount"] == Decimal("18.51")  # 18.5175
        assert tree.national.pk not in by_org and tree.union_b.pk not in by_org
        assert sum(p["amount"] for p in parts) == Decimal("123.45")
        kept = by_org[tree.union_a.pk]
        assert kept["percent"] == Decimal("70")
        assert kept["amount"] == Decimal("86.43")
        assert abs(kept["amount"] - Decimal("123.45") * Decimal("0.70")) <= Decimal("0.03")

    def test_nothing_collected_splits_into_zeros(self, tree):
        self.set_shares(tree, 5, 10, 15)
        parts = selectors.dues_split(organization=tree.union_a, period=last_month())
        assert [p["amount"] for p in parts] == [Decimal("0.00")] * 4

    def test_shares_over_100_percent_are_refused(self, tree):
        self.set_shares(tree, 50, 40, 20)
        period = self.collect(tree, ["10.00"])
        with pytest.raises(ValidationError) as error:
            selectors.dues_split(organization=tree.union_a, period=period)
        assert error.value.error_dict["organization"][0].code == "shares_over_100"

    def test_period_summary_totals_each_union(self, tree):
        period = last_month()
        dues_record(member_with_wage(tree.union_a), period, paid="21.61")
        dues_record(member_with_wage(tree.union_a), period, paid="1.00")
        dues_record(member_with_wage(tree.union_b), period)
        rows = selectors.period_summary(
            organizations_qs=Organization.objects.filter(pk__in=[tree.union_a.pk]), period=period
        )
        assert len(rows) == 1
        row = rows[0]
        assert row["organization_id"] == tree.union_a.pk and row["records"] == 2
        assert (row["due"], row["paid"], row["outstanding"]) == (
            Decimal("43.22"),
            Decimal("22.61"),
            Decimal("20.61"),
        )


# --- Payroll import through the admin ------------------------------------------------------


def xlsx(headers, rows) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


HEADERS = ["会员编号", "身份证号", "月工资", "实缴金额", "缴费日期", "缴费方式"]


class TestPayrollImport:
    @pytest.fixture
    def admin_client(self, client, officers):
        client.force_login(officers.a_admin)
        return client

    def upload(self, client, capture, org, content, name="payroll.xlsx", period=None):
        period = period or last_month()
        with capture(execute=True):
            response = client.post(
                reverse("admin:members_duesrecord_payroll"),
                {
                    "organization": org.pk,
                    "period": period.strftime("%Y-%m"),
                    "file": SimpleUploadedFile(name, content),
                },
            )
        assert response.status_code == 302, response.context["form"].errors
        job = ImportJob.objects.latest("pk")
        assert response["Location"] == reverse(
            "admin:members_duesrecord_payroll_job", args=[job.pk]
        )
        return job

    def report(self, client, job):
        response = client.get(reverse("admin:members_duesrecord_payroll_job", args=[job.pk]))
        assert response.status_code == 200
        return response

    def test_template_download_has_the_headers_and_an_example_row(self, admin_client):
        response = admin_client.get(reverse("admin:members_duesrecord_payroll_template"))
        assert response.status_code == 200
        assert response["Content-Type"] == XLSX
        sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
        rows = list(sheet.iter_rows(values_only=True))
        assert list(rows[0]) == HEADERS
        assert len(rows) == 2

    def test_a_negative_wage_row_is_reported_and_nothing_is_written(
        self, admin_client, tree, django_capture_on_commit_callbacks
    ):
        good = member_with_wage(tree.union_a, "3000")
        bad = member_with_wage(tree.union_a, "3000")
        content = xlsx(
            HEADERS,
            [
                [good.membership_number, None, 4321, None, None, None],
                [bad.membership_number, None, -100, None, None, None],
            ],
        )
        job = self.upload(admin_client, django_capture_on_commit_callbacks, tree.union_a, content)
        job.refresh_from_db()
        assert job.status == ImportStatus.INVALID
        assert [(e["row"], e["column"]) for e in job.errors] == [(3, "月工资")]
        page = self.report(admin_client, job)
        assert page.context["errors"].paginator.count == 1
        assert not page.context["can_confirm"]
        assert "payroll-errors" in page.content.decode()
        assert not DuesRecord.objects.exists()
        assert set(Member.objects.values_list("wage_base", flat=True)) == {Decimal("3000.00")}

    def test_a_missing_required_column_is_one_error_on_row_1(
        self, admin_client, tree, django_capture_on_commit_callbacks
    ):
        member = member_with_wage(tree.union_a)
        content = f"会员编号,实缴金额\n{member.membership_number},10\n".encode()
        job = self.upload(
            admin_client, django_capture_on_commit_callbacks, tree.union_a, content, "p.csv"
        )
        job.refresh_from_db()
        assert job.status == ImportStatus.INVALID
        assert len(job.errors) == 1
        assert job.errors[0]["row"] == 1 and "月工资" in job.errors[0]["column"]
        assert not DuesRecord.objects.exists()

    def test_a_duplicate_member_row_is_reported(
        self, admin_client, tree, django_capture_on_commit_callbacks
    ):
        member = member_with_wage(tree.union_a)
        content = xlsx(
            HEADERS,
            [
                [member.membership_number, None, 4000, None, None, None],
                [None, member.id_number, 4100, None, None, None],  # same person by ID
            ],
        )
        job = self.upload(admin_client, django_capture_on_commit_callbacks, tree.union_a, content)
        job.refresh_from_db()
        assert job.status == ImportStatus.INVALID
        assert [(e["row"], e["column"]) for e in job.errors] == [(3, "身份证号")]
        assert not DuesRecord.objects.exists()

    def test_formula_cells_are_refused(
        self, admin_client, tree, django_capture_on_commit_callbacks
    ):
        one, two = member_with_wage(tree.union_a), member_with_wage(tree.union_a)
        content = xlsx(
            HEADERS,
            [
                [one.membership_number, None, "=4000+321", None, None, None],
                [two.membership_number, None, 4000, None, None, '=HYPERLINK("x")'],
            ],
        )
        job = self.upload(admin_client, django_capture_on_commit_callbacks, tree.union_a, content)
        job.refresh_from_db()
        assert job.status == ImportStatus.INVALID
        assert [(e["row"], e["column"]) for e in job.errors] == [(2, "月工资"), (3, "缴费方式")]
        assert not DuesRecord.objects.exists()

    def test_every_problem_of_a_row_is_reported_at_once(
        self, admin_client, tree, django_capture_on_commit_callbacks
    ):
        content = xlsx(HEADERS, [["2024999999999999", None, "abc", None, None, "foo"]])
        job = self.upload(admin_client, django_capture_on_commit_callbacks, tree.union_a, content)
        job.refresh_from_db()
        assert sorted(e["column"] for e in job.errors) == ["会员编号", "月工资", "缴费方式"]
        assert {e["row"] for e in job.errors} == {2}

    def test_members_of_other_unions_and_unknown_people_are_refused_alike(
        self, admin_client, tree, django_capture_on_commit_callbacks
    ):
        elsewhere = member_with_wage(tree.union_b)
        content = xlsx(
            HEADERS,
            [
                [elsewhere.membership_number, None, 4000, None, None, None],
                ["2024999999999999", None, 4000, None, None, None],
                [None, "110101199001011234", 4000, None, None, None],  # bad ID checksum
                [None, None, 4000, None, None, None],
            ],
        )
        job = self.upload(admin_client, django_capture_on_commit_callbacks, tree.union_a, content)
        job.refresh_from_db()
        rows = {e["row"]: e for e in job.errors}
        assert rows[2]["message"] == rows[3]["message"]  # no hint that B's member exists
        assert (rows[4]["column"], rows[5]["column"]) == ("身份证号", "会员编号")
        assert not DuesRecord.objects.exists()

    def test_a_good_file_sets_wage_bases_and_dues_in_one_go(
        self, admin_client, tree, officers, django_capture_on_commit_callbacks
    ):
        period = last_month()
        by_number = member_with_wage(tree.union_a, "3000")
        by_id = make_member(tree.union_a)  # no wage base yet
        generated = member_with_wage(tree.union_a, "3000")
        dues.generate_monthly_dues(organization=tree.union_a, period=period, acting_user=None)
        assert DuesRecord.objects.count() == 2
        paid_on = datetime.date.today().isoformat()
        content = xlsx(
            HEADERS,
            [
                [by_number.membership_number, None, 4321, 21.61, paid_on, "工资代扣"],
                [None, by_id.id_number, "5,000.00", None, None, None],
                [generated.membership_number, None, 3500, 17.5, paid_on, "cash"],
            ],
        )
        job = self.upload(admin_client, django_capture_on_commit_callbacks, tree.union_a, content)
        job.refresh_from_db()
        assert job.status == ImportStatus.VALIDATED, job.errors
        assert (job.total_rows, job.processed_rows) == (3, 3)
        assert job.result["period"] == period.isoformat()
        # Checking wrote nothing.
        by_id.refresh_from_db()
        assert by_id.wage_base is None
        assert self.report(admin_client, job).context["can_confirm"]

        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(
                reverse("admin:members_duesrecord_payroll_confirm", args=[job.pk])
            )
        assert response.status_code == 302
        job.refresh_from_db()
        assert job.status == ImportStatus.DONE, job.errors
        assert job.result["wage_bases_changed"] == 3
        assert (job.result["dues_created"], job.result["dues_updated"]) == (1, 2)
        assert not job.file  # the upload (with ID numbers) is gone
        wages = dict(Member.objects.values_list("pk", "wage_base"))
        assert wages[by_number.pk] == Decimal("4321.00")
        assert wages[by_id.pk] == Decimal("5000.00")
        assert wages[generated.pk] == Decimal("3500.00")
        records = {r.member_id: r for r in DuesRecord.objects.filter(period=period)}
        assert len(records) == 3
        first = records[by_number.pk]
        assert (first.amount_due, first.amount_paid, first.method) == (
            Decimal("21.61"),
            Decimal("21.61"),
            "payroll",
        )
        assert (records[by_id.pk].amount_due, records[by_id.pk].amount_paid) == (
            Decimal("25.00"),
            Decimal("0"),
        )
        third = records[generated.pk]
        assert (third.wage_base, third.amount_due, third.amount_paid, third.method) == (
            Decimal("3500.00"),
            Decimal("17.50"),
            Decimal("17.50"),
            "cash",
        )
        assert AuditEntry.objects.filter(action="dues.payroll_imported").count() == 1
        assert self.report(admin_client, job).context["job"].status == ImportStatus.DONE

    def test_a_file_that_went_stale_is_rechecked_and_nothing_is_written(
        self, admin_client, tree, django_capture_on_commit_callbacks
    ):
        one, two = member_with_wage(tree.union_a, "3000"), member_with_wage(tree.union_a, "3000")
        content = xlsx(
            HEADERS,
            [
                [one.membership_number, None, 4000, None, None, None],
                [two.membership_number, None, 4000, None, None, None],
            ],
        )
        job = self.upload(admin_client, django_capture_on_commit_callbacks, tree.union_a, content)
        job.refresh_from_db()
        assert job.status == ImportStatus.VALIDATED
        member_actions.change_status(
            member=two, status=MemberStatus.WITHDRAWN, reason="离职", acting_user=None
        )
        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(reverse("admin:members_duesrecord_payroll_confirm", args=[job.pk]))
        job.refresh_from_db()
        assert job.status == ImportStatus.INVALID
        assert [e["row"] for e in job.errors] == [3]
        assert not DuesRecord.objects.exists()
        one.refresh_from_db()
        assert one.wage_base == Decimal("3000.00")

    def test_upload_page_offers_only_own_unions_and_the_template(self, admin_client, tree):
        response = admin_client.get(reverse("admin:members_duesrecord_payroll"))
        assert response.status_code == 200
        assert list(response.context["form"].fields["organization"].queryset) == [tree.union_a]
        assert reverse("admin:members_duesrecord_payroll_template") in response.content.decode()

    def test_report_refreshes_itself_while_the_check_runs(self, admin_client, tree, officers):
        job = ImportJob.objects.create(
            organization=tree.union_a,
            kind="payroll",
            file=SimpleUploadedFile("p.csv", b"x"),
            original_name="p.csv",
            status=ImportStatus.VALIDATING,
            total_rows=1000,
            processed_rows=500,
            result={"period": last_month().isoformat()},
        )
        html = self.report(admin_client, job).content.decode()
        assert 'http-equiv="refresh" content="2"' in html
        assert "<script" not in html.split("</head>")[1]
        assert 'value="500" max="1000"' in html
        job.status = ImportStatus.INVALID
        job.save()
        assert 'http-equiv="refresh"' not in self.report(admin_client, job).content.decode()

    def test_tasks_return_quietly_when_the_job_is_gone(self):
        from members.tasks.dues import apply_payroll_task, check_payroll_task

        assert check_payroll_task.delay(987654).get() is None
        assert apply_payroll_task.delay(987654).get() is None

    def test_staff_cannot_import_payroll(self, client, officers, tree):
        client.force_login(officers.a_staff)
        assert client.get(reverse("admin:members_duesrecord_payroll")).status_code == 403

    def test_sibling_admin_gets_404_on_the_import_report(
        self, admin_client, client, tree, officers, django_capture_on_commit_callbacks
    ):
        member = member_with_wage(tree.union_a)
        job = self.upload(
            admin_client,
            django_capture_on_commit_callbacks,
            tree.union_a,
            xlsx(HEADERS, [[member.membership_number, None, 4000, None, None, None]]),
        )
        client.force_login(officers.b_admin)
        url = reverse("admin:members_duesrecord_payroll_job", args=[job.pk])
        assert client.get(url).status_code == 404
        confirm = reverse("admin:members_duesrecord_payroll_confirm", args=[job.pk])
        assert client.post(confirm).status_code == 404


# --- Other admin pages --------------------------------------------------------------------


class TestDuesAdmin:
    def test_changelist_lists_masked_members_and_filters_arrears(self, client, tree, officers):
        member = member_with_wage(tree.union_a)
        dues_record(member, last_month())
        dues_record(member, selectors.current_period())
        client.force_login(officers.a_admin)
        url = reverse("admin:members_duesrecord_changelist")
        page = client.get(url)
        assert page.status_code == 200
        html = page.content.decode()
        assert member.masked_name in html and member.membership_number in html
        assert reverse("admin:members_duesrecord_payroll") in html
        assert page.context["cl"].result_count == 2
        assert client.get(url, {"arrears": "yes"}).context["cl"].result_count == 1
        month = last_month().strftime("%Y-%m")
        assert client.get(url, {"period": month}).context["cl"].result_count == 1

    def test_record_full_payment_action(self, client, tree, officers):
        records = [dues_record(member_with_wage(tree.union_a)) for _ in range(2)]
        client.force_login(officers.a_admin)
        url = reverse("admin:members_duesrecord_changelist")
        data = {"action": "record_full_payment", "_selected_action": [r.pk for r in records]}
        page = client.post(url, data)
        assert page.status_code == 200  # the intermediate page asks for the method
        assert DuesRecord.objects.filter(amount_paid=0).count() == 2
        response = client.post(url, {**data, "apply": "1", "method": "bank"})
        assert response.status_code == 302
        for record in DuesRecord.objects.all():
            assert record.is_paid and record.method == "bank"

    def test_generate_view_creates_the_months_records(self, client, tree, officers):
        member_with_wage(tree.union_a)
        client.force_login(officers.a_admin)
        url = reverse("admin:members_duesrecord_generate")
        assert client.get(url).status_code == 200
        month = last_month().strftime("%Y-%m")
        response = client.post(url, {"organization": tree.union_a.pk, "period": month})
        assert response.status_code == 302
        assert DuesRecord.objects.get().period == last_month()
        # A union outside the user's scope is not a choice.
        response = client.post(url, {"organization": tree.union_b.pk, "period": month})
        assert "organization" in response.context["form"].errors

    def test_split_view_shows_the_parts(self, client, tree, officers):
        Organization.objects.filter(pk=tree.hz.pk).update(dues_share_percent=10)
        dues_record(member_with_wage(tree.union_a), last_month(), paid="21.61")
        client.force_login(officers.a_admin)
        response = client.get(
            reverse("admin:members_duesrecord_split"),
            {"organization": tree.union_a.pk, "period": last_month().strftime("%Y-%m")},
        )
        assert response.status_code == 200
        amounts = [p["amount"] for p in response.context["parts"]]
        assert amounts == [Decimal("19.45"), Decimal("2.16")]

    def test_pay_view_records_a_partial_payment(self, client, tree, officers):
        record = dues_record(member_with_wage(tree.union_a))
        client.force_login(officers.a_admin)
        url = reverse("admin:members_duesrecord_pay", args=[record.pk])
        response = client.post(
            url, {"amount": "30", "paid_on": datetime.date.today().isoformat(), "method": "cash"}
        )
        assert response.status_code == 200 and "amount" in response.context["form"].errors
        response = client.post(
            url, {"amount": "5", "paid_on": datetime.date.today().isoformat(), "method": "cash"}
        )
        assert response.status_code == 302
        record.refresh_from_db()
        assert record.amount_paid == Decimal("5.00")

    def test_wage_base_shows_only_to_those_who_may_change_it(self, client, tree, officers):
        record = dues_record(member_with_wage(tree.union_a))
        url = reverse("admin:members_duesrecord_change", args=[record.pk])
        client.force_login(officers.a_admin)
        assert "wage_base" in client.get(url).context["adminform"].readonly_fields
        client.force_login(officers.a_staff)
        response = client.get(url)
        assert response.status_code == 200
        assert "wage_base" not in response.context["adminform"].readonly_fields

    def test_sibling_admin_gets_404_for_the_dues_record_pages(self, client, tree, officers):
        record = dues_record(member_with_wage(tree.union_a))
        client.force_login(officers.b_admin)
        for name in ("change", "pay", "history"):
            url = reverse(f"admin:members_duesrecord_{name}", args=[record.pk])
            assert client.get(url).status_code == 404, name
        changelist = client.get(reverse("admin:members_duesrecord_changelist"))
        assert changelist.context["cl"].result_count == 0


# --- API ----------------------------------------------------------------------------------


class TestDuesApi:
    def api(self, user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    def test_admin_lists_filters_and_pays(self, tree, officers):
        member = member_with_wage(tree.union_a)
        old = dues_record(member, last_month())
        dues_record(member, selectors.current_period())
        dues_record(member_with_wage(tree.union_b), last_month())
        api = self.api(officers.a_admin)
        listing = api.get("/api/v1/dues/").json()
        assert listing["count"] == 2
        assert listing["results"][0]["member_name"] == member.masked_name
        assert "wage_base" in listing["results"][0]
        month = last_month().strftime("%Y-%m")
        assert api.get("/api/v1/dues/", {"period": month}).json()["count"] == 1
        assert [r["id"] for r in api.get("/api/v1/dues/", {"arrears": "1"}).json()["results"]] == [
            old.pk
        ]
        assert api.get("/api/v1/dues/", {"period": "2025-13"}).status_code == 400
        paid = api.post(f"/api/v1/dues/{old.pk}/pay/", {"amount": "21.61", "method": "alipay"})
        assert paid.status_code == 200, paid.json()
        assert paid.json()["amount_paid"] == "21.61"
        over = api.post(f"/api/v1/dues/{old.pk}/pay/", {"amount": "1", "method": "alipay"})
        assert over.status_code == 400 and "amount" in over.json()

    def test_staff_reads_without_wage_base_and_cannot_pay(self, tree, officers):
        record = dues_record(member_with_wage(tree.union_a))
        api = self.api(officers.a_staff)
        detail = api.get(f"/api/v1/dues/{record.pk}/")
        assert detail.status_code == 200 and "wage_base" not in detail.json()
        response = api.post(f"/api/v1/dues/{record.pk}/pay/", {"amount": "1", "method": "cash"})
        assert response.status_code in (403, 404)
        record.refresh_from_db()
        assert record.amount_paid == 0

    def test_sibling_admin_gets_404_and_the_provincial_viewer_sees_no_records(self, tree, officers):
        record = dues_record(member_with_wage(tree.union_a))
        sibling = self.api(officers.b_admin)
        assert sibling.get(f"/api/v1/dues/{record.pk}/").status_code == 404
        response = sibling.post(f"/api/v1/dues/{record.pk}/pay/", {"amount": "1", "method": "cash"})
        assert response.status_code == 404
        assert sibling.get("/api/v1/dues/").json()["count"] == 0
        for user in (officers.zj_viewer, officers.zj_admin):
            assert self.api(user).get("/api/v1/dues/").json()["count"] == 0

    def test_summary_returns_the_split_within_scope(self, tree, officers):
        Organization.objects.filter(pk=tree.zj.pk).update(dues_share_percent=5)
        dues_record(member_with_wage(tree.union_a), last_month(), paid="21.61")
        params = {"organization": tree.union_a.pk, "period": last_month().strftime("%Y-%m")}
        response = self.api(officers.zj_viewer).get("/api/v1/dues/summary/", params)
        assert response.status_code == 200
        body = response.json()
        assert body["collected"] == "21.61"
        assert [(p["organization"], p["amount"], p["kept"]) for p in body["parts"]] == [
            (tree.union_a.pk, "20.53", True),
            (tree.zj.pk, "1.08", False),
        ]
        for outsider in (officers.c_admin, officers.b_admin):
            assert self.api(outsider).get("/api/v1/dues/summary/", params).status_code == 404
        bad = {**params, "period": "soon"}
        assert self.api(officers.a_admin).get("/api/v1/dues/summary/", bad).status_code == 400


# --- Portal -------------------------------------------------------------------------------


class TestPortal:
    def test_member_sees_only_their_own_dues(self, client, tree):
        member = member_with_wage(tree.union_a)
        member.user = UserFactory()
        member.save(update_fields=["user"])
        mine = [dues_record(member, last_month(), paid="1.00")]
        other = dues_record(member_with_wage(tree.union_a), last_month())
        client.force_login(member.user)
        response = client.get(reverse("my-dues"))
        assert response.status_code == 200
        shown = list(response.context["page"].object_list)
        assert [r.pk for r in shown] == [mine[0].pk]
        assert other.pk not in [r.pk for r in shown]
        assert response.context["total_outstanding"] == Decimal("20.61")

    def test_member_without_records_sees_an_empty_state(self, client, tree):
        member = make_member(tree.union_a)
        member.user = UserFactory()
        member.save(update_fields=["user"])
        client.force_login(member.user)
        response = client.get(reverse("my-dues"))
        assert response.status_code == 200
        assert list(response.context["page"].object_list) == []

    def test_user_without_a_member_record_gets_a_friendly_page(self, client, officers):
        client.force_login(officers.a_admin)
        response = client.get(reverse("my-dues"))
        assert response.status_code == 200
        assert "portal/no_member.html" in [t.name for t in response.templates]

    def test_login_is_required(self, client):
        response = client.get(reverse("my-dues"))
        assert response.status_code == 302
