from types import SimpleNamespace

import pytest

from organizations.models import Level, Organization
from tests.factories import OrganizationFactory, make_member, make_uscc


@pytest.fixture
def stats(tree, make_officer):
    """The shared tree plus a sibling city in Zhejiang, members in each, and viewers."""
    nb = OrganizationFactory(
        name="宁波市总工会", level=Level.CITY, parent=tree.zj, region_code="330200"
    )
    union_n = OrganizationFactory(
        name="宁波丁港务有限公司工会",
        level=Level.GRASSROOTS,
        parent=nb,
        region_code="330203",
        uscc=make_uscc("330203"),
        employees=40,
    )
    for _ in range(3):
        make_member(tree.union_a)
    make_member(tree.union_a, employment_type="flexible")
    for _ in range(2):
        make_member(tree.union_b, male=False)
    for _ in range(6):
        make_member(union_n)
    make_member(tree.union_c)
    fresh = {name: Organization.objects.get(pk=org.pk) for name, org in vars(tree).items()}
    return SimpleNamespace(
        **fresh,
        nb=Organization.objects.get(pk=nb.pk),
        union_n=Organization.objects.get(pk=union_n.pk),
        hz_viewer=make_officer("hz_viewer", tree.hz, "viewer"),
        zj_viewer=make_officer("zj_viewer", tree.zj, "viewer"),
        nb_admin=make_officer("nb_admin", nb, "admin"),
        a_admin=make_officer("a_admin", tree.union_a, "admin"),
        national_admin=make_officer("national_admin", tree.national, "admin"),
    )
