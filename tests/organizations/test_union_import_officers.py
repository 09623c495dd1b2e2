"""Union import (issue 20): the officers sheet, first-login links, and the admin's import job."""

from __future__ import annotations

import datetime
import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from openpyxl import load_workbook

from accounts.first_login import FirstLoginTokenGenerator
from accounts.models import AccountPhone
from core.models import AuditEntry, ImportStatus
from core.spreadsheets import write_workbook
from organizations.actions.imports import import_unions
from organizations.importing.checker import check
from organizations.importing.columns import HEADERS, OFFICER_HEADERS
from organizations.models import Organization, OrgRole, UnionImport
from tests.factories import make_uscc

pytestmark = pytest.mark.django_db

PHONE_1, PHONE_2 = "13912340001", "13912340002"


@pytest.fixture(autouse=True)
def sms_any_hour(settings):
    settings.NOTIFICATIONS_QUIET_HOURS = (0, 0)


def workbook(unions: list[dict], officers: list[dict] | None = None) -> bytes:
    sheets = [("工会", HEADERS, [[row.get(h, "") for h in HEADERS] for row in unions])]
    if officers is not None:
        sheets.append(
            (
                "工会干部",
                OFFICER_HEADERS,
                [[o.get(h, "") for h in OFFICER_HEADERS] for o in officers],
            )
        )
    return write_workbook(sheets)


def new_unions(tree) -> list[dict]:
    code = make_uscc("330106")
    return [
        {
            "编号": "N1",
            "名称": "西湖新建一厂工会",
            "统一社会信用代码": code,
            "上级工会编号": str(tree.xihu.pk),
            "级别": "基层工会",
            "行政区划代码": "330106",
        },
        {"编号": "N2", "名称": "一厂车间工会小组", "上级工会编号": "N1", "级别": "工会小组"},
    ]


def officers_of(tree, unions) -> list[dict]:
    return [
        {
            "姓名": "王芳",
            "手机号": PHONE_1,
            "工会": unions[0]["统一社会信用代码"],
            "角色": "管理员",
        },
        {"姓名": "王芳", "手机号": f"+86 {PHONE_1}", "工会": "N2", "角色": "查看"},
        {"姓名": "李强", "手机号": PHONE_2, "工会": str(tree.union_a.pk), "角色": "工作人员"},
    ]


def run(tree, content: bytes, user, capture):
    plan = check(io.BytesIO(content), "unions.xlsx", under=tree.zj, acting_user=user)
    assert plan.errors == []
    with capture(execute=True):
        return import_unions(plan=plan, acting_user=user)


def sms_link(message) -> str:
    return re.search(r"https?://[^/\s]+(/\S+)", message.body).group(1)


def test_officers_get_accounts_roles_and_one_first_login_link_each(
    tree, officers, django_capture_on_commit_callbacks, sms_outbox
):
    unions = new_unions(tree)
    result = run(
        tree,
        workbook(unions, officers_of(tree, unions)),
        officers.zj_admin,
        django_capture_on_commit_callbacks,
    )

    assert (result["officers"], result["accounts_created"], result["roles_granted"]) == (3, 2, 3)
    first = AccountPhone.objects.get(user__first_name="王芳").user
    new_union = Organization.objects.get(name="西湖新建一厂工会")
    group = Organization.objects.get(name="一厂车间工会小组")
    assert set(OrgRole.objects.filter(user=first).values_list("organization", "role")) == {
        (new_union.pk, "admin"),
        (group.pk, "viewer"),
    }
    assert not first.has_usable_password()
    # One SMS per new account, to their own number, with a link and no password.
    assert sorted(m.to for m in sms_outbox) == [PHONE_1, PHONE_2]
    assert all("/accounts/first-login/" in m.body for m in sms_outbox)
    # The number is stored encrypted only: no table holds it in plain text.
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone_encrypted, phone_hash FROM accounts_accountphone")
        assert all(PHONE_1 not in value for row in cursor.fetchall() for value in row)
        cursor.execute("SELECT username, first_name FROM auth_user")
        assert all(PHONE_1 not in value for row in cursor.fetchall() for value in row)
    assert AuditEntry.objects.filter(action="role.grant").count() >= 3


def test_first_login_link_sets_a_password_once_and_then_the_phone_logs_in(
    tree, officers, client, django_capture_on_commit_callbacks, sms_outbox
):
    unions = new_unions(tree)
    run(
        tree,
        workbook(unions, officers_of(tree, unions)[:1]),
        officers.zj_admin,
        django_capture_on_commit_callbacks,
    )
    link = sms_link(sms_outbox[0])

    page = client.get(link, follow=True)
    assert page.status_code == 200 and page.context["validlink"]
    assert "139****0001" in page.content.decode()
    assert "token" not in page.redirect_chain[-1][0] and page.redirect_chain[-1][0].endswith(
        "/set-password/"
    )
    done = client.post(
        page.redirect_chain[-1][0],
        {"new_password1": "Gonghui-2026-xyz", "new_password2": "Gonghui-2026-xyz"},
    )
    assert done.status_code == 302 and done["Location"] == reverse("admin:index")
    assert client.get(reverse("admin:index")).status_code == 200  # a grassroots admin: no TOTP

    client.logout()
    again = client.get(link, follow=True)
    assert again.status_code == 200 and not again.context["validlink"]
    assert "已使用或已过期" in again.content.decode()
    login = client.post(
        reverse("login"), {"username": f"+86 {PHONE_1}", "password": "Gonghui-2026-xyz"}
    )
    assert login.status_code == 302 and client.get(reverse("admin:index")).status_code == 200


def test_first_login_link_expires(
    tree, officers, client, django_capture_on_commit_callbacks, sms_outbox, monkeypatch
):
    unions = new_unions(tree)
    run(
        tree,
        workbook(unions, officers_of(tree, unions)[:1]),
        officers.zj_admin,
        django_capture_on_commit_callbacks,
    )
    later = datetime.datetime.now() + datetime.timedelta(days=8)
    monkeypatch.setattr(FirstLoginTokenGenerator, "_now", lambda self: later)
    page = client.get(sms_link(sms_outbox[0]), follow=True)
    assert not page.context["validlink"]


def test_a_city_administrator_sets_up_the_second_factor_after_the_password(
    tree, officers, client, django_capture_on_commit_callbacks, sms_outbox
):
    unions = new_unions(tree)
    city_admin = [{"姓名": "赵敏", "手机号": PHONE_2, "工会": str(tree.hz.pk), "角色": "管理员"}]
    run(tree, workbook(unions, city_admin), officers.zj_admin, django_capture_on_commit_callbacks)
    page = client.get(sms_link(sms_outbox[0]), follow=True)
    password = {"new_password1": "Gonghui-2026-xyz", "new_password2": "Gonghui-2026-xyz"}
    client.post(page.redirect_chain[-1][0], password)
    admin = client.get(reverse("admin:index"))
    assert admin.status_code == 302 and admin["Location"].startswith(reverse("two-factor"))


def test_an_officer_already_known_by_phone_keeps_the_account_and_gets_no_link(
    tree, officers, django_capture_on_commit_callbacks, sms_outbox
):
    unions = new_unions(tree)
    run(
        tree,
        workbook(unions, officers_of(tree, unions)[:1]),
        officers.zj_admin,
        django_capture_on_commit_callbacks,
    )
    sms_outbox.clear()
    users = get_user_model().objects.count()
    more = [{"姓名": "王芳", "手机号": PHONE_1, "工会": str(tree.union_b.pk), "角色": "工作人员"}]
    result = run(
        tree, workbook(unions, more), officers.zj_admin, django_capture_on_commit_callbacks
    )
    assert result["create"] == 0 and result["accounts_created"] == 0
    assert get_user_model().objects.count() == users
    assert OrgRole.objects.filter(organization=tree.union_b, role="staff").count() == 1
    assert sms_outbox == []


def test_bad_officer_rows_are_named_by_sheet_row_and_column_and_nothing_is_written(tree, officers):
    unions = new_unions(tree)
    bad = [
        {"姓名": "王😀芳", "手机号": PHONE_1, "工会": "N1", "角色": "管理员"},
        {"姓名": "李强", "手机号": "1234", "工会": "N1", "角色": "管理员"},
        {"姓名": "张伟", "手机号": PHONE_2, "工会": "X9", "角色": "管理员"},
        {"姓名": "陈静", "手机号": "13912340003", "工会": str(tree.union_c.pk), "角色": "管理员"},
        {"姓名": "刘洋", "手机号": "13912340004", "工会": "N1", "角色": "主席"},
        {"姓名": "刘洋", "手机号": "13912340005", "工会": "N1", "角色": "管理员"},
        {"姓名": "周杰", "手机号": "13912340005", "工会": "N2", "角色": "查看"},
    ]
    users = get_user_model().objects.count()
    plan = check(
        io.BytesIO(workbook(unions, bad)), "u.xlsx", under=tree.zj, acting_user=officers.zj_admin
    )
    found = {(e.get("sheet"), e["row"], e["column"]) for e in plan.errors}
    assert found == {
        ("工会干部", 2, "姓名"),
        ("工会干部", 3, "手机号"),
        ("工会干部", 4, "工会"),
        ("工会干部", 5, "工会"),
        ("工会干部", 6, "角色"),
        ("工会干部", 8, "手机号"),
    }
    assert all(re.search(r"[\u4e00-\u9fff]", e["message"]) for e in plan.errors)
    assert get_user_model().objects.count() == users
    assert not Organization.objects.filter(name="西湖新建一厂工会").exists()


# --- The admin's import job -----------------------------------------------------------------


def upload(client, tree, content: bytes, name="unions.xlsx"):
    return client.post(
        reverse("admin:organizations_organization_import"),
        {"organization": tree.zj.pk, "file": SimpleUploadedFile(name, content)},
    )


def test_admin_upload_check_report_fix_confirm(
    tree, officers, client, django_capture_on_commit_callbacks, sms_outbox
):
    client.force_login(officers.zj_admin)
    assert client.get(reverse("admin:organizations_organization_import")).status_code == 200
    template = client.get(reverse("admin:organizations_organization_import_template"))
    assert load_workbook(io.BytesIO(template.content)).sheetnames[:2] == ["工会", "工会干部"]

    unions = new_unions(tree)
    broken = [dict(unions[0], 行政区划代码="999999"), unions[1]]
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, tree, workbook(broken, officers_of(tree, unions)))
    job = UnionImport.objects.get()
    assert response["Location"] == reverse("admin:organizations_unionimport_change", args=[job.pk])
    assert job.status == ImportStatus.INVALID and not job.file
    page = client.get(response["Location"]).content.decode()
    assert "行政区划代码" in page and 'id="import-errors"' in page
    report = load_workbook(
        io.BytesIO(
            client.get(reverse("admin:organizations_unionimport_errors", args=[job.pk])).content
        )
    )
    assert [c.value for c in report.active[2]][:3] == ["工会", 2, "行政区划代码"]

    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, tree, workbook(unions, officers_of(tree, unions)))
    job = UnionImport.objects.latest("pk")
    assert job.status == ImportStatus.VALIDATED
    assert (job.result["create"], job.result["officers"]) == (2, 3)
    assert not Organization.objects.filter(name="西湖新建一厂工会").exists()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:organizations_unionimport_confirm", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and job.result["accounts_created"] == 2
    assert job.processed_rows == job.total_rows == 2 and not job.file
    assert Organization.objects.filter(name="西湖新建一厂工会").exists()
    assert len(sms_outbox) == 2
    done = client.get(reverse("admin:organizations_unionimport_change", args=[job.pk]))
    assert 'data-status="done"' in done.content.decode()


def test_admin_import_pages_stay_in_scope(
    tree, officers, make_officer, client, django_capture_on_commit_callbacks
):
    client.force_login(officers.zj_admin)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, tree, workbook(new_unions(tree)))
    job = UnionImport.objects.get()
    # Guangdong's administrator sees neither the job nor its report, and cannot import
    # under Zhejiang or export it.
    client.force_login(make_officer("gd_admin", tree.gd))
    for name in ("change", "errors", "confirm", "cancel"):
        url = reverse(f"admin:organizations_unionimport_{name}", args=[job.pk])
        assert client.post(url).status_code == 404 if name in ("confirm", "cancel") else True
        assert client.get(url).status_code in (404, 405)
    assert upload(client, tree, workbook(new_unions(tree))).status_code == 200  # form error
    assert UnionImport.objects.count() == 1
    export = reverse("admin:organizations_organization_export", args=[tree.zj.pk])
    assert client.get(export).status_code == 404
    # A staff member (no administrator's grant) gets no import page at all.
    client.force_login(make_officer("zj_staff", tree.zj, role="staff"))
    assert client.get(reverse("admin:organizations_organization_import")).status_code == 403


def test_an_officers_phone_is_in_their_data_copy_and_gone_after_erasure(
    tree, officers, django_capture_on_commit_callbacks
):
    from accounts.privacy import erase_account
    from core import privacy

    unions = new_unions(tree)
    run(
        tree,
        workbook(unions, officers_of(tree, unions)[:1]),
        officers.zj_admin,
        django_capture_on_commit_callbacks,
    )
    user = AccountPhone.objects.get().user
    (account,) = [s for s in privacy.sections() if s.key == "account"]
    assert [row["phone"] for row in account.rows(privacy.Subject(user=user))] == [PHONE_1]
    erase_account(subject=privacy.Subject(user=user), redact=lambda text: text)
    assert not AccountPhone.objects.exists()


def test_the_import_list_costs_the_same_queries_for_one_job_and_for_many(
    tree, officers, client, django_capture_on_commit_callbacks
):
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    client.force_login(officers.zj_admin)
    url = reverse("admin:organizations_unionimport_changelist")

    def queries() -> int:
        with CaptureQueriesContext(db) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    with django_capture_on_commit_callbacks(execute=True):
        upload(client, tree, workbook(new_unions(tree)))
    one = queries()
    for _ in range(4):
        with django_capture_on_commit_callbacks(execute=True):
            upload(client, tree, workbook(new_unions(tree)))
    assert UnionImport.objects.count() == 5
    assert queries() == one


@pytest.mark.parametrize("limit", ["rows", "unpacked"])
def test_a_bomb_whose_stated_size_lies_is_refused_by_the_admin_import(
    tree, officers, client, django_capture_on_commit_callbacks, monkeypatch, limit
):
    from core import spreadsheets
    from tests.security.test_hostile_input import bomb_xlsx

    monkeypatch.setattr(spreadsheets, "MAX_ROWS", 50)
    monkeypatch.setattr(spreadsheets, "MAX_UNPACKED_BYTES", 1024 * 1024)
    client.force_login(officers.zj_admin)
    before = Organization.objects.count()
    bomb = bomb_xlsx(60 if limit == "rows" else 2000, HEADERS, "哈")
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, tree, bomb)
    job = UnionImport.objects.get()
    assert job.status == ImportStatus.INVALID and not job.file
    assert [e["row"] for e in job.errors] == [None]
    assert ("50" if limit == "rows" else "1 MB") in job.errors[0]["message"]
    assert Organization.objects.count() == before


def test_an_export_from_the_admin_imports_back_unchanged(
    tree, officers, client, django_capture_on_commit_callbacks
):
    client.force_login(officers.zj_admin)
    response = client.get(reverse("admin:organizations_organization_export", args=[tree.zj.pk]))
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    names = {c.value for c in load_workbook(io.BytesIO(response.content))["工会"]["B"]}
    assert tree.union_a.name in names and tree.union_c.name not in names  # Guangdong's
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, tree, response.content)
    job = UnionImport.objects.get()
    assert job.status == ImportStatus.VALIDATED, job.errors
    assert (job.result["create"], job.result["update"], job.result["missing"]) == (0, 0, 0)
    tree.zj.refresh_from_db()
    assert job.result["unchanged"] == tree.zj.get_descendant_count() == 5


def test_an_unexpected_error_in_the_worker_fails_the_job_with_a_message(
    tree, officers, client, django_capture_on_commit_callbacks, monkeypatch
):
    from organizations.actions import import_jobs
    from organizations.tasks import run_union_import_task

    client.force_login(officers.zj_admin)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, tree, workbook(new_unions(tree)))
    job = UnionImport.objects.get()
    UnionImport.objects.filter(pk=job.pk).update(status=ImportStatus.IMPORTING)

    def broken(*, job):
        raise RuntimeError("disk full")

    monkeypatch.setattr(import_jobs, "run_union_import", broken)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        run_union_import_task(job.pk)
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and not job.file
    assert [e["row"] for e in job.errors] == [None]
    assert "意外错误" in job.errors[0]["message"]
    assert not Organization.objects.filter(name="西湖新建一厂工会").exists()


def test_an_operator_imports_under_the_national_federation_or_a_province(
    tree, client, django_user_model
):
    operator = django_user_model.objects.create(username="op", is_superuser=True, is_staff=True)
    client.force_login(operator)
    assert client.get(reverse("admin:organizations_organization_changelist")).status_code == 200
    page = client.get(reverse("admin:organizations_organization_import"))
    choices = set(page.context["form"].fields["organization"].queryset)
    assert choices == {tree.national, tree.zj, tree.gd}
