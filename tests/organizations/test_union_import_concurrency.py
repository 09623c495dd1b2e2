"""Union import (issue 20) against concurrent writers, on PostgreSQL with real connections.

Each test holds one writer inside its transaction (after it took its tree locks) with a
`Gate`, runs another writer in a second thread, and looks at what the second one does while
the first is held: it finishes (another province) or waits on the tree's advisory lock (the
same province, seen in `pg_locks`). Then the first is released and the tree checked whole.
Nothing waits on a clock: every wait is on an event, a lock or a thread, with a generous
timeout so that a failure ends the test instead of hanging the suite.
"""

from __future__ import annotations

import functools
import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from organizations import actions, integrity
from organizations.actions import imports
from organizations.actions.imports import ImportRefused, import_unions
from organizations.models import Level, Organization
from tests.factories import OrganizationFactory
from tests.organizations.test_union_import import (
    assert_consistent,
    checked,
    descendants_by_cte,
    snapshot,
    union_row,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL locking"),
]

# Generous: only reached when something is broken (a thread stuck, a gate never released).
TIMEOUT = 60


class Worker(threading.Thread):
    """Runs `job` on the thread's own database connection; keeps its result or exception."""

    def __init__(self, name: str, job):
        super().__init__(name=name, daemon=True)
        self.job = job
        self.result = None
        self.error: BaseException | None = None

    def run(self):
        try:
            self.result = self.job()
        except BaseException as error:  # surfaced to the main thread
            self.error = error
        finally:
            connection.close()

    def outcome(self):
        """The job's result once the thread has ended; re-raises what the job raised."""
        self.join(TIMEOUT)
        assert not self.is_alive(), f"{self.name} did not finish"
        if self.error is not None:
            raise self.error
        return self.result


class Gate:
    """Holds the named thread right after a wrapped function returns, inside its transaction,
    until the test releases it."""

    def __init__(self, thread_name: str):
        self.thread_name = thread_name
        self.reached = threading.Event()
        self.released = threading.Event()

    def after(self, function):
        @functools.wraps(function)
        def held(*args, **kwargs):
            result = function(*args, **kwargs)
            if threading.current_thread().name == self.thread_name:
                self.reached.set()
                if not self.released.wait(TIMEOUT):
                    raise RuntimeError("the test never released the gate")
            return result

        return held


def run_all(*workers: Worker, gate: Gate) -> None:
    """Whatever happens in the test body: open the gate and wait for every thread."""
    gate.released.set()
    for worker in workers:
        if worker.ident is not None:  # started
            worker.join(TIMEOUT)


def hold_import_after_writing(monkeypatch, thread_name: str) -> Gate:
    """The import in `thread_name` stops once its new unions are shifted in and copied,
    locks held and nothing committed."""
    gate = Gate(thread_name)
    monkeypatch.setattr(imports, "_create", gate.after(imports._create))
    return gate


def hold_single_write_after_saving(monkeypatch, thread_name: str) -> Gate:
    """A single-union action (create, move) in `thread_name` stops after writing its row and
    its audit entry, tree locks held and nothing committed."""
    gate = Gate(thread_name)
    monkeypatch.setattr(actions, "record_audit", gate.after(actions.record_audit))
    return gate


def _tree_locks(tree_id: int, *, granted: bool) -> int:
    """Advisory locks of one tree in this test database, held (granted) or waited for."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted = %s "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND classid::bigint = %s AND objid::bigint = %s AND objsubid = 2",
            [granted, actions.TREE_LOCK_NAMESPACE, tree_id],
        )
        return cursor.fetchone()[0]


def wait_for_waiter_on_tree_lock(tree_id: int) -> None:
    """Return once another session waits for the tree's lock; fail after TIMEOUT."""
    deadline = time.monotonic() + TIMEOUT
    while not _tree_locks(tree_id, granted=False):
        if time.monotonic() > deadline:
            pytest.fail(f"nobody waited for the lock of tree {tree_id}")
        time.sleep(0.02)


def assert_nested_sets_exact() -> None:
    """Every tree numbers its nodes 1..2n, each number once; MPTT == recursive CTE."""
    by_tree: dict[int, list[int]] = {}
    for tree_id, lft, rght in Organization.objects.values_list("tree_id", "lft", "rght"):
        by_tree.setdefault(tree_id, []).extend((lft, rght))
    for tree_id, numbers in by_tree.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), f"tree {tree_id}"
    for org in Organization.objects.exclude(level=Level.NATIONAL):
        mptt = set(org.get_descendants().values_list("pk", flat=True))
        assert mptt == descendants_by_cte(org), org.name


def zhejiang_rows(tree) -> list[dict]:
    """New unions at three depths of Zhejiang, one of them under another row of the file."""
    return [
        union_row(名称="并发浙江一厂工会", 上级工会编号=str(tree.xihu.pk), 职工人数="30"),
        union_row(
            编号="ZC",
            名称="并发浙江新区总工会",
            级别="县级总工会",
            上级工会编号=str(tree.hz.pk),
            行政区划代码="330108",
        ),
        union_row(名称="并发浙江二厂工会", 上级工会编号="ZC", 行政区划代码="330108"),
        union_row(名称="并发浙江工会小组", 级别="工会小组", 上级工会编号=str(tree.union_a.pk)),
    ]


def guangdong_rows(tree) -> list[dict]:
    return [
        union_row(
            名称="并发广东一厂工会",
            上级工会编号=str(tree.sz.pk),
            行政区划代码="440305",
            职工人数="40",
        ),
        union_row(
            编号="GC",
            名称="并发广东新区总工会",
            级别="县级总工会",
            上级工会编号=str(tree.sz.pk),
            行政区划代码="440305",
        ),
        union_row(名称="并发广东二厂工会", 上级工会编号="GC", 行政区划代码="440305"),
        union_row(名称="并发广东工会小组", 级别="工会小组", 上级工会编号=str(tree.union_c.pk)),
    ]


def names_of(rows: list[dict]) -> set[str]:
    return {row["名称"] for row in rows}


def parents_by_name(rows: list[dict]) -> dict[str, str]:
    found = Organization.objects.filter(name__in=names_of(rows)).select_related("parent")
    return {org.name: org.parent.name for org in found}


def test_imports_into_two_provinces_do_not_wait_for_each_other(tree, monkeypatch):
    zj_rows, gd_rows = zhejiang_rows(tree), guangdong_rows(tree)
    zj_plan, gd_plan = checked(tree, zj_rows, under=tree.zj), checked(tree, gd_rows, under=tree.gd)
    assert zj_plan.errors == [] and gd_plan.errors == []
    gate = hold_import_after_writing(monkeypatch, "import-zj")
    zj_import = Worker("import-zj", lambda: import_unions(plan=zj_plan))
    gd_import = Worker("import-gd", lambda: import_unions(plan=gd_plan))

    zj_import.start()
    try:
        assert gate.reached.wait(TIMEOUT), "the Zhejiang import never reached its hold"
        assert _tree_locks(tree.zj.tree_id, granted=True) == 1

        gd_import.start()
        gd_result = gd_import.outcome()

        # Guangdong is written and visible while Zhejiang is still held, unseen by readers.
        assert zj_import.is_alive() and not gate.released.is_set()
        assert gd_result["create"] == 4
        assert Organization.objects.filter(name__in=names_of(gd_rows)).count() == 4
        assert not Organization.objects.filter(name__in=names_of(zj_rows)).exists()
    finally:
        run_all(zj_import, gd_import, gate=gate)

    assert zj_import.outcome()["create"] == 4
    assert parents_by_name(zj_rows) == {
        "并发浙江一厂工会": tree.xihu.name,
        "并发浙江新区总工会": tree.hz.name,
        "并发浙江二厂工会": "并发浙江新区总工会",
        "并发浙江工会小组": tree.union_a.name,
    }
    assert parents_by_name(gd_rows) == {
        "并发广东一厂工会": tree.sz.name,
        "并发广东新区总工会": tree.sz.name,
        "并发广东二厂工会": "并发广东新区总工会",
        "并发广东工会小组": tree.union_c.name,
    }
    assert_nested_sets_exact()
    assert_consistent(tree.zj, tree.gd, tree.hz, tree.sz)


def test_a_single_insert_waits_for_an_import_of_the_same_province(tree, monkeypatch):
    rows = zhejiang_rows(tree)
    plan = checked(tree, rows, under=tree.zj)
    assert plan.errors == []
    gate = hold_import_after_writing(monkeypatch, "import")
    importer = Worker("import", lambda: import_unions(plan=plan))
    single = Worker(
        "single",
        lambda: actions.create_organization(
            parent=tree.xihu,
            data={"name": "并发单建工会", "level": Level.GRASSROOTS, "region_code": "330106"},
        ),
    )

    importer.start()
    try:
        assert gate.reached.wait(TIMEOUT), "the import never reached its hold"
        single.start()
        wait_for_waiter_on_tree_lock(tree.zj.tree_id)
        single.join(timeout=1)
        assert single.is_alive(), "the single insert did not wait for the import"
        assert not Organization.objects.filter(name="并发单建工会").exists()
    finally:
        run_all(importer, single, gate=gate)

    assert importer.outcome()["create"] == 4
    created = single.outcome()
    assert Organization.objects.get(pk=created.pk).parent_id == tree.xihu.pk
    assert Organization.objects.filter(name__in=names_of(rows)).count() == 4
    assert_nested_sets_exact()
    assert_consistent(tree.zj, tree.xihu, tree.hz)


def test_an_import_waits_for_a_single_insert_then_writes_from_fresh_positions(tree, monkeypatch):
    rows = zhejiang_rows(tree)
    plan = checked(tree, rows, under=tree.zj)  # checked before the single insert began
    assert plan.errors == []
    gate = hold_single_write_after_saving(monkeypatch, "single")
    single = Worker(
        "single",
        lambda: actions.create_organization(
            parent=tree.xihu,
            data={"name": "并发先建工会", "level": Level.GRASSROOTS, "region_code": "330106"},
        ),
    )
    importer = Worker("import", lambda: import_unions(plan=plan))

    single.start()
    try:
        assert gate.reached.wait(TIMEOUT), "the single insert never reached its hold"
        importer.start()
        wait_for_waiter_on_tree_lock(tree.zj.tree_id)
        importer.join(timeout=1)
        assert importer.is_alive(), "the import did not wait for the single insert"
        assert not Organization.objects.filter(name__in=names_of(rows)).exists()
    finally:
        run_all(single, importer, gate=gate)

    created = single.outcome()
    assert importer.outcome()["create"] == 4
    # The single insert and an imported union share a parent, as MPTT children too.
    xihu = Organization.objects.get(pk=tree.xihu.pk)
    children = set(xihu.get_children().values_list("pk", "name"))
    assert {(created.pk, "并发先建工会")} <= children
    assert "并发浙江一厂工会" in {name for _pk, name in children}
    assert Organization.objects.filter(name__in=names_of(rows)).count() == 4
    assert_nested_sets_exact()
    assert_consistent(tree.zj, tree.xihu, tree.hz)


@pytest.fixture
def street(tree):
    """A township federation of Zhejiang with nothing under it yet."""
    return OrganizationFactory(
        name="并发街道总工会", level=Level.TOWNSHIP, parent=tree.xihu, region_code="330106"
    )


def _dissolve(street, tree):
    actions.dissolve_organization(organization=street)


def _move_to_guangdong(street, tree):
    actions.move_organization(organization=street, new_parent=tree.sz)


@pytest.mark.parametrize("change", [_dissolve, _move_to_guangdong], ids=["dissolved", "moved"])
def test_a_plan_checked_before_its_parent_changed_is_refused(tree, street, change):
    plan = checked(tree, [union_row(名称="迟到的工会", 上级工会编号=str(street.pk))], under=tree.zj)
    assert plan.errors == []
    other = Worker("other", lambda: change(street, tree))
    other.start()
    other.outcome()  # committed on its own connection
    before = snapshot()

    with pytest.raises(ImportRefused):
        import_unions(plan=plan)

    assert snapshot() == before
    assert [e["row"] for e in plan.errors] == [2]
    assert street.name in plan.errors[0]["message"]


def test_an_import_waiting_for_a_move_of_its_parent_is_refused_once_it_gets_the_lock(
    tree, street, monkeypatch
):
    plan = checked(tree, [union_row(名称="迟到的工会", 上级工会编号=str(street.pk))], under=tree.zj)
    assert plan.errors == []
    gate = hold_single_write_after_saving(monkeypatch, "move")
    move = Worker("move", lambda: _move_to_guangdong(street, tree))
    importer = Worker("import", lambda: import_unions(plan=plan))

    move.start()
    try:
        assert gate.reached.wait(TIMEOUT), "the move never reached its hold"
        before = snapshot()  # the move is not committed yet: this is what the import saw
        importer.start()
        wait_for_waiter_on_tree_lock(tree.zj.tree_id)
        importer.join(timeout=1)
        assert importer.is_alive(), "the import did not wait for the move"
    finally:
        run_all(move, importer, gate=gate)

    move.outcome()
    with pytest.raises(ImportRefused):
        importer.outcome()
    assert [e["row"] for e in plan.errors] == [2]
    assert not Organization.objects.filter(name="迟到的工会").exists()
    assert Organization.objects.get(pk=street.pk).tree_id == tree.gd.tree_id
    assert len(snapshot()[0]) == len(before[0])
    assert all(report.ok for report in integrity.verify_all())


# --- Races found while writing these tests, fixed in the actions --------------------------


@pytest.mark.parametrize("writer", ["import", "create_organization"])
def test_a_child_written_while_its_parent_is_being_dissolved_is_refused(tree, monkeypatch, writer):
    """dissolve_organization holds the tree's lock: the child's writer waits, then sees the
    parent dissolved and refuses, instead of leaving an active union under a dissolved one."""
    street = OrganizationFactory(
        name="待撤销街道总工会", level=Level.TOWNSHIP, parent=tree.xihu, region_code="330106"
    )
    plan = checked(tree, [union_row(名称="迟到的工会", 上级工会编号=str(street.pk))])
    assert plan.errors == []
    gate = hold_single_write_after_saving(monkeypatch, "dissolve")
    dissolve = Worker("dissolve", lambda: actions.dissolve_organization(organization=street))
    if writer == "import":
        child = Worker("child", lambda: import_unions(plan=plan))
    else:
        data = {"name": "迟到的工会", "level": Level.GRASSROOTS, "region_code": "330106"}
        child = Worker("child", lambda: actions.create_organization(parent=street, data=data))
    dissolve.start()
    try:
        assert gate.reached.wait(TIMEOUT)
        child.start()
        wait_for_waiter_on_tree_lock(tree.zj.tree_id)
        assert child.is_alive()
    finally:
        run_all(dissolve, child, gate=gate)
    dissolve.outcome()
    with pytest.raises(ValidationError):  # ImportRefused is a ValidationError
        child.outcome()
    assert not Organization.objects.filter(name="迟到的工会").exists()
    assert_consistent(tree.zj)


def test_an_import_under_a_union_moved_to_another_province_locks_the_new_tree(tree, monkeypatch):
    """The import reads the tree of the union it imports under again once locked (as
    tree_write does): moved to Guangdong meanwhile, Guangdong's lock is taken too, so a
    Guangdong writer cannot interleave and both trees stay exact."""
    plan = checked(
        tree, [union_row(名称="随迁新厂工会", 上级工会编号=str(tree.xihu.pk))], under=tree.hz
    )
    assert plan.errors == []
    move_gate = hold_single_write_after_saving(monkeypatch, "move")
    shift_gate = hold_import_after_writing(monkeypatch, "import")
    move = Worker(
        "move", lambda: actions.move_organization(organization=tree.hz, new_parent=tree.gd)
    )
    importer = Worker("import", lambda: import_unions(plan=plan))
    other = Worker(
        "gd-writer",
        lambda: actions.create_organization(
            parent=tree.union_c, data={"name": "丙公司新小组", "level": Level.GROUP}
        ),
    )
    move.start()
    try:
        assert move_gate.reached.wait(TIMEOUT)
        importer.start()
        wait_for_waiter_on_tree_lock(tree.zj.tree_id)
        move_gate.released.set()
        move.outcome()
        assert shift_gate.reached.wait(TIMEOUT)
        assert _tree_locks(tree.gd.tree_id, granted=True) == 1  # the import holds Guangdong
        other.start()
        wait_for_waiter_on_tree_lock(tree.gd.tree_id)
        assert other.is_alive()
    finally:
        shift_gate.released.set()
        run_all(move, importer, other, gate=move_gate)
    importer.outcome()
    other.outcome()
    assert Organization.objects.get(name="随迁新厂工会").tree_id == tree.gd.tree_id
    assert_consistent(tree.gd, tree.zj)
