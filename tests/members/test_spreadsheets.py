"""Member spreadsheets: template, checked import with a row report, all-or-nothing writes,
masked and formula-escaped export, isolation, and the legacy migration command."""

import csv
import io
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from core import bulk, crypto
from core.models import AuditEntry
from core.spreadsheets import Table
from members import exports
from members.actions import enrolment
from members.actions import spreadsheets as actions
from members.importing import columns
from members.importing.rows import CREATE, RowChecker, checked_chunks
from members.models import ImportJob, ImportStatus, Member, MembershipEvent
from notifications.models import Notification
from organizations import counters
from tests.factories import make_member, person_data, sheet_row, sheet_xlsx

pytestmark = pytest.mark.django_db

HEADERS = columns.HEADERS
ID_PATTERN = re.compile(r"\d{17}[\dX]")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def assert_counters_exact():
    drift = counters.verify(["members."])
    assert drift.ok, drift.wrong


row_for = sheet_row


def xlsx(rows: list[dict], headers=HEADERS) -> bytes:
    return sheet_xlsx(rows, headers)


def csv_bytes(rows: list[dict], headers=HEADERS, encoding="utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([row.get(h, "") for h in headers])
    return buffer.getvalue().encode(encoding)


def upload(user, org, content: bytes, capture, name="members.xlsx") -> ImportJob:
    """Upload through the action; the check runs when the upload commits."""
    with capture(execute=True):
        job = actions.start_member_import(
            organization=org, uploaded_file=SimpleUploadedFile(name, content), acting_user=user
        )
    job.refresh_from_db()
    return job


def confirm(job, user, capture) -> ImportJob:
    with capture(execute=True):
        actions.confirm_member_import(job=job, acting_user=user)
    job.refresh_from_db()
    return job


def codes(job) -> set[str]:
    return {e["code"] for e in job.errors}


def job_url(job, name="change"):
    return reverse(f"admin:members_importjob_{name}", args=[job.pk])


# --- The done-when case ---------------------------------------------------------------------


def test_admin_imports_1000_members_from_xlsx_and_exports_them_again(
    client, tree, officers, django_capture_on_commit_callbacks, media_root
):
    client.force_login(officers.a_admin)

    template = client.get(reverse("admin:members_member_import_template"))
    assert template.status_code == 200
    workbook = load_workbook(io.BytesIO(template.content))
    data_sheet = workbook.worksheets[0]
    assert [c.value for c in data_sheet[1]] == HEADERS
    assert data_sheet.max_row == 2  # one example row
    assert columns.INSTRUCTIONS_SHEET in workbook.sheetnames

    page = client.get(reverse("admin:members_member_import"))
    assert page.status_code == 200
    assert page.context["form"].fields["organization"].initial == tree.union_a.pk

    content = xlsx([row_for() for _ in range(1000)])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:members_member_import"),
            {
                "organization": tree.union_a.pk,
                "file": SimpleUploadedFile("会员名单.xlsx", content),
            },
        )
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == job_url(job)
    assert not Member.objects.exists()  # nothing written before confirming

    report = client.get(job_url(job))
    assert report.status_code == 200
    job.refresh_from_db()
    assert job.status == ImportStatus.VALIDATED, job.errors[:5]
    assert job.result["to_create"] == 1000 and job.result["unchanged"] == 0
    assert job.processed_rows == job.total_rows == 1000
    html = report.content.decode()
    assert 'data-status="validated"' in html
    assert job_url(job, "confirm") in html
    assert "<progress" in html

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(job_url(job, "confirm"))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE, job.errors[:5]
    assert job.result["created"] == 1000
    assert job.finished_at is not None
    # The uploaded file (personal data) is gone from storage; the report stays.
    assert not job.file
    assert not any(p.is_file() for p in media_root.rglob("*"))

    members = Member.objects.filter(organization=tree.union_a)
    assert members.count() == 1000
    numbers = set(members.values_list("membership_number", flat=True))
    assert len(numbers) == 1000
    assert len(set(members.values_list("card_number", flat=True))) == 1000
    assert (
        MembershipEvent.objects.filter(kind="joined", to_organization=tree.union_a).count() == 1000
    )
    assert_counters_exact()
    audit = AuditEntry.objects.get(action="member.imported")
    assert audit.changes == {"created": 1000} and audit.actor == officers.a_admin
    assert audit.organization == tree.union_a

    export = client.get(
        reverse("admin:members_member_export"), {"organization__id__exact": tree.union_a.pk}
    )
    assert export.status_code == 200
    assert "no-store" in export["Cache-Control"]
    sheet = load_workbook(io.BytesIO(export.content), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1001
    assert list(rows[0]) == exports.EXPORT_HEADERS
    id_column = exports.EXPORT_HEADERS.index("身份证号")
    assert all(re.fullmatch(r"\d{4}\*{10}[\dX]{4}", row[id_column]) for row in rows[1:])
    # No 18-digit ID number anywhere (the union's credit code is the only 18-character code).
    cells = " ".join(str(v) for row in rows for v in row if v not in (None, tree.union_a.uscc))
    assert not ID_PATTERN.search(cells)
    real_ids = {m.id_number for m in members}
    assert not real_ids & {str(v) for row in rows for v in row}
    assert AuditEntry.objects.get(action="member.exported").changes["count"] == 1000

    # The same file again: everyone is already a member of union A, nothing is created.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:members_member_import"),
            {"organization": tree.union_a.pk, "file": SimpleUploadedFile("again.xlsx", content)},
        )
    again = ImportJob.objects.latest("pk")
    assert again.status == ImportStatus.VALIDATED
    assert again.result["to_create"] == 0 and again.result["unchanged"] == 1000
    with django_capture_on_commit_callbacks(execute=True):
        client.post(job_url(again, "confirm"))
    again.refresh_from_db()
    assert again.status == ImportStatus.DONE and again.result["created"] == 0
    assert Member.objects.count() == 1000
    assert_counters_exact()


# --- Bad files: a row report, and no member written -----------------------------------------


def test_bad_id_checksum_is_reported_with_row_and_column(
    tree, officers, django_capture_on_commit_callbacks
):
    rows = [row_for() for _ in range(3)]
    number = rows[1]["身份证号"]
    rows[1]["身份证号"] = number[:-1] + ("1" if number[-1] != "1" else "2")
    job = upload(officers.a_admin, tree.union_a, xlsx(rows), django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.INVALID
    assert [(e["row"], e["column"], e["code"]) for e in job.errors] == [
        (3, "身份证号", "id_checksum")
    ]
    assert job.result["bad_rows"] == 1
    assert not Member.objects.exists()
    assert not job.file  # an invalid file is not kept


def test_report_page_lists_every_bad_row_and_offers_the_error_workbook(
    client, tree, officers, django_capture_on_commit_callbacks
):
    rows = [row_for(**{"手机号": "123"}) for _ in range(3)]
    job = upload(officers.a_admin, tree.union_a, xlsx(rows), django_capture_on_commit_callbacks)
    client.force_login(officers.a_admin)
    page = client.get(job_url(job))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-status="invalid"' in html
    assert html.count('class="import-error"') == 3
    assert job_url(job, "confirm") not in html  # nothing to confirm
    assert 'http-equiv="refresh"' not in html  # finished: no refreshing
    report = client.get(job_url(job, "errors"))
    assert report.status_code == 200
    lines = list(load_workbook(io.BytesIO(report.content)).worksheets[0].values)
    assert [(row, column) for row, column, _reason in lines[1:]] == [
        (2, "手机号"),
        (3, "手机号"),
        (4, "手机号"),
    ]
    listing = client.get(reverse("admin:members_importjob_changelist"))
    assert job.original_name in listing.content.decode()
    with pytest.raises(ValidationError):
        actions.confirm_member_import(job=job, acting_user=officers.a_admin)


def test_page_refreshes_while_the_file_is_being_checked(client, tree, officers):
    # Without running the on-commit check, the job stays "uploaded".
    job = actions.start_member_import(
        organization=tree.union_a,
        uploaded_file=SimpleUploadedFile("m.xlsx", xlsx([row_for()])),
        acting_user=officers.a_admin,
    )
    client.force_login(officers.a_admin)
    html = client.get(job_url(job)).content.decode()
    assert 'http-equiv="refresh" content="2"' in html
    assert job_url(job, "cancel") in html and job_url(job, "confirm") not in html


def test_missing_required_column_is_one_file_level_error(
    tree, officers, django_capture_on_commit_callbacks
):
    headers = [h for h in HEADERS if h != "手机号"]
    content = xlsx([row_for() for _ in range(5)], headers=headers)
    job = upload(officers.a_admin, tree.union_a, content, django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.INVALID
    assert len(job.errors) == 1
    assert job.errors[0]["row"] == 1 and job.errors[0]["code"] == "missing_column"
    assert "手机号" in job.errors[0]["column"]
    assert not Member.objects.exists()


def test_duplicate_row_inside_the_file_names_the_first_row(
    tree, officers, django_capture_on_commit_callbacks
):
    first = row_for()
    rows = [first, row_for(), row_for(), dict(first)]
    job = upload(officers.a_admin, tree.union_a, xlsx(rows), django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.INVALID
    (error,) = job.errors
    assert (error["row"], error["column"], error["code"]) == (5, "身份证号", "duplicate_row")
    assert "2" in error["message"]
    assert not Member.objects.exists()


def test_unknown_or_foreign_union_code_is_refused(
    tree, officers, django_capture_on_commit_callbacks
):
    rows = [
        row_for(**{"所属工会代码": "91330106MA0000000X"}),
        row_for(**{"所属工会代码": tree.union_b.uscc}),  # a sibling: outside a_admin's scope
        row_for(**{"所属工会代码": tree.union_a.uscc.lower()}),
    ]
    job = upload(officers.a_admin, tree.union_a, xlsx(rows), django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.INVALID
    assert [(e["row"], e["column"], e["code"]) for e in job.errors] == [
        (2, "所属工会代码", "unknown_union"),
        (3, "所属工会代码", "union_out_of_scope"),
    ]
    assert not Member.objects.exists()


def test_formula_cell_is_refused(tree, officers, django_capture_on_commit_callbacks):
    rows = [row_for(), row_for(**{"姓名": '=HYPERLINK("http://evil.example","点我")'})]
    job = upload(officers.a_admin, tree.union_a, xlsx(rows), django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.INVALID
    assert [(e["row"], e["column"], e["code"]) for e in job.errors] == [(3, "姓名", "formula")]
    assert not Member.objects.exists()


def test_gender_mismatch_with_the_id_number_is_reported(
    tree, officers, django_capture_on_commit_callbacks
):
    raw = person_data(male=True)
    rows = [
        row_for(raw, **{"性别": "女"}),
        row_for(person_data(male=True), **{"性别": "男", "出生日期": "1900-01-01"}),
    ]
    job = upload(officers.a_admin, tree.union_a, xlsx(rows), django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.INVALID
    assert [(e["row"], e["column"], e["code"]) for e in job.errors] == [
        (2, "性别", "gender_mismatch"),
        (3, "出生日期", "birth_date_mismatch"),
    ]
    assert not Member.objects.exists()


def test_other_bad_values_each_get_a_row_report(tree, officers, django_capture_on_commit_callbacks):
    rows = [
        row_for(**{"手机号": "12345"}),
        row_for(**{"民族": "火星族"}),
        row_for(**{"用工形式": "临时工"}),
        row_for(**{"入会日期": "2999-01-01"}),
        row_for(**{"工作单位": ""}),
        row_for(**{"身份证号": columns.EXAMPLE_ID_NUMBER}),
    ]
    job = upload(officers.a_admin, tree.union_a, xlsx(rows), django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.INVALID
    assert [(e["row"], e["column"]) for e in job.errors] == [
        (2, "手机号"),
        (3, "民族"),
        (4, "用工形式"),
        (5, "入会日期"),
        (6, "工作单位"),
        (7, "身份证号"),
    ]
    assert codes(job) >= {"unknown_choice", "future_date", "required", "example_row"}
    assert not Member.objects.exists()


def test_current_member_of_another_union_is_told_to_transfer(
    tree, officers, django_capture_on_commit_callbacks
):
    raw = person_data()
    make_member(tree.union_c, **raw)
    job = upload(
        officers.a_admin, tree.union_a, xlsx([row_for(raw)]), django_capture_on_commit_callbacks
    )
    assert job.status == ImportStatus.INVALID
    assert [(e["row"], e["column"], e["code"]) for e in job.errors] == [
        (2, "身份证号", "member_elsewhere")
    ]
    assert Member.objects.count() == 1


def test_gb18030_csv_imports_fine(tree, officers, django_capture_on_commit_callbacks):
    rows = [row_for(**{"民族": "壮族", "学历": "硕士", "用工形式": "外卖骑手"}) for _ in range(5)]
    rows[0]["入会日期"] = "2020/5/4"
    rows[1]["民族"] = "08"
    content = csv_bytes(rows, encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    job = upload(
        officers.a_admin, tree.union_a, content, django_capture_on_commit_callbacks, "会员.csv"
    )
    assert job.status == ImportStatus.VALIDATED, job.errors
    job = confirm(job, officers.a_admin, django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.DONE
    members = Member.objects.order_by("pk")
    assert members.count() == 5
    assert {m.ethnicity for m in members} == {"08"}
    assert {m.employment_type for m in members} == {"delivery_rider"}
    assert {m.education for m in members} == {"master"}
    # The uploader hears about each outcome (checked, imported) in the inbox.
    notes = Notification.objects.filter(recipient=officers.a_admin, kind="members.import_status")
    assert notes.count() == 2
    assert (
        Member.objects.get(id_hash=crypto.id_hash(rows[0]["身份证号"])).join_date.isoformat()
        == "2020-05-04"
    )
    assert_counters_exact()


def test_rows_may_name_several_unions_of_the_uploaders_scope(
    tree, officers, django_capture_on_commit_callbacks, make_officer
):
    both = make_officer("ab_admin", tree.union_a)
    from organizations.actions import grant_role

    grant_role(user=both, organization=tree.union_b, role="admin")
    rows = [row_for(), row_for(**{"所属工会代码": tree.union_b.uscc})]
    job = upload(both, tree.union_a, xlsx(rows), django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.VALIDATED, job.errors
    # a_admin keeps union A's records but not union B's: may not confirm for both.
    with pytest.raises(PermissionDenied):
        actions.confirm_member_import(job=job, acting_user=officers.a_admin)
    job = confirm(job, both, django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.DONE
    assert Member.objects.filter(organization=tree.union_b).count() == 1
    assert Member.objects.filter(organization=tree.union_a).count() == 1
    assert_counters_exact()


# --- All or nothing --------------------------------------------------------------------------


def test_row_becoming_invalid_between_check_and_run_fails_the_whole_import(
    tree, officers, django_capture_on_commit_callbacks
):
    people = [person_data() for _ in range(600)]
    job = upload(
        officers.a_admin,
        tree.union_a,
        xlsx([row_for(p) for p in people]),
        django_capture_on_commit_callbacks,
    )
    assert job.status == ImportStatus.VALIDATED
    # Row 500 (the 499th person) joins union C before the import is confirmed.
    make_member(tree.union_c, **people[498])
    job = confirm(job, officers.a_admin, django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.FAILED
    assert [(e["row"], e["code"]) for e in job.errors] == [(500, "member_elsewhere")]
    assert not Member.objects.filter(organization=tree.union_a).exists()
    assert not AuditEntry.objects.filter(action="member.imported").exists()
    assert not job.file
    assert_counters_exact()


def test_failure_while_writing_rolls_back_every_batch(
    tree, officers, django_capture_on_commit_callbacks, monkeypatch
):
    job = upload(
        officers.a_admin,
        tree.union_a,
        xlsx([row_for() for _ in range(30)]),
        django_capture_on_commit_callbacks,
    )
    assert job.status == ImportStatus.VALIDATED
    monkeypatch.setattr(actions, "WRITE_BATCH", 10)
    real = enrolment.bulk_enrol
    calls = []

    def failing(rows, **kwargs):
        calls.append(len(rows))
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return real(rows, **kwargs)

    monkeypatch.setattr(enrolment, "bulk_enrol", failing)
    with pytest.raises(RuntimeError):
        confirm(job, officers.a_admin, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert calls == [10, 10, 10]
    assert job.status == ImportStatus.FAILED
    assert codes(job) == {"internal"}
    assert not Member.objects.exists()
    assert not MembershipEvent.objects.exists()
    assert_counters_exact()


def test_job_can_be_confirmed_only_once_and_cancelled_before(
    tree, officers, django_capture_on_commit_callbacks, media_root
):
    job = upload(
        officers.a_admin, tree.union_a, xlsx([row_for()]), django_capture_on_commit_callbacks
    )
    assert job.file and any(p.is_file() for p in media_root.rglob("*"))
    with django_capture_on_commit_callbacks(execute=True):
        actions.cancel_member_import(job=job, acting_user=officers.a_admin)
    job.refresh_from_db()
    assert job.status == ImportStatus.CANCELLED and not job.file
    assert not any(p.is_file() for p in media_root.rglob("*"))
    with pytest.raises(ValidationError):
        actions.confirm_member_import(job=job, acting_user=officers.a_admin)
    assert not Member.objects.exists()


def test_copy_writes_exactly_what_the_orm_writes(tree, officers):
    """The COPY path of the bulk writes (which skips preparing plain values) stores the same
    row as the ORM's INSERT for every column: encrypted, choice, date, time, decimal and key."""
    import datetime
    import decimal

    from django.db import connection
    from django.utils import timezone

    from members.models import EventKind, MemberStatus
    from members.people import apply_person, clean_person

    assert connection.vendor == "postgresql"
    member = Member(
        organization=tree.union_a,
        join_date=datetime.date(2024, 3, 1),
        status=MemberStatus.ACTIVE,
        card_issued_at=timezone.now(),
        wage_base=decimal.Decimal("6543.21"),
        membership_number="M-1",
        card_number="C-1",
    )
    apply_person(member, clean_person(person_data()))
    automatic = ("id", "created_at", "updated_at", "at")  # set when written

    def stored(obj) -> dict:
        row = type(obj).objects.filter(pk=obj.pk).values()[0]
        return {k: v for k, v in row.items() if k not in automatic}

    def write_twice(obj) -> tuple[dict, dict]:
        model = type(obj)
        bulk.insert(model, [obj])
        by_copy = stored(obj)
        model.objects.filter(pk=obj.pk).delete()
        obj.pk, obj._state.adding = None, True
        model.objects.bulk_create([obj])
        return by_copy, stored(obj)

    by_copy, by_orm = write_twice(member)
    assert by_copy == by_orm and len(by_copy) > 20
    assert Member.objects.get(pk=member.pk).id_number == member.id_number
    event = MembershipEvent(
        member_id=member.pk,
        kind=EventKind.JOINED,
        actor=officers.a_admin,
        to_status=MemberStatus.ACTIVE,
        to_organization_id=tree.union_a.pk,
        effective_on=member.join_date,
    )
    by_copy, by_orm = write_twice(event)
    assert by_copy == by_orm and by_copy["actor_id"] == officers.a_admin.pk


def checked_batches(rows: list[dict], size: int):
    """The new rows of `rows` as the legacy migration checks them, in batches of `size`."""
    table = Table(HEADERS, iter(enumerate(rows, start=2)))
    for chunk in checked_chunks(table, RowChecker(system=True), size):
        assert all(row.ok for row in chunk), [row.errors for row in chunk]
        yield [row for row in chunk if row.outcome == CREATE]


def test_enrolling_checked_rows_adjusts_counters_and_audits_each_union(tree):
    unions = [tree.union_a, tree.union_b, tree.union_a]
    rows = [row_for(**{"所属工会代码": unions[n % 3].uscc}) for n in range(9)]
    created = enrolment.enrol_checked_rows(batches=checked_batches(rows, 4), source="test")
    assert created == 9
    assert Member.objects.filter(organization=tree.union_a).count() == 6
    assert MembershipEvent.objects.filter(kind="joined").count() == 9
    entries = AuditEntry.objects.filter(action="member.migrated")
    assert {(e.organization_id, e.changes["created"], e.changes["source"]) for e in entries} == {
        (tree.union_a.pk, 6, "test"),
        (tree.union_b.pk, 3, "test"),
    }
    assert_counters_exact()


def test_enrolling_checked_rows_writes_nothing_when_a_later_batch_fails(tree):
    def batches():
        yield from checked_batches(
            [row_for(**{"所属工会代码": tree.union_a.uscc}) for _ in range(2)], 1
        )
        raise RuntimeError("the file broke off")

    with pytest.raises(RuntimeError):
        enrolment.enrol_checked_rows(batches=batches(), source="test")
    assert not Member.objects.exists() and not MembershipEvent.objects.exists()
    assert not AuditEntry.objects.filter(action="member.migrated").exists()
    assert_counters_exact()
    with pytest.raises(TypeError):
        enrolment.enrol_checked_rows(batches=[])  # neither an import job nor a source


# --- Export ----------------------------------------------------------------------------------


def test_export_escapes_formulas_and_masks_identifiers(client, tree, officers):
    member = make_member(tree.union_a, employer="=cmd|' /C calc'!A0")
    make_member(tree.union_b)  # not in a_admin's scope
    client.force_login(officers.a_admin)
    changelist = reverse("admin:members_member_changelist")
    response = client.post(
        changelist,
        {"action": "export_selected_xlsx", "_selected_action": [member.pk]},
    )
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.content)).worksheets[0].values)
    assert len(rows) == 2
    exported = dict(zip(rows[0], rows[1], strict=True))
    assert exported["工作单位"] == "'=cmd|' /C calc'!A0"
    assert exported["身份证号"] == member.id_masked
    assert exported["手机号"] == member.phone_masked

    response = client.get(reverse("admin:members_member_export"), {"_format": "csv"})
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 2  # union B's member is not exported
    assert rows[1][HEADERS.index("工作单位")] == "'=cmd|' /C calc'!A0"
    assert member.id_number not in text and member.phone not in text


def test_changelist_offers_import_template_and_export_links(client, tree, officers):
    client.force_login(officers.a_admin)
    html = client.get(reverse("admin:members_member_changelist"), {"status__exact": "active"})
    content = html.content.decode()
    assert reverse("admin:members_member_import") in content
    assert reverse("admin:members_member_import_template") in content
    assert reverse("admin:members_member_export") + "?status__exact=active" in content
    actions_offered = [
        value for value, _label in html.context["action_form"].fields["action"].choices
    ]
    assert "export_selected_xlsx" in actions_offered and "export_selected_csv" in actions_offered


# --- Isolation ---------------------------------------------------------------------------------


def test_sibling_admin_gets_404_on_the_import_job_pages(
    client, tree, officers, django_capture_on_commit_callbacks
):
    job = upload(
        officers.a_admin, tree.union_a, xlsx([row_for()]), django_capture_on_commit_callbacks
    )
    for outsider in (officers.b_admin, officers.zj_admin, officers.zj_viewer):
        client.force_login(outsider)
        for name in ("change", "errors"):
            assert client.get(job_url(job, name)).status_code == 404, (outsider, name)
        for name in ("confirm", "cancel"):
            assert client.post(job_url(job, name)).status_code == 404, (outsider, name)
    client.force_login(officers.b_admin)
    changelist = client.get(reverse("admin:members_importjob_changelist"))
    assert changelist.status_code == 200
    assert job.original_name not in changelist.content.decode()
    job.refresh_from_db()
    assert job.status == ImportStatus.VALIDATED


def test_sibling_admin_cannot_import_into_union_a(client, tree, officers):
    client.force_login(officers.b_admin)
    page = client.get(reverse("admin:members_member_import"))
    assert list(page.context["form"].fields["organization"].queryset) == [tree.union_b]
    response = client.post(
        reverse("admin:members_member_import"),
        {
            "organization": tree.union_a.pk,
            "file": SimpleUploadedFile("m.xlsx", xlsx([row_for()])),
        },
    )
    assert response.status_code == 200
    assert "organization" in response.context["form"].errors
    assert not ImportJob.objects.exists()
    with pytest.raises(PermissionDenied):
        actions.start_member_import(
            organization=tree.union_a,
            uploaded_file=SimpleUploadedFile("m.xlsx", xlsx([row_for()])),
            acting_user=officers.b_admin,
        )
    assert not ImportJob.objects.exists()


def test_provincial_viewer_can_neither_import_nor_export(client, tree, officers):
    make_member(tree.union_a)
    client.force_login(officers.zj_viewer)
    assert client.get(reverse("admin:members_member_import")).status_code == 403
    assert client.get(reverse("admin:members_member_export")).status_code == 403


# --- Legacy migration --------------------------------------------------------------------------


def test_legacy_command_migrates_a_csv_skips_bad_rows_and_is_idempotent(tree, tmp_path):
    rows = []
    for i in range(300):
        union = tree.union_b.uscc if i % 3 == 0 else ""
        rows.append(row_for(**{"所属工会代码": union}))
    bad = rows[10]["身份证号"]
    rows[10]["身份证号"] = bad[:-1] + ("1" if bad[-1] != "1" else "2")
    rows[100]["手机号"] = ""
    rows[200]["所属工会代码"] = "91330106MA0000000X"
    source = tmp_path / "legacy.csv"
    source.write_bytes(csv_bytes(rows, encoding="gb18030"))
    report = tmp_path / "bad.csv"
    out = io.StringIO()
    call_command(
        "import_legacy_members",
        str(source),
        "--default-union",
        tree.union_a.uscc,
        "--batch-size",
        "100",
        "--report",
        str(report),
        stdout=out,
    )
    assert Member.objects.count() == 297
    assert Member.objects.filter(organization=tree.union_b).count() == 100
    assert "297 created" in out.getvalue() and "3 bad" in out.getvalue()
    lines = list(csv.reader(io.StringIO(report.read_text(encoding="utf-8-sig"))))
    assert len(lines) == 4  # header + 3 bad rows
    assert [(int(r[0]), r[1]) for r in lines[1:]] == [
        (12, "身份证号"),
        (102, "手机号"),
        (202, "所属工会代码"),
    ]
    assert_counters_exact()
    assert MembershipEvent.objects.count() == 297

    out = io.StringIO()
    call_command(
        "import_legacy_members", str(source), "--default-union", tree.union_a.uscc, stdout=out
    )
    assert Member.objects.count() == 297
    assert "0 created" in out.getvalue() and "297 skipped" in out.getvalue()
    assert_counters_exact()


def test_legacy_command_dry_run_writes_nothing(tree, tmp_path):
    source = tmp_path / "legacy.csv"
    source.write_bytes(csv_bytes([row_for() for _ in range(5)]))
    out = io.StringIO()
    call_command(
        "import_legacy_members",
        str(source),
        "--default-union",
        tree.union_a.uscc,
        "--dry-run",
        stdout=out,
    )
    assert "5 would be created" in out.getvalue()
    assert not Member.objects.exists()
