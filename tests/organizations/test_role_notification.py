"""A new role grant tells its user, after the commit, where they now hold which role."""

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import translation

from notifications.models import Notification
from organizations import actions
from organizations.models import OrgRole, Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def granted(user):
    return Notification.objects.filter(recipient=user, kind="role.granted")


def test_a_new_grant_tells_the_user_after_the_commit(
    tree, officers, django_capture_on_commit_callbacks
):
    user = UserFactory(username="new_staff")
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        actions.grant_role(
            user=user, organization=tree.union_a, role=Role.STAFF, acting_user=officers.a_admin
        )
        assert not granted(user).exists()
    note = granted(user).get()
    assert note.context == {"role": "Staff", "organization": tree.union_a.name}
    assert note.link == reverse("admin:index")


def test_granting_the_same_role_again_sends_nothing(tree, django_capture_on_commit_callbacks):
    user = UserFactory(username="twice")
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            actions.grant_role(user=user, organization=tree.union_b, role=Role.VIEWER)
    assert granted(user).count() == 1


def test_a_grant_that_is_rolled_back_sends_nothing(tree, django_capture_on_commit_callbacks):
    user = UserFactory(username="rolled_back")
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        actions.grant_role(user=user, organization=tree.union_a, role=Role.ADMIN)
        raise RuntimeError("the surrounding change failed")
    assert not OrgRole.objects.filter(user=user).exists()
    assert not granted(user).exists()


def test_a_role_granted_again_after_a_revoke_is_told_again(
    tree, django_capture_on_commit_callbacks
):
    user = UserFactory(username="returning")
    with django_capture_on_commit_callbacks(execute=True):
        grant = actions.grant_role(user=user, organization=tree.union_c, role=Role.AID)
    actions.revoke_role(grant=grant)
    with django_capture_on_commit_callbacks(execute=True):
        actions.grant_role(user=user, organization=tree.union_c, role=Role.AID)
    assert granted(user).count() == 2
    assert set(granted(user).values_list("context__organization", flat=True)) == {tree.union_c.name}
