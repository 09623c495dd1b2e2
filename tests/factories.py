"""Factories that build a small real union tree through the actions, as production does."""

import itertools

import factory
from django.contrib.auth import get_user_model
from stdnum.cn import uscc

from organizations import actions
from organizations.models import Level, Organization

_serial = itertools.count(1)


def make_uscc(region_code: str = "330106") -> str:
    """A valid, unique unified social credit code of a trade union (authority 8, type 1)."""
    body = f"81{region_code}{next(_serial):09d}"
    return body + uscc.calc_check_digit(body)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("Pass-word-123")


class OrganizationFactory(factory.Factory):
    """Creates organizations with `actions.create_organization`, so every tree rule applies."""

    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"测试工会{n}")
    level = Level.GRASSROOTS
    parent = None

    @classmethod
    def _create(cls, model_class, parent=None, **data):
        if parent is None:
            return actions.create_national_federation(data=data)
        return actions.create_organization(parent=parent, data=data)
