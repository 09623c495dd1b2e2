"""A worker's whole journey in headless Chromium, on a phone and a desktop: find the union in
the directory, apply to join, get admitted, log in with the mobile phone, see the membership
card, order a service, raise a concern, read the answer and rate it, switch to English.

Every key page is checked with axe-core (no serious or critical violations), for requests
leaving the site or blocked by the Content-Security-Policy, and on the phone for sideways
scrolling. Screenshots go to docs/screenshots/journey-<page>-<phone|desktop>.png.
"""

import re

import pytest

from members.models import JoinApplication, Member
from services.actions import menu
from services.models import Concern, ServiceRequest
from tests.factories import make_id_number
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

PASSWORD = "Gong-hui-2026!"
PHONE_NUMBER = "13912345678"

DEVICES = {
    "phone": {"viewport": PHONE, "is_mobile": True},
    "desktop": {"viewport": DESKTOP, "is_mobile": False},
}


def check_page(page, device, name, prefix="journey"):
    """The checks of every key page: accessibility, no sideways scrolling, a screenshot."""
    violations = axe_serious(page)
    assert violations == [], f"{name}: {violations}"
    if device == "phone":
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{name} scrolls sideways: {width}px"
    page.screenshot(path=SCREENSHOTS / f"{prefix}-{name}-{device}.png", full_page=True)


def officer_page(browser, live_server, username, device: str = "desktop"):  # noqa: F811
    """A second browser (desktop, or a phone) where a grassroots officer is logged in; no
    two-factor code is asked of them."""
    page, foreign = open_page(browser, live_server, **DEVICES[device])
    page.goto(live_server.url + "/accounts/login/?next=/admin/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill("Pass-word-123")
    page.locator("main").get_by_role("button", name="登录").click()
    page.wait_for_url("**/admin/")
    return page, foreign


def search(page, live_server, query):
    search_box = page.get_by_role("searchbox")
    search_box.fill(query)
    search_box.press("Enter")
    page.wait_for_url(re.compile(r"[?&]q="))
    return page.locator("ul.results")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("device", list(DEVICES))
def test_worker_joins_orders_raises_a_concern_and_rates_the_answer(
    browser,  # noqa: F811
    live_server,
    tree,
    officers,
    device,
):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    union = tree.union_a
    service = menu.publish_service(
        service=menu.create_service(
            organization=union,
            data={"title": "年度体检", "category": "inclusive", "description": "免费年度体检"},
            acting_user=officers.a_admin,
        ),
        acting_user=officers.a_admin,
    )
    page, foreign = open_page(browser, live_server, **DEVICES[device])

    # --- The directory: by name, then by pinyin initials -------------------------------
    page.goto(live_server.url + "/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    results = search(page, live_server, "甲科技")
    assert results.get_by_role("link", name=union.name).is_visible()
    assert not results.get_by_role("link", name=tree.union_b.name).count()
    results = search(page, live_server, "hz")
    assert results.get_by_role("link", name=union.name).is_visible()
    assert not results.get_by_role("link", name=tree.union_c.name).count()
    assert fonts_render_chinese(page)
    check_page(page, device, "directory")

    # --- The grassroots union's page -----------------------------------------------------
    results.get_by_role("link", name=union.name).click()
    page.wait_for_url(f"**{union.get_absolute_url()}")
    assert page.get_by_role("heading", level=1).inner_text() == union.name
    check_page(page, device, "union")

    # --- Applying to join ----------------------------------------------------------------
    page.get_by_role("link", name="申请加入本工会").click()
    page.wait_for_url(f"**/unions/{union.pk}/join/")
    page.get_by_label("姓名", exact=True).fill("王小明")
    page.get_by_label("居民身份证号码", exact=True).fill(make_id_number(born="19920315"))
    page.get_by_label("手机号", exact=True).fill(PHONE_NUMBER)
    page.get_by_label("民族", exact=True).select_option("01")
    page.get_by_label(re.compile(r"^学历")).select_option("bachelor")
    page.get_by_label("工作单位", exact=True).fill("杭州甲科技有限公司")
    page.get_by_label(re.compile(r"^职务/岗位")).fill("测试工程师")
    page.get_by_label("用工形式", exact=True).select_option("full_time")
    page.get_by_label("会员账号密码").fill(PASSWORD)
    page.get_by_label("再次输入密码").fill(PASSWORD)
    page.get_by_label("我已阅读并同意上面的个人信息处理告知。").check()
    page.get_by_label("我单独同意为办理会籍处理我的敏感个人信息").check()
    check_page(page, device, "join")
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_url("**/join/status/**")
    check_page(page, device, "join-status")

    # --- The officer admits the applicant, in the admin -------------------------------
    application = JoinApplication.objects.get(organization=union)
    officer, officer_foreign = officer_page(browser, live_server, officers.a_admin.username)
    officer.goto(live_server.url + f"/admin/members/joinapplication/{application.pk}/change/")
    officer.get_by_role("link", name="批准", exact=True).click()
    officer.wait_for_url(f"**/joinapplication/{application.pk}/approve/")
    officer.get_by_role("button", name="批准", exact=True).click()
    officer.wait_for_url(f"**/joinapplication/{application.pk}/change/")
    member = Member.objects.get(organization=union)
    assert member.name == "王小明"

    # --- Logging in with the mobile phone ------------------------------------------------
    page.goto(live_server.url + "/accounts/login/?next=/me/")
    page.get_by_label("用户名").fill(PHONE_NUMBER)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    check_page(page, device, "login")
    page.locator("main").get_by_role("button", name="登录").click()
    page.wait_for_url("**/me/")

    # --- The membership card with its QR code --------------------------------------------
    assert page.get_by_role("heading", level=1).inner_text() == "我的会籍"
    card = page.get_by_role("region", name="会员证")
    assert card.get_by_text(member.membership_number).is_visible()
    assert card.get_by_text("王小明").is_visible()
    assert card.locator("figure.qr svg").count() == 1
    check_page(page, device, "me")

    # --- The service menu, and ordering ---------------------------------------------------
    page.goto(live_server.url + "/services/menu/")
    assert page.get_by_role("heading", level=1).inner_text() == "服务清单"
    check_page(page, device, "menu")
    page.get_by_role("link", name="年度体检").click()
    page.wait_for_url(f"**/services/menu/{service.pk}/")
    check_page(page, device, "service")
    page.get_by_role("button", name="申请此服务").click()
    page.wait_for_url("**/me/requests/")
    assert page.get_by_text("年度体检").first.is_visible()
    assert ServiceRequest.objects.get().member == member
    check_page(page, device, "my-requests")

    # --- Raising a concern ---------------------------------------------------------------
    page.goto(live_server.url + "/me/concerns/new/")
    page.get_by_label("标题").fill("三月加班费未发放")
    page.get_by_label("您的诉求").fill("三月份的加班费至今没有发放，希望工会帮助协调。")
    check_page(page, device, "concern-new")
    page.get_by_role("button", name="提交诉求").click()
    page.wait_for_url(re.compile(r"/me/concerns/\d+/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "三月加班费未发放"
    concern = Concern.objects.get(member=member)

    # --- The officer answers; the worker reads the answer and rates it --------------------
    officer.goto(live_server.url + f"/admin/services/concern/{concern.pk}/reply/")
    answer = "已与公司沟通，加班费将于下周发放。"
    officer.get_by_role("textbox", name=re.compile(r"^答复")).fill(answer)
    officer.get_by_role("button", name="发送", exact=True).click()
    officer.get_by_text("您的答复已发送给会员。").wait_for()
    officer.context.close()
    assert officer_foreign == [], f"the admin loaded from outside the site: {officer_foreign}"
    page.reload()
    assert page.get_by_text(answer).is_visible()
    check_page(page, device, "concern-answered")
    page.get_by_label("★★★★★", exact=True).check()
    page.get_by_label("评语（选填）").fill("很及时，谢谢！")
    page.get_by_role("button", name="提交评价").click()
    page.wait_for_url(f"**/me/concerns/{concern.pk}/")
    concern.refresh_from_db()
    assert concern.rating == 5
    assert page.locator("dl.facts").get_by_text("5/5").is_visible()
    check_page(page, device, "concern-rated")

    # --- Switching to English ------------------------------------------------------------
    page.get_by_role("button", name="English").click()
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert page.url.endswith(f"/me/concerns/{concern.pk}/")
    assert page.get_by_role("button", name="简体中文").is_visible()
    assert page.get_by_role("heading", name="What happened").is_visible()

    page.context.close()
    assert Member.objects.filter(organization=union).count() == 1
    assert foreign == [], f"requests left the site or were blocked: {foreign}"
