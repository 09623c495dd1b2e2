"""Union and station names refuse control and bidi characters at the source (issue 22):
they are printed in reports, cards and every screen above the union. Names that merely
look like formulas are allowed; the files that print them escape them."""

import json

import pytest
from django.core.exceptions import ValidationError

from organizations import actions as org_actions
from organizations.models import Level, Organization
from services.actions import stations as station_actions
from services.models import Station

BELL, RLO, ZWSP = "\x07", "\u202e", "\u200b"


@pytest.mark.parametrize("bad", [f"杭州{BELL}工会", f"杭州{RLO}会工", f"杭州{ZWSP}工会"])
@pytest.mark.parametrize("field", ["name", "short_name", "address"])
def test_a_union_refuses_control_and_bidi_characters(tree, officers, field, bad):
    with pytest.raises(ValidationError) as error:
        org_actions.update_organization(
            organization=tree.union_a, data={field: bad}, acting_user=officers.a_admin
        )
    assert field in error.value.message_dict
    assert "U+" in error.value.message_dict[field][0]
    assert getattr(Organization.objects.get(pk=tree.union_a.pk), field) != bad


def test_a_new_union_with_a_control_character_is_not_created(tree, officers):
    with pytest.raises(ValidationError) as error:
        org_actions.create_organization(
            parent=tree.xihu,
            data={"name": f"丁公司{BELL}工会", "level": Level.GRASSROOTS},
            acting_user=officers.hz_admin,
        )
    assert "name" in error.value.message_dict
    assert not Organization.objects.filter(name__startswith="丁公司").exists()


def test_a_formula_like_union_name_is_allowed(tree, officers):
    name = '=HYPERLINK("http://x.example/","点此查看")'
    org_actions.update_organization(
        organization=tree.union_a, data={"name": name}, acting_user=officers.a_admin
    )
    assert Organization.objects.get(pk=tree.union_a.pk).name == name


def test_the_api_answers_400_for_a_union_name_with_a_bidi_override(client, tree, officers):
    client.force_login(officers.a_admin)
    response = client.patch(
        f"/api/v1/organizations/{tree.union_a.pk}/",
        json.dumps({"name": f"甲{RLO}工会"}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "name" in response.json()
    assert Organization.objects.get(pk=tree.union_a.pk).name == tree.union_a.name


@pytest.mark.parametrize("field", ["name", "address", "opening_hours"])
def test_a_station_refuses_control_and_bidi_characters(tree, officers, field):
    data = {"name": "甲公司职工之家", "address": "文三路1号", field: f"职工{RLO}之家"}
    with pytest.raises(ValidationError) as error:
        station_actions.create_station(
            organization=tree.union_a, data=data, acting_user=officers.a_admin
        )
    assert field in error.value.message_dict
    assert not Station.objects.exists()

    station = station_actions.create_station(
        organization=tree.union_a,
        data={"name": "甲公司职工之家", "address": "文三路1号"},
        acting_user=officers.a_admin,
    )
    with pytest.raises(ValidationError):
        station_actions.update_station(
            station=station, data={field: f"x{BELL}y"}, acting_user=officers.a_admin
        )
    assert getattr(Station.objects.get(pk=station.pk), field) != f"x{BELL}y"
