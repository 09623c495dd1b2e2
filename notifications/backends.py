"""Sending backends for the channels beside the inbox.

Email goes through Django's email backends (`EMAIL_BACKEND`: SMTP in production, the console
in development). SMS goes through `SMS_BACKEND`, a small interface of our own: a provider is
one subclass of `BaseSmsBackend` whose `send` returns the provider's message id or raises
`SmsError`. The capture backends (email and SMS) write what they would send into
`CapturedMessage` in the sending transaction, for tests and trial sites.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.utils.module_loading import import_string

from . import channels

DELIVERY_HEADER = "X-UnionHub-Delivery"


class SmsError(Exception):
    """The provider refused or failed; `code` is its error code, never the number."""

    def __init__(self, code: str = "error", *, permanent: bool = False):
        super().__init__(code)
        self.code = code
        self.permanent = permanent


@dataclass(frozen=True)
class SmsMessage:
    to: str  # mainland mobile number, 11 digits
    body: str
    reference: str  # the delivery id: providers that accept one use it to drop duplicates
    language: str = ""


class BaseSmsBackend:
    def send(self, message: SmsMessage) -> str:
        """Send one message; return the provider's id for it."""
        raise NotImplementedError


class ConsoleSmsBackend(BaseSmsBackend):
    """Development: print the message with the number masked."""

    lock = threading.Lock()

    def send(self, message: SmsMessage) -> str:
        with self.lock:
            sys.stdout.write(
                f"SMS to {channels.mask(channels.SMS, message.to)} "
                f"[{message.reference}]: {message.body}\n"
            )
            sys.stdout.flush()
        return f"console-{message.reference}"


# Messages the in-process test backend has "sent".
outbox: list[SmsMessage] = []


class LocmemSmsBackend(BaseSmsBackend):
    """In-process tests: keep the messages in `notifications.backends.outbox`."""

    def send(self, message: SmsMessage) -> str:
        outbox.append(message)
        return f"locmem-{len(outbox)}"


class CaptureSmsBackend(BaseSmsBackend):
    """Tests with a real worker and trial sites: record into CapturedMessage."""

    def send(self, message: SmsMessage) -> str:
        from .models import CapturedMessage

        row = CapturedMessage.objects.create(
            channel=channels.SMS,
            reference=message.reference,
            to=channels.mask(channels.SMS, message.to),
            body=message.body,
            language=message.language,
        )
        return f"capture-{row.pk}"


class CaptureEmailBackend(BaseEmailBackend):
    """Tests with a real worker and trial sites: record each email into CapturedMessage."""

    def send_messages(self, email_messages):
        from .models import CapturedMessage

        for message in email_messages:
            to = ", ".join(channels.mask(channels.EMAIL, a) for a in message.to)
            CapturedMessage.objects.create(
                channel=channels.EMAIL,
                reference=message.extra_headers.get(DELIVERY_HEADER, ""),
                to=to[:120],
                subject=message.subject[:300],
                body=message.body,
                language=message.extra_headers.get("Content-Language", ""),
            )
        return len(email_messages)


def sms_backend() -> BaseSmsBackend:
    return import_string(settings.SMS_BACKEND)()
