"""Getting a lost status link back (找回申请): ID number + phone, then a code sent by SMS.

An applicant has no account; their status link is the only way to their application. Who
lost it types the ID number and the mobile number they applied with. The web request
stores only the keyed hashes of both and queues `send_code`, the same whether or not an
application matches, so neither the page nor its timing tells whether an ID number has
applied. The task looks the application up and, if one matches on both, texts a one-time
code to the phone on file. The right code within its time and tries opens the application
under a new status link; the old link stops working.

Limits: a few requests per ID number an hour (and per address, in the view), a few tries
per code, ten minutes per code.
"""

from __future__ import annotations

import datetime
import hmac
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from core import crypto, phones
from core.audit import record_audit
from notifications import kinds
from notifications.actions import forget_events, notify_contact
from notifications.channels import contact_ref

from .. import validators
from ..models import JoinApplication, LinkRecovery
from .joining import new_status_key

CODE_MINUTES = 10
MAX_TRIES = 5
# Requests for one ID number within an hour, whatever the phone and whether it applied.
PER_ID_NUMBER_AN_HOUR = 3
# Rows are kept this long after they expire (the per-number limit counts them), then deleted.
KEEP = datetime.timedelta(days=1)

KIND = "join.recovery_code"
kinds.register(
    KIND,
    gettext_lazy("Your verification code is %(code)s"),
    gettext_lazy(
        "It opens your join application for %(minutes)s minutes. Never tell it to anyone: "
        "the union will not ask you for it."
    ),
    contact_only=True,
    sms=True,
    quiet_hours=False,  # the person is waiting for it right now
)


def _code_hash(recovery: LinkRecovery, code: str) -> str:
    return crypto.keyed_hash(f"{recovery.pk}:{code}", "join-link-recovery")


def start(*, id_number: str, phone: str, now: datetime.datetime | None = None) -> LinkRecovery:
    """Record a request and queue the code; the same outcome whether or not anyone applied."""
    errors: dict[str, list] = {}
    try:
        number = validators.validate_id_number(id_number or "")
    except ValidationError as error:
        errors["id_number"] = error.error_list
    try:
        mobile = phones.normalize_phone(phone or "")
    except ValidationError as error:
        errors["phone"] = error.error_list
    if errors:
        raise ValidationError(errors)
    now = now or timezone.now()
    id_hash = crypto.id_hash(number)
    with transaction.atomic():
        recent = LinkRecovery.objects.filter(
            id_hash=id_hash, created_at__gt=now - datetime.timedelta(hours=1)
        ).count()
        if recent >= PER_ID_NUMBER_AN_HOUR:
            raise ValidationError(
                _("Too many requests for this ID number. Please try again in an hour."),
                code="too_many",
            )
        recovery = LinkRecovery.objects.create(
            id_hash=id_hash,
            phone_hash=crypto.phone_hash(mobile),
            expires_at=now + datetime.timedelta(minutes=CODE_MINUTES),
        )
        transaction.on_commit(lambda: _queue(recovery.pk))
    return recovery


def _queue(recovery_id: int) -> None:
    from ..tasks.joining import send_link_recovery_code_task

    send_link_recovery_code_task.delay(recovery_id)


def send_code(recovery_id: int, *, now: datetime.datetime | None = None) -> bool:
    """In the worker: text a code if an application matches; True if one was sent.

    Idempotent: a redelivered task finds the code made and sends nothing more.
    """
    now = now or timezone.now()
    with transaction.atomic():
        recovery = (
            LinkRecovery.objects.select_for_update()
            .filter(pk=recovery_id, code_hash="", used_at__isnull=True, expires_at__gt=now)
            .first()
        )
        if recovery is None:
            return False
        application = (
            JoinApplication.objects.filter(id_hash=recovery.id_hash, phone_hash=recovery.phone_hash)
            .order_by("-submitted_at", "-pk")
            .first()
        )
        if application is None:
            return False
        code = f"{secrets.randbelow(10**6):06d}"
        recovery.application = application
        recovery.code_hash = _code_hash(recovery, code)
        recovery.save(update_fields=["application", "code_hash"])
        notify_contact(
            contact_ref(application),
            KIND,
            {"code": code, "minutes": CODE_MINUTES},
            dedupe_key=f"{KIND}:{recovery.pk}",
        )
    return True


def finish(
    *, recovery_id: int, code: str, now: datetime.datetime | None = None
) -> tuple[JoinApplication, str]:
    """The application and its new status key, for the right code in time; otherwise a
    ValidationError that says how many tries are left (the same whether anyone applied)."""
    now = now or timezone.now()
    code = (code or "").strip()
    with transaction.atomic():
        recovery = LinkRecovery.objects.select_for_update().filter(pk=recovery_id).first()
        if recovery is None or recovery.used_at is not None or recovery.expires_at <= now:
            raise ValidationError(
                _("This code has expired. Please ask for a new one."), code="expired"
            )
        if recovery.attempts >= MAX_TRIES:
            raise ValidationError(
                _("Too many wrong codes. Please ask for a new one."), code="too_many_tries"
            )
        recovery.attempts += 1
        right = bool(recovery.code_hash) and hmac.compare_digest(
            recovery.code_hash, _code_hash(recovery, code)
        )
        if not right:
            recovery.save(update_fields=["attempts"])
            left = MAX_TRIES - recovery.attempts
            wrong = (
                ngettext(
                    "The code is not right. %(left)d more try.",
                    "The code is not right. %(left)d more tries.",
                    left,
                )
                % {"left": left}
                if left  # the error is raised after the commit, so the try counts
                else _("Too many wrong codes. Please ask for a new one.")
            )
        else:
            application = JoinApplication.objects.select_for_update().get(
                pk=recovery.application_id
            )
            key, application.access_key_hash = new_status_key()
            application.save(update_fields=["access_key_hash", "updated_at"])
            recovery.used_at = now
            recovery.save(update_fields=["attempts", "used_at"])
            # The code has done its work; it is not kept in the message table.
            forget_events([(f"{KIND}:{recovery.pk}", contact_ref(application))])
            record_audit(
                actor=None,
                action="joinapplication.link_recovered",
                obj=application,
                organization=application.organization,
                changes={},
            )
    if not right:
        raise ValidationError(wrong, code="wrong_code")
    return application, key


def purge(*, now: datetime.datetime | None = None) -> int:
    """Delete requests expired for a day, with any code message left; returns how many."""
    cutoff = (now or timezone.now()) - KEEP
    with transaction.atomic():
        stale = list(
            LinkRecovery.objects.filter(expires_at__lt=cutoff).values_list("pk", "application")
        )
        forget_events(
            (f"{KIND}:{pk}", f"{JoinApplication._meta.label_lower}:{application}")
            for pk, application in stale
            if application is not None
        )
        LinkRecovery.objects.filter(pk__in=[pk for pk, _a in stale]).delete()
    return len(stale)
