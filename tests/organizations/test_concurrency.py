"""Concurrent tree writes on PostgreSQL never corrupt lft/rght (real connections, threads)."""

import random
import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction

from organizations import actions, integrity
from organizations.models import Level, Organization
from tests.factories import OrganizationFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL locking"),
]

THREADS = 8
OPERATIONS = 200


@pytest.fixture
def provinces(transactional_db):
    national = OrganizationFactory(name="中华全国总工会", level=Level.NATIONAL)
    cities, counties = [], []
    for p, (pname, code) in enumerate([("浙江省总工会", "330000"), ("广东省总工会", "440000")]):
        province = OrganizationFactory(
            name=pname, level=Level.PROVINCIAL, parent=national, region_code=code
        )
        for c in range(2):
            city = OrganizationFactory(name=f"市{p}{c}", level=Level.CITY, parent=province)
            cities.append(city.pk)
            for k in range(2):
                county = OrganizationFactory(name=f"县{p}{c}{k}", level=Level.COUNTY, parent=city)
                counties.append(county.pk)
    return cities, counties


def _worker(seed, jobs, cities, counties, errors, lock):
    rng = random.Random(seed)
    try:
        for n in range(jobs):
            try:
                with lock:
                    county_ids = list(counties)
                roll = rng.random()
                if roll < 0.55:  # insert a grassroots union under a random county
                    parent = Organization.objects.get(pk=rng.choice(county_ids))
                    OrganizationFactory(
                        name=f"工会{seed}-{n}", level=Level.GRASSROOTS, parent=parent
                    )
                elif roll < 0.65:  # insert a new county, which later inserts may use
                    parent = Organization.objects.get(pk=rng.choice(cities))
                    county = OrganizationFactory(
                        name=f"新县{seed}-{n}", level=Level.COUNTY, parent=parent
                    )
                    with lock:
                        counties.append(county.pk)
                elif roll < 0.85:  # move a grassroots union to any county (often across trees)
                    union = (
                        Organization.objects.filter(level=Level.GRASSROOTS).order_by("?").first()
                    )
                    if union is None:
                        continue
                    target = Organization.objects.get(pk=rng.choice(county_ids))
                    actions.move_organization(organization=union, new_parent=target)
                else:  # move a whole county subtree to another city
                    county = Organization.objects.get(pk=rng.choice(county_ids))
                    target = Organization.objects.get(pk=rng.choice(cities))
                    actions.move_organization(organization=county, new_parent=target)
            except ValidationError:
                pass  # e.g. moved onto its current parent: a refused no-op is fine
    except Exception as exc:  # surfaced to the main thread
        errors.append(repr(exc))
    finally:
        connections.close_all()


def _pairs_from_mptt():
    """(ancestor, descendant) pairs from the MPTT ranges, linked trees included."""
    rows = list(Organization.objects.values_list("pk", "tree_id", "lft", "rght", "level"))
    by_tree = {}
    for pk, tree_id, lft, _rght, _level in rows:
        by_tree.setdefault(tree_id, []).append((lft, pk))
    pairs = set()
    for pk, tree_id, lft, rght, level in rows:
        if level == Level.NATIONAL:
            pairs |= {(pk, other) for other, *_ in rows}
            continue
        pairs |= {(pk, d) for d_lft, d in by_tree[tree_id] if lft <= d_lft <= rght}
    return pairs


def _pairs_from_recursive_cte():
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE walk(ancestor, descendant) AS (
                SELECT id, id FROM organizations_organization
                UNION ALL
                SELECT walk.ancestor, child.id
                FROM walk JOIN organizations_organization child
                  ON child.parent_id = walk.descendant
            )
            SELECT ancestor, descendant FROM walk
            """
        )
        return set(cursor.fetchall())


def test_parallel_inserts_and_moves_keep_the_tree_valid(provinces):
    cities, counties = provinces
    errors, lock = [], threading.Lock()
    threads = [
        threading.Thread(
            target=_worker,
            args=(seed, OPERATIONS // THREADS, cities, counties, errors, lock),
        )
        for seed in range(THREADS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads)

    reports = integrity.verify_all()
    assert all(r.ok for r in reports), [r.problems[:5] for r in reports if not r.ok]
    assert Organization.objects.filter(level=Level.GRASSROOTS).count() > 50
    assert _pairs_from_mptt() == _pairs_from_recursive_cte()


def test_a_second_writer_waits_for_the_tree_lock(provinces):
    cities, _ = provinces
    city = Organization.objects.get(pk=cities[0])
    held, released_at, finished_at = threading.Event(), [], []

    def first_writer():
        try:
            with actions.tree_write(city):
                held.set()
                time.sleep(0.5)
                released_at.append(time.monotonic())
        finally:
            connections.close_all()

    def second_writer():
        try:
            held.wait(5)
            OrganizationFactory(name="等待的县", level=Level.COUNTY, parent=city)
            finished_at.append(time.monotonic())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first_writer), threading.Thread(target=second_writer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert finished_at and released_at
    assert finished_at[0] >= released_at[0]
    assert all(r.ok for r in integrity.verify_all())


def test_a_writer_in_another_province_does_not_wait(provinces):
    cities, _ = provinces
    zj_city, gd_city = (Organization.objects.get(pk=c) for c in (cities[0], cities[-1]))
    assert zj_city.tree_id != gd_city.tree_id
    held, done = threading.Event(), threading.Event()

    def hold_zj():
        try:
            with actions.tree_write(zj_city):
                held.set()
                done.wait(10)  # released only after the other province finished
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_zj)
    holder.start()
    try:
        assert held.wait(5)
        with transaction.atomic():
            OrganizationFactory(name="不等待的县", level=Level.COUNTY, parent=gd_city)
    finally:
        done.set()
        holder.join(timeout=15)
    assert Organization.objects.filter(name="不等待的县").exists()
