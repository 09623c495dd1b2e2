import datetime

from django.core.management.base import BaseCommand, CommandError

from reports import actions


class Command(BaseCommand):
    help = (
        "Rebuild the daily member figures of past days from the membership history "
        "(for trends before snapshots were taken)."
    )

    def add_arguments(self, parser):
        parser.add_argument("start", help="first day, YYYY-MM-DD")
        parser.add_argument("end", nargs="?", help="last day (default: yesterday)")

    def handle(self, *args, start, end=None, **options):
        try:
            first = datetime.date.fromisoformat(start)
            last = datetime.date.fromisoformat(end) if end else None
        except ValueError as exc:
            raise CommandError("Dates are YYYY-MM-DD.") from exc
        written = actions.backfill(first, last)
        self.stdout.write(f"{written} daily figures written")
