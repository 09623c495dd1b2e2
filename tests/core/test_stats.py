"""Statistics keys are declared by the app that owns them; an undeclared key never reads as
zero: writing or reading it raises."""

import pytest
from django.db import connection

from core import stats
from members import statkeys as M
from members.models import MemberStatus
from organizations import counters, rollups
from organizations import statkeys as O
from organizations.models import OrgCounter
from services import statkeys as S
from tests.factories import make_member


def test_declared_keys_and_their_breakdowns_are_known():
    assert stats.is_known(M.ACTIVE)
    assert stats.is_known("members.birth_year.1990")
    assert stats.is_known(S.CATEGORY("legal"))
    assert stats.is_known("industry.12.members.status.active")
    assert stats.is_known("affiliated.organizations.employees")


@pytest.mark.parametrize(
    "name",
    [
        "members.status.activ",  # a typo on the reading side
        "members.birth_year.nineteen",
        "services.menu.categories.legal",
        "industry.12.members.status.activ",
        "industry.members.status.active",
        "affiliated.",
        "members.status",
    ],
)
def test_undeclared_keys_are_unknown(name):
    assert not stats.is_known(name)
    with pytest.raises(stats.UnknownKey):
        stats.check(name)


def test_a_family_refuses_a_value_outside_its_choices():
    assert M.STATUS(MemberStatus.WITHDRAWN) == "members.status.withdrawn"
    with pytest.raises(stats.UnknownKey):
        M.STATUS("on_leave")


def test_key_names_are_plain_words_and_dots():
    with pytest.raises(ValueError, match="not a statistics key name"):
        stats.key("members.status.active'; DROP TABLE x; --")


def test_the_industry_breakdown_covers_the_declared_keys():
    assert set(stats.by_industry_keys()) == {M.ACTIVE, M.JOINED, O.GRASSROOTS, O.EMPLOYEES}


@pytest.mark.django_db
def test_writing_an_undeclared_key_raises_and_counts_nothing(tree):
    before = list(OrgCounter.objects.values_list("organization_id", "key", "value"))

    with pytest.raises(stats.UnknownKey, match=r"members\.status\.activ"):
        counters.adjust(
            {(tree.union_a.pk, M.ACTIVE): 1, (tree.union_a.pk, "members.status.activ"): 1}
        )

    assert list(OrgCounter.objects.values_list("organization_id", "key", "value")) == before


@pytest.mark.django_db
def test_reading_an_undeclared_key_raises_instead_of_showing_zero(tree):
    make_member(tree.union_a)
    assert rollups.totals(tree.xihu, keys=[M.ACTIVE]) == {M.ACTIVE: 1}

    with pytest.raises(stats.UnknownKey):
        rollups.totals(tree.xihu, keys=["members.status.activ"])
    with pytest.raises(stats.UnknownKey):
        rollups.totals(tree.xihu, prefix="member.")


@pytest.mark.django_db
def test_every_key_the_apps_store_is_declared(tree):
    make_member(tree.union_a)
    counters.repair(counters.verify())
    rollups.fold()

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT key FROM organizations_orgcounter UNION SELECT key FROM organizations_orgrollup"
        )
        stored = [key for (key,) in cursor.fetchall()]

    assert M.ACTIVE in stored
    assert [key for key in stored if not stats.is_known(key)] == []
