"""A grassroots officer with only a phone (390×844, issue 21), in headless Chromium: the to-do
in the admin's header and on its index, a new application found there and approved on the
phone, the applicant told by SMS; the list of applications as cards (names whole, the status
visible), its filters after it and closed. Checked with axe, for sideways scrolling and for
requests leaving the site; screenshots go to docs/screenshots/admin-phone-<page>.png."""

import pytest
from django.urls import reverse

from members.models import ApplicationStatus
from tests.test_browser import (  # noqa: F401  (fixtures)
    PHONE,
    SCREENSHOTS,
    allow_orm_beside_playwright,
    axe_serious,
    browser,
    open_page,
)
from tests.test_officer_journey_browser import answer_and_close_concern, apply, zh


def check(page, name):
    assert axe_serious(page) == [], name
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} scrolls sideways: {width}px"
    page.screenshot(path=SCREENSHOTS / f"admin-phone-{name}.png", full_page=True)


def phone_officer(browser, live_server, username):  # noqa: F811
    page, foreign = open_page(browser, live_server, PHONE, is_mobile=True)
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill("Pass-word-123")
    page.locator("main").get_by_role("button", name="登录").click()
    page.wait_for_url("**/admin/todo/")  # an officer lands on the to-do
    return page, foreign


@pytest.mark.django_db(transaction=True)
def test_an_officer_on_a_phone_finds_new_work_and_approves_it(
    browser,  # noqa: F811
    live_server,
    tree,
    officers,
    settings,
    sms_outbox,
):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    settings.NOTIFICATIONS_QUIET_HOURS = (0, 0)  # no quiet hours: the SMS goes at once
    long_name = "阿卜杜热合曼·买买提依明·艾尔肯江"
    application = apply(tree.union_a, name=long_name, phone="13912345678")
    apply(tree.union_a)
    apply(tree.union_a)
    page, foreign = phone_officer(browser, live_server, officers.a_admin.username)

    # The to-do: its count in the header, the three applications as cards.
    badge = page.locator("#user-tools .todo-badge")
    assert badge.inner_text() == "3"
    items = page.locator(".todo-item")
    assert items.count() == 3 and zh("Join application") in items.first.inner_text()
    check(page, "todo")
    page.goto(live_server.url + reverse("admin:index"))
    assert page.locator(".todo-panel .todo-item").count() == 3
    check(page, "index")

    # The list of applications: each row a card, the name whole, the status on screen.
    page.goto(live_server.url + reverse("admin:members_joinapplication_changelist"))
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 3
    check(page, "applications")
    for index in range(3):
        box = rows.nth(index).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert box["width"] > PHONE["width"] * 0.8  # a card, not a narrow column
    status = page.locator("#result_list tbody td.field-status").first
    assert status.is_visible() and status.get_attribute("data-label")
    # The name (masked in lists) is on one line, not a character per line, and labelled 姓名.
    name_cell = page.locator("#result_list tbody th", has_text=long_name[0])
    assert name_cell.count() == 1 and name_cell.get_attribute("data-label") == "姓名"
    assert name_cell.bounding_box()["height"] < 40
    # The filters come after the list, closed, with a link to them at the top.
    filters = page.locator("#changelist-filter")
    assert filters.bounding_box()["y"] > rows.last.bounding_box()["y"]
    assert page.locator("#changelist-filter details[open]").count() == 0
    assert page.locator("a.filter-jump").is_visible()

    # Approve on the phone, from the to-do.
    page.goto(live_server.url + reverse("admin:todo"))
    page.locator(f'.todo-item a[href$="/joinapplication/{application.pk}/change/"]').click()
    page.wait_for_url(f"**/joinapplication/{application.pk}/change/")
    check(page, "application")
    page.get_by_role("link", name=zh("Approve"), exact=True).click()
    page.wait_for_url(f"**/joinapplication/{application.pk}/approve/")
    check(page, "application-approve")
    page.get_by_role("button", name=zh("Approve"), exact=True).click()
    page.wait_for_url(f"**/joinapplication/{application.pk}/change/")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    page.goto(live_server.url + reverse("admin:todo"))
    assert page.locator("#user-tools .todo-badge").inner_text() == "2"

    # The new member is told by SMS.
    texts = [message.body for message in sms_outbox if message.to.endswith("12345678")]
    assert any(tree.union_a.name in text for text in texts), texts
    page.context.close()
    assert foreign == [], foreign


@pytest.mark.django_db(transaction=True)
def test_an_officer_on_a_phone_works_a_concern_to_closure(
    browser,  # noqa: F811
    live_server,
    tree,
    officers,
    settings,
    sms_outbox,
):
    """From the to-do to the answer and the closing, at 390×844; the member is told."""
    from services.actions import voice
    from services.models import ConcernStatus
    from tests.test_member_portal_browser import member_with_login

    settings.NOTIFICATIONS_QUIET_HOURS = (0, 0)
    member = member_with_login(tree.union_a)
    concern = voice.raise_concern(
        member=member,
        data={"category": "wages", "title": "夜班补贴未发", "text": "十月夜班补贴至今未发放。"},
    )
    page, foreign = phone_officer(browser, live_server, officers.a_staff.username)
    item = page.locator(".todo-item", has_text="夜班补贴未发")
    assert zh("Concern") in item.inner_text()
    item.locator("a").click()
    page.wait_for_url(f"**/concern/{concern.pk}/change/")
    answer_and_close_concern(page, live_server, concern, check)
    concern.refresh_from_db()
    assert concern.status == ConcernStatus.CLOSED
    page.goto(live_server.url + reverse("admin:todo"))
    assert page.locator(".todo-item", has_text="夜班补贴未发").count() == 0
    # The member's answer reached their phone (an SMS by default for a reply).
    assert any("夜班补贴未发" in message.body for message in sms_outbox), sms_outbox
    page.context.close()
    assert foreign == [], foreign
