from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.security import current_code


class Command(BaseCommand):
    help = "Print the current TOTP code of a user's authenticator device (development only)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        if getattr(settings, "PRODUCTION", False):
            raise CommandError("totp_code stands in for a phone; it refuses to run in production.")
        device = TOTPDevice.objects.filter(user__username=username, confirmed=True).first()
        if device is None:
            raise CommandError(f"{username} has no authenticator device.")
        self.stdout.write(current_code(device))
