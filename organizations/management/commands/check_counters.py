from django.core.management.base import BaseCommand

from organizations import counters, rollups


class Command(BaseCommand):
    help = (
        "Compare every statistics counter with a COUNT of its rows and every subtree "
        "roll-up with the sum of the counters below it; --repair fixes drift."
    )

    def add_arguments(self, parser):
        parser.add_argument("--repair", action="store_true", help="set drifted counters right")
        parser.add_argument("prefix", nargs="*", help="only counters under these prefixes")

    def handle(self, *args, repair=False, prefix=(), **options):
        drift = counters.verify(prefix or None)
        self.stdout.write(f"{drift.checked} counters checked, {len(drift.wrong)} drifted")
        for (org_id, key), (stored, true) in sorted(drift.wrong.items())[:50]:
            self.stdout.write(f"  organization {org_id} {key}: stored {stored}, counted {true}")
        failed = bool(drift.wrong)
        if drift.wrong and repair:
            self.stdout.write(f"{counters.repair(drift)} counters repaired")
            failed = False
        rollups.fold()
        up = rollups.verify()
        self.stdout.write(f"{up.checked} subtree roll-ups checked, {len(up.wrong)} drifted")
        for (org_id, key), (stored, true) in sorted(up.wrong.items())[:50]:
            self.stdout.write(f"  organization {org_id} {key}: stored {stored}, summed {true}")
        if up.wrong and repair:
            self.stdout.write(f"{rollups.repair(up)} roll-ups repaired")
        elif up.wrong:
            failed = True
        if failed:
            raise SystemExit(1)
