"""Service stations through their surfaces: the admin (stations, ratings, settings), the API
and the portal pages, with isolation between sibling unions."""

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from services.actions import stations as actions
from services.models import (
    Activity,
    ActivitySession,
    ActivityStatus,
    PublishStatus,
    Service,
    ServiceSettings,
    Station,
    StationVisit,
)

pytestmark = pytest.mark.django_db


def make_station(org, name="西湖职工之家", **data):
    return Station.objects.create(
        organization=org, name=name, address="杭州市西湖区文三路1号", **data
    )


def api(user):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(user)
    return client


STATION_FORM = {
    "name": "甲公司职工之家",
    "kind": "workers_home",
    "address": "文三路1号",
    "opening_hours": "周一至周五 9:00–18:00",
    "latitude": "30.274085",
    "longitude": "120.155070",
    "phone": "",
    "description": "",
}


# --- Admin: stations -----------------------------------------------------------------------


def test_admin_adds_a_station_through_the_form(client, tree, officers):
    client.force_login(officers.a_admin)
    response = client.post(
        reverse("admin:services_station_add"), {**STATION_FORM, "organization": tree.union_a.pk}
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    station = Station.objects.get()
    assert station.organization == tree.union_a and station.name == "甲公司职工之家"


def test_swapped_coordinates_are_shown_next_to_the_field_and_nothing_is_written(
    client, tree, officers
):
    client.force_login(officers.a_admin)
    response = client.post(
        reverse("admin:services_station_add"),
        {
            **STATION_FORM,
            "organization": tree.union_a.pk,
            "latitude": "80.1",
            "longitude": "30.2",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "swapped" in " ".join(errors["latitude"])
    assert not Station.objects.exists()


def test_admin_cannot_add_a_station_to_a_sibling_union(client, tree, officers):
    client.force_login(officers.a_admin)
    response = client.post(
        reverse("admin:services_station_add"), {**STATION_FORM, "organization": tree.union_b.pk}
    )
    assert response.status_code == 200
    assert "organization" in response.context["adminform"].form.errors
    assert not Station.objects.exists()


def test_sibling_admin_gets_404_for_a_station_and_does_not_see_it_listed(client, tree, officers):
    station = make_station(tree.union_a, "甲站")
    make_station(tree.union_b, "乙站")
    client.force_login(officers.b_admin)
    url = reverse("admin:services_station_change", args=[station.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {**STATION_FORM}).status_code == 404
    station.refresh_from_db()
    assert station.name == "甲站"
    page = client.get(reverse("admin:services_station_changelist")).content.decode()
    assert "乙站" in page and "甲站" not in page


def test_change_page_shows_services_offered_there_and_saves_a_correction(client, tree, officers):
    station = make_station(tree.union_a, **{"latitude": "30.2", "longitude": "120.1"})
    Service.objects.create(
        organization=tree.zj,
        title="职工法律咨询",
        category="legal",
        description="…",
        status=PublishStatus.PUBLISHED,
        delivery="station",
        station=station,
    )
    client.force_login(officers.a_admin)
    url = reverse("admin:services_station_change", args=[station.pk])
    page = client.get(url).content.decode()
    assert "职工法律咨询" in page
    response = client.post(url, {**STATION_FORM, "name": "新名字"})
    assert response.status_code == 302
    station.refresh_from_db()
    assert station.name == "新名字"


def test_staff_see_stations_but_cannot_change_them(client, tree, officers):
    station = make_station(tree.union_a)
    client.force_login(officers.a_staff)
    url = reverse("admin:services_station_change", args=[station.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {**STATION_FORM, "name": "改"}).status_code == 403
    station.refresh_from_db()
    assert station.name == "西湖职工之家"


def test_admin_action_closes_selected_stations(client, tree, officers):
    station = make_station(tree.union_a)
    client.force_login(officers.a_admin)
    client.post(
        reverse("admin:services_station_changelist"),
        {"action": "close_selected", "_selected_action": [station.pk]},
    )
    station.refresh_from_db()
    assert not station.is_active


def test_visit_list_shows_masked_names_only_and_only_in_scope(client, tree, officers, members):
    station = make_station(tree.xihu, "西湖区站")
    actions.rate_visit(station=station, member=members.a, rating=4, comment="茶水很好")
    client.force_login(officers.hz_admin)
    page = client.get(reverse("admin:services_stationvisit_changelist")).content.decode()
    assert members.a.masked_name in page and "茶水很好" in page
    assert members.a.name not in page and members.a.membership_number not in page
    visit = StationVisit.objects.get()
    client.force_login(officers.b_admin)
    page = client.get(reverse("admin:services_stationvisit_changelist")).content.decode()
    assert "茶水很好" not in page
    url = reverse("admin:services_stationvisit_change", args=[visit.pk])
    assert client.get(url).status_code == 404


# --- Admin: settings -----------------------------------------------------------------------


def settings_form(org=None, **values):
    data = {
        "concern_days_general": 3,
        "concern_days_difficult": 7,
        "concern_days_complex": 15,
        "aid_approval_level": "",
        "aid_notice_days": 5,
        **values,
    }
    if org is not None:
        data["organization"] = org.pk
    return data


def test_admin_saves_settings_in_the_admin_and_bad_level_is_refused(client, tree, officers):
    client.force_login(officers.hz_admin)
    url = reverse("admin:services_servicesettings_add")
    response = client.post(url, settings_form(tree.hz, aid_approval_level="grassroots"))
    assert response.status_code == 200
    assert "aid_approval_level" in response.context["adminform"].form.errors
    assert not ServiceSettings.objects.exists()
    response = client.post(url, settings_form(tree.hz, aid_approval_level="city"))
    assert response.status_code == 302
    assert ServiceSettings.objects.get().aid_approval_level == "city"


def test_sibling_admin_gets_404_for_another_unions_settings(client, tree, officers):
    row = actions.save_settings(
        organization=tree.union_a, data={"aid_notice_days": 9}, acting_user=officers.a_admin
    )
    client.force_login(officers.b_admin)
    url = reverse("admin:services_servicesettings_change", args=[row.pk])
    assert client.get(url).status_code == 404
    client.post(url, settings_form(aid_notice_days=3))
    row.refresh_from_db()
    assert row.aid_notice_days == 9
    response = client.post(
        reverse("admin:services_servicesettings_add"), settings_form(tree.union_a)
    )
    assert response.status_code == 200
    assert "organization" in response.context["adminform"].form.errors


def test_staff_cannot_open_the_settings(client, tree, officers):
    actions.save_settings(organization=tree.union_a, data={}, acting_user=officers.a_admin)
    client.force_login(officers.a_staff)
    response = client.get(reverse("admin:services_servicesettings_changelist"))
    assert response.status_code == 404  # no permission on the model: it does not exist


# --- API -----------------------------------------------------------------------------------


def test_api_lists_the_stations_of_the_callers_subtree_only(tree, officers):
    a = make_station(tree.union_a, "甲站")
    make_station(tree.union_b, "乙站")
    ids = {row["id"] for row in api(officers.a_staff).get("/api/v1/stations/").json()["results"]}
    assert ids == {a.pk}
    ids = {row["id"] for row in api(officers.hz_admin).get("/api/v1/stations/").json()["results"]}
    assert len(ids) == 2


def test_api_sibling_admin_gets_404_for_a_station(tree, officers):
    station = make_station(tree.union_a)
    client = api(officers.b_admin)
    assert client.get(f"/api/v1/stations/{station.pk}/").status_code == 404
    assert client.patch(f"/api/v1/stations/{station.pk}/", {"name": "X"}).status_code == 404
    assert client.post(f"/api/v1/stations/{station.pk}/close/").status_code == 404
    response = client.post(
        f"/api/v1/stations/?organization={tree.union_a.pk}", STATION_FORM, format="json"
    )
    assert response.status_code == 404
    station.refresh_from_db()
    assert station.is_active and station.name == "西湖职工之家"
    assert Station.objects.count() == 1


def test_api_creates_corrects_and_closes_a_station(tree, officers):
    client = api(officers.a_admin)
    response = client.post(
        f"/api/v1/stations/?organization={tree.union_a.pk}",
        {**STATION_FORM, "organization": tree.union_b.pk},  # the body cannot choose the union
        format="json",
    )
    assert response.status_code == 201, response.json()
    pk = response.json()["id"]
    assert Station.objects.get(pk=pk).organization == tree.union_a
    response = client.patch(f"/api/v1/stations/{pk}/", {"phone": "0571-1234"}, format="json")
    assert response.json()["phone"] == "0571-1234"
    assert response.json()["latitude"] == "30.274085"
    assert client.post(f"/api/v1/stations/{pk}/close/").json()["is_active"] is False


def test_api_refuses_coordinates_outside_china_with_the_message(tree, officers):
    response = api(officers.a_admin).post(
        f"/api/v1/stations/?organization={tree.union_a.pk}",
        {**STATION_FORM, "latitude": "30.2", "longitude": "150.0"},
        format="json",
    )
    assert response.status_code == 400
    assert "between 73 and 136" in " ".join(response.json()["longitude"])


def test_api_staff_cannot_create_stations(tree, officers):
    response = api(officers.a_staff).post(
        f"/api/v1/stations/?organization={tree.union_a.pk}", STATION_FORM, format="json"
    )
    assert response.status_code == 404
    assert not Station.objects.exists()


def test_api_nearby_orders_the_callers_stations_by_distance(tree, officers):
    far = make_station(tree.union_a, "远", latitude="30.5", longitude="120.5")
    near = make_station(tree.union_a, "近", latitude="30.28", longitude="120.16")
    make_station(tree.union_b, "乙近", latitude="30.275", longitude="120.155")
    rows = (
        api(officers.a_staff)
        .get("/api/v1/stations/nearby/", {"lat": "30.274", "lon": "120.155"})
        .json()
    )
    assert [row["id"] for row in rows] == [near.pk, far.pk]
    assert rows[0]["distance_km"] < rows[1]["distance_km"]


def test_api_settings_are_scoped_and_validated(tree, officers):
    client = api(officers.a_admin)
    response = client.post(
        f"/api/v1/service-settings/?organization={tree.union_a.pk}",
        {"aid_approval_level": "group"},
        format="json",
    )
    assert response.status_code == 400
    assert "aid_approval_level" in response.json()
    response = client.post(
        f"/api/v1/service-settings/?organization={tree.union_a.pk}",
        {"concern_days_general": 2},
        format="json",
    )
    assert response.status_code == 201
    pk = response.json()["id"]
    sibling = api(officers.b_admin)
    assert sibling.get(f"/api/v1/service-settings/{pk}/").status_code == 404
    assert (
        sibling.patch(
            f"/api/v1/service-settings/{pk}/", {"aid_notice_days": 3}, format="json"
        ).status_code
        == 404
    )
    assert sibling.get("/api/v1/service-settings/").json()["results"] == []
    assert api(officers.a_staff).get(f"/api/v1/service-settings/{pk}/").status_code == 404
    assert ServiceSettings.objects.get().concern_days_general == 2


# --- Portal --------------------------------------------------------------------------------


@pytest.fixture
def west_lake(tree):
    station = make_station(
        tree.xihu,
        "西湖区职工服务驿站",
        opening_hours="全天开放",
        latitude="30.259000",
        longitude="120.130000",
        phone="0571-87654321",
    )
    Service.objects.create(
        organization=tree.zj,
        title="免费体检",
        category="inclusive",
        description="…",
        status=PublishStatus.PUBLISHED,
        delivery="station",
        station=station,
    )
    Service.objects.create(
        organization=tree.zj,
        title="草稿服务",
        category="other",
        description="…",
        status=PublishStatus.DRAFT,
        station=station,
    )
    activity = Activity.objects.create(
        organization=tree.xihu,
        title="端午包粽子",
        description="…",
        station=station,
        status=ActivityStatus.PUBLISHED,
    )
    start = timezone.now() + timezone.timedelta(days=3)
    ActivitySession.objects.create(
        activity=activity, starts_at=start, ends_at=start + timezone.timedelta(hours=2), capacity=20
    )
    return station


def test_member_sees_the_stations_of_their_union_chain(tree, members, login, west_lake):
    make_station(tree.union_b, "乙公司职工之家")
    page = login(members.a).get(reverse("stations-list")).content.decode()
    assert "西湖区职工服务驿站" in page and "乙公司职工之家" not in page


def test_station_page_shows_address_map_services_activities_and_rating(client, members, west_lake):
    actions.rate_visit(station=west_lake, member=members.a, rating=4, comment="环境很好，有热水")
    page = client.get(reverse("stations-detail", args=[west_lake.pk])).content.decode()
    assert "全天开放" in page and 'href="geo:30.259000,120.130000"' in page
    assert "免费体检" in page and "草稿服务" not in page
    assert "端午包粽子" in page
    assert "环境很好，有热水" in page
    assert "4.0" in page


def test_public_station_page_shows_no_personal_data(client, members, west_lake):
    actions.rate_visit(station=west_lake, member=members.a, rating=5, comment="好")
    page = client.get(reverse("stations-detail", args=[west_lake.pk])).content.decode()
    assert members.a.masked_name in page
    assert members.a.name not in page
    assert members.a.membership_number not in page
    assert members.a.phone not in page and members.a.id_number not in page
    assert 'name="rating"' not in page  # no rating form for a visitor


def test_public_list_filters_by_union(client, tree, west_lake):
    make_station(tree.union_c, "深圳丙驿站")
    page = client.get(reverse("stations-list"), {"union": tree.union_a.pk}).content.decode()
    assert "西湖区职工服务驿站" in page and "深圳丙驿站" not in page
    page = client.get(reverse("stations-list")).content.decode()
    assert "西湖区职工服务驿站" in page and "深圳丙驿站" in page
    assert client.get(reverse("stations-list"), {"union": "x"}).status_code == 404


def test_member_rates_a_visit_once_a_day_in_the_portal(members, login, west_lake):
    client = login(members.a)
    url = reverse("stations-rate", args=[west_lake.pk])
    response = client.post(url, {"rating": "5", "comment": "服务热情"})
    assert response.status_code == 302
    response = client.post(url, {"rating": "1", "comment": "第二次"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "already rated" in page and "第二次" in page  # what was typed is kept
    west_lake.refresh_from_db()
    assert (west_lake.rating_count, west_lake.rating_sum) == (1, 5)


def test_member_of_another_branch_gets_a_clear_error_in_the_portal(tree, members, login):
    station = make_station(tree.union_a)
    client = login(members.b)
    page = client.get(reverse("stations-detail", args=[station.pk])).content.decode()
    assert 'name="rating"' not in page and "does not serve your workplace" in page
    response = client.post(reverse("stations-rate", args=[station.pk]), {"rating": "3"})
    assert "belongs to another union" in response.content.decode()
    assert not StationVisit.objects.exists()


def test_rating_requires_a_login(client, west_lake):
    response = client.post(reverse("stations-rate", args=[west_lake.pk]), {"rating": "5"})
    assert response.status_code == 302 and "login" in response["Location"]
    assert not StationVisit.objects.exists()


def test_closed_station_page_says_so_and_has_no_rating_form(tree, officers, members, login):
    station = make_station(tree.union_a)
    actions.close_station(station=station, acting_user=officers.a_admin)
    page = login(members.a).get(reverse("stations-detail", args=[station.pk])).content.decode()
    assert "This station is closed" in page and 'name="rating"' not in page
    assert station.name not in login(members.a).get(reverse("stations-list")).content.decode()


def test_portal_pages_render_in_chinese(client, settings, members, login, west_lake):
    client = login(members.a)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    for url in (reverse("stations-list"), reverse("stations-detail", args=[west_lake.pk])):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert response.status_code == 200
        page = response.content.decode()
        assert '<html lang="zh-hans">' in page and "西湖区职工服务驿站" in page
