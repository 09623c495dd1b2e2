"""Benchmark: a leaf insert into a province-size union tree, next to its baselines.

Builds one province tree of N unions (default 30,000: 11 cities → ~90 counties → ~900
townships → grassroots unions) plus a second province on PostgreSQL, then measures in the
same run, interleaved, median of R repetitions each committed in its own transaction:

  A  UnionHub: `organizations.actions.create_organization` for a grassroots union under a
     random township (lock, re-read, validate, MPTT shift, insert, audit entry)
  B  a plain INSERT of the same row into a copy of the table with the same indexes
     (no tree maintenance at all)
  C  a plain INSERT plus one raw UPDATE shifting the same lft/rght values that A shifts

With --national N, other provinces are added until the table holds N unions (the national
simulation: 1,000,000 by default when the flag is given alone), and after the runs the
benchmark checks, from PostgreSQL's row versions (`xmin`, `ctid`), that the inserts in the
measured province rewrote no row of any other province, and reports how many rows each
insert shifted.

Usage:  .venv/bin/python bench/tree_insert.py [--unions 100000] [--repeat 30]
                                              [--national [1000000]]
Starts a throwaway PostgreSQL (as the test suite does) unless DATABASE_URL is set.
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def start_database():
    if "DATABASE_URL" in os.environ:
        return None
    from tests.servers import Services

    os.environ["CELERY_BROKER_URL"] = "memory://"  # no Redis needed here
    services = Services()
    services.start()
    return services


def build_province(Organization, national, name, code, unions, rng):
    """Bulk-load one province with nested-set fields computed here, in one INSERT batch."""
    from organizations.models import Level

    cities = 11
    counties_per_city = 8
    townships_per_county = 10
    townships = cities * counties_per_city * townships_per_county
    per_township = max(1, (unions - 1 - townships - cities * (1 + counties_per_city)) // townships)

    tree_id = (Organization.objects.order_by("-tree_id").values_list("tree_id", flat=True)[0]) + 1
    rows = []
    counter = 0

    def node(level, label, parent, depth):
        nonlocal counter
        counter += 1
        org = Organization(
            name=label,
            level=level,
            parent=parent,
            region_code="",
            tree_id=tree_id,
            depth=depth,
            lft=counter,
            rght=0,
        )
        org.tree_parent = parent if parent is not None and parent.level != Level.NATIONAL else None
        org.fill_search_keys()
        rows.append(org)
        return org

    def close(org):
        nonlocal counter
        counter += 1
        org.rght = counter

    province = node(Level.PROVINCIAL, name, national, 0)
    province.region_code = code
    # Bulk loading needs primary keys for parent links: allocate them from the sequence.
    for c in range(cities):
        city = node(Level.CITY, f"{name[:2]}第{c}市总工会", province, 1)
        for k in range(counties_per_city):
            county = node(Level.COUNTY, f"{city.name}第{k}县总工会", city, 2)
            for t in range(townships_per_county):
                town = node(Level.TOWNSHIP, f"{county.name}第{t}街道总工会", county, 3)
                for g in range(per_township):
                    close(node(Level.GRASSROOTS, f"{town.name}企业{g}工会", town, 4))
                close(town)
            close(county)
        close(city)
    close(province)
    return rows


def bulk_insert(rows):
    """Insert in tree order, resolving parent ids as we go (parents come first)."""
    from django.db import connection

    from organizations.models import Organization

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('organizations_organization', 'id')) "
            "FROM generate_series(1, %s)",
            [len(rows)],
        )
        ids = [r[0] for r in cursor.fetchall()]
    for org, pk in zip(rows, ids, strict=True):
        org.pk = org.id = pk
    for org in rows:
        org.parent_id = org.parent.pk if org.parent else None
        org.tree_parent_id = org.tree_parent.pk if org.tree_parent else None
    Organization.objects.bulk_create(rows, batch_size=5000)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unions", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--national", type=int, nargs="?", const=1_000_000, default=0)
    args = parser.parse_args()

    services = start_database()
    try:
        run(args)
    finally:
        if services is not None:
            services.stop()


def run(args):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unionhub.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from organizations import actions, integrity
    from organizations.models import Level, Organization

    call_command("migrate", verbosity=0)
    if Organization.objects.exists():
        sys.exit("the benchmark needs an empty database")
    rng = random.Random(2026)

    t0 = time.perf_counter()
    national = actions.create_national_federation(data={"name": "中华全国总工会"})
    rows = build_province(Organization, national, "浙江省总工会", "330000", args.unions, rng)
    bulk_insert(rows)
    other = build_province(Organization, national, "广东省总工会", "440000", 2_000, rng)
    bulk_insert(other)
    others = len(other)
    if args.national:
        # The rest of the country: provinces of equal size until the table holds N unions.
        remaining = args.national - len(rows) - len(other) - 1
        provinces = 29
        for n in range(provinces):
            size_n = remaining // (provinces - n)
            more = build_province(
                Organization, national, f"第{n}省总工会", f"{110000 + n * 10000}", size_n, rng
            )
            bulk_insert(more)
            remaining -= len(more)
            others += len(more)
            print(f"  province {n + 1} of {provinces}: {len(more)} unions", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE organizations_organization")
    build_s = time.perf_counter() - t0
    province = Organization.objects.get(name="浙江省总工会")
    size = Organization.objects.filter(tree_id=province.tree_id).count()
    if not args.national:  # (at national size the final check below is enough)
        assert all(r.ok for r in integrity.verify_all()), "bulk load produced a broken tree"
    fingerprint_sql = (
        f"SELECT count(*), md5(string_agg(xmin::text || ctid::text, ',' ORDER BY id))"
        f" FROM {Organization._meta.db_table} WHERE tree_id <> %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(fingerprint_sql, [province.tree_id])
        before = cursor.fetchone()

    townships = list(
        Organization.objects.filter(tree_id=province.tree_id, level=Level.TOWNSHIP).values_list(
            "pk", flat=True
        )
    )
    table = Organization._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE bench_plain (LIKE {table} INCLUDING ALL)")
    insert_sql = (
        "INSERT INTO {table} (name, short_name, level, parent_id, tree_parent_id, uscc,"
        " region_code, address, contact_phone, status, name_pinyin, name_initials,"
        " created_at, updated_at, lft, rght, tree_id, depth, dues_share_percent,"
        " keeps_retained_members)"
        " VALUES (%s, '', 'grassroots', %s, %s, '', '', '', '', 'active', '', '',"
        " now(), now(), %s, %s, %s, %s, 0, false)"
    )
    shift_sql = (
        f"UPDATE {table} SET"
        " lft = CASE WHEN lft > %(r)s THEN lft + 2 ELSE lft END,"
        " rght = CASE WHEN rght >= %(r)s THEN rght + 2 ELSE rght END"
        " WHERE tree_id = %(t)s AND rght >= %(r)s"
    )

    timings = {"A": [], "B": [], "C": []}
    shifted = []
    for i in range(args.repeat):
        for label in rng.sample(["A", "B", "C"], 3):  # interleaved, random order
            parent = Organization.objects.get(pk=rng.choice(townships))
            if label == "A":
                shifted.append(
                    Organization.objects.filter(
                        tree_id=parent.tree_id, rght__gte=parent.rght
                    ).count()
                )
            start = time.perf_counter()
            if label == "A":
                actions.create_organization(
                    parent=parent, data={"name": f"基准工会A{i}", "level": Level.GRASSROOTS}
                )
            else:
                with transaction.atomic(), connection.cursor() as cursor:
                    if label == "C":
                        cursor.execute(shift_sql, {"r": parent.rght, "t": parent.tree_id})
                    cursor.execute(
                        insert_sql.format(table=table if label == "C" else "bench_plain"),
                        [
                            f"基准工会{label}{i}",
                            parent.pk,
                            parent.pk,
                            parent.rght,
                            parent.rght + 1,
                            parent.tree_id,
                            parent.depth + 1,
                        ],
                    )
            timings[label].append((time.perf_counter() - start) * 1000)
    assert all(r.ok for r in integrity.verify_all()), "the benchmark left a broken tree"
    with connection.cursor() as cursor:
        cursor.execute(fingerprint_sql, [province.tree_id])
        after = cursor.fetchone()

    def figure(label):
        values = sorted(timings[label])
        return statistics.median(values), values[int(len(values) * 0.95) - 1]

    a, b, c = figure("A"), figure("B"), figure("C")
    total = Organization.objects.count()
    print(
        f"tree: {size} unions in the province, {others} in other provinces, {total} in all;"
        f" built in {build_s:.1f}s"
    )
    print(f"repetitions: {args.repeat} each, interleaved; PostgreSQL {connection.pg_version}")
    print(f"A UnionHub leaf insert       median {a[0]:7.2f} ms   p95 {a[1]:7.2f} ms")
    print(f"B plain INSERT (baseline)    median {b[0]:7.2f} ms   p95 {b[1]:7.2f} ms")
    print(f"C INSERT + raw shift UPDATE  median {c[0]:7.2f} ms   p95 {c[1]:7.2f} ms")
    print(f"ratio A/B {a[0] / b[0]:.1f}x   ratio A/C {a[0] / c[0]:.2f}x  (goal A/C <= 1.3)")
    print(
        f"rows shifted by each insert of A: median {statistics.median(shifted):.0f},"
        f" at most {max(shifted)} (of {size} in the province)"
    )
    untouched = before == after
    print(
        f"rows of other provinces ({before[0]}): "
        + ("none rewritten (xmin and ctid unchanged)" if untouched else "REWRITTEN")
    )
    if not untouched:
        sys.exit("an insert in one province rewrote rows of another")


if __name__ == "__main__":
    main()
