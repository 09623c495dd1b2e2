from django.core.management.base import BaseCommand

from organizations import counters


class Command(BaseCommand):
    help = "Compare every statistics counter with a COUNT of its rows; --repair fixes drift."

    def add_arguments(self, parser):
        parser.add_argument("--repair", action="store_true", help="set drifted counters right")
        parser.add_argument("prefix", nargs="*", help="only counters under these prefixes")

    def handle(self, *args, repair=False, prefix=(), **options):
        drift = counters.verify(prefix or None)
        self.stdout.write(f"{drift.checked} counters checked, {len(drift.wrong)} drifted")
        for (org_id, key), (stored, true) in sorted(drift.wrong.items())[:50]:
            self.stdout.write(f"  organization {org_id} {key}: stored {stored}, counted {true}")
        if drift.wrong and repair:
            self.stdout.write(f"{counters.repair(drift)} counters repaired")
        elif drift.wrong:
            raise SystemExit(1)
