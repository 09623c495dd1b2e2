"""A provincial federation brings its unions in, in headless Chromium (issue 20's "done when").

The province's administrator downloads the template, fills 1,000 unions and two officers
with three rows wrong, gets a report naming exactly those rows, fixes them, confirms, and
finds the unions in the tree and in the directory; an officer opens the first-login link of
their SMS, chooses a password and reaches the administration. Labels are looked up through
the Chinese catalogue; every page is checked with axe-core and for requests leaving the
site; screenshots go to docs/screenshots/admin-union-import-*.png.
"""

import io
import re

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from openpyxl import load_workbook

from accounts.security import current_code
from core.models import ImportStatus
from core.spreadsheets import write_workbook
from organizations.importing.columns import HEADERS, OFFICER_HEADERS
from organizations.models import Organization, OrgRole
from tests.factories import make_uscc
from tests.test_browser import (  # noqa: F401  (fixtures)
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    allow_orm_beside_playwright,
    axe_serious,
    browser,
    fonts_render_chinese,
    open_page,
)
from tests.test_officer_journey_browser import zh

UNIONS = 1000
BAD_ROWS = {57: "行政区划代码", 402: "上级工会编号", 913: "名称"}  # row numbers as Excel shows


def province_rows(tree) -> list[dict]:
    """A city federation, ten counties and grassroots unions under them: 1,000 rows."""
    rows = [
        {
            "编号": "C",
            "名称": "示范地级市总工会",
            "统一社会信用代码": make_uscc("330200"),
            "上级工会编号": str(tree.zj.pk),
            "级别": "地市级总工会",
            "行政区划代码": "330200",
        }
    ]
    for county in range(10):
        rows.append(
            {
                "编号": f"X{county}",
                "名称": f"示范第{county + 1}区总工会",
                "上级工会编号": "C",
                "级别": "县级总工会",
                "行政区划代码": "330203",
            }
        )
    for n in range(UNIONS - len(rows)):
        rows.append(
            {
                "名称": f"示范{n + 1:03d}号企业工会",
                "统一社会信用代码": make_uscc("330203"),
                "上级工会编号": f"X{n % 10}",
                "级别": "基层工会",
                "行政区划代码": "330203",
                "职工人数": str(20 + n % 300),
            }
        )
    return rows


def officer_rows(rows) -> list[dict]:
    return [
        {"姓名": "周敏", "手机号": "13900001111", "工会": "C", "角色": "管理员"},
        {
            "姓名": "吴刚",
            "手机号": "13900002222",
            "工会": rows[20]["统一社会信用代码"],
            "角色": "管理员",
        },
    ]


def workbook(rows, officers) -> bytes:
    return write_workbook(
        [
            ("工会", HEADERS, [[r.get(h, "") for h in HEADERS] for r in rows]),
            (
                "工会干部",
                OFFICER_HEADERS,
                [[o.get(h, "") for h in OFFICER_HEADERS] for o in officers],
            ),
        ]
    )


def broken(rows) -> list[dict]:
    rows = [dict(r) for r in rows]
    rows[57 - 2]["行政区划代码"] = "339999"  # a region that never existed
    rows[402 - 2]["上级工会编号"] = "NO-SUCH"  # an unknown parent
    rows[913 - 2]["名称"] = "示范\u202e工会"  # a bidi override
    return rows


def check(page, name, device="desktop"):
    violations = axe_serious(page)
    assert violations == [], f"{name}: {violations}"
    page.screenshot(path=SCREENSHOTS / f"admin-union-import-{name}-{device}.png", full_page=True)


def log_in_with_second_factor(page, live_server, user):
    device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    page.goto(live_server.url + "/accounts/login/?next=/admin/")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码", exact=True).fill("Pass-word-123")
    page.locator("main").get_by_role("button", name="登录").click()
    page.wait_for_url("**/two-factor/**")
    page.locator("input[name=code]").fill(current_code(device))
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url("**/admin/")


def upload(page, content: bytes) -> None:
    page.get_by_label(zh("Spreadsheet")).set_input_files(
        files=[{"name": "工会.xlsx", "mimeType": "application/octet-stream", "buffer": content}]
    )
    page.get_by_role("button", name=zh("Upload and check")).click()


@pytest.mark.django_db(transaction=True)
def test_a_province_imports_1000_unions_and_its_officers_log_in(
    browser,  # noqa: F811
    live_server,
    tree,
    officers,
    settings,
    tmp_path,
    sms_outbox,
):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.NOTIFICATIONS_QUIET_HOURS = (0, 0)
    rows = province_rows(tree)
    page, foreign = open_page(browser, live_server, DESKTOP)
    log_in_with_second_factor(page, live_server, officers.zj_admin)

    page.goto(live_server.url + reverse("admin:organizations_organization_changelist"))
    page.get_by_role("link", name=zh("Import unions from a spreadsheet")).click()
    page.wait_for_url("**/admin/organizations/organization/import/")
    check(page, "upload")
    with page.expect_download() as download:
        page.get_by_role("link", name=zh("Download the template")).click()
    template = load_workbook(io.BytesIO(download.value.path().read_bytes()))
    assert template.sheetnames == ["工会", "工会干部", "填写说明"]
    assert [c.value for c in template["工会"][1] if c.value][:2] == ["编号", "名称"]

    # Three rows wrong among 1,000: the report names exactly those; nothing is written.
    before = Organization.objects.count()
    upload(page, workbook(broken(rows), officer_rows(rows)))
    page.locator(f"#import-status[data-status='{ImportStatus.INVALID}']").wait_for()
    reported = {
        (int(cells[1]), cells[2])
        for cells in (
            [td.inner_text() for td in row.locator("td").all()]
            for row in page.locator("tr.import-error").all()
        )
    }
    assert reported == set(BAD_ROWS.items())
    assert all(
        re.search(r"[\u4e00-\u9fff]", text)
        for text in page.locator("tr.import-error td:last-child").all_inner_texts()
    )
    assert page.get_by_role("button", name=zh("Confirm import")).count() == 0
    check(page, "invalid")
    assert Organization.objects.count() == before

    # Fixed: checked, confirmed, written.
    page.goto(live_server.url + reverse("admin:organizations_organization_import"))
    upload(page, workbook(rows, officer_rows(rows)))
    page.locator(f"#import-status[data-status='{ImportStatus.VALIDATED}']").wait_for()
    assert page.locator("#import-create").inner_text() == str(UNIONS)
    assert page.locator("#import-officers").inner_text().startswith("2")
    check(page, "checked")
    assert Organization.objects.count() == before
    page.get_by_role("button", name=zh("Confirm import")).click()
    page.locator(
        "#import-status[data-status='done'], #import-status[data-status='failed']"
    ).wait_for(timeout=60_000)
    assert page.locator("#import-status").get_attribute("data-status") == "done", page.locator(
        "#content-main"
    ).inner_text()
    assert page.locator("#import-create").inner_text() == str(UNIONS)
    check(page, "done")
    assert Organization.objects.count() == before + UNIONS

    # In the tree (the admin's list, searched) and in the public directory.
    page.get_by_role("link", name=zh("Show the unions")).click()
    page.wait_for_url("**/admin/organizations/organization/")
    page.locator("#searchbar").fill("示范500号")
    page.locator("#changelist-search").get_by_role("button").click()
    page.wait_for_url(re.compile(r"[?&]q="))
    assert "示范500号企业工会" in page.locator("#result_list").inner_text()
    check(page, "tree")
    page.goto(live_server.url + "/?q=示范500号")
    assert "示范500号企业工会" in page.locator("main").inner_text()
    page.context.close()
    assert foreign == [], foreign

    # An officer's first-login link, on a phone: choose a password, reach the admin.
    assert sorted(m.to for m in sms_outbox) == ["13900001111", "13900002222"]
    message = next(m for m in sms_outbox if m.to == "13900002222")
    link = re.search(r"https?://[^/\s]+(/\S+)", message.body).group(1)
    phone, foreign = open_page(browser, live_server, PHONE, is_mobile=True)
    phone.goto(live_server.url + link)
    phone.wait_for_url("**/set-password/")
    assert "139****2222" in phone.locator("main").inner_text()
    check(phone, "first-login", device="phone")
    phone.locator("input[name=new_password1]").fill("Gonghui-2026-xyz")
    phone.locator("input[name=new_password2]").fill("Gonghui-2026-xyz")
    phone.get_by_role("button", name=zh("Save and log in")).click()
    phone.wait_for_url("**/admin/")
    union = Organization.objects.get(uscc=rows[20]["统一社会信用代码"])
    assert OrgRole.objects.filter(organization=union, role="admin").count() == 1
    assert union.name in phone.locator("body").inner_text() or phone.url.endswith("/admin/")
    # Used once: the same link now says so.
    phone.goto(live_server.url + link)
    assert zh("Log in") in phone.locator("main").inner_text()
    assert phone.locator("input[name=new_password1]").count() == 0
    phone.context.close()
    assert foreign == [], foreign
