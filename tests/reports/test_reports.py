"""Dashboard, statistics API and report files: exact figures, scoped to the viewer's subtree.

A viewer of 杭州市总工会 sees Hangzhou's figures only: 宁波市总工会 (a sibling city in the
same province) never appears in the dashboard, the API or a report file, and its reports
answer 404.
"""

import datetime
import io

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import load_workbook

from members.models import Member
from notifications.models import Notification
from organizations import rollups, scope
from organizations.models import Organization
from reports import actions, selectors
from reports.models import DailySnapshot, ReportJob, ReportStatus
from tests.factories import make_member

SIBLING_CITY = "宁波"


@pytest.fixture(autouse=True)
def report_files(settings, tmp_path):
    settings.REPORTS_ROOT = tmp_path / "reports"


def active_count(org) -> int:
    """Ground truth: COUNT of active member rows in the subtree."""
    return Member.objects.filter(
        scope.subtree_q(org, "organization__"), status="active", deleted_at__isnull=True
    ).count()


def test_dashboard_shows_the_city_subtree_exactly_and_nothing_of_the_sibling_city(client, stats):
    client.force_login(stats.hz_viewer)
    response = client.get(reverse("reports:dashboard"))
    assert response.status_code == 200
    body = response.content.decode()
    assert stats.hz.name in body
    assert SIBLING_CITY not in body
    data = response.context["data"]
    assert data["organization"]["id"] == stats.hz.pk
    assert data["headline"]["members"] == active_count(stats.hz) == 6
    assert [row["name"] for row in data["children"]["rows"]] == [stats.xihu.name]
    employment = {r["key"]: r["value"] for r in data["by_employment"]}
    assert employment == {"full_time": 5, "flexible": 1}
    # A figure that cannot be given is "—", and the page says why, once per section.
    assert data["headline"]["membership_rate"] is None
    assert body.count(str(selectors.UNKNOWN_NOTE)) >= 1
    # The charts' data block and the script are on the page, both served locally.
    assert 'id="dashboard-data"' in body
    assert "/static/vendor/echarts/echarts.min.js" in body
    assert "http://" not in body.replace("http://testserver", "")


def test_drill_down_within_scope_and_404_outside(client, stats):
    client.force_login(stats.hz_viewer)
    url = reverse("reports:dashboard")
    drilled = client.get(url, {"org": stats.union_a.pk})
    assert drilled.status_code == 200
    assert drilled.context["data"]["headline"]["members"] == 4
    assert [o.pk for o in drilled.context["trail"]] == [stats.hz.pk, stats.xihu.pk]
    for outside in (stats.nb, stats.union_n, stats.zj, stats.union_c, stats.national):
        assert client.get(url, {"org": outside.pk}).status_code == 404
    assert client.get(url, {"org": "abc"}).status_code == 404


def test_grassroots_officers_and_members_have_no_dashboard(client, stats):
    client.force_login(stats.a_admin)
    assert client.get(reverse("reports:dashboard")).status_code == 403
    assert client.get(reverse("reports:dashboard"), {"org": stats.union_a.pk}).status_code == 404


def test_province_viewer_sees_both_cities_and_the_header_link(client, stats):
    client.force_login(stats.zj_viewer)
    response = client.get(reverse("reports:dashboard"))
    data = response.context["data"]
    assert data["headline"]["members"] == active_count(stats.zj) == 12
    rows = {row["name"]: row["members"] for row in data["children"]["rows"]}
    assert rows == {stats.hz.name: 6, stats.nb.name: 6}
    assert data["headline"]["employees"] == 40
    assert data["headline"]["grassroots_unions"] == 3
    assert reverse("reports:dashboard") in response.content.decode()


def test_a_bad_period_says_so_and_falls_back(client, stats):
    client.force_login(stats.hz_viewer)
    response = client.get(reverse("reports:dashboard"), {"from": "2026-13-01"})
    assert response.status_code == 200
    assert response.context["period_error"]
    assert response.context["period"].code == "30d"


def test_small_aid_and_legal_counts_are_suppressed():
    values = {
        "services.aid.cases": 3,
        "services.aid.approved": 0,
        "services.aid.disbursed_count": 2,
        "services.aid.disbursed_fen": 150000,
        "services.menu.category.legal": 4,
        "services.menu.category.inclusive": 2,
        "members.status.active": 3,
    }
    head = selectors.headline(values)
    assert head["aid_cases"] is None
    assert head["aid_approved"] == 0
    assert head["aid_disbursed"] is None
    assert head["legal_aid_requests"] is None
    assert selectors.shown(head["aid_cases"], "sensitive") == "<5"
    raw = selectors.suppress_counters(values)
    assert raw["services.aid.cases"] is None
    assert raw["services.aid.disbursed_fen"] is None
    assert raw["services.menu.category.legal"] is None
    assert raw["services.menu.category.inclusive"] == 2  # not sensitive
    assert raw["members.status.active"] == 3
    values["services.aid.cases"] = 5
    assert selectors.headline(values)["aid_cases"] == 5


# --- API ---------------------------------------------------------------------------------


def test_api_totals_are_exact_and_scoped(client, stats):
    client.force_login(stats.hz_viewer)
    url = f"/api/v1/stats/organizations/{stats.hz.pk}/totals/"
    response = client.get(url)
    assert response.status_code == 200
    body = response.json()
    assert body["organization"]["id"] == stats.hz.pk
    assert body["figures"]["members.status.active"] == active_count(stats.hz)
    assert body["figures"]["organizations.units.grassroots"] == 2
    for outside in (stats.nb, stats.zj, stats.union_n, stats.union_c):
        response = client.get(f"/api/v1/stats/organizations/{outside.pk}/totals/")
        assert response.status_code == 404
        assert SIBLING_CITY not in response.content.decode()
    dashboard = client.get(f"/api/v1/stats/organizations/{stats.hz.pk}/dashboard/")
    assert dashboard.status_code == 200
    assert SIBLING_CITY not in dashboard.content.decode()
    assert dashboard.json()["headline"]["members"] == 6
    children = client.get(f"/api/v1/stats/organizations/{stats.zj.pk}/children/")
    assert children.status_code == 404  # the province is above the viewer


def test_api_needs_a_login_and_rejects_a_bad_period(client, stats):
    url = f"/api/v1/stats/organizations/{stats.hz.pk}/dashboard/"
    assert client.get(url).status_code in (401, 403)
    client.force_login(stats.hz_viewer)
    response = client.get(url, {"from": "2026-02-30"})
    assert response.status_code == 400
    assert "period" in response.json()


def test_api_totals_follow_a_change_at_once(client, stats):
    client.force_login(stats.zj_viewer)
    url = f"/api/v1/stats/organizations/{stats.zj.pk}/totals/"
    before = client.get(url).json()["figures"]["members.status.active"]
    make_member(stats.union_n)
    assert client.get(url).json()["figures"]["members.status.active"] == before + 1


# --- Snapshots and periods ---------------------------------------------------------------


def test_snapshot_and_period_flows(stats, settings):
    today = datetime.date.today()
    yesterday = today - datetime.timedelta(days=1)
    written = actions.take_snapshot(yesterday)
    federations = Organization.objects.filter(level__in=selectors.FEDERATION_LEVELS).count()
    assert written == federations * len(selectors.SNAPSHOT_KEYS) + 0  # no industry unions here
    assert DailySnapshot.objects.get(
        organization=stats.hz, date=yesterday, key=selectors.ACTIVE
    ).value == active_count(stats.hz)
    assert actions.take_snapshot(yesterday) == written  # idempotent (updates)

    make_member(stats.union_b)  # today
    hz = Organization.objects.get(pk=stats.hz.pk)
    period = selectors.Period(today, today)
    data = selectors.dashboard(hz, period)
    assert data["flows"]["values"][selectors.JOINED] == 1
    assert data["flows"]["since"] is None
    points = data["trend"]["points"]
    assert points[-1] == {"date": today.isoformat(), "members": 7, "joined": 1, "withdrawn": 0}


def test_backfill_rebuilds_past_member_figures_from_the_history(stats):
    today = datetime.date.today()
    yesterday = today - datetime.timedelta(days=1)
    # Pretend two of Hangzhou's members joined two days ago, and the rest today.
    two_days_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2)
    members = Member.objects.filter(organization=stats.union_b)
    from members.models import MembershipEvent

    MembershipEvent.objects.filter(member__in=members).update(at=two_days_ago)
    actions.backfill(today - datetime.timedelta(days=3), yesterday)
    values = dict(
        DailySnapshot.objects.filter(organization=stats.hz, date=yesterday).values_list(
            "key", "value"
        )
    )
    assert values[selectors.ACTIVE] == 2  # union B's two; union A's four joined today
    assert values[selectors.JOINED] == 2
    before = DailySnapshot.objects.get(
        organization=stats.hz, date=today - datetime.timedelta(days=3), key=selectors.ACTIVE
    )
    assert before.value == 0
    # Service figures cannot be rebuilt: a period starting there shows them as unknown.
    hz = Organization.objects.get(pk=stats.hz.pk)
    flows = selectors.period_flows(hz, selectors.Period(today, today), selectors.current(hz))
    assert flows["values"][selectors.JOINED] == 4
    assert flows["values"]["services.menu.requests"] is None


# --- Report files ------------------------------------------------------------------------


def _request(client, user, org, **period):
    client.force_login(user)
    data = {"org": org.pk, **(period or {"period": "30d"})}
    return client.post(reverse("reports:request"), data)


def test_report_is_built_with_the_dashboard_figures_and_read_back(
    client, stats, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _request(client, stats.hz_viewer, stats.hz)
    job = ReportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:detail", args=[job.pk])
    assert job.status == ReportStatus.DONE and job.progress == 100
    assert job.requested_by == stats.hz_viewer
    assert Notification.objects.filter(recipient=stats.hz_viewer, kind="reports.ready").exists()

    download = client.get(reverse("reports:download", args=[job.pk, "xlsx"]))
    assert download.status_code == 200
    workbook = load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    overview = {row[0]: row[1] for row in workbook.worksheets[0].iter_rows(values_only=True)}
    with translation.override(settings.LANGUAGE_CODE):  # the requester never chose one
        labels = {key: str(label) for key, label, _kind in selectors.HEADLINE}
        child_sheet = str(_("Child unions"))
    assert overview[labels["members"]] == active_count(stats.hz) == 6
    assert overview[labels["grassroots_unions"]] == 2
    assert overview[labels["aid_cases"]] == 0
    children = list(workbook[child_sheet].iter_rows(values_only=True))
    assert children[1][0] == stats.xihu.name and children[1][2] == 6
    text = "".join(
        str(cell) for sheet in workbook for row in sheet.iter_rows(values_only=True) for cell in row
    )
    assert SIBLING_CITY not in text
    # A figure that cannot be given shows "—" (the city's employees are not recorded, so
    # its membership rate is unknown), a rate says it is in %, and the notes say why.
    with translation.override(settings.LANGUAGE_CODE):
        rate_label = f"{labels['membership_rate']} (%)"
        notes = list(workbook[str(_("Notes"))].iter_rows(values_only=True))
        assert notes[1][0] == str(selectors.UNKNOWN_NOTE)
    assert overview[rate_label] == selectors.UNKNOWN_TEXT

    pdf = client.get(reverse("reports:download", args=[job.pk, "pdf"]))
    assert pdf.status_code == 200
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")

    detail = client.get(reverse("reports:detail", args=[job.pk]), {"format": "json"})
    assert detail.json() == {"status": "done", "progress": 100, "ready": True}


def test_report_files_are_404_out_of_scope_and_after_expiry(
    client, stats, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _request(client, stats.nb_admin, stats.nb)
    job = ReportJob.objects.get()
    client.force_login(stats.hz_viewer)
    for url in (
        reverse("reports:detail", args=[job.pk]),
        reverse("reports:download", args=[job.pk, "xlsx"]),
        reverse("reports:download", args=[job.pk, "pdf"]),
    ):
        assert client.get(url).status_code == 404
    assert SIBLING_CITY not in client.get(reverse("reports:list")).content.decode()
    # The province above covers Ningbo: it may download the file.
    client.force_login(stats.zj_viewer)
    assert client.get(reverse("reports:download", args=[job.pk, "xlsx"])).status_code == 200
    ReportJob.objects.filter(pk=job.pk).update(
        expires_at=datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1)
    )
    assert client.get(reverse("reports:download", args=[job.pk, "xlsx"])).status_code == 404
    assert actions.purge_expired() == 1
    assert not ReportJob.objects.exists()


def test_a_report_for_an_organization_out_of_scope_is_refused(client, stats):
    response = _request(client, stats.hz_viewer, stats.nb)
    assert response.status_code == 404
    assert not ReportJob.objects.exists()


def test_monthly_reports_reach_the_federation_admins_inbox(
    stats, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        created = actions.monthly_reports(datetime.date(2026, 12, 1))
    jobs = ReportJob.objects.filter(kind="monthly")
    # Federations with administrators: the national federation and 宁波市总工会.
    assert created == 2 == jobs.count()
    assert {j.organization_id for j in jobs} == {stats.national.pk, stats.nb.pk}
    job = jobs.get(organization=stats.nb)
    assert (job.period_start, job.period_end) == (
        datetime.date(2026, 11, 1),
        datetime.date(2026, 11, 30),
    )
    assert job.status == ReportStatus.DONE
    note = Notification.objects.get(recipient=stats.nb_admin, kind="reports.monthly")
    assert note.link == reverse("reports:detail", args=[job.pk])
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.monthly_reports(datetime.date(2026, 12, 1)) == 0  # once a month


def test_rollups_stay_exact_through_the_dashboard_figures(stats):
    rollups.fold()
    assert rollups.verify().ok
    zj = Organization.objects.get(pk=stats.zj.pk)
    assert selectors.current(zj)[selectors.ACTIVE] == active_count(zj)


def test_an_industry_union_sees_its_own_tree_and_its_affiliates_by_province(
    client, stats, make_officer
):
    from organizations import actions as org_actions
    from organizations.models import Level
    from tests.factories import OrganizationFactory

    industry = OrganizationFactory(
        name="中国海员建设工会全国委员会", level=Level.INDUSTRY, parent=stats.national
    )
    own = OrganizationFactory(name="中远海运工会", level=Level.GRASSROOTS, parent=industry)
    make_member(own)
    org_actions.update_organization(organization=stats.union_n, data={"industry": industry})
    viewer = make_officer("sea_viewer", industry, "viewer")
    client.force_login(viewer)
    data = client.get(reverse("reports:dashboard")).context["data"]
    assert data["organization"]["id"] == industry.pk
    assert data["headline"]["members"] == 1 + 6  # own tree plus Ningbo's affiliated union
    assert data["headline"]["grassroots_unions"] == 2
    assert data["affiliated_by_region"] == [
        {"id": stats.zj.pk, "label": stats.zj.name, "members": 6, "grassroots_unions": 1}
    ]
    # The region's view: Zhejiang counts the union once and shows it by industry.
    client.force_login(stats.zj_viewer)
    zj = client.get(reverse("reports:dashboard")).context["data"]
    assert zj["headline"]["members"] == 12
    by_industry = {row["label"]: row["members"] for row in zj["by_industry"]}
    assert by_industry == {industry.name: 6, "未加入产业工会": 6}
    # The affiliated union's personal data stays out of reach of the industry union.
    assert client.get(f"/api/v1/stats/organizations/{stats.union_n.pk}/totals/").status_code == 200
    client.force_login(viewer)
    assert client.get(f"/api/v1/stats/organizations/{stats.union_n.pk}/totals/").status_code == 404
