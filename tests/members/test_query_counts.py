"""Member pages use a number of queries that does not grow with the length of the list."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import make_member

pytestmark = pytest.mark.django_db


def count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _members_with_dues(union, count):
    import datetime
    from decimal import Decimal

    from members.actions import dues

    for _ in range(count):
        member = make_member(union)
        member.wage_base = Decimal("6000")
        member.save(update_fields=["wage_base"])
    dues.generate_monthly_dues(organization=union, period=datetime.date(2026, 10, 1))


@pytest.mark.parametrize(
    "url_name", ["admin:members_member_changelist", "admin:members_duesrecord_changelist"]
)
def test_admin_lists_do_not_grow_with_the_number_of_rows(client, tree, officers, url_name):
    from members.models import DuesRecord

    client.force_login(officers.a_admin)
    _members_with_dues(tree.union_a, 2)
    few = count_queries(client, reverse(url_name))
    DuesRecord.objects.all().delete()
    _members_with_dues(tree.union_a, 15)
    assert count_queries(client, reverse(url_name)) <= few


def test_member_page_does_not_grow_with_the_history(client, tree):
    from django.contrib.auth import get_user_model

    from members.actions import history

    member = make_member(tree.union_a)
    member.user = get_user_model().objects.create_user(username="m1", password="Pass-word-123")
    member.save(update_fields=["user"])
    client.force_login(member.user)
    few = count_queries(client, reverse("my-membership"))
    for _ in range(10):
        history.record_event(member=member, kind="status_changed", from_status="active")
    assert member.events.count() == 11
    assert count_queries(client, reverse("my-membership")) <= few
