"""Joining online (网上入会): a worker applies to a grassroots union, its officers review.

The applicant has no account until approval. They follow their application through a
secret status link; only the SHA-256 of its key is stored. Approval enrols the person
(or brings a former member back under the same membership number) and turns the
password they chose when applying into their portal login.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from collections import Counter
from collections.abc import Mapping

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.audit import record_audit
from notifications import kinds
from notifications.actions import (
    forget_contacts,
    link_for,
    notify_contact_on_commit,
    notify_on_commit,
)
from notifications.channels import contact_ref
from organizations import scope
from organizations.models import Organization
from organizations.selectors import officers_of

from ..cards import new_card_numbers
from ..models import (
    CURRENT_STATUSES,
    OPEN_APPLICATION_STATUSES,
    ApplicationStatus,
    EventKind,
    JoinApplication,
    Member,
    MemberStatus,
)
from ..people import apply_person, clean_person
from ..selectors.records import existing_member_for
from .history import save_membership_change
from .permissions import require
from .records import check_member_union, enrol_member

# The version of the privacy notice the applicant accepted; bump it when the text changes.
PRIVACY_NOTICE_VERSION = "2026-11"

# Applications that end without a membership are kept this long, as the notice promises.
UNSUCCESSFUL_APPLICATION_RETENTION_DAYS = 365

ACCESS_KEY_BYTES = 24

kinds.register(
    "join.approved",
    gettext_lazy("Welcome to %(union)s"),
    gettext_lazy(
        "Your application was approved. Your membership number %(number)s is also your login name."
    ),
)
# The union's officers who review applications are told of each new one and of each
# corrected one (no personal data in the message: the officer opens the application).
kinds.register(
    "join.submitted",
    gettext_lazy("A new join application for %(union)s"),
    gettext_lazy("Application no. %(number)s waits for your review (To-do)."),
)
kinds.register(
    "join.resubmitted",
    gettext_lazy("A corrected join application for %(union)s"),
    gettext_lazy("Application no. %(number)s was corrected and waits for your review (To-do)."),
)
# The applicant has no account before approval: each step reaches the phone they applied
# with (`notify_contact`), in the language they applied in. The link in these messages is
# the page that recovers a lost status link: the status link's key is never stored.
_APPLICANT = {"contact_only": True, "sms": True, "sms_link": True}
kinds.register(
    "join.received",
    gettext_lazy("Your application no. %(number)s to %(union)s was received"),
    gettext_lazy(
        "You will get a text message when the union has decided. Keep the status link you "
        "were given; if you lose it, get it back with your ID number and phone number at:"
    ),
    **_APPLICANT,
)
kinds.register(
    "join.rejected",
    gettext_lazy("Your application to %(union)s was not approved"),
    gettext_lazy("Reason: %(reason)s"),
    contact_only=True,
    sms=True,
)
kinds.register(
    "join.correction_requested",
    gettext_lazy("Please correct your application to %(union)s"),
    gettext_lazy(
        "Note from the union: %(note)s. Correct it on your application's status page; lost "
        "its link? Get it back at:"
    ),
    **_APPLICANT,
)
kinds.register(
    "join.withdrawn",
    gettext_lazy("Your application to %(union)s was withdrawn"),
    gettext_lazy("If you did not withdraw it, contact the union."),
    contact_only=True,
    sms=True,
)


# --- Helpers ----------------------------------------------------------------------------


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_status_key() -> tuple[str, str]:
    """A status link's secret key and the hash that is stored instead of it."""
    key = secrets.token_urlsafe(ACCESS_KEY_BYTES)
    return key, _key_hash(key)


def _already_member_error() -> ValidationError:
    # Never names the union the person belongs to: the applicant may not be who they claim.
    return ValidationError(
        _(
            "This ID number already belongs to a union member. If it is yours, log in to your "
            "member page and request a transfer to this union there."
        ),
        code="already_member",
    )


def _check_person_may_apply(id_hash: str, *, exclude_application: int | None = None) -> None:
    """Refuse a current or deceased member's ID, and a second open application."""
    member = existing_member_for(id_hash)
    if member is not None:
        if member.status in CURRENT_STATUSES:
            raise _already_member_error()
        if member.status == MemberStatus.DECEASED:
            raise ValidationError(
                _(
                    "This ID number is recorded as belonging to a deceased member. If this is a "
                    "mistake, please contact the union."
                ),
                code="deceased",
            )
    others = JoinApplication.objects.filter(id_hash=id_hash, status__in=OPEN_APPLICATION_STATUSES)
    if exclude_application is not None:
        others = others.exclude(pk=exclude_application)
    if others.exists():
        raise _open_application_error()


def _open_application_error() -> ValidationError:
    return ValidationError(
        _(
            "An application for this ID number is already being processed. Follow it with the "
            "link you were given, or withdraw it there first."
        ),
        code="open_application",
    )


def _require_reviewer(user, application: JoinApplication) -> None:
    require(user, scope.Access.HANDLE, application)
    require(user, scope.Access.PERSONAL, application)


def _mark_reviewed(application: JoinApplication, acting_user) -> None:
    is_user = getattr(acting_user, "is_authenticated", False)
    application.reviewed_by = acting_user if is_user else None
    application.reviewed_at = timezone.now()


def _lock_open(application: JoinApplication) -> JoinApplication:
    locked = (
        JoinApplication.objects.select_for_update(of=("self",))
        .select_related("organization")
        .get(pk=application.pk)
    )
    if not locked.is_open:
        raise ValidationError(
            _("This application is already closed (%(status)s).")
            % {"status": ApplicationStatus(locked.status).label},
            code="closed",
        )
    return locked


# --- Applying ---------------------------------------------------------------------------


def submit_join_application(
    *,
    organization: Organization,
    data: Mapping,
    password: str,
    privacy_consent: bool,
    sensitive_consent: bool,
) -> tuple[JoinApplication, str]:
    """File an application; returns it with the secret key of its status link."""
    check_member_union(organization)
    errors: dict[str, list] = {}
    try:
        person = clean_person(data)
    except ValidationError as error:
        person = None
        errors.update(error.message_dict)
    if not privacy_consent:
        errors["privacy_consent"] = [
            ValidationError(
                _("Please read the privacy notice and agree to it to apply."),
                code="privacy_consent",
            )
        ]
    if not sensitive_consent:
        errors["sensitive_consent"] = [
            ValidationError(
                _(
                    "Applying needs your separate consent to the processing of your ID number "
                    "and ethnicity."
                ),
                code="sensitive_consent",
            )
        ]
    try:
        name = person["name"] if person else str(data.get("name") or "")
        validate_password(password or "", get_user_model()(first_name=name))
    except ValidationError as error:
        errors["password"] = error.error_list
    if errors:
        raise ValidationError(errors)

    now = timezone.now()
    key, key_hash = new_status_key()
    application = JoinApplication(
        organization=organization,
        privacy_consent_at=now,
        sensitive_consent_at=now,
        privacy_notice_version=PRIVACY_NOTICE_VERSION,
        password_hash=make_password(password),
        access_key_hash=key_hash,
        language=translation.get_language() or settings.LANGUAGE_CODE,
    )
    apply_person(application, person)
    with transaction.atomic():
        _check_person_may_apply(application.id_hash)
        try:
            with transaction.atomic():
                application.save()
        except IntegrityError:
            # A concurrent application for the same person won the race.
            raise _open_application_error() from None
        record_audit(
            actor=None,
            action="joinapplication.submitted",
            obj=application,
            organization=organization,
            changes={"privacy_notice_version": PRIVACY_NOTICE_VERSION},
        )
        _tell_reviewers(application, "join.submitted")
        _tell_applicant(application, "join.received", "received")
    return application, key


def _tell_applicant(application: JoinApplication, kind: str, step: str, **context) -> None:
    """On commit: the applicant hears of the step by SMS (once per step: `step` names it)."""
    notify_contact_on_commit(
        contact_ref(application),
        kind,
        {"union": application.organization.name, "number": application.pk, **context},
        link_for("join-recover"),
        dedupe_key=f"{kind}:{application.pk}:{step}",
    )


def _tell_reviewers(application: JoinApplication, kind: str) -> None:
    """On commit: the officers who may review the application (admins and staff of exactly
    its union) hear of it."""
    union = application.organization
    notify_on_commit(
        officers_of(union),
        kind,
        {"union": union.name, "number": application.pk},
        link_for("admin:members_joinapplication_change", application.pk),
    )


def application_for_key(key: str) -> JoinApplication | None:
    """The application a status link's key opens, or None."""
    if not key or len(key) > 100:
        return None
    return (
        JoinApplication.objects.select_related("organization", "member")
        .filter(access_key_hash=_key_hash(key))
        .first()
    )


# Fields whose change a resubmission records (by name only; hashes stand for identifiers).
_TRACKED_FIELDS = (
    "name",
    "id_hash",
    "phone_hash",
    "ethnicity",
    "education",
    "employer",
    "job",
    "employment_type",
)


def resubmit_join_application(*, application: JoinApplication, data: Mapping) -> JoinApplication:
    """The applicant's corrected data, after the union asked for a correction."""
    person = clean_person(data)
    with transaction.atomic(durable=True):
        locked = _lock_open(application)
        if locked.status != ApplicationStatus.NEEDS_CORRECTION:
            raise ValidationError(
                _("The union has not asked for a correction of this application."),
                code="not_needs_correction",
            )
        before = {f: getattr(locked, f) for f in _TRACKED_FIELDS}
        apply_person(locked, person)
        _check_person_may_apply(locked.id_hash, exclude_application=locked.pk)
        locked.status = ApplicationStatus.SUBMITTED
        try:
            with transaction.atomic():
                locked.save()
        except IntegrityError:
            raise _open_application_error() from None
        changed = sorted(
            f.replace("_hash", "_number")
            for f in _TRACKED_FIELDS
            if getattr(locked, f) != before[f]
        )
        record_audit(
            actor=None,
            action="joinapplication.resubmitted",
            obj=locked,
            organization=locked.organization,
            changes={"fields": changed},
        )
        _tell_reviewers(locked, "join.resubmitted")
    return locked


def withdraw_join_application(
    *, application: JoinApplication, tell: bool = True
) -> JoinApplication:
    """The applicant takes back an open application (told by SMS unless `tell` is False:
    an erasure withdraws without a word)."""
    with transaction.atomic():
        locked = _lock_open(application)
        old = locked.status
        locked.status = ApplicationStatus.WITHDRAWN
        locked.password_hash = ""
        locked.save(update_fields=["status", "password_hash", "updated_at"])
        record_audit(
            actor=None,
            action="joinapplication.withdrawn",
            obj=locked,
            organization=locked.organization,
            changes={"status": [old, locked.status]},
        )
        if tell:
            _tell_applicant(locked, "join.withdrawn", "withdrawn")
    return locked


# --- Reviewing --------------------------------------------------------------------------


def approve_join_application(*, application: JoinApplication, acting_user) -> Member:
    """Admit the applicant: a member with a membership number, and their portal account."""
    _require_reviewer(acting_user, application)
    with transaction.atomic():
        locked = _lock_open(application)
        old_status = locked.status
        org = locked.organization
        check_member_union(org)
        data = locked.person_data()
        reason = _("Online join application no. %(id)s") % {"id": locked.pk}
        # Re-checked under the lock: a member may have been enrolled since the application.
        former = existing_member_for(locked.id_hash)
        if former is None:
            member = enrol_member(
                organization=org, data=data, acting_user=acting_user, reason=reason
            )
        elif former.status in CURRENT_STATUSES:
            raise _already_member_error()
        elif former.status == MemberStatus.DECEASED:
            raise ValidationError(
                _("This ID number is recorded as belonging to a deceased member."),
                code="deceased",
            )
        else:
            member = _rejoin(
                member=former,
                organization=org,
                data=data,
                acting_user=acting_user,
                reason=reason,
            )
        user = _portal_account(member, locked.password_hash)
        locked.status = ApplicationStatus.APPROVED
        _mark_reviewed(locked, acting_user)
        locked.member = member
        locked.password_hash = ""  # it now lives in the account only
        locked.save()
        record_audit(
            actor=acting_user,
            action="joinapplication.approved",
            obj=locked,
            organization=org,
            changes={"status": [old_status, locked.status], "member": member.pk},
        )
    notify_on_commit(
        [user.pk],
        "join.approved",
        {"union": org.name, "number": member.membership_number},
        link_for("my-membership"),
        dedupe_key=f"join.approved:{locked.pk}",
    )
    application.status, application.member = locked.status, member
    return member


def _rejoin(
    *, member: Member, organization: Organization, data: Mapping, acting_user, reason: str
) -> Member:
    """Bring a withdrawn or expelled member back, keeping their membership number."""
    before = Member.objects.select_for_update().get(pk=member.pk)
    if before.status in CURRENT_STATUSES or before.status == MemberStatus.DECEASED:
        raise _already_member_error()
    after = Member.objects.get(pk=before.pk)
    apply_person(after, data)
    after.organization = organization
    after.status = MemberStatus.ACTIVE
    after.status_changed_on = timezone.localdate()
    if after.card_number:
        after.card_serial += 1  # the old card's QR code stays invalid
    else:
        after.card_number = new_card_numbers(1)[0]
    after.card_issued_at = timezone.now()
    after.card_revoked_at = None
    save_membership_change(
        before=before, after=after, kind=EventKind.REJOINED, acting_user=acting_user, reason=reason
    )
    record_audit(
        actor=acting_user,
        action="member.rejoined",
        obj=after,
        organization=organization,
        changes={"status": [before.status, after.status]},
    )
    return after


def _portal_account(member: Member, password_hash: str):
    """The member's login: the membership number and the password chosen when applying."""
    User = get_user_model()
    user = member.user
    if user is None:
        if User.objects.filter(username=member.membership_number).exists():
            raise ValidationError(
                _("An account named %(name)s already exists; please contact the administrator.")
                % {"name": member.membership_number},
                code="username_taken",
            )
        user = User(username=member.membership_number)
    if password_hash:
        user.password = password_hash
    elif user.pk is None:
        user.set_unusable_password()
    user.is_active = True
    user.save()
    if member.user_id != user.pk:
        member.user = user
        member.save(update_fields=["user", "updated_at"])
    return user


def reject_join_application(
    *, application: JoinApplication, acting_user, reason: str
) -> JoinApplication:
    """Turn the application down, with the reason shown to the applicant."""
    _require_reviewer(acting_user, application)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            {"reason": [ValidationError(_("Give the reason for rejecting."), code="required")]}
        )
    with transaction.atomic():
        locked = _lock_open(application)
        old = locked.status
        locked.status = ApplicationStatus.REJECTED
        locked.review_note = reason[:500]
        _mark_reviewed(locked, acting_user)
        locked.password_hash = ""
        locked.save()
        record_audit(
            actor=acting_user,
            action="joinapplication.rejected",
            obj=locked,
            organization=locked.organization,
            changes={"status": [old, locked.status]},
        )
        _tell_applicant(locked, "join.rejected", "rejected", reason=locked.review_note)
    return locked


def request_correction(*, application: JoinApplication, acting_user, note: str) -> JoinApplication:
    """Send the application back to the applicant with a note on what to correct."""
    _require_reviewer(acting_user, application)
    note = (note or "").strip()
    if not note:
        raise ValidationError(
            {"note": [ValidationError(_("Say what needs correcting."), code="required")]}
        )
    with transaction.atomic():
        locked = _lock_open(application)
        old = locked.status
        locked.status = ApplicationStatus.NEEDS_CORRECTION
        locked.review_note = note[:500]
        _mark_reviewed(locked, acting_user)
        locked.save()
        record_audit(
            actor=acting_user,
            action="joinapplication.correction_requested",
            obj=locked,
            organization=locked.organization,
            changes={"status": [old, locked.status]},
        )
        step = f"correction:{locked.reviewed_at.timestamp()}"
        _tell_applicant(locked, "join.correction_requested", step, note=locked.review_note)
    return locked


# --- Retention --------------------------------------------------------------------------


def purge_unsuccessful_applications(*, now: datetime.datetime | None = None) -> int:
    """Delete rejected and withdrawn applications kept longer than the privacy notice says."""
    cutoff = (now or timezone.now()) - datetime.timedelta(
        days=UNSUCCESSFUL_APPLICATION_RETENTION_DAYS
    )
    stale = JoinApplication.objects.filter(
        status__in=[ApplicationStatus.REJECTED, ApplicationStatus.WITHDRAWN],
        updated_at__lt=cutoff,
    )
    with transaction.atomic(durable=True):
        per_union = Counter(stale.values_list("organization_id", flat=True))
        if not per_union:
            return 0
        forget_contacts(contact_ref(a) for a in stale.only("pk"))
        _total, by_model = stale.delete()
        deleted = by_model.get(JoinApplication._meta.label, 0)
        for org in Organization.objects.filter(pk__in=per_union):
            record_audit(
                actor=None,
                action="joinapplication.purged",
                obj=org,
                organization=org,
                changes={"count": per_union[org.pk]},
            )
    return deleted
