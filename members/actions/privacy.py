"""A member's rights over their own data (PIPL): a copy of it, and deleting their account.

`export_my_data` hands the member the copy `core.privacy` assembles from every app's
sections, and logs it. `erase_member` carries out a deletion request at once (after the
portal has checked the password): it erases the members app's own data, then runs every
app's registered part in the same transaction (`core.privacy.register_eraser`: the
services', then the inbox's and the login account's), after asking their guards
(`core.privacy.register_erasure_guard`, e.g. an open hardship aid case).
"""

from __future__ import annotations

import datetime
import hashlib
import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import privacy, spreadsheets
from core.audit import record_audit
from core.privacy import Redactor, Subject, contact_ref, in_site_language
from organizations import counters
from organizations.models import OrgRole

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
from ..selectors.privacy import applications_of  # importing it registers the sections
from .permissions import require_member_admin
from .records import apply_status_change

# The birth date of an erased record: the column may not be empty, and the real one goes.
ERASED_BIRTH_DATE = datetime.date(1900, 1, 1)

# Stored in the erased record and its history (see `in_site_language`).
ERASED_NAME = gettext_lazy("Deleted member")
ERASURE_REASON = gettext_lazy("Left the union and deleted the account")

EXPORT_FORMATS = ("json", "xlsx")


def _is_member_self(user, member: Member) -> bool:
    return (
        getattr(user, "is_authenticated", False)
        and member.user_id is not None
        and member.user_id == user.pk
    )


def _subject(member: Member) -> Subject:
    return Subject(user=member.user, member=member)


# --- A copy of one's data -----------------------------------------------------------------


def export_my_data(*, member: Member, fmt: str, acting_user) -> bytes:
    """The member's own data as a JSON or XLSX file; every download is in the audit log."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(fmt)
    if not _is_member_self(acting_user, member):
        # Officers see members through the audited admin, never through this copy.
        raise PermissionDenied(_("Only the member themself can download a copy of their data."))
    data = privacy.export_personal_data(_subject(member))
    if fmt == "json":
        content = privacy.personal_data_json(data)
    else:
        content = spreadsheets.write_workbook(privacy.personal_data_sheets(data))
    record_audit(
        actor=acting_user,
        action="member.personal_data_exported",
        obj=member,
        organization=member.organization,
        changes={"format": fmt},
    )
    return content


# --- Redaction of the free text that is kept --------------------------------------------------


def redactor_for(member: Member) -> Redactor:
    """Finds the member's name, ID number, phone, membership and card numbers, login name
    and email in free text."""
    user = member.user
    return Redactor(
        texts=[member.name, getattr(user, "email", "")],
        numbers=[
            member.id_number,
            member.phone,
            member.membership_number,
            member.card_number or "",
            user.get_username() if user is not None else "",
        ],
    )


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
    reasons += privacy.guard_refusals(_subject(member))
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
        redact = redactor_for(locked)
        applications = list(applications_of(locked).values_list("pk", flat=True))
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

        # The services', then the inbox's and the login's parts (anonymised last).
        # The texts sent to the person as an applicant go with the inbox (notifications).
        contacts = tuple(
            contact_ref(a) for a in JoinApplication.objects.filter(pk__in=applications)
        )
        privacy.run_erasers(
            subject=Subject(user=user, member=after, contacts=contacts), redact=redact
        )
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
        withdraw_join_application(application=application, tell=False)
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
