"""Subtree roll-ups: exact with the journal waiting and after folding, verified, repaired,
carried along with tree moves and industry affiliations."""

import pytest
from django.db.models import Sum

from core import stats
from organizations import actions, counters, rollups
from organizations.models import CounterDelta, Level, Organization, OrgCounter, OrgRollup
from tests.factories import OrganizationFactory

KEY = stats.key("test.things")  # a key of the tests' own, declared as an app declares its keys


@pytest.fixture
def tree(tree):
    """The shared tree with positions read back (later inserts shifted lft/rght)."""
    for org in vars(tree).values():
        org.refresh_from_db()
    return tree


def summed(org: Organization, key: str) -> int:
    """Ground truth: the SUM of the counters over the subtree, read from the range."""
    from organizations.scope import subtree_q

    qs = OrgCounter.objects.filter(subtree_q(org, "organization__"), key=key)
    return qs.aggregate(n=Sum("value"))["n"] or 0


def test_waiting_journal_counts_at_once_and_folding_keeps_the_figure(tree):
    counters.adjust({(tree.union_a.pk, KEY): 3, (tree.group_a.pk, KEY): 2})
    counters.adjust({(tree.union_c.pk, KEY): 7})
    assert CounterDelta.objects.filter(key=KEY).count() == 3  # not folded: no commit here
    for org, expected in [
        (tree.group_a, 2),
        (tree.union_a, 5),
        (tree.xihu, 5),
        (tree.zj, 5),
        (tree.gd, 7),
        (tree.national, 12),
        (tree.union_b, 0),
    ]:
        assert rollups.totals(org).get(KEY, 0) == expected == summed(org, KEY)

    assert rollups.fold() >= 3
    assert not CounterDelta.objects.exists()
    assert OrgRollup.objects.get(organization=tree.national, key=KEY).value == 12
    assert rollups.totals(tree.zj)[KEY] == 5
    assert rollups.verify().ok

    counters.adjust({(tree.group_a.pk, KEY): -2})
    assert rollups.totals(tree.zj)[KEY] == 3
    children = rollups.many_totals([tree.union_a, tree.union_b], [KEY])
    assert children == {tree.union_a.pk: {KEY: 3}, tree.union_b.pk: {}}


def test_verify_finds_a_tampered_rollup_and_repair_sets_it_right(tree):
    counters.adjust({(tree.union_b.pk, KEY): 4})
    rollups.fold()
    OrgRollup.objects.filter(organization=tree.hz, key=KEY).update(value=40)
    OrgRollup.objects.create(organization=tree.gd, key=KEY, value=1)
    drift = rollups.verify()
    assert drift.wrong == {(tree.hz.pk, KEY): (40, 4), (tree.gd.pk, KEY): (1, 0)}
    assert drift.checked > 0
    assert rollups.repair(drift) == 2
    assert rollups.verify().ok
    assert rollups.totals(tree.hz)[KEY] == 4


def test_verify_holds_while_changes_wait_in_the_journal(tree):
    counters.adjust({(tree.union_a.pk, KEY): 1})
    rollups.fold()
    counters.adjust({(tree.union_a.pk, KEY): 5})  # waiting
    assert rollups.verify().ok
    assert rollups.totals(tree.zj)[KEY] == 6


def test_a_move_carries_the_subtree_figures_to_the_new_ancestors(tree):
    counters.adjust({(tree.union_a.pk, KEY): 3, (tree.group_a.pk, KEY): 1})
    rollups.fold()
    counters.adjust({(tree.group_a.pk, KEY): 10})  # still waiting during the move
    actions.move_organization(organization=tree.union_a, new_parent=tree.sz)
    assert rollups.totals(tree.zj).get(KEY, 0) == 0 == summed(tree.zj, KEY)
    tree.gd.refresh_from_db()
    assert rollups.totals(tree.gd)[KEY] == 14 == summed(tree.gd, KEY)
    assert rollups.totals(tree.national)[KEY] == 14
    rollups.fold()
    assert rollups.verify().ok
    assert rollups.totals(tree.sz)[KEY] == 14


@pytest.fixture
def seafarers(tree):
    return OrganizationFactory(name="中国海员建设工会", level=Level.INDUSTRY, parent=tree.national)


def test_industry_affiliation_rolls_up_by_region_and_by_industry(tree, seafarers):
    own = OrganizationFactory(name="中远海运集团工会", level=Level.GRASSROOTS, parent=seafarers)
    active = "members.status.active"
    counters.adjust({(tree.union_a.pk, active): 5, (tree.group_a.pk, active): 2})
    counters.adjust({(tree.union_b.pk, active): 4, (own.pk, active): 6})
    actions.update_organization(organization=tree.union_a, data={"industry": seafarers})
    counters.adjust({(tree.union_a.pk, active): 1})  # after joining the industry
    for fold_first in (False, True):
        if fold_first:
            rollups.fold()
        zj = rollups.totals(tree.zj)
        assert zj[active] == 12
        assert zj[f"industry.{seafarers.pk}.{active}"] == 8
        industry = rollups.totals(seafarers)
        assert industry[active] == 6  # its own tree
        assert industry[f"affiliated.{active}"] == 8  # Zhejiang's union A with its group
        national = rollups.totals(tree.national)
        assert national[active] == 18  # counted once
        assert national[f"industry.{seafarers.pk}.{active}"] == 14
        assert rollups.verify().ok

    actions.update_organization(organization=tree.union_a, data={"industry": None})
    assert rollups.totals(seafarers).get(f"affiliated.{active}", 0) == 0
    assert rollups.totals(tree.national)[f"industry.{seafarers.pk}.{active}"] == 6
    assert rollups.verify().ok


def test_only_grassroots_unions_join_a_national_industry_union(tree, seafarers):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        actions.update_organization(organization=tree.xihu, data={"industry": seafarers})
    assert "industry" in error.value.message_dict
    with pytest.raises(ValidationError):
        actions.update_organization(organization=tree.union_a, data={"industry": tree.zj})


def test_the_tree_counts_its_own_units_and_employees(tree):
    actions.update_organization(organization=tree.union_a, data={"employees": 120})
    xihu = rollups.totals(tree.xihu)
    assert xihu["organizations.units.grassroots"] == 2
    assert xihu["organizations.units.group"] == 1
    assert xihu["organizations.employees"] == 120
    actions.dissolve_organization(organization=tree.group_a)
    assert "organizations.units.group" not in rollups.totals(tree.xihu)
    assert counters.verify(["organizations."]).ok


def test_deleting_an_empty_union_takes_it_out_of_its_ancestors(tree):
    new = actions.create_organization(
        parent=tree.sz, data={"name": "新设公司工会", "level": Level.GRASSROOTS, "employees": 9}
    )
    rollups.fold()
    assert rollups.totals(tree.gd)["organizations.employees"] == 9
    actions.delete_organization(organization=new)
    assert "organizations.employees" not in rollups.totals(tree.gd)
    assert rollups.verify().ok


def test_nightly_check_reports_and_repairs_drift(tree, caplog):
    from organizations.tasks import check_counters_task

    counters.adjust({(tree.union_a.pk, "members.status.active"): 2})  # no rows behind it
    rollups.fold()
    OrgRollup.objects.filter(organization=tree.zj, key="organizations.units.city").update(value=9)
    with caplog.at_level("ERROR", logger="organizations.tasks"):
        result = check_counters_task()
    assert result["counters_drifted"] == 1 and result["counters_repaired"] == 1
    assert result["rollups_drifted"] >= 1 and result["rollups_repaired"] >= 1
    assert "statistics drift" in caplog.text
    assert counters.verify().ok
    assert rollups.verify().ok
    assert rollups.totals(tree.zj).get("members.status.active", 0) == 0
    assert check_counters_task()["rollups_drifted"] == 0


def test_check_counters_command_fails_on_drift_and_repairs(tree, capsys):
    from django.core.management import call_command

    rollups.fold()
    OrgRollup.objects.filter(organization=tree.hz, key="organizations.units.grassroots").update(
        value=0
    )
    with pytest.raises(SystemExit):
        call_command("check_counters")
    assert "1 drifted" in capsys.readouterr().out
    call_command("check_counters", "--repair")
    assert "roll-ups repaired" in capsys.readouterr().out
    call_command("check_counters")
    assert rollups.verify().ok


def test_a_grassroots_admin_chooses_among_the_national_industry_unions(
    client, tree, seafarers, make_officer
):
    client.force_login(make_officer("a_admin", tree.union_a))
    response = client.get(f"/admin/organizations/organization/{tree.union_a.pk}/change/")
    assert response.status_code == 200
    choices = {pk for pk, _label in response.context["adminform"].form.fields["industry"].choices}
    assert seafarers.pk in {getattr(c, "value", c) for c in choices}
    assert tree.zj.pk not in {getattr(c, "value", c) for c in choices}


def test_a_large_adjust_writes_what_one_row_at_a_time_writes(tree, monkeypatch):
    """From `_MANY` changes on, `adjust` upserts the counters with array parameters and
    COPYs the journal; the counters and the journal are what the row-at-a-time path
    writes. With `new`, an organization's counters are inserted: one that exists already is
    an error, never an overwritten or lost count."""
    from django.db import IntegrityError, transaction

    changes = {(tree.union_a.pk, KEY): 3, (tree.union_b.pk, KEY): -1, (tree.union_c.pk, KEY): 2}

    def written() -> tuple[dict, list]:
        values = dict(OrgCounter.objects.filter(key=KEY).values_list("organization_id", "value"))
        journal = list(
            CounterDelta.objects.filter(key=KEY).order_by("id").values_list("organization", "delta")
        )
        return values, journal

    with transaction.atomic():
        counters.adjust(changes)
        counters.adjust({(tree.union_a.pk, KEY): 4})
        one_at_a_time = written()
        transaction.set_rollback(True)
    monkeypatch.setattr(counters, "_MANY", 1)
    counters.adjust(changes)
    counters.adjust({(tree.union_a.pk, KEY): 4})
    assert written() == one_at_a_time
    assert one_at_a_time[0] == {tree.union_a.pk: 7, tree.union_b.pk: -1, tree.union_c.pk: 2}

    with pytest.raises(IntegrityError), transaction.atomic():
        counters.adjust({(tree.union_a.pk, KEY): 1, (tree.group_a.pk, KEY): 1}, new=True)
    assert written() == one_at_a_time
    counters.adjust({(tree.group_a.pk, KEY): 5}, new=True)
    assert counters.values(tree.group_a, [KEY]) == {KEY: 5}
