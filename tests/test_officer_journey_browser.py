"""The officers' work in headless Chromium, on a desktop: approving join applications one by
one and in bulk, importing members from a spreadsheet (template, checked report, confirm),
handling a service request and a concern, checking attendees in by their card, and, for a
federation, the dashboard and a requested report.

Labels are looked up through the Chinese catalogue, so a test fails when a page stops
saying in Chinese what the officer has to click. Every page is checked with axe-core and
for requests leaving the site; screenshots go to docs/screenshots/admin-<page>-desktop.png.
"""

import datetime
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, pgettext
from openpyxl import load_workbook

from members.actions import joining
from members.cards import card_token
from members.importing import columns
from members.models import ApplicationStatus, ImportJob, ImportStatus, JoinApplication, Member
from services.actions import activities, menu, voice
from services.actions import requests as request_actions
from services.models import ConcernStatus, ConcernStepKind, RequestStatus
from tests.factories import person_data, sheet_row, sheet_xlsx
from tests.reports.test_dashboard_browser import log_in
from tests.test_browser import (  # noqa: F401  (fixtures)
    DESKTOP,
    SCREENSHOTS,
    allow_orm_beside_playwright,
    axe_serious,
    browser,
    fonts_render_chinese,
    open_page,
)
from tests.test_member_journey_browser import check_page, officer_page
from tests.test_member_portal_browser import member_with_login


def zh(message: str, context: str | None = None) -> str:
    """What the Chinese page says for `message`."""
    with translation.override("zh-hans"):
        text = pgettext(context, message) if context else gettext(message)
    assert text != message, f"not translated: {message}"
    return text


def check(page, name, device="desktop"):
    """axe, screenshots (admin-<name>-<device>.png), and on a phone no sideways scrolling."""
    check_page(page, device, name, prefix="admin")


def apply(union, **overrides) -> JoinApplication:
    application, _status_key = joining.submit_join_application(
        organization=union,
        data=person_data(**overrides),
        password="Pass-word-123",
        privacy_consent=True,
        sensitive_consent=True,
    )
    return application


def upload(page, content: bytes) -> None:
    """Choose the file on the import page and send it to be checked."""
    page.get_by_label(zh("Spreadsheet")).set_input_files(
        files=[{"name": "会员.xlsx", "mimeType": "application/octet-stream", "buffer": content}]
    )
    page.get_by_role("button", name=zh("Upload and check")).click()


def answer_and_close_concern(page, live_server, concern, check) -> None:
    """From the concern's page: answer it, then close it (`check(page, name)` on each page)."""
    check(page, "concern")
    page.get_by_role("link", name=zh("Answer"), exact=True).click()
    page.wait_for_url(f"**/concern/{concern.pk}/reply/")
    page.get_by_role("textbox", name=re.compile(r"^答复")).fill(
        "已与财务核实，补贴将随十一月工资发放。"
    )
    check(page, "concern-answer")
    page.get_by_role("button", name="发送", exact=True).click()
    page.get_by_text("您的答复已发送给会员。").wait_for()
    page.goto(live_server.url + reverse("admin:services_concern_change", args=[concern.pk]))
    page.get_by_role("link", name=zh("Close", "concern"), exact=True).click()
    page.wait_for_url(f"**/concern/{concern.pk}/close/")
    check(page, "concern-close")
    page.locator("#content-main form input[type=submit]").first.click()
    page.locator("ul.messagelist li.success").wait_for()


def wrong_check_digit(id_number: str) -> str:
    last = id_number[-1]
    return id_number[:-1] + ("0" if last != "0" else "1")


@pytest.mark.django_db(transaction=True)
def test_officer_approves_applications_one_by_one_and_in_bulk(
    browser,  # noqa: F811
    live_server,
    tree,
    officers,
):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    first, *others = [apply(tree.union_a) for _ in range(3)]
    elsewhere = apply(tree.union_b)
    page, foreign = officer_page(browser, live_server, officers.a_admin.username)
    assert fonts_render_chinese(page)
    check(page, "index")

    # One by one: from the application's page.
    page.goto(live_server.url + reverse("admin:members_joinapplication_changelist"))
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 3  # union B's application is not in union A's list
    check(page, "applications")
    page.goto(live_server.url + reverse("admin:members_joinapplication_change", args=[first.pk]))
    check(page, "application")
    page.get_by_role("link", name=zh("Approve"), exact=True).click()
    page.wait_for_url(f"**/joinapplication/{first.pk}/approve/")
    check(page, "application-approve")
    page.get_by_role("button", name=zh("Approve"), exact=True).click()
    page.wait_for_url(f"**/joinapplication/{first.pk}/change/")
    first.refresh_from_db()
    assert first.status == ApplicationStatus.APPROVED
    assert Member.objects.filter(organization=tree.union_a).count() == 1

    # In bulk: tick the other two in the list, choose the action, run it.
    page.goto(live_server.url + reverse("admin:members_joinapplication_changelist"))
    for application in others:
        page.locator(f"input[name=_selected_action][value='{application.pk}']").check()
    page.locator("select[name=action]").select_option("approve_selected")
    page.get_by_role("button", name=zh("Go")).click()
    page.locator("ul.messagelist li.success").first.wait_for()
    check(page, "applications-approved")
    for application in others:
        application.refresh_from_db()
        assert application.status == ApplicationStatus.APPROVED
    elsewhere.refresh_from_db()
    assert elsewhere.status == ApplicationStatus.SUBMITTED
    assert Member.objects.filter(organization=tree.union_a).count() == 3

    page.context.close()
    assert foreign == [], foreign


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_officer_imports_members_from_a_spreadsheet(
    browser,  # noqa: F811
    live_server,
    tree,
    officers,
    settings,
    tmp_path,
    device,
):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    settings.MEDIA_ROOT = tmp_path / "media"
    people = [person_data() for _ in range(3)]
    good = [sheet_row(p) for p in people]
    bad = [
        good[0],
        sheet_row(people[1], 身份证号=wrong_check_digit(people[1]["id_number"])),
        good[2],
    ]
    page, foreign = officer_page(browser, live_server, officers.a_admin.username, device)

    page.goto(live_server.url + reverse("admin:members_member_changelist"))
    check(page, "members-empty", device)
    page.locator("#content").get_by_role("link", name=zh("Import"), exact=True).click()
    page.wait_for_url("**/admin/members/member/import/")
    check(page, "import", device)

    # The template holds the columns the officer has to fill in.
    with page.expect_download() as download:
        page.get_by_role("link", name=zh("Download the template")).click()
    template = load_workbook(io.BytesIO(download.value.path().read_bytes()), read_only=True)
    headers = next(template.worksheets[0].iter_rows(max_row=1, values_only=True))
    assert [h for h in headers if h] == columns.HEADERS

    # A file with a wrong ID number: the report names the row; nothing is written.
    upload(page, sheet_xlsx(bad))
    page.locator(f"#import-status[data-status='{ImportStatus.INVALID}']").wait_for()
    errors = page.locator("tr.import-error")
    assert errors.count() == 1
    assert errors.first.get_attribute("data-code") == "id_checksum"
    assert errors.first.locator("td").first.inner_text() == "3"  # header is row 1
    assert page.get_by_role("button", name=zh("Confirm import")).count() == 0
    check(page, "import-invalid", device)
    assert Member.objects.count() == 0

    # The corrected file: checked, confirmed, imported.
    page.goto(live_server.url + reverse("admin:members_member_import"))
    upload(page, sheet_xlsx(good))
    page.locator(f"#import-status[data-status='{ImportStatus.VALIDATED}']").wait_for()
    assert page.locator("#import-to-create").inner_text() == "3"
    check(page, "import-checked", device)
    assert Member.objects.count() == 0
    page.get_by_role("button", name=zh("Confirm import")).click()
    page.locator(f"#import-status[data-status='{ImportStatus.DONE}']").wait_for()
    assert page.locator("#import-created").inner_text() == "3"
    check(page, "import-done", device)
    assert ImportJob.objects.filter(status=ImportStatus.DONE).count() == 1

    page.get_by_role("link", name=zh("Show the members")).click()
    page.wait_for_url("**/admin/members/member/**")
    assert page.locator("#result_list tbody tr").count() == 3
    names = page.locator("#result_list").inner_text()
    # The list masks names for privacy, but every surname is there.
    assert all(p["name"][0] in names for p in people)
    check(page, "members", device)
    assert set(Member.objects.values_list("organization", flat=True)) == {tree.union_a.pk}

    page.context.close()
    assert foreign == [], foreign


@pytest.mark.django_db(transaction=True)
def test_officer_handles_a_service_request_and_answers_a_concern(
    browser,  # noqa: F811
    live_server,
    tree,
    officers,
):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    member = member_with_login(tree.union_a)
    service = menu.publish_service(
        service=menu.create_service(
            organization=tree.union_a,
            data={"title": "法律咨询", "category": "inclusive", "description": "劳动合同咨询"},
            acting_user=officers.a_admin,
        ),
        acting_user=officers.a_admin,
    )
    order = request_actions.order_service(
        service=service, member=member, note="", acting_user=member.user
    )
    concern = voice.raise_concern(
        member=member,
        data={"category": "wages", "title": "夜班补贴未发", "text": "十月夜班补贴至今未发放。"},
    )
    page, foreign = officer_page(browser, live_server, officers.a_admin.username)

    # The service request: accept, start, complete with what was done.
    page.goto(live_server.url + reverse("admin:services_servicerequest_changelist"))
    check(page, "service-requests")
    page.goto(live_server.url + reverse("admin:services_servicerequest_change", args=[order.pk]))
    check(page, "service-request")
    page.get_by_role("button", name=zh("Accept"), exact=True).click()
    page.get_by_role("button", name=zh("Start work"), exact=True).wait_for()
    page.get_by_role("button", name=zh("Start work"), exact=True).click()
    page.get_by_label(re.compile("^" + re.escape(zh("What was done")))).fill(
        "已安排律师于周三下午面谈。"
    )
    page.get_by_role("button", name=zh("Complete"), exact=True).click()
    page.locator("ul.messagelist li.success").wait_for()
    order.refresh_from_db()
    assert order.status == RequestStatus.COMPLETED
    check(page, "service-request-done")

    # The concern: answer it, then close it.
    page.goto(live_server.url + reverse("admin:services_concern_changelist"))
    check(page, "concerns")
    page.goto(live_server.url + reverse("admin:services_concern_change", args=[concern.pk]))
    answer_and_close_concern(page, live_server, concern, check)
    concern.refresh_from_db()
    assert concern.status == ConcernStatus.CLOSED
    assert concern.steps.filter(kind=ConcernStepKind.REPLIED).count() == 1

    page.context.close()
    assert foreign == [], foreign


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_officer_checks_attendees_in_by_scanning_their_card(
    browser,  # noqa: F811
    live_server,
    tree,
    officers,
    device,
):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    members = [member_with_login(tree.union_a) for _ in range(2)]
    activity = activities.create_activity(
        organization=tree.union_a,
        data={"title": "职工安全培训", "description": "消防安全培训", "venue": "三楼会议室"},
        acting_user=officers.a_admin,
    )
    start = timezone.now() + datetime.timedelta(minutes=20)
    session = activities.add_session(
        activity=activity,
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=2),
        capacity=30,
        acting_user=officers.a_admin,
    )
    activities.publish_activity(activity=activity, acting_user=officers.a_admin)
    for member in members:
        activities.register(session=session, member=member, acting_user=member.user)
    page, foreign = officer_page(browser, live_server, officers.a_staff.username, device)

    page.goto(live_server.url + reverse("admin:services_activity_session", args=[session.pk]))
    check(page, "checkin", device)
    # The card scanner types the card's verification address and presses Enter.
    scan = page.get_by_label(zh("Scan the member's card"))
    scan.fill(live_server.url + reverse("card-verify", args=[card_token(members[0])]))
    scan.press("Enter")
    page.locator("ul.messagelist li.success").wait_for()
    assert members[0].name in page.locator("ul.messagelist").inner_text()
    # A second scan of the same card is refused in plain words, not counted twice.
    scan = page.get_by_label(zh("Scan the member's card"))
    scan.fill(live_server.url + reverse("card-verify", args=[card_token(members[0])]))
    page.get_by_role("button", name=zh("Check in"), exact=True).click()
    page.locator("ul.messagelist li.error").wait_for()
    check(page, "checkin-done", device)
    registrations = {r.member_id: r for r in session.registrations.all()}
    assert registrations[members[0].pk].checkin_method == "card"
    assert registrations[members[1].pk].checked_in_at is None

    page.context.close()
    assert foreign == [], foreign


@pytest.mark.django_db(transaction=True)
def test_federation_officer_opens_the_dashboard_and_downloads_a_report(
    browser,  # noqa: F811
    live_server,
    tree,
    officers,
):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for union in (tree.union_a, tree.union_b, tree.union_c):
        member_with_login(union)
    page, foreign = open_page(browser, live_server, DESKTOP)
    log_in(page, live_server, officers.zj_viewer.username)
    assert page.get_by_role("heading", level=1).inner_text() == "数据看板：浙江省总工会"
    page.locator('[data-chart="trend"][data-drawn="true"]').wait_for()
    check(page, "dashboard")

    page.get_by_role("link", name=zh("Reports"), exact=True).click()
    page.wait_for_url("**/reports/**")
    check(page, "reports")
    page.get_by_role("button", name=zh("Build the report")).click()
    download_link = page.get_by_role("link", name=zh("Download Excel"))
    download_link.wait_for()
    check(page, "report-ready")
    with page.expect_download() as download:
        download_link.click()
    workbook = load_workbook(io.BytesIO(download.value.path().read_bytes()), read_only=True)
    text = " ".join(
        str(cell)
        for sheet in workbook.worksheets
        for row in sheet.iter_rows(values_only=True)
        for cell in row
        if cell is not None
    )
    assert "浙江省总工会" in text
    assert "深圳丙电子有限公司工会" not in text  # another province's union

    page.context.close()
    assert foreign == [], foreign
