"""P4: the admin's spreadsheet import of 10,000 rows against a stock django-import-export
resource on the same file.

On a throwaway PostgreSQL, a grassroots union and its administrator; two XLSX files laid out
as the import template: a clean one of N rows (default 10,000), and the same rows with 1 %
of them broken (a wrong ID check digit, an impossible phone number, an unknown education).
Alternating, --repeat times:

  U  UnionHub, as the admin runs it: `start_member_import` (the upload), the check the
     upload queues (Celery, eager here), `confirm_member_import` and the import run; the
     whole file is checked with one query per 2,000 rows and written in batches, in one
     transaction, with counters, events and an audit entry.
  S  a django-import-export `ModelResource` for `Member`, used as its documentation shows:
     `import_data(dry_run=True)` for the report, then `import_data(dry_run=False)`. Its
     rows are validated by the same rules (`members.people.clean_person`, the choice labels
     of the model) and encrypted the same way (`apply_person`); each row is looked up by its
     ID number's hash and saved, with its JOINED event, one by one (the library's default).

Both check the broken file first: the script prints the rows each reports and requires the
two reports to name the same rows. Then each imports the clean file; the tables are emptied
between runs. Goal: U at least 5x faster than S.

Usage:  .venv/bin/python bench/import_compare.py [--rows 10000] [--repeat 3]
Needs django-import-export (requirements-dev.txt).
"""

import argparse
import io
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "unionhub.settings")
    os.environ["DJANGO_ENV"] = "development"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build():
    from common import county_federation
    from django.contrib.auth import get_user_model

    from organizations import actions
    from organizations.models import Level
    from tests.factories import make_uscc

    union = actions.create_organization(
        parent=county_federation(),
        data={
            "name": "基准科技有限公司工会",
            "level": Level.GRASSROOTS,
            "uscc": make_uscc("330106"),
        },
    )
    officer = get_user_model().objects.create_user("bench_admin", password="!")
    actions.grant_role(user=officer, organization=union, role="admin")
    return union, officer


def rows(count: int) -> list[dict]:
    from tests.factories import sheet_row

    return [sheet_row(入会日期="2024-03-01") for _ in range(count)]


def broken(clean: list[dict], rng) -> tuple[list[dict], set[int]]:
    """The same rows with 1 % broken; the sheet row numbers of the broken ones."""
    rows_ = [dict(r) for r in clean]
    bad = set()
    for n, index in enumerate(rng.sample(range(len(rows_)), max(3, len(rows_) // 100))):
        row = rows_[index]
        if n % 3 == 0:
            number = row["身份证号"]
            row["身份证号"] = number[:-1] + ("0" if number[-1] != "0" else "1")
        elif n % 3 == 1:
            row["手机号"] = "1234"
        else:
            row["学历"] = "幼儿园"
        bad.add(index + 2)  # the header is row 1
    return rows_, bad


# --- U: UnionHub -------------------------------------------------------------------------


def unionhub_check(union, officer, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import transaction

    from members.actions import spreadsheets

    with transaction.atomic():
        job = spreadsheets.start_member_import(
            organization=union,
            uploaded_file=SimpleUploadedFile("members.xlsx", content),
            acting_user=officer,
        )
    job.refresh_from_db()  # the check ran when the upload committed (eager Celery)
    return job


def unionhub_import(union, officer, content: bytes) -> tuple[float, int]:
    from django.db import transaction

    from members.actions import spreadsheets
    from members.models import ImportStatus

    start = time.perf_counter()
    job = unionhub_check(union, officer, content)
    assert job.status == ImportStatus.VALIDATED, (job.status, job.errors[:3])
    with transaction.atomic():
        spreadsheets.confirm_member_import(job=job, acting_user=officer)
    job.refresh_from_db()
    elapsed = time.perf_counter() - start
    assert job.status == ImportStatus.DONE, job.status
    return elapsed, job.result["created"]


def unionhub_report(union, officer, content: bytes) -> set[int]:
    job = unionhub_check(union, officer, content)
    return {error["row"] for error in job.errors}


# --- S: the stock django-import-export resource ---------------------------------------------


def stock_resource(union):
    from django.core.exceptions import ValidationError
    from django.utils import timezone, translation
    from import_export import fields, resources, widgets

    from core import crypto
    from members.cards import new_card_numbers, new_membership_numbers
    from members.models import EventKind, Member, MembershipEvent, MemberStatus
    from members.people import apply_person, clean_person

    with translation.override("zh-hans"):
        labels = {
            name: {str(label): value for value, label in Member._meta.get_field(name).choices}
            for name in ("ethnicity", "education", "employment_type")
        }

    class MemberResource(resources.ModelResource):
        name = fields.Field(attribute="name", column_name="姓名")
        id_number = fields.Field(column_name="身份证号")
        phone = fields.Field(column_name="手机号")
        ethnicity = fields.Field(column_name="民族")
        education = fields.Field(column_name="学历")
        employer = fields.Field(attribute="employer", column_name="工作单位")
        job = fields.Field(attribute="job", column_name="职务/岗位")
        employment_type = fields.Field(column_name="用工形式")
        join_date = fields.Field(
            attribute="join_date", column_name="入会日期", widget=widgets.DateWidget("%Y-%m-%d")
        )

        class Meta:
            model = Member
            import_id_fields = ("id_hash",)
            fields = (
                "name",
                "id_number",
                "phone",
                "ethnicity",
                "education",
                "employer",
                "job",
                "employment_type",
                "join_date",
            )
            clean_model_instances = False

        def before_import_row(self, row, **kwargs):
            raw = {
                "name": row.get("姓名"),
                "id_number": row.get("身份证号"),
                "phone": row.get("手机号"),
                "ethnicity": labels["ethnicity"].get(row.get("民族") or ""),
                "education": labels["education"].get(row.get("学历") or "", "?"),
                "employer": row.get("工作单位"),
                "job": row.get("职务/岗位") or "",
                "employment_type": labels["employment_type"].get(row.get("用工形式") or ""),
            }
            row["_clean"] = clean_person(raw)  # ValidationError: a bad row
            row["id_hash"] = crypto.id_hash(row["_clean"]["id_number"])

        def get_instance(self, instance_loader, row):
            return Member.objects.filter(id_hash=row["id_hash"]).first()

        def init_instance(self, row=None):
            return Member(organization=union, status=MemberStatus.ACTIVE)

        def import_instance(self, instance, row, **kwargs):
            super().import_instance(instance, row, **kwargs)
            apply_person(instance, row["_clean"])
            if not instance.join_date:
                raise ValidationError({"join_date": ["?"]})

        def before_save_instance(self, instance, row, **kwargs):
            if not instance.membership_number:
                instance.membership_number = new_membership_numbers(1, instance.join_date.year)[0]
                instance.card_number = new_card_numbers(1)[0]
                instance.card_issued_at = timezone.now()

        def after_save_instance(self, instance, row, **kwargs):
            if not kwargs.get("dry_run"):
                MembershipEvent.objects.create(
                    member=instance,
                    kind=EventKind.JOINED,
                    to_status=MemberStatus.ACTIVE,
                    to_organization_id=instance.organization_id,
                    effective_on=instance.join_date,
                )

    return MemberResource()


def dataset(content: bytes):
    import tablib

    return tablib.Dataset().load(io.BytesIO(content), format="xlsx")


def stock_report(union, content: bytes) -> set[int]:
    result = stock_resource(union).import_data(dataset(content), dry_run=True)
    # import-export numbers data rows from 1; the sheet's header is row 1.
    return {row.number + 1 for row in result.invalid_rows} | {
        number + 1 for number, _errors in result.row_errors()
    }


def stock_import(union, content: bytes) -> tuple[float, int]:
    resource = stock_resource(union)
    start = time.perf_counter()
    data = dataset(content)
    report = resource.import_data(data, dry_run=True)
    problems = [str(e.error) for _n, errors in report.row_errors() for e in errors]
    problems += [str(row.error_dict) for row in report.invalid_rows]
    assert not problems, problems[:3]
    result = resource.import_data(data, dry_run=False)
    elapsed = time.perf_counter() - start
    problems = [e.traceback[-600:] for _n, errors in result.row_errors() for e in errors]
    problems += [str(row.error_dict) for row in result.invalid_rows]
    assert not problems, problems[:2]
    return elapsed, result.totals["new"]


def reset():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE members_membershipevent, members_member, members_importjob,"
            " organizations_counterdelta RESTART IDENTITY CASCADE"
        )
        cursor.execute("DELETE FROM organizations_orgcounter WHERE key LIKE 'members.%%'")
        cursor.execute("VACUUM ANALYZE")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    try:
        import import_export  # noqa: F401
    except ImportError:
        sys.exit("django-import-export is not installed: pip install -r requirements-dev.txt")

    from tests.servers import Services

    services = Services()
    services.start()
    os.environ.pop("CELERY_BROKER_URL", None)  # the upload's check runs in this process
    try:
        setup_django()
        from django.conf import settings

        from tests.factories import sheet_xlsx

        settings.MEDIA_ROOT = Path(services.rundir) / "media"
        union, officer = build()
        rng = random.Random(2026)
        clean = rows(args.rows)
        bad_rows, expected = broken(clean, rng)
        clean_file, bad_file = sheet_xlsx(clean), sheet_xlsx(bad_rows)

        ours, theirs = unionhub_report(union, officer, bad_file), stock_report(union, bad_file)
        print(
            f"row report of the broken file: {len(expected)} rows broken;"
            f" UnionHub names {len(ours)}, the stock resource {len(theirs)};"
            f" same rows: {ours == theirs == expected}"
        )
        if not ours == theirs == expected:
            sys.exit(
                f"reports differ: only UnionHub {sorted(ours - theirs)[:5]},"
                f" only stock {sorted(theirs - ours)[:5]}, missed {sorted(expected - ours)[:5]}"
            )
        u_times, s_times = [], []
        for n in range(args.repeat):
            reset()
            elapsed, created = unionhub_import(union, officer, clean_file)
            assert created == args.rows
            u_times.append(elapsed)
            reset()
            elapsed, created = stock_import(union, clean_file)
            assert created == args.rows
            s_times.append(elapsed)
            print(f"  run {n + 1}: U {u_times[-1]:6.1f} s   S {s_times[-1]:6.1f} s", flush=True)
        u, s = statistics.median(u_times), statistics.median(s_times)
        print(
            f"\nP4 spreadsheet import of {args.rows:,} rows (check, then write), median of"
            f" {args.repeat}:\n  U UnionHub admin import: {u:6.1f} s ({args.rows / u:,.0f} rows/s)"
            f"\n  S stock django-import-export resource: {s:6.1f} s ({args.rows / s:,.0f} rows/s)"
            f"\n  S/U = {s / u:.1f}x (goal at least 5x) {'ok' if s / u >= 5 else 'BELOW GOAL'}"
        )
    finally:
        services.stop()


if __name__ == "__main__":
    main()
