"""The services' part of erasing a member at their request (`core.privacy`, run by
`members.actions.privacy.erase_member`).

A member with an open hardship aid case cannot be erased: the case is public money still
being decided or paid, and needs the person. Otherwise, in the erasure's transaction:

- open orders are cancelled, registrations for sessions still to come are cancelled (the
  next in line gets the place) and concerns not yet closed are closed, each through its own
  action, so places, waiting lists and counters stay exact;
- deleted: confidential notes on legal aid and counselling, concern attachments (the
  files, once the transaction commits), comments on ratings and station visits, and the
  member's link to the wishes they proposed and to their objections;
- kept without the person's name and identifiers (replaced by ***): orders with their
  history, registrations and votes (the unions' service statistics count them), hardship
  aid cases with their steps, payments and objections (public funds, audited), concerns
  with their history and replies (a union accounts for what it did with a worker's concern).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.privacy import (
    Redactor,
    Subject,
    in_site_language,
    register_eraser,
    register_erasure_guard,
)

from ..models import (
    OPEN_REQUEST_STATUSES,
    AidCase,
    AidObjection,
    AidStep,
    Concern,
    ConcernStatus,
    ConcernStep,
    ConfidentialNote,
    Registration,
    RegistrationStatus,
    RequestStep,
    ServiceRequest,
    ServiceWish,
    StationVisit,
)
from . import activities, aid, voice
from . import requests as request_actions

# The member's parts come before the account's (see `core.privacy`): cancelling notifies.
ERASER_ORDER = 100

# Written into the history of what is cancelled or closed on the member's behalf.
ERASURE_NOTE = gettext_lazy("The member left the union and deleted their account.")


def refuse_while_aid_case_open(subject: Subject) -> str | None:
    if AidCase.objects.filter(member=subject.member, status__in=aid.OPEN_STATUSES).exists():
        return _(
            "Your hardship aid case is still being handled (or its aid is paid and due for "
            "its yearly review). Ask your union's aid officer to close it first."
        )
    return None


def erase_services_data(*, subject: Subject, redact: Redactor) -> None:
    """Cancel or close what is still open, delete what only concerns the person, and take
    their identifiers out of what the unions keep. Inside the erasure's transaction."""
    member, user = subject.member, subject.user
    note = in_site_language(ERASURE_NOTE)
    now = timezone.now()

    for request in ServiceRequest.objects.filter(member=member, status__in=OPEN_REQUEST_STATUSES):
        request_actions.cancel_request(request=request, acting_user=None, reason=note)
    ConfidentialNote.objects.filter(request__member=member).delete()
    requests = ServiceRequest.objects.filter(member=member)
    requests.exclude(rating_comment="").update(rating_comment="")
    redact.rows(requests, ["note", "result", "rejection_reason"])
    redact.rows(RequestStep.objects.filter(request__member=member), ["text"])

    upcoming = Registration.objects.filter(
        member=member,
        status__in=[RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED],
        checked_in_at__isnull=True,
        session__starts_at__gt=now,
    )
    for registration in upcoming:
        activities.cancel_registration(registration=registration, acting_user=None)

    wishes = ServiceWish.objects.filter(proposer=member)
    redact.rows(wishes, ["title", "description", "answer"])
    wishes.update(proposer=None)
    StationVisit.objects.filter(member=member).exclude(comment="").update(comment="")

    cases = AidCase.objects.filter(member=member)
    redact.rows(cases, ["situation"])
    redact.rows(AidStep.objects.filter(case__member=member), ["text"])
    redact.rows(AidObjection.objects.filter(case__member=member), ["text", "resolution"])
    if user is not None:
        AidObjection.objects.filter(raised_by=user).update(raised_by=None)

    for concern in Concern.objects.filter(member=member).exclude(status=ConcernStatus.CLOSED):
        voice.close_concern(concern=concern, acting_user=None, note=note)
    concerns = Concern.objects.filter(member=member)
    redact.rows(concerns, ["title", "text"])
    concerns.exclude(rating_comment="").update(rating_comment="")
    redact.rows(ConcernStep.objects.filter(concern__member=member), ["text"])
    for concern in concerns.exclude(attachment=""):
        storage, name = concern.attachment.storage, concern.attachment.name
        transaction.on_commit(lambda storage=storage, name=name: storage.delete(name))
    concerns.exclude(attachment="").update(attachment="")


register_erasure_guard(refuse_while_aid_case_open)
register_eraser(erase_services_data, order=ERASER_ORDER)
