"""A screenshot tour of the main pages with the demo data (`seed_demo`), on a phone and a
desktop: what a member sees, and what a federation officer sees. Every page is checked with
axe-core, for sideways scrolling on the phone and for requests leaving the site; the
screenshots (docs/screenshots/page-<name>-<phone|desktop>.png) illustrate the user guide
(docs/user-guide.zh.md, docs/user-guide.en.md).
"""

import io

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from members.demo import DEMO_MEMBER_USERNAME
from services.models import Announcement, Station
from tests.test_browser import (  # noqa: F401  (fixtures)
    SCREENSHOTS,
    allow_orm_beside_playwright,
    browser,
    fonts_render_chinese,
    open_page,
)
from tests.test_member_journey_browser import DEVICES, check_page

MEMBER_PAGES = {
    "services-home": "/services/",
    "me": "/me/",
    "dues": "/me/dues/",
    "menu": "/services/menu/",
    "my-requests": "/me/requests/",
    "wishes": "/services/wishes/",
    "activities": "/activities/",
    "my-activities": "/me/activities/",
    "my-aid": "/me/aid/",
    "aid-notices": "/aid/notices/",
    "my-concerns": "/me/concerns/",
    "stations": "/stations/",
    "station": "station",
    "announcements": "/announcements/",
    "announcement": "announcement",
    "inbox": "/inbox/",
    "inbox-settings": "/inbox/settings/",
    "transfers": "/me/transfers/",
    "security": "/accounts/security/",
}
OFFICER_PAGES = {
    "dashboard": "/dashboard/",
    "reports": "/reports/",
    "admin-index": "/admin/",
    "api-tokens": "/accounts/security/tokens/",
    "api-guide": "/api/guide/",
}


def logged_in(page, live_server, username):
    """The browser carries the session of `username` (the test client completes two-step
    verification, as a real login with the authenticator code would)."""
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )


@pytest.mark.django_db(transaction=True)
def test_main_pages_with_the_demo_data_on_phone_and_desktop(
    browser,  # noqa: F811
    live_server,
):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    call_command("seed_demo", stdout=io.StringIO())
    station = Station.objects.filter(is_active=True).order_by("pk").first()
    announcement = Announcement.objects.exclude(status="draft").order_by("pk").first()
    details = {
        "station": reverse("stations-detail", args=[station.pk]),
        "announcement": reverse("announcement-detail", args=[announcement.pk]),
    }
    for device, options in DEVICES.items():
        for username, pages in ((DEMO_MEMBER_USERNAME, MEMBER_PAGES), ("zj_admin", OFFICER_PAGES)):
            page, foreign = open_page(browser, live_server, **options)
            logged_in(page, live_server, username)
            for name, url in pages.items():
                response = page.goto(live_server.url + details.get(url, url))
                assert response.status == 200, f"{name}: {response.status}"
                assert page.locator("html").get_attribute("lang") == "zh-hans"
                assert page.get_by_role("heading", level=1).count() == 1, name
                check_page(page, device, name, prefix="page")
            assert fonts_render_chinese(page)
            page.context.close()
            assert foreign == [], f"requests left the site or were blocked: {foreign}"
