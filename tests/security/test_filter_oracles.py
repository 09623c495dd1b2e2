"""List filters are no oracle (issue 22, item 5): a filter naming a related row answers
another tenant's id exactly as it answers an id that does not exist.

Every filter of every scoped API endpoint that names a related row is found from the
router, so a filter added later is covered (or this test says which row to plant for it).
"""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Max
from django.utils import timezone
from django_filters import ModelChoiceFilter, ModelMultipleChoiceFilter
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.test import APIClient

from organizations.models import Organization
from organizations.scope.api import ScopedGenericViewSet
from services.actions import activities as activity_actions
from services.actions import menu as menu_actions
from services.actions import requests as request_actions
from services.models import Activity, ActivitySession, Service
from tests.factories import make_member
from unionhub.urls import router

pytestmark = pytest.mark.django_db


def choice_filters() -> list[tuple[str, str, type]]:
    """(URL prefix, query parameter, related model) of every filter naming a related row."""
    found = []
    for prefix, viewset, _basename in router.registry:
        assert issubclass(viewset, ScopedGenericViewSet), prefix
        if not any(issubclass(b, DjangoFilterBackend) for b in viewset.filter_backends):
            continue
        filterset = DjangoFilterBackend().get_filterset_class(viewset(), viewset.queryset)
        for name, choice in (filterset.base_filters if filterset else {}).items():
            if isinstance(choice, (ModelChoiceFilter, ModelMultipleChoiceFilter)):
                found.append((prefix, name, choice.queryset.model))
    return found


FILTERS = choice_filters()


def test_the_filters_named_in_the_issue_are_among_those_checked():
    named = {(prefix, name) for prefix, name, _model in FILTERS}
    assert {
        ("service-requests", "service"),
        ("service-requests", "member_union"),
        ("registrations", "session"),
        ("activity-sessions", "activity"),
        ("members", "organization"),
    } <= named


def offer(org, admin, title):
    service = menu_actions.create_service(
        organization=org,
        data={"title": title, "category": "legal", "description": "说明"},
        acting_user=admin,
    )
    return menu_actions.publish_service(service=service, acting_user=admin)


def activity_with_session(org, staff, title):
    activity = activity_actions.create_activity(
        organization=org,
        data={"title": title, "description": "说明", "venue": "职工书屋"},
        acting_user=staff,
    )
    start = timezone.now() + datetime.timedelta(days=3)
    session = activity_actions.add_session(
        activity=activity,
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=2),
        capacity=10,
        acting_user=staff,
    )
    activity_actions.publish_activity(activity=activity, acting_user=staff)
    return activity, session


def plant(org, admin, staff, tag) -> dict:
    """A row of every related model in `org`."""
    make_member(org)
    activity, session = activity_with_session(org, staff, f"{tag}活动")
    return {
        Organization: org,
        Service: offer(org, admin, f"{tag}法律咨询"),
        Activity: activity,
        ActivitySession: session,
    }


@pytest.fixture
def planted(tree, officers, make_officer):
    """Rows in union C (another province) and in union A, each foreign to the other side."""
    return {
        "c": plant(
            tree.union_c, officers.c_admin, make_officer("c_staff", tree.union_c, "staff"), "丙"
        ),
        "a": plant(tree.union_a, officers.a_admin, officers.a_staff, "甲"),
    }


def get(user, path, params):
    client = APIClient()
    client.force_authenticate(user)
    return client.get(path, params, HTTP_ACCEPT_LANGUAGE="zh-hans")


READERS = ["a_admin", "a_staff", "hz_admin", "zj_viewer", "gd_admin"]


@pytest.mark.parametrize("reader", READERS)
def test_another_tenants_id_answers_like_an_id_that_does_not_exist(officers, planted, reader):
    # Union C is Guangdong's own: for its administrator, union A's rows are the foreign ones.
    foreign = planted["a" if reader == "gd_admin" else "c"]
    user = getattr(officers, reader)
    oracles = []
    for prefix, parameter, model in FILTERS:
        assert model in foreign, f"plant a row of {model.__name__} for ?{parameter}="
        missing = (model.objects.aggregate(top=Max("pk"))["top"] or 0) + 10**6
        path = f"/api/v1/{prefix}/"
        other = get(user, path, {parameter: foreign[model].pk})
        absent = get(user, path, {parameter: missing})
        if (other.status_code, other.json()) != (absent.status_code, absent.json()):
            oracles.append(f"{path}?{parameter}=: {other.status_code} {other.json()}")
        elif absent.status_code != 404:  # 404: an endpoint the reader may not list at all
            assert absent.status_code == 200 and absent.json()["results"] == [], path
    assert oracles == []


def test_ids_the_reader_knows_still_filter(tree, officers, make_officer):
    """A union's own rows and the rows its lists name (the city's service that a member of
    union A ordered) are accepted and filter."""
    city_service = offer(tree.hz, officers.hz_admin, "杭州市职工法律援助")
    member = make_member(tree.union_a)
    member.user = get_user_model().objects.create_user(username=member.membership_number)
    member.save(update_fields=["user"])
    request_actions.order_service(service=city_service, member=member, acting_user=member.user)

    listed = get(officers.a_staff, "/api/v1/service-requests/", {"service": city_service.pk})
    assert listed.status_code == 200
    assert [r["service"] for r in listed.json()["results"]] == [city_service.pk]
    own = get(officers.a_staff, "/api/v1/service-requests/", {"member_union": tree.union_a.pk})
    assert own.status_code == 200 and own.json()["count"] == 1
    members = get(officers.a_admin, "/api/v1/members/", {"organization": tree.union_a.pk})
    assert members.status_code == 200 and members.json()["count"] == 1
    # A union of the reader's scope with nothing to show is an empty page, not an error.
    empty = get(officers.a_admin, "/api/v1/members/", {"organization": tree.group_a.pk})
    assert empty.status_code == 200 and empty.json()["count"] == 0


def test_a_scoped_viewset_cannot_bring_back_the_unscoped_filter_backend():
    with pytest.raises(TypeError, match="ScopedFilterBackend"):

        class Leaky(ScopedGenericViewSet):
            queryset = Organization.objects.all()
            filter_backends = [DjangoFilterBackend]
