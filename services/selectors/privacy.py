"""The services' sections of a member's copy of their own data (`core.privacy`).

What the member sees of their own orders, wishes, votes, registrations, station ratings,
hardship aid cases and concerns in the portal, and nothing more: no confidential notes on
legal aid and counselling, no aid officers' visit records or objections by others, no
grades or names of the officers who handled them.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from core.privacy import Section, Subject, model_section, plain, register_section

from ..models import (
    AidCase,
    AidObjection,
    AidStep,
    AidStepKind,
    Concern,
    ConcernStep,
    ConcernStepKind,
    Registration,
    RequestStep,
    ServiceRequest,
    ServiceWish,
    StationVisit,
    WishVote,
)
from .aid import MEMBER_STEP_TEXT

ID = ("id", _("Number"), lambda obj: obj.pk)
# After the members app's sections and the inbox (see `core.privacy`), in this order.
ORDER = 700

register_section(
    model_section(
        "service_requests",
        _("Service requests"),
        ServiceRequest,
        (
            "service",
            "organization",
            "status",
            "note",
            "created_at",
            "due_at",
            "result",
            "rejection_reason",
            "rating",
            "rating_comment",
            "closed_at",
            "rated_at",
        ),
        lambda subject: (
            ServiceRequest.objects.filter(member=subject.member)
            .select_related("service", "organization")
            .order_by("created_at", "pk")
        ),
        extra=[ID, ("category", _("Category"), lambda r: r.service.get_category_display())],
    ),
    order=ORDER,
)

register_section(
    model_section(
        "service_request_history",
        _("Service request history"),
        RequestStep,
        ("at", "status", "text"),
        lambda subject: RequestStep.objects.filter(request__member=subject.member).order_by(
            "request_id", "at", "pk"
        ),
        extra=[("request", _("Service request number"), lambda step: step.request_id)],
    ),
    order=ORDER,
)

register_section(
    model_section(
        "service_wishes",
        _("Service wishes you proposed"),
        ServiceWish,
        (
            "title",
            "description",
            "category",
            "organization",
            "status",
            "votes",
            "answer",
            "created_at",
            "answered_at",
        ),
        lambda subject: (
            ServiceWish.objects.filter(proposer=subject.member)
            .select_related("organization")
            .order_by("created_at", "pk")
        ),
    ),
    order=ORDER,
)

register_section(
    model_section(
        "wish_votes",
        _("Your votes for wishes"),
        WishVote,
        ("wish", "created_at"),
        lambda subject: (
            WishVote.objects.filter(member=subject.member)
            .select_related("wish__organization")
            .order_by("created_at", "pk")
        ),
        extra=[("organization", _("Addressed to"), lambda vote: vote.wish.organization)],
    ),
    order=ORDER,
)

register_section(
    model_section(
        "activity_registrations",
        _("Activity registrations"),
        Registration,
        (
            "status",
            "created_at",
            "waitlisted_at",
            "cancelled_at",
            "checked_in_at",
            "checkin_method",
        ),
        lambda subject: (
            Registration.objects.filter(member=subject.member)
            .select_related("session__activity__organization")
            .order_by("created_at", "pk")
        ),
        extra=[
            ("activity", _("Activity"), lambda r: r.session.activity.title),
            ("organization", _("Organized by"), lambda r: r.session.activity.organization),
            ("starts_at", _("Starts at"), lambda r: r.session.starts_at),
            ("ends_at", _("Ends at"), lambda r: r.session.ends_at),
        ],
    ),
    order=ORDER,
)

register_section(
    model_section(
        "station_visits",
        _("Station ratings"),
        StationVisit,
        ("station", "visited_on", "rating", "comment", "created_at"),
        lambda subject: (
            StationVisit.objects.filter(member=subject.member)
            .select_related("station")
            .order_by("visited_on", "pk")
        ),
    ),
    order=ORDER,
)

register_section(
    model_section(
        "aid_cases",
        _("Hardship aid cases"),
        AidCase,
        (
            "year",
            "organization",
            "tier",
            "reason",
            "household_size",
            "household_monthly_income",
            "situation",
            "amount_requested",
            "amount_approved",
            "status",
            "applied_by_member",
            "notice_starts_on",
            "notice_ends_on",
            "next_review_on",
            "created_at",
        ),
        lambda subject: (
            AidCase.objects.filter(member=subject.member)
            .select_related("organization")
            .order_by("created_at", "pk")
        ),
        extra=[ID],
    ),
    order=ORDER,
)


def _aid_step_rows(subject: Subject):
    steps = AidStep.objects.filter(case__member=subject.member).order_by("case_id", "at", "pk")
    for step in steps:
        yield {
            "case": step.case_id,
            "at": plain(step.at),
            "kind": step.get_kind_display(),
            # As on the member's page: the officers' records stay theirs.
            "text": step.text if step.kind in MEMBER_STEP_TEXT else "",
            "amount": plain(step.amount) if step.kind == AidStepKind.DISBURSED else None,
        }


register_section(
    Section(
        key="aid_case_history",
        title=_("Hardship aid case steps"),
        columns=[
            ("case", _("Case number")),
            ("at", _("Time")),
            ("kind", _("Step")),
            ("text", _("Record")),
            ("amount", _("Amount paid (yuan)")),
        ],
        rows=_aid_step_rows,
    ),
    order=ORDER,
)


def _objection_rows(subject: Subject):
    if subject.user is None:
        return
    # Their own words only: the case objected to is another household's.
    for objection in AidObjection.objects.filter(raised_by=subject.user).order_by("pk"):
        yield {
            "created_at": plain(objection.created_at),
            "text": objection.text,
            "upheld": objection.upheld,
            "resolved_at": plain(objection.resolved_at),
        }


register_section(
    Section(
        key="aid_objections",
        title=_("Your objections to public notices"),
        columns=[
            ("created_at", _("Raised at")),
            ("text", _("Objection")),
            ("upheld", _("Upheld")),
            ("resolved_at", _("Resolved at")),
        ],
        rows=_objection_rows,
    ),
    order=ORDER,
)

register_section(
    model_section(
        "concerns",
        _("Concerns"),
        Concern,
        (
            "title",
            "category",
            "text",
            "attachment",
            "hide_name",
            "share_name_outside",
            "origin",
            "organization",
            "status",
            "created_at",
            "due_at",
            "escalations",
            "answered_at",
            "closed_at",
            "rating",
            "rating_comment",
        ),
        lambda subject: (
            Concern.objects.filter(member=subject.member)
            .select_related("origin", "organization")
            .order_by("created_at", "pk")
        ),
        extra=[ID],
    ),
    order=ORDER,
)


def _concern_step_rows(subject: Subject):
    steps = (
        ConcernStep.objects.filter(concern__member=subject.member)
        .select_related("from_organization", "to_organization")
        .order_by("concern_id", "at", "pk")
    )
    for step in steps:
        yield {
            "concern": step.concern_id,
            "at": plain(step.at),
            "kind": step.get_kind_display(),
            "from_organization": plain(step.from_organization),
            "to_organization": plain(step.to_organization),
            # As on the concern's page: an escalation's text is the system's, not a reply.
            "text": "" if step.kind == ConcernStepKind.ESCALATED else step.text,
        }


register_section(
    Section(
        key="concern_history",
        title=_("Concern history and replies"),
        columns=[
            ("concern", _("Concern number")),
            ("at", _("Time")),
            ("kind", _("Step")),
            ("from_organization", _("From union")),
            ("to_organization", _("To union")),
            ("text", _("Text")),
        ],
        rows=_concern_step_rows,
    ),
    order=ORDER,
)
