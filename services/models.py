"""What unions offer their members, and what members ask of their unions.

- The service menu (`Service`) and members' orders (`ServiceRequest`), with confidential
  notes for legal aid and counselling (`ConfidentialNote`).
- Service wishes (`ServiceWish`, `WishVote`): members propose and vote; staff answer.
- Activities with sessions, registrations, a waitlist and check-in.
- Hardship aid cases (`AidCase`) through review, home visit, approval, public notice (公示)
  with objections, disbursement and yearly review.
- Worker voice (`Concern`) with escalation up the tree, and its history (`ConcernStep`).
- Service stations (`Station`) and members' ratings of their visits.

Every state change goes through `services.actions`; history rows are only inserted.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from mptt.models import TreeForeignKey

from core.text import validate_plain_text
from members.models import Member
from organizations.models import Organization

RATING_VALIDATORS = [MinValueValidator(1), MaxValueValidator(5)]


def new_code() -> str:
    """A random, unguessable code for QR check-in (URL-safe, 22 characters)."""
    return secrets.token_urlsafe(16)


# --- Settings per organization ------------------------------------------------------------


class ServiceSettings(models.Model):
    """An organization's own settings for services; unset values fall back to the defaults."""

    tenant_path = "organization"

    organization = models.OneToOneField(
        Organization,
        verbose_name=_("organization"),
        on_delete=models.CASCADE,
        related_name="service_settings",
    )
    concern_days_general = models.PositiveSmallIntegerField(
        _("days to answer a general concern"), default=3, validators=[MinValueValidator(1)]
    )
    concern_days_difficult = models.PositiveSmallIntegerField(
        _("days to answer a difficult concern"), default=7, validators=[MinValueValidator(1)]
    )
    concern_days_complex = models.PositiveSmallIntegerField(
        _("days to answer a complex concern"), default=15, validators=[MinValueValidator(1)]
    )
    aid_approval_level = models.CharField(
        _("hardship aid approved at level"),
        max_length=20,
        blank=True,
        help_text=_(
            "The level of the union above that approves hardship aid cases from this "
            "subtree. Empty: the default level."
        ),
    )
    aid_notice_days = models.PositiveSmallIntegerField(
        _("days of public notice for hardship aid"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(30)],
    )

    class Meta:
        verbose_name = _("service settings")
        verbose_name_plural = _("service settings")

    def __str__(self):
        return str(self.organization)


# --- Audience shared by services and activities ------------------------------------------


class Delivery(models.TextChoices):
    ONLINE = "online", _("Online")
    STATION = "station", _("At a service station or venue")


class PublishStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    CLOSED = "closed", _("Closed")


class AudienceMixin(models.Model):
    """Who among the members of the offering organization's subtree may take part.

    Empty rules mean everyone. `audience_unions` limits to members whose union lies in the
    subtree of one of the chosen unions.
    """

    audience_levels = models.JSONField(
        _("for members of unions at these levels"), default=list, blank=True
    )
    audience_employment_types = models.JSONField(
        _("for these employment types"), default=list, blank=True
    )
    audience_unions = models.ManyToManyField(
        Organization,
        verbose_name=_("only for these unions and their subtrees"),
        blank=True,
        related_name="+",
    )

    class Meta:
        abstract = True


# --- Service stations ----------------------------------------------------------------------


class StationKind(models.TextChoices):
    WORKERS_HOME = "workers_home", _("Workers' home (职工之家)")
    OUTDOOR = "outdoor", _("Outdoor workers' station (驿站)")
    SERVICE_CENTRE = "service_centre", _("Service centre")
    OTHER = "other", _("Other venue")


class Station(models.Model):
    """An offline venue of a union: a workers' home, an outdoor workers' station…"""

    tenant_path = "organization"

    organization = TreeForeignKey(
        Organization,
        verbose_name=_("organization"),
        on_delete=models.PROTECT,
        related_name="stations",
    )
    # Shown on the map and the directory: no control or bidi characters.
    name = models.CharField(_("name"), max_length=120, validators=[validate_plain_text])
    kind = models.CharField(
        _("kind"), max_length=20, choices=StationKind.choices, default=StationKind.WORKERS_HOME
    )
    address = models.CharField(_("address"), max_length=255, validators=[validate_plain_text])
    opening_hours = models.CharField(
        _("opening hours"),
        max_length=200,
        blank=True,
        help_text=_("e.g. Mon–Fri 9:00–18:00"),
        validators=[validate_plain_text],
    )
    latitude = models.DecimalField(
        _("latitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("open"), default=True)
    rating_count = models.PositiveIntegerField(_("ratings"), default=0, editable=False)
    rating_sum = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("service station")
        verbose_name_plural = _("service stations")
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def rating(self):
        """The average rating, one decimal, or None before the first rating."""
        if not self.rating_count:
            return None
        return round(self.rating_sum / self.rating_count, 1)


class StationVisit(models.Model):
    """A member's rating of a visit to a station (one per member, station and day)."""

    tenant_path = "station__organization"

    station = models.ForeignKey(
        Station, verbose_name=_("station"), on_delete=models.CASCADE, related_name="visits"
    )
    member = models.ForeignKey(
        Member, verbose_name=_("member"), on_delete=models.CASCADE, related_name="+"
    )
    # The member's union when they rated: the counters stay where they were counted even
    # after the member transfers.
    member_union = models.ForeignKey(
        Organization,
        verbose_name=_("member's union"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    visited_on = models.DateField(_("visited on"), default=timezone.localdate)
    rating = models.PositiveSmallIntegerField(_("rating"), validators=RATING_VALIDATORS)
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("station visit")
        verbose_name_plural = _("station visits")
        constraints = [
            models.UniqueConstraint(
                fields=["station", "member", "visited_on"], name="stationvisit_once_a_day"
            ),
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=5), name="stationvisit_rating_1_5"
            ),
        ]

    def __str__(self):
        return f"{self.station} {self.visited_on}"


# --- The service menu and orders -----------------------------------------------------------


class ServiceCategory(models.TextChoices):
    INCLUSIVE = "inclusive", _("Inclusive benefit (普惠)")
    HARDSHIP = "hardship", _("Hardship aid")
    LEGAL = "legal", _("Legal aid")
    COUNSELLING = "counselling", _("Counselling")
    TRAINING = "training", _("Skills training")
    ACTIVITY = "activity", _("Activity")
    OTHER = "other", _("Other")


# Categories whose requests are confidential: notes only for the handling staff, and
# figures under the suppression threshold hidden.
CONFIDENTIAL_CATEGORIES = frozenset({ServiceCategory.LEGAL, ServiceCategory.COUNSELLING})


class Handling(models.TextChoices):
    OFFERING = "offering", _("The offering union's staff")
    MEMBERS_UNION = "members_union", _("The member's own union (delegated)")


class Service(AudienceMixin):
    """An item of the service menu, offered to the members of the organization's subtree."""

    tenant_path = "organization"

    organization = TreeForeignKey(
        Organization,
        verbose_name=_("offered by"),
        on_delete=models.PROTECT,
        related_name="services",
    )
    title = models.CharField(_("title"), max_length=120)
    category = models.CharField(_("category"), max_length=20, choices=ServiceCategory.choices)
    description = models.TextField(_("description"))
    capacity = models.PositiveIntegerField(
        _("capacity"),
        null=True,
        blank=True,
        help_text=_("How many members can be served. Empty: no limit."),
    )
    # Orders holding a place (not rejected or cancelled): changed only by a conditional
    # UPDATE, so concurrent orders never exceed the capacity.
    taken = models.PositiveIntegerField(_("places taken"), default=0, editable=False)
    starts_on = models.DateField(_("available from"), null=True, blank=True)
    ends_on = models.DateField(_("available until"), null=True, blank=True)
    delivery = models.CharField(
        _("delivery"), max_length=20, choices=Delivery.choices, default=Delivery.ONLINE
    )
    station = models.ForeignKey(
        Station,
        verbose_name=_("service station"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="services",
    )
    handling = models.CharField(
        _("handled by"), max_length=20, choices=Handling.choices, default=Handling.OFFERING
    )
    due_days = models.PositiveSmallIntegerField(
        _("days to complete a request"),
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    status = models.CharField(
        _("status"), max_length=20, choices=PublishStatus.choices, default=PublishStatus.DRAFT
    )
    from_wish = models.ForeignKey(
        "ServiceWish",
        verbose_name=_("answers the wish"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="services",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("service menu")
        indexes = [models.Index(fields=["organization", "status"], name="service_org_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(capacity__isnull=True) | Q(taken__lte=models.F("capacity")),
                name="service_never_oversold",
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def places_left(self) -> int | None:
        return None if self.capacity is None else max(self.capacity - self.taken, 0)

    @property
    def is_confidential(self) -> bool:
        return self.category in CONFIDENTIAL_CATEGORIES


class RequestStatus(models.TextChoices):
    SUBMITTED = "submitted", pgettext_lazy("request status", "Submitted")
    ACCEPTED = "accepted", _("Accepted")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_REQUEST_STATUSES = frozenset(
    {RequestStatus.SUBMITTED, RequestStatus.ACCEPTED, RequestStatus.IN_PROGRESS}
)


class ServiceRequest(models.Model):
    """A member's order of a service (会员点单).

    Seen by the handling union (the offering one, or the member's own when delegated) and by
    the member's own union.
    """

    tenant_path = ("organization", "member_union")
    owner_path = "member__user"  # the member's own, in the portal

    service = models.ForeignKey(
        Service, verbose_name=_("service"), on_delete=models.PROTECT, related_name="requests"
    )
    member = models.ForeignKey(
        Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="service_requests"
    )
    organization = TreeForeignKey(
        Organization,
        verbose_name=_("handled by"),
        on_delete=models.PROTECT,
        related_name="handled_requests",
    )
    member_union = TreeForeignKey(
        Organization,
        verbose_name=_("member's union"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=20, choices=RequestStatus.choices, default=RequestStatus.SUBMITTED
    )
    note = models.TextField(_("member's note"), blank=True, max_length=2000)
    due_at = models.DateTimeField(_("due"))
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handler"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    rejection_reason = models.CharField(_("reason for rejection"), max_length=500, blank=True)
    result = models.TextField(_("result"), blank=True, max_length=2000)
    rating = models.PositiveSmallIntegerField(
        _("rating"), null=True, blank=True, validators=RATING_VALIDATORS
    )
    rating_comment = models.CharField(_("comment on the rating"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("ordered at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    rated_at = models.DateTimeField(_("rated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("service request")
        verbose_name_plural = _("service requests")
        indexes = [
            models.Index(fields=["organization", "status"], name="request_org_status"),
            models.Index(fields=["member_union", "status"], name="request_union_status"),
        ]
        constraints = [
            # One open order per member and service.
            models.UniqueConstraint(
                fields=["service", "member"],
                condition=Q(status__in=["submitted", "accepted", "in_progress"]),
                name="request_one_open_per_member",
            ),
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="request_rating_1_5",
            ),
        ]

    def __str__(self):
        return f"{self.service} · {self.member.masked_name}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_REQUEST_STATUSES


class RequestStep(models.Model):
    """One recorded step of a service request (only inserted)."""

    tenant_path = ("request__organization", "request__member_union")

    request = models.ForeignKey(
        ServiceRequest, verbose_name=_("request"), on_delete=models.CASCADE, related_name="steps"
    )
    at = models.DateTimeField(_("time"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(_("status"), max_length=20, choices=RequestStatus.choices)
    text = models.TextField(_("text"), blank=True)

    class Meta:
        verbose_name = _("request step")
        verbose_name_plural = _("request steps")
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.status}"


class ConfidentialNote(models.Model):
    """A note on a legal-aid or counselling request, for the handling staff only."""

    tenant_path = "request__organization"

    request = models.ForeignKey(
        ServiceRequest,
        verbose_name=_("request"),
        on_delete=models.CASCADE,
        related_name="confidential_notes",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    text = models.TextField(_("note"), max_length=5000)
    created_at = models.DateTimeField(_("written at"), auto_now_add=True)

    class Meta:
        verbose_name = _("confidential note")
        verbose_name_plural = _("confidential notes")
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.request_id} {self.created_at:%Y-%m-%d}"


# --- Service wishes (点菜单) -----------------------------------------------------------------


class WishStatus(models.TextChoices):
    OPEN = "open", _("Open for votes")
    ANSWERED = "answered", _("Answered with a service")
    DECLINED = "declined", _("Declined")


class ServiceWish(models.Model):
    """A service a member wants, addressed to a union of their chain, and voted for."""

    tenant_path = "organization"

    organization = TreeForeignKey(
        Organization,
        verbose_name=_("addressed to"),
        on_delete=models.PROTECT,
        related_name="service_wishes",
    )
    proposer = models.ForeignKey(
        Member,
        verbose_name=_("proposed by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), max_length=2000, blank=True)
    category = models.CharField(
        _("category"),
        max_length=20,
        choices=ServiceCategory.choices,
        default=ServiceCategory.OTHER,
    )
    status = models.CharField(
        _("status"), max_length=20, choices=WishStatus.choices, default=WishStatus.OPEN
    )
    votes = models.PositiveIntegerField(_("votes"), default=0, editable=False)
    answer = models.TextField(_("answer"), blank=True, max_length=2000)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("proposed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("service wish")
        verbose_name_plural = _("service wishes")
        indexes = [models.Index(fields=["organization", "status", "-votes"], name="wish_rank")]

    def __str__(self):
        return self.title


class WishVote(models.Model):
    tenant_path = "wish__organization"

    wish = models.ForeignKey(
        ServiceWish, verbose_name=_("wish"), on_delete=models.CASCADE, related_name="vote_rows"
    )
    member = models.ForeignKey(
        Member, verbose_name=_("member"), on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(_("voted at"), auto_now_add=True)

    class Meta:
        verbose_name = _("vote for a wish")
        verbose_name_plural = _("votes for wishes")
        constraints = [
            models.UniqueConstraint(fields=["wish", "member"], name="wishvote_once_per_member")
        ]

    def __str__(self):
        return f"{self.wish_id}:{self.member_id}"


# --- Activities --------------------------------------------------------------------------


class ActivityStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Open for registration")
    CANCELLED = "cancelled", pgettext_lazy("activity status", "Cancelled")
    FINISHED = "finished", _("Finished")


class Activity(AudienceMixin):
    tenant_path = "organization"

    organization = TreeForeignKey(
        Organization,
        verbose_name=_("organized by"),
        on_delete=models.PROTECT,
        related_name="activities",
    )
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"))
    delivery = models.CharField(
        _("where"), max_length=20, choices=Delivery.choices, default=Delivery.STATION
    )
    station = models.ForeignKey(
        Station,
        verbose_name=_("service station"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="activities",
    )
    venue = models.CharField(_("venue"), max_length=255, blank=True)
    online_url = models.URLField(_("online link"), blank=True)
    registration_closes_at = models.DateTimeField(_("registration closes"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=ActivityStatus.choices, default=ActivityStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [models.Index(fields=["organization", "status"], name="activity_org_status")]

    def __str__(self):
        return self.title


class ActivitySession(models.Model):
    """One date of an activity, with its own capacity and check-in code."""

    tenant_path = "activity__organization"

    activity = models.ForeignKey(
        Activity, verbose_name=_("activity"), on_delete=models.CASCADE, related_name="sessions"
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    capacity = models.PositiveIntegerField(_("capacity"), validators=[MinValueValidator(1)])
    registered = models.PositiveIntegerField(_("registered"), default=0, editable=False)
    checkin_code = models.CharField(max_length=32, unique=True, default=new_code, editable=False)

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        ordering = ["starts_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(registered__lte=models.F("capacity")), name="session_never_overfull"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="session_ends_after_start"
            ),
        ]

    def __str__(self):
        return f"{self.activity} · {timezone.localtime(self.starts_at):%Y-%m-%d %H:%M}"

    @property
    def places_left(self) -> int:
        return max(self.capacity - self.registered, 0)


class RegistrationStatus(models.TextChoices):
    REGISTERED = "registered", _("Registered")
    WAITLISTED = "waitlisted", _("On the waiting list")
    CANCELLED = "cancelled", pgettext_lazy("registration status", "Cancelled")


class Registration(models.Model):
    """A member's registration for a session; attendance is its check-in."""

    tenant_path = ("session__activity__organization", "member_union")
    owner_path = "member__user"  # the member's own, in the portal

    session = models.ForeignKey(
        ActivitySession,
        verbose_name=_("session"),
        on_delete=models.CASCADE,
        related_name="registrations",
    )
    member = models.ForeignKey(
        Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="registrations"
    )
    member_union = TreeForeignKey(
        Organization, verbose_name=_("member's union"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=RegistrationStatus.choices,
        default=RegistrationStatus.REGISTERED,
    )
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True)
    # Waiting-list order: the time a member joined it.
    waitlisted_at = models.DateTimeField(_("waiting since"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    checkin_method = models.CharField(
        _("check-in method"),
        max_length=20,
        blank=True,
        choices=[("card", _("Staff scanned the card")), ("code", _("Member scanned the code"))],
    )

    class Meta:
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        indexes = [models.Index(fields=["session", "status", "waitlisted_at"], name="reg_queue")]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "member"],
                condition=~Q(status="cancelled"),
                name="registration_once_per_session",
            )
        ]

    def __str__(self):
        return f"{self.session} · {self.member.masked_name}"


# --- Hardship aid (困难职工帮扶) ---------------------------------------------------------------


class AidTier(models.TextChoices):
    DEEP = "deep", _("Deep hardship (深度困难)")
    RELATIVE = "relative", _("Relative hardship (相对困难)")
    SUDDEN = "sudden", _("Sudden hardship (意外致困)")


class AidReason(models.TextChoices):
    ILLNESS = "illness", _("Serious illness")
    DISABILITY = "disability", _("Disability")
    UNEMPLOYMENT = "unemployment", _("Unemployment")
    DISASTER = "disaster", _("Disaster or accident")
    EDUCATION = "education", _("Children's education")
    SINGLE_PARENT = "single_parent", _("Single-parent household")
    OTHER = "other", _("Other")


class AidStatus(models.TextChoices):
    APPLIED = "applied", _("Applied")
    REVIEWED = "reviewed", _("Reviewed by the grassroots union")
    VISITED = "visited", _("Home visit done")
    APPROVED = "approved", _("Approved")
    NOTICE = "notice", _("Public notice (公示)")
    OBJECTED = "objected", _("Objection under review")
    DISBURSED = "disbursed", _("Aid paid")
    REJECTED = "rejected", _("Rejected")
    CLOSED = "closed", _("Closed")


class AidCase(models.Model):
    """One household's hardship aid case, handled by its grassroots union.

    Case details are sensitive: only officers holding the aid role see them.
    """

    tenant_path = "organization"
    # The audit log shows the details of its entries (amounts, tiers) to aid officers only.
    audit_access = "aid"

    organization = TreeForeignKey(
        Organization,
        verbose_name=_("grassroots union"),
        on_delete=models.PROTECT,
        related_name="aid_cases",
    )
    member = models.ForeignKey(
        Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="aid_cases"
    )
    approver = TreeForeignKey(
        Organization,
        verbose_name=_("approving union"),
        on_delete=models.PROTECT,
        related_name="aid_cases_to_approve",
    )
    year = models.PositiveSmallIntegerField(_("year"))
    tier = models.CharField(_("tier"), max_length=20, choices=AidTier.choices)
    reason = models.CharField(_("cause of hardship"), max_length=20, choices=AidReason.choices)
    household_size = models.PositiveSmallIntegerField(
        _("household members"), validators=[MinValueValidator(1), MaxValueValidator(30)]
    )
    household_monthly_income = models.DecimalField(
        _("household monthly income (yuan)"),
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(0)],
    )
    situation = models.TextField(_("situation"), max_length=5000)
    amount_requested = models.DecimalField(
        _("amount requested (yuan)"),
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(0)],
    )
    amount_approved = models.DecimalField(
        _("amount approved (yuan)"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    status = models.CharField(
        _("status"), max_length=20, choices=AidStatus.choices, default=AidStatus.APPLIED
    )
    applied_by_member = models.BooleanField(_("applied by the member"), default=False)
    notice_starts_on = models.DateField(_("public notice from"), null=True, blank=True)
    notice_ends_on = models.DateField(_("public notice until"), null=True, blank=True)
    next_review_on = models.DateField(_("next yearly review"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("applied at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("hardship aid case")
        verbose_name_plural = _("hardship aid cases")
        permissions = [("handle_aid", "Can handle hardship aid cases")]
        constraints = [
            # A case per household and year: one open case per member.
            models.UniqueConstraint(
                fields=["member", "year"],
                condition=~Q(status__in=["rejected", "closed"]),
                name="aidcase_one_per_member_year",
            )
        ]

    def __str__(self):
        return f"{self.year} · {self.member.masked_name}"


class AidStepKind(models.TextChoices):
    APPLIED = "applied", _("Applied")
    REVIEWED = "reviewed", _("Reviewed")
    VISITED = "visited", _("Home visit")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    NOTICE = "notice", _("Public notice started")
    OBJECTION = "objection", _("Objection raised")
    OBJECTION_UPHELD = "objection_upheld", _("Objection upheld")
    OBJECTION_DISMISSED = "objection_dismissed", _("Objection dismissed")
    DISBURSED = "disbursed", _("Aid paid")
    YEARLY_REVIEW = "yearly_review", _("Yearly review")
    CLOSED = "closed", _("Closed")


class AidStep(models.Model):
    """One recorded step of an aid case (only inserted): reviews, the home visit…"""

    tenant_path = "case__organization"

    case = models.ForeignKey(
        AidCase, verbose_name=_("case"), on_delete=models.CASCADE, related_name="steps"
    )
    kind = models.CharField(_("step"), max_length=30, choices=AidStepKind.choices)
    at = models.DateTimeField(_("time"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    text = models.TextField(_("record"), blank=True, max_length=5000)
    amount = models.DecimalField(
        _("amount (yuan)"), max_digits=10, decimal_places=2, null=True, blank=True
    )

    class Meta:
        verbose_name = _("aid case step")
        verbose_name_plural = _("aid case steps")
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.case_id} {self.kind}"


class AidObjection(models.Model):
    """An objection to a case during its public notice."""

    tenant_path = "case__organization"

    case = models.ForeignKey(
        AidCase, verbose_name=_("case"), on_delete=models.CASCADE, related_name="objections"
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    text = models.TextField(_("objection"), max_length=2000)
    created_at = models.DateTimeField(_("raised at"), auto_now_add=True)
    upheld = models.BooleanField(_("upheld"), null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True, max_length=2000)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("objection")
        verbose_name_plural = _("objections")

    def __str__(self):
        return f"{self.case_id} {self.created_at:%Y-%m-%d}"


# --- Worker voice (职工之声) -----------------------------------------------------------------


class ConcernCategory(models.TextChoices):
    WAGES = "wages", _("Wages and pay")
    CONTRACT = "contract", _("Labour contract")
    SAFETY = "safety", _("Safety and health at work")
    INSURANCE = "insurance", _("Social insurance")
    HOURS = "hours", _("Working hours and leave")
    WELFARE = "welfare", _("Welfare and benefits")
    SUGGESTION = "suggestion", _("Suggestion for the union")
    OTHER = "other", _("Other")


class ConcernGrade(models.TextChoices):
    GENERAL = "general", _("General")
    DIFFICULT = "difficult", _("Difficult")
    COMPLEX = "complex", _("Complex")


class ConcernStatus(models.TextChoices):
    OPEN = "open", _("Waiting for an answer")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")


class Concern(models.Model):
    """A member's concern: handled by a union, escalated up the tree when not answered in time.

    Seen by the union handling it now and by the member's own union (and, through their
    subtrees, the unions above them). With `hide_name`, nobody above the member's own union
    sees who raised it. A union outside the member's own line (`in_union_line`: their union,
    the unions above it, its industry union) that handles it after a hand-over does not see
    who raised it either, unless the member agreed (`share_name_outside`).
    """

    tenant_path = ("organization", "origin")
    owner_path = "member__user"  # the member's own, in the portal

    member = models.ForeignKey(
        Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="concerns"
    )
    origin = TreeForeignKey(
        Organization,
        verbose_name=_("member's union"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    organization = TreeForeignKey(
        Organization,
        verbose_name=_("handled by"),
        on_delete=models.PROTECT,
        related_name="concerns",
    )
    category = models.CharField(_("category"), max_length=20, choices=ConcernCategory.choices)
    title = models.CharField(_("subject"), max_length=120)
    text = models.TextField(_("concern"), max_length=5000)
    attachment = models.FileField(
        _("attachment"), upload_to="concerns/%Y/%m/", blank=True, max_length=200
    )
    hide_name = models.BooleanField(
        _("hide my name above my own union"),
        default=False,
    )
    share_name_outside = models.BooleanField(
        _("show my name to other unions it is handed to"),
        default=False,
    )
    grade = models.CharField(
        _("grade"), max_length=20, choices=ConcernGrade.choices, default=ConcernGrade.GENERAL
    )
    status = models.CharField(
        _("status"), max_length=20, choices=ConcernStatus.choices, default=ConcernStatus.OPEN
    )
    due_at = models.DateTimeField(_("answer due"))
    escalations = models.PositiveSmallIntegerField(_("times escalated"), default=0)
    created_at = models.DateTimeField(_("raised at"), auto_now_add=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    rating = models.PositiveSmallIntegerField(
        _("rating"), null=True, blank=True, validators=RATING_VALIDATORS
    )
    rating_comment = models.CharField(_("comment on the rating"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("concern")
        verbose_name_plural = _("worker voice: concerns")
        indexes = [
            models.Index(fields=["status", "due_at"], name="concern_due"),
            models.Index(fields=["organization", "status"], name="concern_org_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="concern_rating_1_5",
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def is_overdue(self) -> bool:
        return self.status == ConcernStatus.OPEN and self.due_at <= timezone.now()


class ConcernStepKind(models.TextChoices):
    RAISED = "raised", _("Raised")
    GRADED = "graded", _("Graded")
    ESCALATED = "escalated", _("Escalated (not answered in time)")
    HANDED_OVER = "handed_over", _("Handed over")
    REPLIED = "replied", _("Replied")
    CLOSED = "closed", _("Closed")
    REOPENED = "reopened", _("Reopened by the member")
    RATED = "rated", _("Rated by the member")


class ConcernStep(models.Model):
    """One recorded step of a concern (only inserted)."""

    tenant_path = ("concern__organization", "concern__origin")

    concern = models.ForeignKey(
        Concern, verbose_name=_("concern"), on_delete=models.CASCADE, related_name="steps"
    )
    kind = models.CharField(_("step"), max_length=20, choices=ConcernStepKind.choices)
    at = models.DateTimeField(_("time"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    from_organization = models.ForeignKey(
        Organization, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    to_organization = models.ForeignKey(
        Organization, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    text = models.TextField(_("text"), blank=True, max_length=5000)

    class Meta:
        verbose_name = _("concern step")
        verbose_name_plural = _("concern steps")
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.concern_id} {self.kind}"


# --- Announcements (通知公告) ----------------------------------------------------------------


class AnnouncementStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")


class Announcement(AudienceMixin):
    """A notice from a union to the members of its subtree, sent to each member's inbox
    (and by email or SMS as they choose) in chunks by background tasks."""

    tenant_path = "organization"

    organization = TreeForeignKey(
        Organization,
        verbose_name=_("published by"),
        on_delete=models.PROTECT,
        related_name="announcements",
    )
    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("text"), max_length=5000)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=AnnouncementStatus.choices,
        default=AnnouncementStatus.DRAFT,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # Progress, counted as the chunks finish (each in its own transaction).
    chunks_total = models.PositiveIntegerField(_("parts"), default=0)
    chunks_done = models.PositiveIntegerField(_("parts sent"), default=0)
    recipients_done = models.PositiveIntegerField(_("members reached"), default=0)

    class Meta:
        verbose_name = _("announcement")
        verbose_name_plural = _("announcements")
        ordering = ["-published_at", "-created_at"]
        indexes = [models.Index(fields=["organization", "status"], name="announcement_org_status")]

    def __str__(self):
        return self.title

    @property
    def progress(self) -> int:
        """Percent of the parts sent."""
        if self.status == AnnouncementStatus.SENT:
            return 100
        return self.chunks_done * 100 // self.chunks_total if self.chunks_total else 0


class AnnouncementChunk(models.Model):
    """The recipients of one announcement whose user ids lie in [first_user_id, next
    chunk's first): one background task's work, done exactly once."""

    announcement = models.ForeignKey(Announcement, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField()
    first_user_id = models.BigIntegerField()
    # None for the last chunk: members who join while it is sent are in it too.
    end_user_id = models.BigIntegerField(null=True, blank=True)
    handed_out_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    recipients = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["announcement", "number"], name="chunk_unique")
        ]
        indexes = [
            models.Index(
                fields=["handed_out_at"], name="chunk_open", condition=Q(done_at__isnull=True)
            )
        ]

    def __str__(self):
        return f"{self.announcement_id}#{self.number}"
