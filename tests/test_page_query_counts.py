"""Every portal page and every admin list runs a bounded number of database queries that
grows neither with the length of the list nor with the depth of the officer's place in the
tree, measured with the demo data (`seed_demo`).

- Admin lists: the same list shown one row per page and a hundred rows per page runs the
  same queries; federation officers at national, provincial and city level run the same
  number; every list stays under a ceiling.
- Portal pages: the demo member's pages run no more queries after their history grows
  (more requests, concerns, notifications, registrations); union pages cost the same at
  every depth; every page stays under a ceiling.
- A meta-test lists every page the portal serves by GET, so a new page is either measured
  here or excluded with its reason.
"""

import contextlib
import io

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLResolver, get_resolver, reverse

from members.actions import joining
from members.cards import card_token
from members.demo import DEMO_MEMBER_USERNAME
from members.models import Member
from notifications.actions import notify
from organizations import actions as org_actions
from organizations.models import Level, Organization
from services.actions import activities, menu, voice
from services.actions import requests as request_actions
from services.models import Activity, Announcement, Service, Station
from tests.factories import make_id_number, person_data

pytestmark = pytest.mark.django_db

ADMIN_CEILING = 30
PORTAL_CEILING = 30
OUR_APPS = {"members", "organizations", "services", "notifications", "reports", "accounts"}
# Federation officers one level apart down one branch: city, county, township.
FEDERATION_OFFICERS = ("hz_admin", "county_admin", "township_admin")

# Portal pages served by GET that are not measured here, and why.
NOT_MEASURED = {
    "after-login": "a redirect (to the to-do or 我的会籍), reading the user's grants once",
    "logout": "POST only",
    "account-end-others": "POST only",
    "account-token-revoke": "POST only",
    "inbox-read": "POST only",
    "inbox-read-all": "POST only",
    "transfer-cancel": "POST only",
    "transfer-confirm": "POST only",
    "transfer-decline": "POST only",
    "services-request-cancel": "POST only",
    "services-request-rate": "POST only",
    "services-wish-vote": "POST only",
    "services-wish-unvote": "POST only",
    "activities-register": "POST only",
    "activities-cancel": "POST only",
    "voice-rate": "POST only",
    "voice-reopen": "POST only",
    "stations-rate": "POST only",
    "reports:request": "POST only",
    "set_language": "POST only",
    "aid-object": "POST only",
    "two-factor": "only reachable half-way through an officer's login (tests/security)",
    "first-login": "one account's first-login link: one row, no list "
    "(tests/organizations/test_union_import_officers.py)",
    "voice-attachment": "a file download of one concern's attachment: one row, no list",
    "reports:download": "a file download of one finished report: one row, no list",
    "reports:detail": "one report job: one row, no list (tests/reports)",
    "schema": "the API's OpenAPI schema: generated from the code, no tenant data",
    "api-docs": "the API's documentation page: static",
    "api-guide": "the integrators' guide: static",
    "health": "operations: a fixed handful of checks, no tenant data (tests/test_health.py)",
    "metrics": "operations: Prometheus metrics, no tenant data (tests/test_health.py)",
}


def count(client, url) -> int:
    client.get(url)  # warm: the first request fills caches both measurements share
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    return len(ctx.captured_queries)


def client_for(username) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


@pytest.fixture
def demo(db):
    """The demo data, with officers of a county and a township federation below 杭州."""
    call_command("seed_demo", stdout=io.StringIO())
    city = Organization.objects.get(name="杭州市总工会")
    for username, level in (("county_admin", Level.COUNTY), ("township_admin", Level.TOWNSHIP)):
        org = city.get_descendants().filter(level=level).order_by("lft").first()
        user = get_user_model().objects.create_user(username=username, password="Pass-word-123")
        org_actions.grant_role(user=user, organization=org, role="admin")


def our_changelists():
    return sorted(
        (model._meta.label, f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
        if model._meta.app_label in OUR_APPS
    )


def test_admin_lists_do_not_grow_with_rows_or_tree_depth(demo, monkeypatch):
    measured, problems = {}, []
    for username in ("yunfan_admin", *FEDERATION_OFFICERS):
        client = client_for(username)
        for label, url_name in our_changelists():
            model_admin = next(a for m, a in admin.site._registry.items() if m._meta.label == label)
            url = reverse(url_name)
            if client.get(url).status_code in (403, 404):
                continue  # not a list this officer works with
            monkeypatch.setattr(model_admin, "list_per_page", 1)
            one = count(client, url)
            monkeypatch.setattr(model_admin, "list_per_page", 100)
            many = count(client, url)
            measured[username, label] = many
            if one != many:
                problems.append(f"{username} {label}: {one} queries for 1 row, {many} for 100")
            if many > ADMIN_CEILING:
                problems.append(f"{username} {label}: {many} queries")
    for label, _url in our_changelists():
        by_depth = [measured[u, label] for u in FEDERATION_OFFICERS if (u, label) in measured]
        if by_depth != sorted(by_depth, reverse=True):
            problems.append(f"{label} grows with the officer's depth: {by_depth}")
    assert problems == [], "\n".join(problems)


def test_admin_lists_show_rows_to_measure(demo):
    """The measurement above means something only where the lists hold several rows (for
    the grassroots officer or the federation's)."""
    clients = [client_for("yunfan_admin"), client_for("hz_admin")]
    short = []
    for label, url_name in our_changelists():
        rows = 0
        for client in clients:
            response = client.get(reverse(url_name))
            if response.status_code == 200:
                rows = max(rows, response.context["cl"].result_count)
        if rows < 2:
            short.append(label)
    # Lists the demo leaves (nearly) empty; their rows' columns are measured in the
    # app's own tests.
    assert set(short) <= {
        "members.ImportJob",
        "members.Transfer",
        "organizations.UnionImport",
        "services.AidCase",
        "services.Announcement",
        "services.ServiceSettings",
    }, short


def member_pages(member) -> dict[str, str]:
    service = (
        Service.objects.filter(organization=member.organization, status="published")
        .order_by("pk")
        .first()
    )
    activity = Activity.objects.exclude(status="draft").order_by("pk").first()
    concern = member.concerns.order_by("pk").first()
    target = (
        Organization.objects.filter(level=Level.GRASSROOTS)
        .exclude(pk=member.organization_id)
        .order_by("pk")
        .first()
    )
    pages = {
        "my-membership": reverse("my-membership"),
        "my-dues": reverse("my-dues"),
        "inbox": reverse("inbox"),
        "inbox-settings": reverse("inbox-settings"),
        "transfer-list": reverse("transfer-list"),
        "transfer-request": reverse("transfer-request", args=[target.pk]),
        "my-data-export-json": reverse("my-data-export-json"),
        "my-data-export-xlsx": reverse("my-data-export-xlsx"),
        "my-data-delete": reverse("my-data-delete"),
        "account-security": reverse("account-security"),
        "services-home": reverse("services-home"),
        "services-menu": reverse("services-menu"),
        "services-menu-detail": reverse("services-menu-detail", args=[service.pk]),
        "services-my-requests": reverse("services-my-requests"),
        "services-wishes": reverse("services-wishes"),
        "activities-list": reverse("activities-list"),
        "activities-detail": reverse("activities-detail", args=[activity.pk]),
        "activities-mine": reverse("activities-mine"),
        "aid-mine": reverse("aid-mine"),
        "aid-notices": reverse("aid-notices"),
        "voice-list": reverse("voice-list"),
        "voice-new": reverse("voice-new"),
        "stations-list": reverse("stations-list"),
        "stations-detail": reverse("stations-detail", args=[Station.objects.first().pk]),
        "announcement-list": reverse("announcement-list"),
        "announcement-detail": reverse(
            "announcement-detail", args=[Announcement.objects.exclude(status="draft").first().pk]
        ),
        "card-verify": reverse("card-verify", args=[card_token(member)]),
        "activities-checkin": reverse(
            "activities-checkin", args=[activity.sessions.order_by("pk").first().checkin_code]
        ),
    }
    if concern is not None:
        pages["voice-detail"] = reverse("voice-detail", args=[concern.pk])
    return pages


def grow_history(member, officer, n_each):
    """More of everything on the member's pages."""
    union = member.organization
    for n in range(n_each):
        service = menu.publish_service(
            service=menu.create_service(
                organization=union,
                data={"title": f"测试服务{n}", "category": "inclusive", "description": "说明"},
                acting_user=officer,
            ),
            acting_user=officer,
        )
        request_actions.order_service(
            service=service, member=member, note="", acting_user=member.user
        )
        concern = voice.raise_concern(
            member=member,
            data={"category": "wages", "title": f"诉求{n}", "text": "请工会帮助协调。"},
        )
        voice.reply_to_concern(concern=concern, text="已处理。", acting_user=officer)
    for _ in range(n_each):
        notify([member.user], "welcome")
    for activity in Activity.objects.exclude(status="draft"):
        for session in activity.sessions.all():
            if not session.registrations.filter(member=member).exists():
                with contextlib.suppress(ValidationError):  # not open to this member
                    activities.register(session=session, member=member, acting_user=member.user)


def test_member_pages_do_not_grow_with_the_members_history(
    demo, django_capture_on_commit_callbacks
):
    member = Member.objects.get(user__username=DEMO_MEMBER_USERNAME)
    officer = (
        get_user_model()
        .objects.filter(org_roles__organization=member.organization, org_roles__role="admin")
        .first()
    )
    client = client_for(DEMO_MEMBER_USERNAME)
    with django_capture_on_commit_callbacks(execute=True):
        grow_history(member, officer, 1)  # one of everything at least
    before = {name: count(client, url) for name, url in member_pages(member).items()}
    with django_capture_on_commit_callbacks(execute=True):
        grow_history(member, officer, 4)
    after = {name: count(client, url) for name, url in member_pages(member).items()}
    grew = {n: (before.get(n), q) for n, q in after.items() if n in before and q > before[n]}
    assert grew == {}
    over = {n: q for n, q in after.items() if q > PORTAL_CEILING}
    assert over == {}


def test_public_pages_cost_the_same_at_every_depth(demo):
    client = Client()
    union_pages = {}
    # Unions of the same shape (no union groups below) at different depths.
    leaves = Organization.objects.filter(level=Level.GRASSROOTS, rght=F("lft") + 1)
    for org in leaves.order_by("depth", "pk"):
        union_pages.setdefault(org.depth, org)
    assert len(union_pages) >= 2, "the demo has grassroots unions at several depths"
    join_counts = {
        depth: count(client, reverse("join-apply", args=[org.pk]))
        for depth, org in union_pages.items()
    }
    detail_counts = {
        depth: count(client, reverse("union-detail", args=[org.pk]))
        for depth, org in union_pages.items()
    }
    assert len(set(join_counts.values())) == 1, join_counts
    assert len(set(detail_counts.values())) == 1, detail_counts
    federations = Organization.objects.exclude(level__in=[Level.GRASSROOTS, Level.GROUP])
    federation_counts = {
        org.level: count(client, reverse("union-detail", args=[org.pk]))
        for org in federations.order_by("depth")[:4]
    }
    assert max(federation_counts.values()) <= PORTAL_CEILING, federation_counts
    _application, key = joining.submit_join_application(
        organization=union_pages[max(union_pages)],
        data=person_data(),
        password="Pass-word-123",
        privacy_consent=True,
        sensitive_consent=True,
    )
    for url in (
        reverse("directory"),
        reverse("directory") + "?q=工会",
        reverse("login"),
        reverse("join-status", args=[key]),
        reverse("join-recover"),
    ):
        assert count(client, url) <= PORTAL_CEILING, url
    # The code page of a lost link's recovery (it needs the request in the session first).
    asked = {"id_number": make_id_number(born="19900101"), "phone": "13800000000"}
    assert client.post(reverse("join-recover"), asked).status_code == 302
    assert count(client, reverse("join-recover-code")) <= PORTAL_CEILING


def test_dashboard_and_reports_cost_the_same_at_every_depth(demo):
    for name in ("reports:dashboard", "reports:list"):
        counts = {u: count(client_for(u), reverse(name)) for u in FEDERATION_OFFICERS}
        by_depth = list(counts.values())
        assert by_depth == sorted(by_depth, reverse=True), (name, counts)
        assert max(counts.values()) <= PORTAL_CEILING, (name, counts)


def test_the_api_token_page_costs_the_same_with_more_tokens(demo):
    from accounts import tokens

    user = get_user_model().objects.get(username="county_admin")
    client = client_for("county_admin")
    url = reverse("account-tokens")
    counts = []
    for _round in range(2):
        for n in range(5):
            tokens.issue(user=user, name=f"系统{n}", read_only=bool(n % 2), days=30)
        counts.append(count(client, url))
    assert counts[0] == counts[1] <= PORTAL_CEILING, counts


MEASURED = {
    "account-tokens",
    "directory",
    "union-detail",
    "login",
    "join-apply",
    "join-status",
    "join-recover",
    "join-recover-code",
    "reports:dashboard",
    "reports:list",
}


def portal_get_pages():
    def walk(patterns, namespace=None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if str(pattern.pattern).startswith(("admin/", "api/")):
                    continue
                yield from walk(pattern.url_patterns, pattern.namespace or namespace)
            elif pattern.name:
                yield f"{namespace}:{pattern.name}" if namespace else pattern.name

    return set(walk(get_resolver().url_patterns))


def test_every_portal_page_is_measured_or_excluded_with_a_reason(demo):
    member = Member.objects.get(user__username=DEMO_MEMBER_USERNAME)
    covered = MEASURED | set(member_pages(member)) | {"voice-detail"} | set(NOT_MEASURED)
    assert portal_get_pages() - covered == set()
    assert set(NOT_MEASURED) <= portal_get_pages()
