"""What the admin says, in Chinese (issue 21): no programmer's marks or English left."""

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_parent_union_is_shown_by_its_name_without_dashes(tree, officers):
    client = Client()
    client.force_login(officers.zj_admin)
    page = client.get(
        reverse("admin:organizations_organization_change", args=[tree.union_a.pk])
    ).content.decode()
    assert f"> {tree.xihu.name}</option>" in page or f">{tree.xihu.name}</option>" in page
    assert "---" + tree.xihu.name not in page and "--- " + tree.xihu.name not in page


def test_the_index_tables_are_labelled_in_chinese_for_screen_readers(tree, officers):
    client = Client()
    client.force_login(officers.a_admin)
    page = client.get(reverse("admin:index")).content.decode()
    for english in ("Model name", "Add link", "Change or view list link"):
        assert english not in page
    assert '<th scope="col">新增链接</th>' in page
