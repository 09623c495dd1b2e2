"""A member's own rows in the portal go through the scope: `scope.own_object_or_404` finds
them by the model's declared `owner_path`, and anybody else's row does not exist."""

import pytest
from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from members.selectors.people import member_of
from organizations import scope
from organizations.models import Organization
from services.actions import menu as actions
from services.actions import requests as request_actions
from services.models import ServiceRequest
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def request_of_a(tree, officers, members):
    data = {"title": "体检", "category": "inclusive", "description": "年度体检"}
    service = actions.create_service(
        organization=tree.union_a, data=data, acting_user=officers.a_admin
    )
    service = actions.publish_service(service=service, acting_user=officers.a_admin)
    return request_actions.order_service(
        service=service, member=members.a, acting_user=members.a.user
    )


def test_a_member_finds_their_own_row_and_nobody_else_does(request_of_a, members, officers):
    rows = ServiceRequest.objects.all()

    assert scope.own_object_or_404(members.a.user, rows, pk=request_of_a.pk) == request_of_a
    # Not the other member of the same union, not the union's own admin, not a visitor.
    for user in (members.a2.user, officers.a_admin, AnonymousUser()):
        with pytest.raises(Http404):
            scope.own_object_or_404(user, rows, pk=request_of_a.pk)
    with pytest.raises(Http404):
        scope.own_object_or_404(members.a.user, rows, pk="not-a-number")


def test_an_operator_has_no_own_rows_of_a_member(request_of_a):
    operator = UserFactory(username="operator", is_superuser=True)
    with pytest.raises(Http404):
        scope.own_object_or_404(operator, ServiceRequest.objects.all(), pk=request_of_a.pk)


def test_a_model_without_an_owner_path_is_refused(tree, members):
    with pytest.raises(TypeError, match="owner_path"):
        scope.own_object_or_404(members.a.user, Organization.objects.all(), pk=tree.union_a.pk)
    with pytest.raises(TypeError, match="owner_path"):
        scope.own_object_or_404(AnonymousUser(), Organization.objects.all(), pk=tree.union_a.pk)


def test_every_declared_owner_path_leads_to_a_login(members):
    declared = [m for m in apps.get_models() if getattr(m, "owner_path", None)]
    assert len(declared) >= 4
    for model in declared:
        # A wrong path raises FieldError here; a path to anything but a user, a TypeError or
        # ValueError when compared with one.
        model._default_manager.filter(scope.owner_q(members.a.user, model)).exists()


def test_member_of_gives_the_live_member_record_of_a_login(members, officers):
    assert member_of(members.a.user) == members.a
    assert member_of(officers.a_admin) is None
