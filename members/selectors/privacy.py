"""The members app's sections of a member's copy of their own data (`core.privacy`).

The member record with the full ID number and phone, the membership history, join
applications, transfers and dues. The login account, sessions and messages are registered
by accounts and notifications, the services' parts by `services.selectors.privacy`.

A section lists only what concerns the member and what they may see: never another
person's data, nor officers' internal records (who did what).
"""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy

from core.privacy import model_section, register_section

from ..models import DuesRecord, JoinApplication, Member, MembershipEvent, Transfer

# Places in the copy (see `core.privacy`): the record first, the membership after the login.
RECORD_ORDER = 100
MEMBERSHIP_ORDER = 500

MEMBER_FIELDS = (
    "name",
    "gender",
    "birth_date",
    "ethnicity",
    "education",
    "employer",
    "job",
    "employment_type",
    "organization",
    "membership_number",
    "join_date",
    "status",
    "status_changed_on",
    "wage_base",
    "card_number",
    "card_issued_at",
    "card_revoked_at",
    "created_at",
)
# Their own copy: the full identifiers, decrypted (only lists for officers are masked).
IDENTIFIERS = (
    ("id_number", gettext_lazy("ID number"), lambda obj: obj.id_number),
    ("phone", gettext_lazy("Mobile phone"), lambda obj: obj.phone),
)

register_section(
    model_section(
        "member",
        gettext_lazy("Member record"),
        Member,
        MEMBER_FIELDS,
        lambda subject: [Member.objects.select_related("organization").get(pk=subject.member.pk)],
        extra=IDENTIFIERS,
        single=True,
    ),
    order=RECORD_ORDER,
)

register_section(
    model_section(
        "membership_history",
        gettext_lazy("Membership history"),
        MembershipEvent,
        (
            "effective_on",
            "at",
            "kind",
            "from_status",
            "to_status",
            "from_organization",
            "to_organization",
            "reason",
        ),
        lambda subject: subject.member.events.select_related(
            "from_organization", "to_organization"
        ),
    ),
    order=MEMBERSHIP_ORDER,
)


def applications_of(member: Member):
    """The person's join applications: the one that made the membership, and any other
    (earlier, refused or withdrawn) made with the same ID number."""
    same_person = Q(member=member)
    if member.id_hash:
        same_person |= Q(id_hash=member.id_hash)
    return JoinApplication.objects.filter(same_person)


register_section(
    model_section(
        "join_applications",
        gettext_lazy("Join applications"),
        JoinApplication,
        (
            "organization",
            "status",
            "submitted_at",
            "name",
            "gender",
            "birth_date",
            "ethnicity",
            "education",
            "employer",
            "job",
            "employment_type",
            "privacy_consent_at",
            "sensitive_consent_at",
            "privacy_notice_version",
            "review_note",
            "reviewed_at",
        ),
        lambda subject: (
            applications_of(subject.member)
            .select_related("organization")
            .order_by("submitted_at", "pk")
        ),
        extra=IDENTIFIERS,
    ),
    order=MEMBERSHIP_ORDER,
)

register_section(
    model_section(
        "transfers",
        gettext_lazy("Transfers"),
        Transfer,
        (
            "created_at",
            "from_organization",
            "to_organization",
            "status",
            "initiated_by_side",
            "reason",
            "new_employer",
            "released_at",
            "accepted_at",
            "refused_by_side",
            "refusal_reason",
            "expires_at",
            "closed_at",
        ),
        lambda subject: subject.member.transfers.select_related(
            "from_organization", "to_organization"
        ).order_by("created_at", "pk"),
    ),
    order=MEMBERSHIP_ORDER,
)

register_section(
    model_section(
        "dues",
        gettext_lazy("Dues"),
        DuesRecord,
        ("period", "organization", "wage_base", "amount_due", "amount_paid", "paid_on", "method"),
        lambda subject: subject.member.dues.select_related("organization").order_by("period"),
    ),
    order=MEMBERSHIP_ORDER,
)
