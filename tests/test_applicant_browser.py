"""An applicant who lost their status link gets it back (issue 21), in headless Chromium on a
phone and a desktop: applied, told by SMS where to recover a lost link, the union asks for a
correction (SMS again), the applicant opens that page in a fresh browser, types the ID and
mobile numbers, receives a code by SMS, types it, and corrects the application under a new
link; the old link no longer opens. Each page is checked with axe, for sideways scrolling and
for requests leaving the site; screenshots go to docs/screenshots/applicant-<page>-<device>.png.
"""

import re

import pytest

from members.actions import joining
from members.models import ApplicationStatus
from tests.factories import person_data
from tests.test_browser import (  # noqa: F401  (fixtures)
    SCREENSHOTS,
    allow_orm_beside_playwright,
    browser,
    open_page,
)
from tests.test_member_journey_browser import DEVICES, check_page

SIX_DIGITS = re.compile(r"(?<!\d)(\d{6})(?!\d)")


def link_in(text: str) -> str:
    return re.search(r"https?://\S+", text).group(0)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("device", list(DEVICES))
def test_an_applicant_recovers_a_lost_status_link(
    browser,  # noqa: F811
    live_server,
    tree,
    officers,
    settings,
    sms_outbox,
    device,
):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    settings.NOTIFICATIONS_QUIET_HOURS = (0, 0)  # no quiet hours: each SMS goes at once
    settings.SITE_URL = live_server.url
    raw = person_data(phone="13987654321")
    application, old_key = joining.submit_join_application(
        organization=tree.union_a,
        data=raw,
        password="Pass-word-123",
        privacy_consent=True,
        sensitive_consent=True,
    )
    joining.request_correction(
        application=application, acting_user=officers.a_admin, note="请填写岗位"
    )
    texts = [m.body for m in sms_outbox if m.to == raw["phone"]]
    assert len(texts) == 2, texts  # received; correction asked, with the union's note
    assert "请填写岗位" in texts[1]

    # A fresh browser (the bookmark is gone): the link in the SMS leads to the recovery page.
    page, foreign = open_page(browser, live_server, **DEVICES[device])
    page.goto(link_in(texts[1]))
    assert page.get_by_role("heading", level=1).inner_text() == "找回我的申请"
    page.get_by_label("居民身份证号码", exact=True).fill(raw["id_number"])
    page.get_by_label("申请时填写的手机号", exact=True).fill(raw["phone"])
    check_page(page, device, "recover", prefix="applicant")
    page.get_by_role("button", name="获取验证码").click()
    page.wait_for_url("**/join/find/code/")
    assert "验证码短信正在发往该手机号" in page.locator("main").inner_text()
    check_page(page, device, "recover-code", prefix="applicant")

    code_text = [m.body for m in sms_outbox if m.to == raw["phone"]][-1]
    assert "验证码" in code_text
    code = SIX_DIGITS.search(code_text).group(1)
    wrong = "000000" if code != "000000" else "111111"
    page.get_by_label("短信中的6位验证码").fill(wrong)
    page.get_by_role("button", name="查看我的申请").click()
    page.wait_for_load_state()
    assert "验证码不正确，还可以再试 4 次" in page.locator("main").inner_text()
    page.get_by_label("短信中的6位验证码").fill(code)
    page.get_by_role("button", name="查看我的申请").click()
    page.wait_for_url("**/join/status/**")
    assert "已找回您的申请" in page.get_by_role("status").inner_text()
    assert "请填写岗位" in page.locator("main").inner_text()
    check_page(page, device, "recovered", prefix="applicant")

    # The correction, made under the new link.
    page.get_by_label(re.compile(r"^职务/岗位")).fill("仓库管理员")
    page.get_by_role("button", name="提交修改后的申请").click()
    page.wait_for_load_state()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.job == "仓库管理员"

    # The old link opens nothing any more.
    response = page.goto(f"{live_server.url}/join/status/{old_key}/")
    assert response.status == 404
    page.context.close()
    assert foreign == [], foreign
