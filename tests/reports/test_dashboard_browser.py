"""The dashboard in headless Chromium: every chart drawn by the local ECharts, nothing
loaded from outside the site, on a desktop and a phone (screenshots kept in docs/)."""

import datetime

import pytest

from members.models import MembershipEvent
from reports import actions
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

CHARTS = ("trend", "employment", "age", "children")


def log_in(page, live_server, username):
    page.goto(live_server.url + "/accounts/login/?next=/dashboard/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill("Pass-word-123")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url("**/dashboard/")


@pytest.fixture
def history(stats):
    """A month of daily figures: members joined on different days, backfilled."""
    now = datetime.datetime.now(datetime.UTC)
    for days_ago, event in enumerate(MembershipEvent.objects.order_by("pk")):
        MembershipEvent.objects.filter(pk=event.pk).update(
            at=now - datetime.timedelta(days=2 + 2 * days_ago)
        )
    today = datetime.date.today()
    actions.backfill(today - datetime.timedelta(days=35))
    return stats


def charts_drawn(page) -> dict[str, int]:
    return {
        name: page.locator(f'[data-chart="{name}"][data-drawn="true"] svg path').count()
        for name in CHARTS
    }


@pytest.mark.django_db(transaction=True)
def test_dashboard_draws_every_chart_on_a_desktop(browser, live_server, history):  # noqa: F811
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page, foreign = open_page(browser, live_server, DESKTOP)
    log_in(page, live_server, "zj_viewer")
    assert page.get_by_role("heading", level=1).inner_text() == "数据看板：浙江省总工会"
    page.locator('[data-chart="trend"][data-drawn="true"] svg').wait_for()
    drawn = charts_drawn(page)
    assert all(count > 0 for count in drawn.values()), drawn
    members = page.locator('.figure[data-key="members"] .figure-value').inner_text()
    assert members == "12"
    assert fonts_render_chinese(page)
    assert axe_serious(page) == []
    page.screenshot(path=SCREENSHOTS / "dashboard-desktop.png", full_page=True)

    # Every chart has its table; drill down into a city from the breakdown.
    page.locator("summary").first.click()
    assert page.locator("details[open] table tbody tr").count() >= 30
    page.locator("#children").get_by_role("link", name="杭州市总工会").click()
    page.wait_for_url("**/dashboard/?org=*")
    assert page.get_by_role("heading", level=1).inner_text() == "数据看板：杭州市总工会"
    assert page.locator('.figure[data-key="members"] .figure-value').inner_text() == "6"
    page.context.close()
    assert foreign == [], f"requests left the site: {foreign}"


@pytest.mark.django_db(transaction=True)
def test_dashboard_fits_a_phone(browser, live_server, history):  # noqa: F811
    page, foreign = open_page(browser, live_server, PHONE, is_mobile=True)
    log_in(page, live_server, "hz_viewer")
    page.locator('[data-chart="trend"][data-drawn="true"] svg').wait_for()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    assert axe_serious(page) == []
    page.screenshot(path=SCREENSHOTS / "dashboard-phone.png", full_page=True)
    assert "宁波" not in page.content()
    page.context.close()
    assert foreign == [], f"requests left the site: {foreign}"
