"""Import a union spreadsheet from the command line (very large files, platform operators)."""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from core import spreadsheets

from ...actions.imports import ImportRefused, import_unions
from ...importing.checker import check
from ...models import Level, Organization
from ...validators import normalize_uscc


class Command(BaseCommand):
    help = (
        "Import unions from an XLSX or CSV file in the union template (UTF-8 with or without "
        "BOM, or GB18030). The whole file is checked first; if any row is bad nothing is "
        "written and the bad rows are listed (and written to --report). Otherwise every new "
        "union is written in one transaction, changed rows update their union and unions "
        "whose parent changed are moved. Runs as the system, inside the subtree of --under "
        "(credit code or id; default: the national federation)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the .xlsx or .csv file")
        parser.add_argument("--under", default="", help="credit code or id of the subtree")
        parser.add_argument("--report", default="", help="write the bad rows to this CSV file")
        parser.add_argument(
            "--check-only", action="store_true", help="check the file, write nothing"
        )

    def handle(self, *args, **options):
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        under = self._under(options["under"])
        started = time.monotonic()
        with path.open("rb") as file:
            plan = check(file, path.name, under=under)
        checked = time.monotonic() - started
        if plan.errors:
            self._report(plan, options["report"])
            raise CommandError(
                f"{len(plan.errors)} problem(s) in {len({e['row'] for e in plan.errors})} "
                "row(s); nothing was written."
            )
        counts = plan.counts()
        self.stdout.write(
            f"checked {len(plan.rows)} rows in {checked:.1f} s: {counts['create']} new, "
            f"{counts['update']} changed ({counts['moved']} moved), {counts['unchanged']} "
            f"unchanged; {plan.missing} union(s) under {under.name} not in the file"
        )
        if options["check_only"]:
            return
        try:
            result = import_unions(plan=plan)
        except ImportRefused:
            self._report(plan, options["report"])
            raise CommandError(
                "The file no longer passes the check; nothing was written."
            ) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"imported in {time.monotonic() - started:.1f} s: {result['create']} created, "
                f"{result['update']} updated, {result['moved']} moved"
            )
        )

    def _under(self, value: str) -> Organization:
        if not value:
            return Organization.objects.get(level=Level.NATIONAL)
        query = Q(uscc=normalize_uscc(value))
        if value.isdigit():
            query |= Q(pk=int(value))
        found = list(Organization.objects.filter(query)[:2])
        if len(found) != 1:
            raise CommandError(f"--under {value}: no single union with this credit code or id")
        return found[0]

    def _report(self, plan, path: str) -> None:
        for error in plan.errors[:50]:
            where = f"row {error['row']}" if error["row"] else "file"
            self.stderr.write(f"{where}, {error['column'] or '-'}: {error['message']}")
        if len(plan.errors) > 50:
            self.stderr.write(f"… and {len(plan.errors) - 50} more")
        if path:
            rows = [[e["row"] or "", e["column"], e["message"]] for e in plan.errors]
            Path(path).write_bytes(spreadsheets.write_csv(["行号", "列", "问题"], rows))
            self.stderr.write(f"report written to {path}")
