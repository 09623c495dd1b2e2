"""Demo data of the accounts app: authenticator devices for the demo users who need a
second factor, so a developer can log in as them (`manage.py totp_code USER`)."""

from django.contrib.auth import get_user_model
from django_otp.plugins.otp_totp.models import TOTPDevice

from core import demo as registry
from organizations.demo_data import DEMO_USERS

from .security import needs_second_factor

DEVICE_NAME = "demo"


def seed(stdout, password: str) -> None:
    users = get_user_model().objects.filter(username__in=[u.username for u in DEMO_USERS])
    needing = [user for user in users.order_by("username") if needs_second_factor(user)]
    for user in needing:
        if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=True)
    if needing:
        names = ", ".join(user.username for user in needing)
        registry.note(
            f"Two-step verification: {names} enter a 6-digit code after the password. "
            "`python manage.py totp_code USERNAME` prints the current one (development only)."
        )


def reset() -> None:
    TOTPDevice.objects.filter(name=DEVICE_NAME).delete()
