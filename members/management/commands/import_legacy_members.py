"""Migrate members from a legacy system's CSV export, at scale (for platform operators)."""

import csv
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError
from django.utils.translation import gettext as _

from core import spreadsheets
from organizations.models import Level, Organization, OrgStatus

from ...actions.enrolment import enrol_checked_rows
from ...importing.columns import UNION_HEADER
from ...importing.rows import CREATE, SKIP, FileError, RowChecker, checked_chunks


class Command(BaseCommand):
    help = (
        "For platform operators: migrate members from a legacy system's CSV export (UTF-8 or "
        "GB18030, the headers of the member import template). The file is streamed; each row "
        "is checked like a spreadsheet import; people who are already members anywhere are "
        "skipped, so a re-run after a crash continues where it stopped. Each batch is written "
        "in its own transaction. Runs as the system: every active grassroots union may be "
        "named. Bad rows are listed in --report (row, column, reason) and not imported."
    )

    def add_arguments(self, parser):
        parser.add_argument("csv_path", help="the CSV file to migrate")
        parser.add_argument(
            "--union-column",
            default=UNION_HEADER,
            help=f"header of the column holding the union's credit code (default {UNION_HEADER})",
        )
        parser.add_argument(
            "--default-union",
            default="",
            help="credit code of the union for rows without one",
        )
        parser.add_argument(
            "--batch-size", type=int, default=5000, help="rows per transaction (default 5000)"
        )
        parser.add_argument("--report", default="", help="write bad rows to this CSV file")
        parser.add_argument(
            "--dry-run", action="store_true", help="check and count, write no member"
        )

    def handle(self, *args, **options):
        path = Path(options["csv_path"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        batch_size = options["batch_size"]
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        default_union = None
        if options["default_union"]:
            code = options["default_union"].strip().upper()
            default_union = Organization.objects.filter(
                uscc=code, level=Level.GRASSROOTS, status=OrgStatus.ACTIVE
            ).first()
            if default_union is None:
                raise CommandError(f"No active grassroots union has the credit code {code}.")
        checker = RowChecker(
            default_union=default_union,
            system=True,
            on_existing="skip",
            union_header=options["union_column"],
        )
        dry_run = options["dry_run"]
        totals = Counter()
        report = None
        try:
            with ExitStack() as stack:
                if options["report"]:
                    report_file = stack.enter_context(
                        open(options["report"], "w", newline="", encoding="utf-8-sig")
                    )
                    report = csv.writer(report_file)
                    report.writerow([_("Row"), _("Column"), _("Reason")])
                file = stack.enter_context(path.open("rb"))
                table = spreadsheets.read_table(file, path.name)
                for chunk in checked_chunks(table, checker, batch_size):
                    self._batch(chunk, checker, totals, report, dry_run)
                    self.stdout.write(
                        f"{totals['read']} read, {totals['created']} "
                        f"{'to create' if dry_run else 'created'}, {totals['skipped']} skipped, "
                        f"{totals['bad']} bad"
                    )
        except FileError as error:
            raise CommandError("; ".join(e["message"] for e in error.errors)) from None
        except spreadsheets.SpreadsheetError as error:
            raise CommandError(f"{error} ({totals['read']} rows read before)") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Done{' (dry run, nothing written)' if dry_run else ''}: "
                f"{totals['read']} read, {totals['created']} "
                f"{'would be created' if dry_run else 'created'}, "
                f"{totals['skipped']} skipped (already members), {totals['bad']} bad"
            )
        )

    def _batch(self, chunk, checker, totals, report, dry_run):
        totals["read"] += len(chunk)
        for row in chunk:
            if row.errors:
                totals["bad"] += 1
                if report is not None:
                    for error in row.errors:
                        report.writerow([error["row"], error["column"], error["message"]])
        if dry_run:
            totals["created"] += sum(row.outcome == CREATE for row in chunk)
            totals["skipped"] += sum(row.outcome == SKIP for row in chunk)
            return
        for attempt in (1, 2):
            new = [row for row in chunk if row.outcome == CREATE]
            try:
                if new:
                    # One transaction per batch: the action's own.
                    enrol_checked_rows(batches=[new], source="import_legacy_members")
                break
            except IntegrityError:
                # Someone enrolled a person of this batch meanwhile: look again, once.
                if attempt == 2:
                    raise
                good = [row for row in chunk if row.ok]
                for row in good:
                    row.outcome = ""
                checker.classify(good)
        totals["created"] += len(new)
        totals["skipped"] += sum(row.outcome == SKIP for row in chunk)
