"""A member's rights over their own data (PIPL): a copy of it, and deleting their account.

`export_my_data` hands the member the copy `members.privacy` assembles, and logs it.
`erase_member` carries out a deletion request at once (after the portal has checked the
password). Apps above members take part through two small registries, since members may
not import them: `register_erasure_guard` (a reason to refuse, e.g. an open hardship aid
case) and `register_eraser` (their part of the erasure, in the same transaction).
"""

from __future__ import annotations

import datetime
import hashlib
import re
import secrets
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Model, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.audit import record_audit
from organizations import counters
from organizations.models import OrgRole

from .. import privacy
from ..counters import counter_delta
from ..models import (
    CURRENT_STATUSES,
    OPEN_APPLICATION_STATUSES,
    JoinApplication,
    Member,
    MembershipEvent,
    MemberStatus,
    Transfer,
    TransferStatus,
)
from .permissions import require_member_admin
from .records import apply_status_change

# What replaces an identifier in the free text that is kept.
MASK = "***"
# The birth date of an erased record: the column may not be empty, and the real one goes.
ERASED_BIRTH_DATE = datetime.date(1900, 1, 1)

# Stored in the erased record and its history (see `in_site_language`).
ERASED_NAME = gettext_lazy("Deleted member")
ERASURE_REASON = gettext_lazy("Left the union and deleted the account")

EXPORT_FORMATS = ("json", "xlsx")


def in_site_language(text) -> str:
    """Text stored in a record: in the site's language, not the requester's."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(text)


def _is_member_self(user, member: Member) -> bool:
    return (
        getattr(user, "is_authenticated", False)
        and member.user_id is not None
        and member.user_id == user.pk
    )


# --- A copy of one's data -----------------------------------------------------------------


def export_my_data(*, member: Member, fmt: str, acting_user) -> bytes:
    """The member's own data as a JSON or XLSX file; every download is in the audit log."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(fmt)
    if not _is_member_self(acting_user, member):
        # Officers see members through the audited admin, never through this copy.
        raise PermissionDenied(_("Only the member themself can download a copy of their data."))
    data = privacy.export_personal_data(member)
    if fmt == "json":
        content = privacy.personal_data_json(data)
    else:
        content = privacy.personal_data_xlsx(data)
    record_audit(
        actor=acting_user,
        action="member.personal_data_exported",
        obj=member,
        organization=member.organization,
        changes={"format": fmt},
    )
    return content


# --- Registries for the apps above members ------------------------------------------------

# guard(member) -> a reason to refuse the erasure now, or None.
Guard = Callable[[Member], "str | None"]
# eraser(member=…, user=…, redact=…): called inside the erasure's transaction, after the
# member record is anonymised and unlinked from the account (`user`, None if it had none).
Eraser = Callable[..., None]

GUARDS: dict[str, Guard] = {}
ERASERS: dict[str, Eraser] = {}


def _name(func) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def register_erasure_guard(guard: Guard) -> None:
    GUARDS[_name(guard)] = guard


def register_eraser(eraser: Eraser) -> None:
    ERASERS[_name(eraser)] = eraser


# --- Redaction of the free text that is kept --------------------------------------------------


class Redactor:
    """Replaces a person's identifiers in free text by ***: their name, ID number, phone,
    membership and card numbers and email, as typed (any case, digits spaced or hyphenated).

    It cannot find what only describes them; kept texts are records written about a case
    (a concern, an aid case, a transfer), which without these identifiers name nobody.
    """

    def __init__(self, *, texts: Iterable[str] = (), numbers: Iterable[str] = ()):
        patterns = {re.escape(t) for t in texts if t and len(t.strip()) >= 2}
        for number in numbers:
            if number and len(number) >= 5:
                patterns.add(r"[\s-]?".join(re.escape(c) for c in number))
        ordered = sorted(patterns, key=len, reverse=True)
        self._pattern = re.compile("|".join(ordered), re.IGNORECASE) if ordered else None

    @classmethod
    def for_member(cls, member: Member) -> Redactor:
        user = member.user
        return cls(
            texts=[member.name, getattr(user, "email", "")],
            numbers=[
                member.id_number,
                member.phone,
                member.membership_number,
                member.card_number or "",
                user.get_username() if user is not None else "",
            ],
        )

    def __call__(self, text: str) -> str:
        if not text or self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)

    def rows(self, queryset: QuerySet, fields: Iterable[str]) -> int:
        """Redact `fields` of every row of `queryset`; returns how many rows changed."""
        fields = list(fields)
        changed: list[Model] = []
        for obj in queryset.only("pk", *fields).order_by():
            dirty = False
            for field in fields:
                old = getattr(obj, field)
                new = self(old)
                if new != old:
                    setattr(obj, field, new)
                    dirty = True
            if dirty:
                changed.append(obj)
        if changed:
            queryset.model.objects.bulk_update(changed, fields)
        return len(changed)


# --- Erasure ------------------------------------------------------------------------------


def erasure_refusals(member: Member) -> list[str]:
    """Why the member's account cannot be deleted now (empty: it can)."""
    reasons = []
    if member.deleted_at is not None:
        return [_("This membership has already been deleted.")]
    if Transfer.objects.filter(member=member, status=TransferStatus.OPEN).exists():
        reasons.append(
            _(
                "Your transfer to another union is still open. Wait until it is completed, "
                "or cancel it on the transfers page, then delete your account."
            )
        )
    user = member.user
    if user is not None and (
        user.is_staff or user.is_superuser or OrgRole.objects.filter(user=user).exists()
    ):
        reasons.append(
            _(
                "Your login is also an officer's account of a union. Ask the administrator "
                "who gave you that role to remove it first."
            )
        )
    for guard in GUARDS.values():
        reason = guard(member)
        if reason:
            reasons.append(str(reason))
    return reasons


def erase_member(*, member: Member, acting_user) -> Member:
    """Delete a member's account and personal data at their request; keep, unlinked and
    without identifiers, the records the unions must keep. Atomic and audited.

    Refused (ValidationError, nothing changed) while a transfer or, through the services
    guard, a hardship aid case is open, or while the login holds an officer's role.

    Erased:
    - the login: the username becomes a random ``deleted-<hex>``, email and names are
      cleared, the password is unusable and the account inactive; its sessions, API token,
      second-factor devices, notification preferences and settings and every inbox message
      (with its deliveries) are deleted;
    - the member record: name (→ "Deleted member" in the site's language), ID number and
      phone (ciphertext, masked copy and the keyed hashes, so the person is found nowhere
      and may join again as a new member), gender, birth date, ethnicity, education,
      employer, job, wage base, card; the membership number is replaced by a random one;
    - the copies of the same data on join applications (open ones are withdrawn) and the new
      employer on transfers;
    - in the services (registered eraser): confidential notes, concern attachments,
      comments and the member's link to their wishes; open orders and registrations for
      sessions still to come are cancelled and open concerns closed, as their own actions
      do it (places and counters follow).

    Kept, linked only to the anonymised record, because a union must account for them:
    - the membership history (the union's register: who joined and left when is counted
      in its statistics, which are checked against these rows);
    - dues records (financial records that must be kept for the accounting retention
      period, and the union's dues totals);
    - hardship aid cases with their steps and payments (public funds, audited), service
      orders and activity registrations (the union's statistics of services), and concerns
      with their history (what a union did with a worker's concern, including escalations);
    - transfers (both unions' records) and the audit log, which holds no personal data.
    In every kept free text (reasons, situations, replies, notes) the person's name and
    identifiers are replaced by ***.
    """
    own = _is_member_self(acting_user, member)
    if not own:
        require_member_admin(acting_user, member.organization)
    with transaction.atomic():
        locked = (
            Member.objects.select_for_update(of=("self",))
            .select_related("user", "organization")
            .get(pk=member.pk)
        )
        refusals = erasure_refusals(locked)
        if refusals:
            raise ValidationError(refusals)
        # Taken before anything changes: what to look for in the texts that are kept.
        redact = Redactor.for_member(locked)
        applications = list(privacy.applications_of(locked).values_list("pk", flat=True))
        user = locked.user
        if locked.status in CURRENT_STATUSES:
            apply_status_change(
                member=locked,
                status=MemberStatus.WITHDRAWN,
                reason=in_site_language(ERASURE_REASON),
                acting_user=acting_user,
            )
        before = Member.objects.get(pk=locked.pk)
        after = Member.objects.get(pk=locked.pk)
        _anonymise_member(after)
        after.save()
        # An erased record counts nowhere any more (see `counter_keys`).
        counters.adjust(counter_delta([before], [after]))

        redact.rows(MembershipEvent.objects.filter(member=after), ["reason"])
        transfers = Transfer.objects.filter(member=after)
        transfers.exclude(new_employer="").update(new_employer="")
        redact.rows(transfers, ["reason", "refusal_reason"])
        _erase_applications(JoinApplication.objects.filter(pk__in=applications), redact)

        for eraser in ERASERS.values():
            eraser(member=after, user=user, redact=redact)
        if user is not None:
            _erase_account(user)
        record_audit(
            actor=acting_user,
            action="member.erased",
            obj=after,
            organization=after.organization,
            changes={"by_member": own},
        )
    return after


def _anonymise_member(member: Member) -> None:
    now = timezone.now()
    member.name = in_site_language(ERASED_NAME)
    member.id_number_encrypted = member.id_hash = member.id_masked = ""
    member.phone_encrypted = member.phone_hash = member.phone_masked = ""
    member.gender = member.ethnicity = member.education = member.employer = member.job = ""
    member.birth_date = ERASED_BIRTH_DATE
    member.wage_base = None
    # Random, and not a valid membership number: it names nobody and collides with nothing.
    member.membership_number = "D" + secrets.token_hex(7)
    member.card_number = None
    member.card_revoked_at = member.card_revoked_at or now
    member.user = None
    member.deleted_at = now


def _erase_applications(applications: QuerySet[JoinApplication], redact: Redactor) -> None:
    from .joining import withdraw_join_application

    for application in applications.filter(status__in=OPEN_APPLICATION_STATUSES):
        withdraw_join_application(application=application)
    for application in applications.select_for_update():
        application.name = in_site_language(ERASED_NAME)
        application.id_number_encrypted = application.id_hash = application.id_masked = ""
        application.phone_encrypted = application.phone_hash = application.phone_masked = ""
        application.gender = application.ethnicity = application.education = ""
        application.employer = application.job = ""
        application.birth_date = ERASED_BIRTH_DATE
        application.password_hash = ""
        application.review_note = redact(application.review_note)
        # The status link stops working: its key no longer matches any application.
        application.access_key_hash = hashlib.sha256(secrets.token_bytes(32)).hexdigest()
        application.save()


def _erase_account(user) -> None:
    from django_otp import devices_for_user
    from rest_framework.authtoken.models import Token

    from accounts import sessions
    from notifications.models import (
        CapturedMessage,
        Delivery,
        Notification,
        Preference,
        RecipientSettings,
    )

    deliveries = Delivery.objects.filter(notification__recipient=user).values_list("pk", flat=True)
    CapturedMessage.objects.filter(reference__in=[str(pk) for pk in deliveries]).delete()
    Notification.objects.filter(recipient=user).delete()  # with their deliveries
    Preference.objects.filter(user=user).delete()
    RecipientSettings.objects.filter(user=user).delete()
    Token.objects.filter(user=user).delete()
    for device in devices_for_user(user, confirmed=None):
        device.delete()
    sessions.end_all_sessions(user)
    user.username = f"deleted-{secrets.token_hex(8)}"
    user.email = user.first_name = user.last_name = ""
    # A new password hash also ends any session not registered: its auth hash changes.
    user.set_unusable_password()
    user.is_active = user.is_staff = user.is_superuser = False
    user.last_login = None
    user.save()
    user.groups.clear()
    user.user_permissions.clear()
