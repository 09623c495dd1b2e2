"""P3: bulk member load (validate, encrypt, hash) against a raw COPY of the same rows.

On a throwaway PostgreSQL, a county federation with 20 grassroots unions. N rows (default
100,000) of spreadsheet text are generated first (names, valid ID numbers, phones, employer,
...; not timed). Then, alternating, --repeat times:

  U  UnionHub's bulk load, the path of the spreadsheet import's write step and of the
     legacy migration command: every row checked (`RowChecker`: ID number checksum and
     birth date, phone, choices, duplicates within the file and against the database),
     ID number and phone encrypted (Fernet) and the ID number hashed (HMAC) for lookup,
     membership and card numbers assigned, `Member` and `MembershipEvent` rows inserted in
     batches, counters adjusted and the audit recorded, in one transaction
     (`members.actions.enrolment.enrol_checked_rows`, as the import and the command do).
  C  COPY of exactly the rows U wrote (members and their events, values already encrypted
     and hashed), into empty copies of the two tables with the same indexes and
     constraints, in one transaction.

Rows per second of each, median of the repeats; the goal is U at least 1/5 of C.

Usage:  .venv/bin/python bench/member_load.py [--rows 100000] [--repeat 3]
"""

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
UNIONS = 20


def setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unionhub.settings")
    os.environ["DJANGO_ENV"] = "development"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build_tree():
    from common import county_federation

    from organizations import actions
    from organizations.models import Level
    from tests.factories import make_uscc

    county = county_federation()
    return [
        actions.create_organization(
            parent=county,
            data={
                "name": f"基准{n}号公司工会",
                "level": Level.GRASSROOTS,
                "uscc": make_uscc("330106"),
            },
        )
        for n in range(UNIONS)
    ]


def sheet_rows(unions, count: int) -> tuple[list[str], list[tuple[int, dict]]]:
    from members.importing import columns
    from tests.factories import sheet_row

    rows = [
        (n + 2, sheet_row(入会日期="2024-03-01", 所属工会代码=unions[n % len(unions)].uscc))
        for n in range(count)
    ]
    return columns.HEADERS, rows


def load_unionhub(headers, rows) -> float:
    from core.spreadsheets import Table
    from members.actions.enrolment import enrol_checked_rows
    from members.actions.spreadsheets import WRITE_BATCH
    from members.importing.rows import CREATE, RowChecker, checked_chunks

    def batches(checker):
        for chunk in checked_chunks(Table(headers, iter(rows)), checker, WRITE_BATCH):
            errors = [e for row in chunk for e in row.errors]
            if errors:
                sys.exit(f"unexpected errors: {errors[:3]}")
            yield [row for row in chunk if row.outcome == CREATE]

    start = time.perf_counter()
    created = enrol_checked_rows(
        batches=batches(RowChecker(system=True)), source="bench/member_load.py"
    )
    elapsed = time.perf_counter() - start
    assert created == len(rows), created
    return elapsed


TABLES = ("members_member", "members_membershipevent")


def dump_written() -> dict[str, bytes]:
    """The rows U wrote, as COPY text (not timed)."""
    from django.db import connection

    dumps = {}
    with connection.cursor() as cursor:
        for table in TABLES:
            buffer = io.BytesIO()
            with cursor.copy(f"COPY {table} TO STDOUT") as copy:
                for data in copy:
                    buffer.write(data)
            dumps[table] = buffer.getvalue()
    return dumps


def prepare_copies():
    from django.db import connection

    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"DROP TABLE IF EXISTS bench_{table}")
            # Same columns, defaults, checks, indexes and unique constraints; the foreign
            # keys are left out, as a COPY into a staging table would.
            cursor.execute(f"CREATE TABLE bench_{table} (LIKE {table} INCLUDING ALL)")


def load_copy(dumps) -> float:
    from django.db import connection, transaction

    prepare_copies()
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for table in TABLES:
            with cursor.copy(f"COPY bench_{table} FROM STDIN") as copy:
                copy.write(dumps[table])
    return time.perf_counter() - start


def reset():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE members_membershipevent, members_member, organizations_counterdelta "
            "RESTART IDENTITY CASCADE"
        )
        cursor.execute("DELETE FROM organizations_orgcounter WHERE key LIKE 'members.%%'")
        cursor.execute("VACUUM ANALYZE")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from tests.servers import Services

    services = Services()
    services.start()
    try:
        setup_django()
        unions = build_tree()
        started = time.perf_counter()
        headers, rows = sheet_rows(unions, args.rows)
        print(f"{args.rows:,} rows generated in {time.perf_counter() - started:.1f} s", flush=True)
        u_times, c_times = [], []
        for n in range(args.repeat):
            reset()
            u_times.append(load_unionhub(headers, rows))
            dumps = dump_written()
            c_times.append(load_copy(dumps))
            print(
                f"  run {n + 1}: U {u_times[-1]:6.1f} s ({args.rows / u_times[-1]:8,.0f} rows/s)"
                f"   C {c_times[-1]:6.2f} s ({args.rows / c_times[-1]:9,.0f} rows/s)",
                flush=True,
            )
        u = args.rows / statistics.median(u_times)
        c = args.rows / statistics.median(c_times)
        print(
            f"\nP3 bulk member load of {args.rows:,} rows ({os.cpu_count()} cores), median of "
            f"{args.repeat}:\n  U UnionHub (check, encrypt, hash, insert): {u:9,.0f} rows/s"
            f"\n  C raw COPY of the same rows:               {c:9,.0f} rows/s"
            f"\n  U/C = {u / c:.2f} (goal at least 0.20) {'ok' if u / c >= 0.2 else 'BELOW GOAL'}"
        )
    finally:
        services.stop()


if __name__ == "__main__":
    main()
