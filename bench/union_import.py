"""P9: bulk union import of a province (issue 20) against a raw COPY of the same rows.

On PostgreSQL (a throwaway cluster with the test suite's settings, as the other scripts start
it, or the server of DATABASE_URL), the national federation, an empty province (浙江省总工会)
and a second province of 2,000 unions (imported while setting up, not timed). A forked
process lays out a province of N unions (default 100,000) as `bench/dataset.py` does (cities,
counties, townships and subdistricts, grassroots unions mostly under townships, 3 % of the
rows union groups) and writes it as the import template's CSV: credit codes on every
federation and on 90 % of the grassroots unions (the others and the groups are named by a
编号), region codes, employee numbers and founding dates on grassroots unions, addresses and
phones on half of them. Then, each state restored from a template database:

  P9a  UnionHub: `importing.checker.check` on the CSV file, then
       `actions.imports.import_unions` (re-check under the tree lock, nested sets in memory,
       one shift, COPY, counters, audit) into the empty province: time of each, rows/s.
  C    the baseline, in the same run: a raw COPY of exactly the rows P9a wrote (every
       column, lft/rght/tree_id/depth and parent ids as written) into the organizations
       table of the same empty database, in one transaction; rows/s. Then dropped.
  P9b  5,000 new unions (grassroots unions and their groups under existing townships,
       counties and cities) into the province of N: check and write.
  P9c  the P9a file again into the province it made: nothing changes (rows with a credit
       code are found by it, the others by name under the same parent); check and write.

After each run: the number of rows, `integrity.verify_tree` on the province, the
organization counters against a count (`counters.verify`), the roll-up fold (a Celery
worker's job after the commit, timed on its own), the province's roll-ups of units and
employees against a count, the pinyin keys of every 50th union against the model's, and the
second province's rows keep their row versions (`xmin`, `ctid`). Memory: the growth of the
process's peak RSS (`ru_maxrss`) during P9a's check and whole import (the process is fresh:
the files are made in a forked child), and with `--trace` the tracemalloc peaks of the check
and the write in a separate pass at the end (tracemalloc makes it about four times slower).

Usage:  .venv/bin/python bench/union_import.py [--unions 100000] [--new 5000] [--repeat 1]
                                               [--trace] [--keep-files DIR]
Figures and what limits them: docs/performance.md, "P9".
"""

from __future__ import annotations

import argparse
import gc
import itertools
import multiprocessing
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

WORK, EMPTY, FULL = "bench_p9_work", "bench_p9_empty", "bench_p9_full"
PROVINCE_NAME, PROVINCE_REGION = "浙江省总工会", "330000"
OTHER_NAME, OTHER_REGION, OTHER_SIZE = "宁夏回族自治区总工会", "640000", 2_000
TABLE = "organizations_organization"


# --------------------------------------------------------------------------------------- #
# Databases: one to work in, templates to restore a state from
# --------------------------------------------------------------------------------------- #


class Databases:
    def __init__(self, url: str):
        self.url = url

    def url_of(self, name: str) -> str:
        return urlunsplit(urlsplit(self.url)._replace(path=f"/{name}"))

    def _admin(self):
        import psycopg

        return psycopg.connect(self.url_of("postgres"), autocommit=True)

    def copy(self, source: str, target: str) -> None:
        """`target` as a copy of `source` (dropped first if it exists)."""
        from django.db import connections

        connections.close_all()
        with self._admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')

    def create(self, name: str) -> None:
        with self._admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')

    def drop_all(self) -> None:
        from django.db import connections

        connections.close_all()
        with self._admin() as admin:
            for name in (WORK, EMPTY, FULL):
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_database():
    # The roll-up fold is queued for a worker (an in-memory broker: nothing runs it), so the
    # import is timed to its commit; the fold is run and timed on its own afterwards.
    os.environ["CELERY_BROKER_URL"] = "memory://"
    if "DATABASE_URL" in os.environ:
        return None
    from tests.servers import Services

    services = Services()
    services.start()
    return services


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unionhub.settings")
    os.environ["DEBUG"] = "false"  # no query log: it would grow with every statement
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import logging

    import django

    django.setup()
    # Celery's in-memory broker still builds a connection object that warns about its host.
    logging.getLogger("kombu.connection").setLevel(logging.ERROR)


# --------------------------------------------------------------------------------------- #
# The files (made in a forked process: the measured process never holds the layout)
# --------------------------------------------------------------------------------------- #


class Codes:
    """Valid, unique credit codes of trade unions (authority 8, type 1)."""

    def __init__(self, start: int):
        self.serial = itertools.count(start)

    def __call__(self, region: str) -> str:
        from stdnum.cn import uscc

        body = f"81{region or PROVINCE_REGION}{next(self.serial):09d}"
        return body + uscc.calc_check_digit(body)


def _details(union, cells: dict, rng: random.Random) -> None:
    """Employees, founding date, address and phone of a grassroots union."""
    if union.level != "grassroots":
        return
    if union.employees:
        cells["职工人数"] = str(union.employees)
    if union.founded_on:
        cells["成立日期"] = union.founded_on.isoformat()
    if rng.random() < 0.5:
        cells["地址"] = f"{union.name[:8]}路{rng.randint(1, 999)}号"
    if rng.random() < 0.5:
        cells["联系电话"] = (
            f"0571-8{rng.randrange(10**6, 10**7)}"
            if rng.random() < 0.5
            else f"13{rng.randrange(5, 10)}{rng.randrange(10**7, 10**8)}"
        )


def province_rows(layout, root_code: str, codes: Codes, rng: random.Random, ref_prefix: str):
    """The template's rows for every union of `layout` below its root (tree order)."""
    from organizations.importing.columns import level_label

    root = layout[0]
    code_of, ref_of = {id(root): root_code}, {}
    labels = {}
    rows = []
    names = set()  # (parent, name): a federation names no two of its unions alike
    for n, union in enumerate(layout[1:], start=1):
        name = union.name
        for k in itertools.count(2):
            if (id(union.parent), name) not in names:
                break
            name = f"{union.name.removesuffix('工会')}第{k}工会"
        names.add((id(union.parent), name))
        cells = {"名称": name}
        if union.level == "group" or (union.level == "grassroots" and rng.random() < 0.10):
            ref_of[id(union)] = cells["编号"] = f"{ref_prefix}{n}"
        else:
            code_of[id(union)] = cells["统一社会信用代码"] = codes(union.region_code)
        parent = union.parent
        if id(parent) in code_of:
            cells["上级工会统一社会信用代码"] = code_of[id(parent)]
        else:
            cells["上级工会编号"] = ref_of[id(parent)]
        if union.level not in labels:
            labels[union.level] = level_label(union.level)
        cells["级别"] = labels[union.level]
        if union.region_code:
            cells["行政区划代码"] = union.region_code
        _details(union, cells, rng)
        rows.append(cells)
    return rows, code_of, names


def new_rows(layout, code_of: dict, names: set, count: int, codes: Codes, rng: random.Random):
    """`count` new rows: grassroots unions (3 % of the rows their union groups) under the
    layout's townships (90 %), counties (7 %) and cities (3 %), as a year's new unions; none
    has the name of a union under the same parent (it would be that union)."""
    from dataset import company_name

    from organizations.importing.columns import level_label

    by_level = {lv: [u for u in layout if u.level == lv] for lv in ("township", "county", "city")}
    grassroots, group = level_label("grassroots"), level_label("group")
    rows = []
    n = 0
    while len(rows) < count:
        level = rng.choices(["township", "county", "city"], [0.90, 0.07, 0.03])[0]
        parent = rng.choice(by_level[level])
        n += 1
        place = parent.name.removesuffix("总工会")
        name = company_name(rng, place)
        while (id(parent), name) in names:
            name = company_name(rng, place)
        names.add((id(parent), name))
        cells = {"名称": name, "级别": grassroots}
        cells["上级工会统一社会信用代码"] = code_of[id(parent)]
        cells["行政区划代码"] = parent.region_code
        employees = max(3, int(rng.lognormvariate(4, 1.25)))
        cells["职工人数"] = str(employees)
        cells["成立日期"] = f"20{rng.randint(10, 25)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
        groups = rng.randint(2, 8) if rng.random() < 0.006 else 0
        if groups or rng.random() < 0.10:
            cells["编号"] = f"B{n}"
        else:
            cells["统一社会信用代码"] = codes(parent.region_code)
        rows.append(cells)
        for g in range(min(groups, count - len(rows))):
            parent_ref = cells.get("编号")
            rows.append(
                {
                    "名称": f"{cells['名称'][:-2]}第{g + 1}工会小组",
                    "级别": group,
                    "上级工会编号": parent_ref,
                }
            )
    return rows


def write_file(path: Path, rows: list[dict]) -> None:
    from core.spreadsheets import write_csv
    from organizations.importing.columns import HEADERS

    path.write_bytes(write_csv(HEADERS, [[row.get(h, "") for h in HEADERS] for row in rows]))


def make_files(directory: str, unions: int, new: int, codes: dict, seed: int) -> None:
    """Lay out the provinces (`bench/dataset.py`) and write the three CSV files."""
    from dataset import OTHER_PROVINCE, PROVINCE, TreeBuilder, build_province, plan_members

    rng = random.Random(seed)
    directory = Path(directory)
    builder = TreeBuilder(1, 1, rng)
    build_province(builder, 0, *PROVINCE, unions + 1)
    layout = builder.rows
    plan_members(layout, 100 * len(layout), rng)  # employee numbers to match
    rows, code_of, names = province_rows(layout, codes["province"], Codes(1), rng, "N")
    write_file(directory / "p9a.csv", rows)
    write_file(directory / "p9b.csv", new_rows(layout, code_of, names, new, Codes(50_000_000), rng))

    other = TreeBuilder(1, 1, rng)
    build_province(other, 0, *OTHER_PROVINCE, OTHER_SIZE + 1)
    plan_members(other.rows, 100 * len(other.rows), rng)
    rows, _, _ = province_rows(other.rows, codes["other"], Codes(90_000_000), rng, "O")
    write_file(directory / "other.csv", rows)


def read_csv(path: Path) -> list[dict]:
    import csv

    with path.open(encoding="utf-8-sig", newline="") as file:
        return list(csv.DictReader(file))


def count_rows(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in f) - 1


# --------------------------------------------------------------------------------------- #
# Measuring
# --------------------------------------------------------------------------------------- #


def rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def max_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_import(path: Path, province_pk: int, *, memory: bool = False) -> dict:
    """check() then import_unions(); times, counts and (with `memory`) RSS peaks."""
    from organizations.actions.imports import import_unions
    from organizations.importing.checker import check
    from organizations.models import Organization

    under = Organization.objects.get(pk=province_pk)
    gc.collect()
    rss0, peak0 = rss_kib(), max_rss_kib()
    start = time.perf_counter()
    with path.open("rb") as file:
        plan = check(file, path.name, under=under)
    checked = time.perf_counter()
    peak1 = max_rss_kib()
    if plan.errors:
        sys.exit(f"{path.name}: unexpected errors {plan.errors[:5]}")
    counts = plan.counts()
    result = import_unions(plan=plan)
    written = time.perf_counter()
    peak2 = max_rss_kib()
    out = {
        "rows": len(plan.rows),
        "check": checked - start,
        "write": written - checked,
        "total": written - start,
        "counts": counts,
        "missing": plan.missing,
        "created": len(result["created_ids"]),
    }
    if memory:
        # Growth of the peak over the RSS at the start; meaningful while each phase sets a new
        # peak of this process (checked: a lower peak is reported as "not measured").
        out["rss_check"] = (peak1 - rss0) if peak1 > peak0 else None
        out["rss_total"] = (peak2 - rss0) if peak2 > peak0 else None
        out["rss_start"] = rss0
    return out


def trace_import(path: Path, province_pk: int) -> tuple[int, int]:
    """tracemalloc peaks (bytes) of the check and of the write, the plan held throughout."""
    from organizations.actions.imports import import_unions
    from organizations.importing.checker import check
    from organizations.models import Organization

    under = Organization.objects.get(pk=province_pk)
    gc.collect()
    tracemalloc.start()
    try:
        with path.open("rb") as file:
            plan = check(file, path.name, under=under)
        check_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        import_unions(plan=plan)
        write_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return check_peak, write_peak


def profile_import(path: Path, province_pk: int, top: int) -> None:
    """P9a under cProfile: the functions that took the most time of their own, then the
    most time with what they called (check and write together)."""
    import cProfile
    import pstats

    from organizations.actions.imports import import_unions
    from organizations.importing.checker import check
    from organizations.models import Organization

    under = Organization.objects.get(pk=province_pk)
    profiler = cProfile.Profile()
    profiler.enable()
    with path.open("rb") as file:
        plan = check(file, path.name, under=under)
    import_unions(plan=plan)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def fingerprint(tree_id: int) -> tuple:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), md5(string_agg(xmin::text || ctid::text, ',' ORDER BY id))"
            f" FROM {TABLE} WHERE tree_id = %s",
            [tree_id],
        )
        return cursor.fetchone()


def row_versions(tree_id: int) -> dict[int, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, xmin::text FROM {TABLE} WHERE tree_id = %s", [tree_id])
        return dict(cursor.fetchall())


def verify(province_pk: int, expected: int, other_tree: int, other_before: tuple) -> str:
    """Rows, the tree check, counters, the fold and the roll-up of units; returns a line."""
    from django.db.models import F

    from organizations import counters, integrity, rollups, statkeys, validators
    from organizations.models import Organization

    province = Organization.objects.get(pk=province_pk)
    size = Organization.objects.filter(tree_id=province.tree_id).count()
    if size != expected:
        sys.exit(f"the province has {size} unions, expected {expected}")
    start = time.perf_counter()
    report = integrity.verify_tree(province.tree_id)
    tree_s = time.perf_counter() - start
    if not report.ok:
        sys.exit(f"broken tree: {report.problems[:5]}")
    drift = counters.verify(["organizations."])
    if not drift.ok:
        sys.exit(f"counters drifted: {list(drift.wrong.items())[:5]}")
    start = time.perf_counter()
    folded = rollups.fold()
    fold_s = time.perf_counter() - start
    totals = rollups.totals(province)
    units = sum(v for k, v in totals.items() if k.startswith(statkeys.UNITS.prefix + "."))
    below = Organization.objects.filter(tree_id=province.tree_id, status="active").count()
    if units != below:
        sys.exit(f"roll-up of units {units}, {below} active unions in the subtree")
    employees = totals.get(statkeys.EMPLOYEES, 0)
    truth = _employees(province.tree_id)
    if employees != truth:
        sys.exit(f"roll-up of employees {employees}, the rows say {truth}")
    if fingerprint(other_tree) != other_before:
        sys.exit("the other province's rows were rewritten")
    # The pinyin keys, as the model derives them, on every 50th union.
    sample = (
        Organization.objects.filter(tree_id=province.tree_id)
        .alias(every=F("id") % 50)
        .filter(every=0)
    )
    for name, short_name, full, short in sample.values_list(
        "name", "short_name", "name_pinyin", "name_initials"
    ):
        if validators.search_keys(name, short_name) != (full, short):
            sys.exit(f"pinyin keys of {name}: {full} {short}")
    return (
        f"ok: {size:,} rows; verify_tree {tree_s:.1f} s; counters exact; fold of "
        f"{folded:,} journal rows {fold_s:.1f} s; roll-ups of units and employees exact; the "
        f"other province's {other_before[0]:,} rows untouched; pinyin keys as the model's"
    )


def _employees(tree_id: int) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COALESCE(SUM(employees), 0) FROM {TABLE}"
            " WHERE tree_id = %s AND level = 'grassroots' AND status = 'active'",
            [tree_id],
        )
        return cursor.fetchone()[0]


def dump_rows(province_pk: int, tree_id: int) -> tuple[list[str], bytes]:
    """Every column of the rows the import wrote, as COPY text (not timed)."""
    from django.db import connection

    from organizations.models import Organization

    columns = [f.column for f in Organization._meta.concrete_fields]
    chunks = []
    with connection.cursor() as cursor:
        sql = (
            f"COPY (SELECT {', '.join(columns)} FROM {TABLE}"
            f" WHERE tree_id = {int(tree_id)} AND id <> {int(province_pk)} ORDER BY id)"
            " TO STDOUT"
        )
        with cursor.copy(sql) as copy:
            for data in copy:
                chunks.append(bytes(data))
    return columns, b"".join(chunks)


def raw_copy(columns: list[str], dump: bytes) -> float:
    from django.db import connection, transaction

    start = time.perf_counter()
    sql = f"COPY {TABLE} ({', '.join(columns)}) FROM STDIN"
    with transaction.atomic(), connection.cursor() as cursor, cursor.copy(sql) as copy:
        step = 1 << 20
        for at in range(0, len(dump), step):
            copy.write(dump[at : at + step])
    return time.perf_counter() - start


# --------------------------------------------------------------------------------------- #
# The run
# --------------------------------------------------------------------------------------- #


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unions", type=int, default=100_000, help="rows of the P9a file")
    parser.add_argument("--new", type=int, default=5_000, help="rows of the P9b file")
    parser.add_argument("--repeat", type=int, default=1, help="P9a and COPY, alternating")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--trace", action="store_true", help="add the tracemalloc pass (about 4x slower)"
    )
    parser.add_argument("--keep-files", type=Path, help="write the CSV files here and keep them")
    parser.add_argument(
        "--profile", type=int, metavar="N", help="add a cProfile pass of P9a; print N functions"
    )
    args = parser.parse_args()

    services = start_database()
    databases = Databases(os.environ["DATABASE_URL"])
    try:
        run(args, databases)
    finally:
        databases.drop_all()
        if services is not None:
            services.stop()


def run(args, databases: Databases) -> None:
    databases.create(WORK)
    os.environ["DATABASE_URL"] = databases.url_of(WORK)
    setup_django()
    from django.core.management import call_command
    from django.db import connection, connections

    from organizations import actions, rollups
    from organizations.actions.imports import import_unions
    from organizations.importing.checker import check
    from organizations.models import Level, Organization

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    codes = {"province": Codes(0)(PROVINCE_REGION), "other": Codes(1)(OTHER_REGION)}
    national = actions.create_national_federation(data={"name": "中华全国总工会"})
    province = actions.create_organization(
        parent=national,
        data={
            "name": PROVINCE_NAME,
            "level": Level.PROVINCIAL,
            "region_code": PROVINCE_REGION,
            "uscc": codes["province"],
        },
    )
    other = actions.create_organization(
        parent=national,
        data={
            "name": OTHER_NAME,
            "level": Level.PROVINCIAL,
            "region_code": OTHER_REGION,
            "uscc": codes["other"],
        },
    )
    connections.close_all()

    temporary = None
    if args.keep_files:
        directory = args.keep_files
        directory.mkdir(parents=True, exist_ok=True)
    else:
        temporary = tempfile.TemporaryDirectory(prefix="p9-")
        directory = Path(temporary.name)
    maker = multiprocessing.get_context("fork").Process(
        target=make_files, args=(str(directory), args.unions, args.new, codes, args.seed)
    )
    maker.start()
    maker.join()
    if maker.exitcode:
        sys.exit("making the files failed")
    p9a, p9b, other_file = directory / "p9a.csv", directory / "p9b.csv", directory / "other.csv"
    sizes = {p: count_rows(p) for p in (p9a, p9b, other_file)}

    with other_file.open("rb") as file:
        plan = check(file, other_file.name, under=other)
    if plan.errors:
        sys.exit(f"other.csv: {plan.errors[:5]}")
    import_unions(plan=plan)
    rollups.fold()
    other_tree = Organization.objects.get(pk=other.pk).tree_id
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    other_before = fingerprint(other_tree)
    databases.copy(WORK, EMPTY)
    print(
        f"set up in {time.perf_counter() - started:.1f} s: {sizes[p9a]:,} rows in p9a.csv "
        f"({p9a.stat().st_size / 2**20:.1f} MiB), {sizes[p9b]:,} in p9b.csv; the other "
        f"province {other_before[0]:,} unions; PostgreSQL {connection.pg_version}, "
        f"{os.cpu_count()} cores",
        flush=True,
    )

    # --- P9a and the raw COPY, alternating --------------------------------------------------
    p9a_runs, copy_times = [], []
    columns = dump = None
    for n in range(args.repeat):
        if n:
            databases.copy(EMPTY, WORK)
        result = run_import(p9a, province.pk, memory=n == 0)
        p9a_runs.append(result)
        print(
            f"P9a run {n + 1}: {result['rows']:,} rows: check {result['check']:.1f} s, "
            f"write {result['write']:.1f} s, total {result['total']:.1f} s "
            f"({result['rows'] / result['total']:,.0f} rows/s); created {result['created']:,}",
            flush=True,
        )
        print("  " + verify(province.pk, 1 + sizes[p9a], other_tree, other_before), flush=True)
        if n == 0:
            columns, dump = dump_rows(province.pk, province.tree_id)
            databases.copy(WORK, FULL)
        databases.copy(EMPTY, WORK)
        copy_times.append(raw_copy(columns, dump))
        copied = Organization.objects.filter(tree_id=province.tree_id).count() - 1
        assert copied == sizes[p9a], copied
        print(
            f"C   run {n + 1}: raw COPY of the same {copied:,} rows "
            f"{copy_times[-1]:.2f} s ({copied / copy_times[-1]:,.0f} rows/s)",
            flush=True,
        )
    del dump

    # --- P9c: the same file again, nothing changes ----------------------------------------
    databases.copy(FULL, WORK)
    province = Organization.objects.get(pk=province.pk)
    before = row_versions(province.tree_id)
    p9c = run_import(p9a, province.pk)
    rewritten = sum(1 for k, v in row_versions(province.tree_id).items() if before.get(k) != v)
    print(
        f"P9c the same file again: {p9c['rows']:,} rows {p9c['counts']}: check "
        f"{p9c['check']:.1f} s, write {p9c['write']:.1f} s, total {p9c['total']:.1f} s; "
        f"rows rewritten {rewritten}",
        flush=True,
    )
    if p9c["counts"]["unchanged"] != p9c["rows"] or rewritten:
        sys.exit("the same file again changed something")
    print("  " + verify(province.pk, 1 + sizes[p9a], other_tree, other_before), flush=True)

    # --- P9b: new unions into the province of N ---------------------------------------------
    databases.copy(FULL, WORK)
    province = Organization.objects.get(pk=province.pk)
    before = row_versions(province.tree_id)
    p9b_run = run_import(p9b, province.pk)
    after = row_versions(province.tree_id)
    rewritten = sum(1 for k, v in before.items() if after.get(k) != v)
    parents = len({row.get("上级工会统一社会信用代码") for row in read_csv(p9b)} - {None, ""})
    print(
        f"P9b {p9b_run['rows']:,} new unions under {parents:,} unions of the province of "
        f"{sizes[p9a] + 1:,}: check {p9b_run['check']:.1f} s, write {p9b_run['write']:.1f} s, "
        f"total {p9b_run['total']:.1f} s; created {p9b_run['created']:,}; {rewritten:,} "
        "existing rows shifted",
        flush=True,
    )
    if p9b_run["created"] != p9b_run["rows"]:
        sys.exit("P9b did not create every row")
    print(
        "  " + verify(province.pk, 1 + sizes[p9a] + sizes[p9b], other_tree, other_before),
        flush=True,
    )

    # --- Memory: tracemalloc, in a separate (slower) pass -----------------------------------
    traced = None
    if args.trace:
        databases.copy(EMPTY, WORK)
        start = time.perf_counter()
        traced = trace_import(p9a, province.pk)
        print(
            f"tracemalloc pass of P9a ({time.perf_counter() - start:.1f} s): check peak "
            f"{traced[0] / 2**20:.0f} MiB, write peak {traced[1] / 2**20:.0f} MiB",
            flush=True,
        )

    if args.profile:
        databases.copy(EMPTY, WORK)
        profile_import(p9a, province.pk, args.profile)

    # --- Summary ---------------------------------------------------------------------------
    first = p9a_runs[0]
    check_s = statistics.median(r["check"] for r in p9a_runs)
    write_s = statistics.median(r["write"] for r in p9a_runs)
    total_s = statistics.median(r["total"] for r in p9a_runs)
    rows = first["rows"]
    u, c = rows / total_s, rows / statistics.median(copy_times)
    mib = 1024
    print(f"\nP9 union import, {rows:,} unions ({os.cpu_count()} cores), median of {args.repeat}:")
    print(
        f"  P9a into the empty province: check {check_s:.1f} s + write {write_s:.1f} s = "
        f"{total_s:.1f} s (goal <= 60 s: {'met' if total_s <= 60 else 'NOT MET'})"
    )
    print(f"      {u:,.0f} rows/s; raw COPY of the same rows {c:,.0f} rows/s")
    print(f"      ratio {u / c:.3f} (goal >= 0.200: {'met' if u / c >= 0.2 else 'NOT MET'})")
    print(
        f"  P9b {p9b_run['rows']:,} new into the province: {p9b_run['total']:.1f} s "
        f"(check {p9b_run['check']:.1f} s, write {p9b_run['write']:.1f} s)"
    )
    print(
        f"  P9c the file again, nothing changes: {p9c['total']:.1f} s "
        f"(check {p9c['check']:.1f} s, write {p9c['write']:.1f} s)"
    )

    def fmt(kib):
        return "not measured" if kib is None else f"{kib / mib:.0f} MiB"

    print(
        f"  peak RSS growth (ru_maxrss) over {first['rss_start'] / mib:.0f} MiB at the start: "
        f"check {fmt(first['rss_check'])}, whole import {fmt(first['rss_total'])}"
    )
    if traced:
        print(
            f"  tracemalloc peak: check {traced[0] / 2**20:.0f} MiB, whole import "
            f"{max(traced) / 2**20:.0f} MiB ({max(traced) / rows / 1024:.1f} KiB a row)"
        )
    if temporary is not None:
        temporary.cleanup()


if __name__ == "__main__":
    main()
