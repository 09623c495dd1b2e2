from django.core.management.base import BaseCommand

from core import crypto


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored personal identifier under the first key of "
        "FIELD_ENCRYPTION_KEYS; afterwards the keys after it may be removed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=1000, help="rows per transaction")

    def handle(self, *args, batch=1000, **options):
        for label, count in crypto.rotate_stored_tokens(batch=batch).items():
            self.stdout.write(f"{label}: {count} rows")
