"""Every admin page an officer may open, at phone size (390×844), with the demo data (issue
21): each model's list, its first record and its add form, and the model admins' own pages
(imports, dues runs and splits, figures), for a grassroots union's administrator and a
province's. Each answers, passes axe and does not scroll sideways. The screenshots
(docs/screenshots/tour-admin-*.png) are for looking at, not kept in git.
"""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from tests.test_browser import (  # noqa: F401  (fixtures)
    SCREENSHOTS,
    allow_orm_beside_playwright,
    browser,
    open_page,
)
from tests.test_member_journey_browser import DEVICES, check_page
from tests.test_page_tour_browser import logged_in


def admin_pages(username: str) -> dict[str, str]:
    """Every admin page the officer may open: each model's list, its first record, its add
    form, and the site's own pages (to-do, member and union imports)."""
    from django.contrib import admin as django_admin
    from django.test import RequestFactory

    user = get_user_model().objects.get(username=username)
    request = RequestFactory().get("/admin/")
    request.user = user
    pages = {"admin-todo": reverse("admin:todo")}
    for model, model_admin in django_admin.site._registry.items():
        meta = model._meta
        if not model_admin.has_view_permission(request):
            continue
        base = f"admin:{meta.app_label}_{meta.model_name}"
        pages[f"admin-{meta.model_name}-list"] = reverse(f"{base}_changelist")
        first = model_admin.get_queryset(request).order_by("pk").first()
        if first is not None and model_admin.has_view_permission(request, first):
            pages[f"admin-{meta.model_name}-record"] = reverse(f"{base}_change", args=[first.pk])
        if model_admin.has_add_permission(request):
            pages[f"admin-{meta.model_name}-add"] = reverse(f"{base}_add")
        # Its own pages without a record (imports, dues runs, splits, figures), not files.
        for pattern in model_admin.get_urls():
            name, route = getattr(pattern, "name", None) or "", str(pattern.pattern)
            if (
                route
                and "<" not in route
                and route != "add/"
                and not route.endswith(("template/", "export/"))
                and name.startswith(f"{meta.app_label}_{meta.model_name}_")
            ):
                # The page refuses officers it is not for (403); those are not on their menu.
                pages[f"admin-{name}"] = reverse(f"admin:{name}")
    return pages


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("username", ["yunfan_admin", "zj_admin"])
def test_every_admin_page_an_officer_opens_works_on_a_phone(
    browser,  # noqa: F811
    live_server,
    username,
):
    """Issue 21: a grassroots officer (and a province's) with only a phone: every admin page
    they may open answers, passes axe and does not scroll sideways at 390×844."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    call_command("seed_demo", stdout=io.StringIO())
    pages = admin_pages(username)
    assert len(pages) > 10, pages
    page, foreign = open_page(browser, live_server, **DEVICES["phone"])
    logged_in(page, live_server, username)
    problems = []
    for name, url in pages.items():
        response = page.goto(live_server.url + url)
        if response.status == 403 and name.count("_") > 1:
            continue  # an own page for other officers (a federation's, say)
        if not response.headers.get("content-type", "").startswith("text/html"):
            continue  # data for a page's script (the unions a concern may go to)
        if response.status != 200:
            problems.append(f"{name}: {response.status}")
            continue
        try:
            check_page(page, "phone", f"{name}-{username}", prefix="tour")
        except AssertionError as error:
            problems.append(f"{name} {url}: {error}")
    page.context.close()
    assert problems == [], "\n".join(problems)
    assert foreign == [], f"requests left the site or were blocked: {foreign}"
