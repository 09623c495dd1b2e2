"""More of a member's journeys in headless Chromium, on a phone and a desktop: register for an
activity and cancel, ask to transfer to another union and cancel, read notifications, download
one's own data; and the error pages a worker may meet (403, 404, 500) in the site's style.

Each page is checked like the main journey's (axe-core, no sideways scrolling on the phone, a
screenshot to docs/screenshots/journey-<page>-<phone|desktop>.png) and no request may leave
the site.
"""

import datetime
import io
import json

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.urls import path
from django.utils import timezone

from members.actions import cards as card_actions
from members.models import JoinApplication, Transfer, TransferStatus
from notifications.actions import notify
from notifications.models import Notification
from services.actions import activities
from services.models import Registration, RegistrationStatus
from tests.factories import make_member
from tests.test_browser import (  # noqa: F401  (fixtures)
    SCREENSHOTS,
    allow_orm_beside_playwright,
    browser,
    fonts_render_chinese,
    open_page,
)
from tests.test_member_journey_browser import DEVICES, check_page
from unionhub import urls as site_urls

PASSWORD = "Pass-word-123"


def member_with_login(org, **overrides):
    member = make_member(org, **overrides)
    member.user = get_user_model().objects.create_user(
        username=member.membership_number, password=PASSWORD
    )
    member.save(update_fields=["user"])
    return card_actions.issue_card(member=member)


def log_in(page, live_server, member, next_url="/me/"):
    page.goto(live_server.url + f"/accounts/login/?next={next_url}")
    page.get_by_label("用户名").fill(member.membership_number)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.locator("main").get_by_role("button", name="登录").click()
    page.wait_for_url(f"**{next_url}")


def publish_activity(org, by, title):
    activity = activities.create_activity(
        organization=org,
        data={"title": title, "description": "每月一次，欢迎会员参加", "venue": "职工书屋"},
        acting_user=by,
    )
    start = timezone.now() + datetime.timedelta(days=3)
    activities.add_session(
        activity=activity,
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=2),
        capacity=20,
        acting_user=by,
    )
    return activities.publish_activity(activity=activity, acting_user=by)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("device", list(DEVICES))
def test_member_registers_for_an_activity_and_cancels(
    browser,  # noqa: F811
    live_server,
    tree,
    officers,
    device,
):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    member = member_with_login(tree.union_a)
    activity = publish_activity(tree.union_a, officers.a_admin, "职工读书会")
    page, foreign = open_page(browser, live_server, **DEVICES[device])
    log_in(page, live_server, member, "/me/activities/")

    # Nothing yet: the page says what to do next.
    assert page.get_by_text("您还没有报名任何活动。").is_visible()
    check_page(page, device, "my-activities-empty")
    page.locator("main").get_by_role("link", name="查找活动").click()
    page.wait_for_url("**/activities/")
    check_page(page, device, "activities")

    page.get_by_role("link", name="职工读书会").click()
    page.wait_for_url(f"**/activities/{activity.pk}/")
    check_page(page, device, "activity")
    page.get_by_role("button", name="报名", exact=True).click()
    page.get_by_text("您已报名").wait_for()
    registration = Registration.objects.get(member=member)
    assert registration.status == RegistrationStatus.REGISTERED

    page.goto(live_server.url + "/me/activities/")
    assert page.get_by_role("link", name="职工读书会").is_visible()
    check_page(page, device, "my-activities")
    page.get_by_role("button", name="取消报名").click()
    page.wait_for_url("**/me/activities/")
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.CANCELLED
    assert not page.get_by_role("button", name="取消报名").count()

    page.context.close()
    assert foreign == [], f"requests left the site or were blocked: {foreign}"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("device", list(DEVICES))
def test_member_asks_for_a_transfer_and_cancels_it(
    browser,  # noqa: F811
    live_server,
    tree,
    device,
):
    member = member_with_login(tree.union_a)
    page, foreign = open_page(browser, live_server, **DEVICES[device])
    log_in(page, live_server, member, "/me/transfers/")
    assert page.get_by_text("您还没有转会记录。").is_visible()
    check_page(page, device, "transfers-empty")

    page.goto(live_server.url + tree.union_b.get_absolute_url())
    page.get_by_role("link", name="把我的会籍转到这里").click()
    page.wait_for_url(f"**/me/transfer/to/{tree.union_b.pk}/")
    page.get_by_label("新工作单位").fill("杭州乙物流有限公司")
    page.get_by_label("原因", exact=True).fill("换了工作")
    check_page(page, device, "transfer-request")
    page.get_by_role("button", name="申请转会").click()
    page.wait_for_url("**/me/transfers/")
    transfer = Transfer.objects.get(member=member)
    assert transfer.status == TransferStatus.OPEN
    assert transfer.to_organization_id == tree.union_b.pk
    heading = f"{tree.union_a.name} → {tree.union_b.name}"
    assert page.get_by_role("heading", name=heading).is_visible()
    check_page(page, device, "transfers")

    page.get_by_role("button", name="取消这次转接").click()
    page.wait_for_url("**/me/transfers/")
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.CANCELLED
    member.refresh_from_db()
    assert member.organization_id == tree.union_a.pk

    page.context.close()
    assert foreign == [], f"requests left the site or were blocked: {foreign}"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("device", list(DEVICES))
def test_member_reads_notifications_and_downloads_their_data(
    browser,  # noqa: F811
    live_server,
    tree,
    device,
):
    member = member_with_login(tree.union_a)
    notify([member.user], "ad hoc", {"title": "五一职工运动会报名开始", "body": "请到活动页报名。"})
    notify([member.user], "ad hoc", {"title": "二季度会费已到账", "body": "感谢您按时缴纳会费。"})
    page, foreign = open_page(browser, live_server, **DEVICES[device])
    log_in(page, live_server, member, "/inbox/")
    assert page.locator("li.unread").count() == 2
    check_page(page, device, "inbox")

    page.get_by_role("button", name="二季度会费已到账").click()
    page.wait_for_load_state()
    assert Notification.objects.get(context__title="二季度会费已到账").read_at is not None
    page.goto(live_server.url + "/inbox/")
    assert page.locator("li.unread").count() == 1
    page.get_by_role("button", name="全部标为已读").click()
    page.wait_for_url("**/inbox/")
    assert not Notification.objects.filter(recipient=member.user, read_at=None).exists()
    assert page.locator("li.unread").count() == 0

    # One's own data, as a spreadsheet and as JSON, from the membership page.
    page.goto(live_server.url + "/me/")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载我的数据（Excel）").click()
    workbook = openpyxl.load_workbook(io.BytesIO(download.value.path().read_bytes()))
    cells = {c for ws in workbook.worksheets for row in ws.iter_rows(values_only=True) for c in row}
    assert member.name in cells and member.membership_number in cells
    with page.expect_download() as download:
        page.get_by_role("link", name="下载我的数据（JSON）").click()
    data = json.loads(download.value.path().read_text(encoding="utf-8"))
    assert data["member"]["membership_number"] == member.membership_number
    assert {n["title"] for n in data["notifications"]} >= {"二季度会费已到账"}

    page.context.close()
    assert foreign == [], f"requests left the site or were blocked: {foreign}"


def boom(request):
    raise RuntimeError("a bug")


urlpatterns = [path("boom/", boom), *site_urls.urlpatterns]
handler404 = site_urls.handler404


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("device", list(DEVICES))
def test_error_pages_are_in_the_sites_style_and_lead_back(
    browser,  # noqa: F811
    live_server,
    tree,
    settings,
    device,
):
    settings.ROOT_URLCONF = __name__
    member = member_with_login(tree.union_a)
    page, foreign = open_page(browser, live_server, **DEVICES[device])

    response = page.goto(live_server.url + "/no-such-page/")
    assert response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "页面不存在"
    assert page.get_by_role("link", name="返回找工会").first.is_visible()
    assert fonts_render_chinese(page)
    check_page(page, device, "error-404")

    log_in(page, live_server, member)
    response = page.goto(live_server.url + "/dashboard/")
    assert response.status == 403
    assert page.get_by_role("heading", level=1).inner_text() == "没有权限"
    check_page(page, device, "error-403")

    response = page.goto(live_server.url + "/boom/")
    assert response.status == 500
    assert page.get_by_role("heading", level=1).inner_text() == "服务暂时不可用"
    assert page.evaluate("() => getComputedStyle(document.body).fontFamily") != ""
    assert page.locator("link[rel=stylesheet]").count() == 1
    assert page.locator("header.site-header").get_by_text("网上工会").is_visible()
    check_page(page, device, "error-500")
    page.get_by_role("link", name="返回找工会").click()
    page.wait_for_url(live_server.url + "/")

    page.context.close()
    assert foreign == [], f"requests left the site or were blocked: {foreign}"


FOCUSABLE = "main form[method=post] :is(input, select, textarea, button, a[href], summary)"
NAME = "e => e.name || e.textContent.trim()"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("device", list(DEVICES))
def test_join_form_by_keyboard_keeps_what_was_typed_and_marks_the_wrong_field(
    browser,  # noqa: F811
    live_server,
    tree,
    device,
):
    union = tree.union_a
    page, foreign = open_page(browser, live_server, **DEVICES[device])
    page.goto(live_server.url + f"/unions/{union.pk}/join/")

    # Tab walks every control of the form in reading order; typing fills it.
    controls = page.evaluate(
        f"() => Array.from(document.querySelectorAll('{FOCUSABLE}'))"
        f".filter(e => e.type !== 'hidden').map({NAME})"
    )
    assert controls[0] == "name" and "id_number" in controls and "sensitive_consent" in controls
    page.get_by_label("姓名", exact=True).focus()
    reached = []
    for _ in controls:
        reached.append(page.evaluate(f"() => ({NAME})(document.activeElement)"))
        page.keyboard.press("Tab")
    assert reached == controls
    page.get_by_label("姓名", exact=True).focus()
    page.keyboard.type("李四")
    page.keyboard.press("Tab")
    page.keyboard.type("330106199203150001")  # the check digit is wrong
    page.keyboard.press("Tab")
    page.keyboard.type("13912345678")
    page.get_by_label("民族", exact=True).select_option("01")
    page.get_by_label("工作单位", exact=True).fill("杭州甲科技有限公司")
    page.get_by_label("用工形式", exact=True).select_option("full_time")
    page.get_by_label("会员账号密码").fill(PASSWORD)
    page.get_by_label("再次输入密码").fill(PASSWORD)
    for consent in ("我已阅读并同意上面的个人信息处理告知。", "我单独同意为办理会籍处理我的敏感"):
        page.get_by_label(consent).focus()
        page.keyboard.press("Space")  # ticks the box
    page.get_by_label("手机号", exact=True).focus()
    page.keyboard.press("Enter")  # submits the form from the keyboard
    page.wait_for_load_state()

    alert = page.get_by_role("alert")
    assert "请修改下面标出的项目" in alert.inner_text()
    id_box = page.get_by_label("居民身份证号码", exact=True)
    assert id_box.input_value() == "330106199203150001"
    assert page.get_by_label("姓名", exact=True).input_value() == "李四"
    assert page.get_by_label("手机号", exact=True).input_value() == "13912345678"
    assert id_box.get_attribute("aria-invalid") == "true"
    error_id = f"{id_box.get_attribute('id')}_error"
    assert error_id in id_box.get_attribute("aria-describedby").split()
    error = page.locator(f"#{error_id}")
    assert error.is_visible() and "身份证" in error.inner_text()
    # The message sits in the field's own box, right under it.
    assert page.locator(".field", has=id_box).locator(f"#{error_id}").count() == 1
    assert JoinApplication.objects.count() == 0
    check_page(page, device, "join-errors")

    page.context.close()
    assert foreign == [], f"requests left the site or were blocked: {foreign}"
