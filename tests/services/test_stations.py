"""Service stations: creating and closing them, coordinates, members' ratings of visits
(once a day, exact averages, counters), who may rate which station, service settings."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections
from django.utils import timezone

from core.models import AuditEntry
from members.models import Member, MemberStatus
from notifications.models import Notification
from organizations import counters
from services.actions import stations as actions
from services.models import ServiceSettings, Station, StationVisit
from services.selectors import stations as selectors

pytestmark = pytest.mark.django_db

HANGZHOU = {"latitude": "30.274085", "longitude": "120.155070"}


def make_station(org, name="西湖职工之家", **data):
    """A station written directly (the tests of the action itself use create_station)."""
    return Station.objects.create(
        organization=org, name=name, address="杭州市西湖区文三路1号", **data
    )


def station_counters(org) -> dict:
    return counters.values(org, [selectors.VISITS, selectors.RATING_SUM])


def error_text(excinfo) -> str:
    return " ".join(excinfo.value.messages)


# --- Creating, correcting and closing stations -------------------------------------------


def test_admin_creates_a_station_with_coordinates_and_an_audit_entry(tree, officers):
    station = actions.create_station(
        organization=tree.union_a,
        data={"name": " 甲公司职工之家 ", "address": "文三路1号", **HANGZHOU},
        acting_user=officers.a_admin,
    )
    assert station.name == "甲公司职工之家"
    assert station.latitude == Decimal("30.274085")
    assert station.is_active
    entry = AuditEntry.objects.get(action="services.station.create")
    assert entry.object_id == str(station.pk) and entry.organization == tree.union_a


def test_an_admin_above_may_create_a_station_for_a_union_below(tree, officers):
    station = actions.create_station(
        organization=tree.union_a,
        data={"name": "驿站", "address": "文三路"},
        acting_user=officers.hz_admin,
    )
    assert station.organization == tree.union_a


@pytest.mark.parametrize("who", ["a_staff", "b_admin", "zj_viewer", "c_admin"])
def test_staff_viewers_and_other_unions_cannot_create_a_station(tree, officers, who):
    with pytest.raises(PermissionDenied):
        actions.create_station(
            organization=tree.union_a,
            data={"name": "驿站", "address": "文三路"},
            acting_user=getattr(officers, who),
        )
    assert not Station.objects.exists()


@pytest.mark.parametrize(
    ("coordinates", "field", "words"),
    [
        ({"latitude": "30.2"}, "longitude", "both"),
        ({"longitude": "120.1"}, "latitude", "both"),
        ({"latitude": "120.155", "longitude": "30.274"}, "latitude", "swapped"),
        ({"latitude": "30.2", "longitude": "150"}, "longitude", "between 73 and 136"),
        ({"latitude": "-33.9", "longitude": "120"}, "latitude", "between 3 and 54"),
        ({"latitude": "north", "longitude": "120"}, "latitude", "number in degrees"),
        ({"latitude": "NaN", "longitude": "120"}, "latitude", "number in degrees"),
    ],
)
def test_bad_coordinates_are_refused_with_a_clear_message(
    tree, officers, coordinates, field, words
):
    with pytest.raises(ValidationError) as excinfo:
        actions.create_station(
            organization=tree.union_a,
            data={"name": "驿站", "address": "文三路", **coordinates},
            acting_user=officers.a_admin,
        )
    assert words in " ".join(excinfo.value.message_dict[field])
    assert not Station.objects.exists()


def test_name_and_address_are_required_and_kind_must_be_known():
    with pytest.raises(ValidationError) as excinfo:
        actions.clean_station_data({"name": " ", "address": "", "kind": "castle"})
    assert set(excinfo.value.message_dict) == {"name", "address", "kind"}


def test_no_coordinates_at_all_is_fine():
    data = actions.clean_station_data({"name": "驿站", "address": "文三路"})
    assert data["latitude"] is None and data["longitude"] is None


def test_update_keeps_fields_left_out_and_records_what_changed(tree, officers):
    station = make_station(tree.union_a, opening_hours="9:00–18:00", **HANGZHOU)
    actions.update_station(
        station=station, data={"phone": "0571-88888888"}, acting_user=officers.a_admin
    )
    station.refresh_from_db()
    assert station.phone == "0571-88888888"
    assert station.opening_hours == "9:00–18:00"
    assert station.latitude == Decimal("30.274085")
    entry = AuditEntry.objects.get(action="services.station.update")
    assert entry.changes == {"phone": ["", "0571-88888888"]}


def test_sibling_admin_cannot_update_or_close_a_station(tree, officers):
    station = make_station(tree.union_a)
    with pytest.raises(PermissionDenied):
        actions.update_station(station=station, data={"name": "X"}, acting_user=officers.b_admin)
    with pytest.raises(PermissionDenied):
        actions.close_station(station=station, acting_user=officers.b_admin)
    station.refresh_from_db()
    assert station.name == "西湖职工之家" and station.is_active


def test_a_closed_station_leaves_the_members_list_and_can_be_reopened(tree, officers, members):
    station = make_station(tree.union_a)
    actions.close_station(station=station, acting_user=officers.a_admin)
    assert station not in selectors.stations_for(members.a)
    with pytest.raises(ValidationError) as excinfo:
        actions.rate_visit(station=station, member=members.a, rating=5)
    assert "closed" in error_text(excinfo)
    actions.reopen_station(station=station, acting_user=officers.a_admin)
    assert station in selectors.stations_for(members.a)
    assert AuditEntry.objects.filter(action__startswith="services.station.").count() == 2


# --- Who may use which station --------------------------------------------------------------


def test_a_members_stations_are_those_of_their_union_chain(tree, members):
    own = make_station(tree.union_a, "甲")
    county = make_station(tree.xihu, "西湖区")
    province = make_station(tree.zj, "浙江")
    national = make_station(tree.national, "全总")
    make_station(tree.union_b, "乙")
    make_station(tree.union_c, "丙")
    make_station(tree.gd, "广东")
    make_station(tree.group_a, "小组")  # below the member's union: not theirs
    assert set(selectors.stations_for(members.a)) == {own, county, province, national}


def test_member_of_a_sibling_union_cannot_rate_a_station_of_another_subtree(tree, members):
    station = make_station(tree.union_a)
    with pytest.raises(ValidationError) as excinfo:
        actions.rate_visit(station=station, member=members.b, rating=4)
    assert "belongs to another union" in error_text(excinfo)
    with pytest.raises(ValidationError):
        actions.rate_visit(station=make_station(tree.xihu), member=members.c, rating=4)
    assert not StationVisit.objects.exists()
    assert station_counters(tree.union_b) == {}


def test_members_may_rate_stations_of_every_union_above_theirs(tree, members):
    for org in (tree.xihu, tree.zj, tree.national):
        actions.rate_visit(station=make_station(org, org.name), member=members.a, rating=4)
    assert StationVisit.objects.filter(member=members.a).count() == 3


def test_a_member_whose_membership_ended_cannot_rate(tree, members):
    Member.objects.filter(pk=members.a.pk).update(status=MemberStatus.WITHDRAWN)
    members.a.refresh_from_db()
    with pytest.raises(ValidationError) as excinfo:
        actions.rate_visit(station=make_station(tree.union_a), member=members.a, rating=4)
    assert "not current" in error_text(excinfo)


# --- Ratings -------------------------------------------------------------------------------


def test_rating_once_per_day_and_the_average_stays_exact(tree, members):
    station = make_station(tree.union_a)
    actions.rate_visit(station=station, member=members.a, rating=5, comment="很好")
    actions.rate_visit(station=station, member=members.a2, rating=2)
    with pytest.raises(ValidationError) as excinfo:
        actions.rate_visit(station=station, member=members.a, rating=1)
    assert "already rated" in error_text(excinfo)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    actions.rate_visit(station=station, member=members.a, rating=4, visited_on=yesterday)
    station.refresh_from_db()
    assert (station.rating_count, station.rating_sum) == (3, 11)
    assert station.rating == 3.7
    assert StationVisit.objects.filter(station=station).count() == 3


def test_counters_count_visits_and_rating_sums_at_the_members_own_union(tree, members):
    station = make_station(tree.xihu)
    actions.rate_visit(station=station, member=members.a, rating=5)
    actions.rate_visit(station=station, member=members.a2, rating=3)
    actions.rate_visit(station=station, member=members.b, rating=1)
    assert station_counters(tree.union_a) == {
        selectors.VISITS: 2,
        selectors.RATING_SUM: 8,
    }
    assert station_counters(tree.union_b) == {selectors.VISITS: 1, selectors.RATING_SUM: 1}
    assert station_counters(tree.xihu) == {}
    assert counters.verify(["services.stations."]).ok
    # A drifted counter is found by the check.
    counters.adjust({(tree.union_a.pk, selectors.VISITS): 1})
    assert not counters.verify(["services.stations."]).ok


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"rating": True}, "rating"),
        ({"rating": 3, "comment": "长" * 501}, "comment"),
        (
            {"rating": 3, "visited_on": datetime.date.today() + datetime.timedelta(days=2)},
            "visited_on",
        ),
        (
            {"rating": 3, "visited_on": datetime.date.today() - datetime.timedelta(days=60)},
            "visited_on",
        ),
    ],
)
def test_bad_ratings_are_refused_and_nothing_is_written(tree, members, kwargs, field):
    station = make_station(tree.union_a)
    with pytest.raises(ValidationError) as excinfo:
        actions.rate_visit(station=station, member=members.a, **kwargs)
    assert field in excinfo.value.message_dict
    station.refresh_from_db()
    assert station.rating_count == 0 and not StationVisit.objects.exists()
    assert station_counters(tree.union_a) == {}


def test_a_low_rating_tells_the_stations_officers(
    tree, officers, members, django_capture_on_commit_callbacks
):
    station = make_station(tree.union_a)
    with django_capture_on_commit_callbacks(execute=True):
        actions.rate_visit(station=station, member=members.a, rating=5)
    assert not Notification.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        actions.rate_visit(station=station, member=members.a2, rating=1, comment="门没开")
    notified = set(Notification.objects.values_list("recipient_id", flat=True))
    assert notified == {officers.a_admin.pk, officers.a_staff.pk}
    assert set(Notification.objects.values_list("kind", flat=True)) == {
        "services.stations.low_rating"
    }


# --- Nearby -------------------------------------------------------------------------------


def test_nearby_orders_stations_by_distance_and_skips_those_without_coordinates(tree):
    west_lake = make_station(tree.union_a, "西湖", latitude="30.2590", longitude="120.1300")
    station_east = make_station(tree.union_a, "东站", latitude="30.2908", longitude="120.2130")
    make_station(tree.union_c, "深圳", latitude="22.5431", longitude="114.0579")
    make_station(tree.union_b, "无坐标")
    rows = selectors.nearby(Decimal("30.2741"), Decimal("120.1551"), limit=2)
    assert [s for s, _ in rows] == [west_lake, station_east]
    assert 2 < rows[0][1] < 4  # about 3 km from the city centre
    assert len(selectors.nearby(30.27, 120.15, limit=10)) == 3


# --- Settings ------------------------------------------------------------------------------


def test_admin_saves_settings_and_a_second_save_changes_the_same_row(tree, officers):
    row = actions.save_settings(
        organization=tree.hz,
        data={"concern_days_general": 2, "aid_approval_level": "city"},
        acting_user=officers.hz_admin,
    )
    assert (row.concern_days_general, row.concern_days_difficult) == (2, 7)
    actions.save_settings(
        organization=tree.hz, data={"aid_notice_days": 7}, acting_user=officers.hz_admin
    )
    row = ServiceSettings.objects.get()
    assert (row.concern_days_general, row.aid_approval_level, row.aid_notice_days) == (
        2,
        "city",
        7,
    )
    assert list(
        AuditEntry.objects.filter(action__startswith="services.settings.")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == ["services.settings.create", "services.settings.update"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"aid_approval_level": "grassroots"}, "aid_approval_level"),
        ({"aid_approval_level": "group"}, "aid_approval_level"),
        ({"aid_approval_level": "planet"}, "aid_approval_level"),
        ({"aid_notice_days": 31}, "aid_notice_days"),
        ({"concern_days_general": 0}, "concern_days_general"),
        ({"concern_days_general": "3.5"}, "concern_days_general"),
        ({"concern_days_general": 10, "concern_days_difficult": 5}, "concern_days_difficult"),
    ],
)
def test_bad_settings_are_refused_and_nothing_is_written(tree, officers, data, field):
    with pytest.raises(ValidationError) as excinfo:
        actions.save_settings(organization=tree.hz, data=data, acting_user=officers.hz_admin)
    assert field in excinfo.value.message_dict
    assert not ServiceSettings.objects.exists()


def test_empty_approval_level_means_the_default(tree, officers):
    row = actions.save_settings(
        organization=tree.union_a, data={"aid_approval_level": ""}, acting_user=officers.a_admin
    )
    assert row.aid_approval_level == ""


@pytest.mark.parametrize("who", ["b_admin", "a_staff", "zj_viewer"])
def test_only_admins_of_the_union_or_above_save_its_settings(tree, officers, who):
    with pytest.raises(PermissionDenied):
        actions.save_settings(
            organization=tree.union_a,
            data={"aid_notice_days": 9},
            acting_user=getattr(officers, who),
        )
    assert not ServiceSettings.objects.exists()


# --- Concurrency ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL locking")
def test_concurrent_ratings_of_one_visit_count_once_and_others_all_count(tree, members):
    station = make_station(tree.union_a)
    barrier = threading.Barrier(6)
    outcomes = []
    lock = threading.Lock()

    def rate(member_pk, rating):
        try:
            member = Member.objects.select_related("organization", "user").get(pk=member_pk)
            barrier.wait(timeout=10)
            actions.rate_visit(station=station, member=member, rating=rating)
            result = "ok"
        except ValidationError as error:
            result = " ".join(error.messages)
        finally:
            connections.close_all()
        with lock:
            outcomes.append((member_pk, result))

    jobs = [(members.a.pk, 5)] * 4 + [(members.a2.pk, 3), (members.b.pk, 1)]
    threads = [threading.Thread(target=rate, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    a_results = [r for pk, r in outcomes if pk == members.a.pk]
    assert a_results.count("ok") == 1
    assert all("already rated" in r for r in a_results if r != "ok")
    station.refresh_from_db()
    assert (station.rating_count, station.rating_sum) == (2, 8)  # b may not rate A's station
    assert counters.verify(["services.stations."]).ok
