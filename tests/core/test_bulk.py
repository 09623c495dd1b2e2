"""core.bulk: the COPY writer is generic machinery (its result is compared with the ORM's,
column by column, in tests/members/test_spreadsheets.py)."""

import ast
from pathlib import Path

import core.bulk

DOMAIN_APPS = {"accounts", "members", "notifications", "organizations", "reports", "services"}


def test_bulk_insert_imports_no_domain_app():
    tree = ast.parse(Path(core.bulk.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert imported and not imported & DOMAIN_APPS, imported


def test_insert_values_writes_what_the_orm_writes(tree):
    """A union written from its values (no model instance: the union import) is the row
    `bulk_create` writes for the same values, column by column; the journal's key comes
    from its sequence; a unique field cannot be left to a default computed once."""
    import datetime

    import pytest
    from django.db import connection

    from organizations.models import CounterDelta, Level, Organization

    assert connection.vendor == "postgresql"
    values = {
        "name": "杭州丁公司工会",
        "level": Level.GRASSROOTS,
        "region_code": "330106",
        "founded_on": datetime.date(2020, 5, 1),
        "employees": 12,
        "parent_id": tree.xihu.pk,
        "tree_parent_id": tree.xihu.pk,
        "tree_id": 999,
        "lft": 1,
        "rght": 2,
        "depth": 0,
    }
    automatic = ("id", "created_at", "updated_at")

    def stored(pk) -> dict:
        row = Organization.objects.filter(pk=pk).values()[0]
        return {k: v for k, v in row.items() if k not in automatic}

    (pk,) = core.bulk.allocate_ids(Organization, 1)
    names = ("id", *values)
    assert core.bulk.insert_values(Organization, names, [(pk, *values.values())]) == 1
    by_values = stored(pk)
    Organization.objects.filter(pk=pk).delete()
    Organization.objects.bulk_create([Organization(pk=pk, **values)])
    assert by_values == stored(pk) and by_values["status"] == "active"

    last = CounterDelta.objects.order_by("-id").values_list("id", flat=True).first() or 0
    rows = [(tree.union_a.pk, "test.things", 1), (tree.union_b.pk, "test.things", 2)]
    core.bulk.insert_values(CounterDelta, ("organization_id", "key", "delta"), rows)
    written = CounterDelta.objects.filter(id__gt=last).order_by("id")
    assert list(written.values_list("organization_id", "key", "delta")) == rows
    from services.models import ActivitySession

    with pytest.raises(ValueError, match="checkin_code"):  # its default is a random code
        core.bulk.insert_values(ActivitySession, ("id",), [(1,)])


def test_among_selects_what_in_selects_at_any_size(tree):
    from organizations.models import Organization

    everyone = Organization.objects.all()
    ids = list(everyone.values_list("pk", flat=True))
    names = list(everyone.values_list("name", flat=True))
    for size in (0, 3, 5_000):
        wanted = ids[:size] + list(range(10**9, 10**9 + size))
        found = everyone.filter(core.bulk.among("pk", wanted))
        assert sorted(found.values_list("pk", flat=True)) == sorted(ids[:size])
        wanted_names = names[:size] + [f"无此工会{n}" for n in range(size)]
        found = everyone.filter(core.bulk.among("name", wanted_names))
        assert sorted(found.values_list("name", flat=True)) == sorted(names[:size])


def test_gc_paused_restores_the_collector():
    import gc

    assert gc.isenabled()
    with core.bulk.gc_paused():
        assert not gc.isenabled()
        with core.bulk.gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    try:
        with core.bulk.gc_paused():
            raise RuntimeError
    except RuntimeError:
        pass
    assert gc.isenabled()
