"""Real-name members and everything that happens to a membership.

Personal identifiers are never stored in plaintext: the resident ID number and the phone
are Fernet tokens (`core.crypto`), found through keyed hashes and shown masked.
A `MembershipEvent` records every join, status change and transfer; events are only
ever inserted.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from mptt.models import TreeForeignKey

from core import crypto
from core.models import ImportJobBase, ImportStatus  # noqa: F401 (importers use members.models)
from organizations.models import Organization

from . import validators


class Gender(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")


# The 56 recognised ethnic groups with their GB 3304 codes, plus the two residual codes.
ETHNICITIES = [
    ("01", _("Han")), ("02", _("Mongol")), ("03", _("Hui")), ("04", _("Tibetan")),
    ("05", _("Uyghur")), ("06", _("Miao")), ("07", _("Yi")), ("08", _("Zhuang")),
    ("09", _("Bouyei")), ("10", _("Korean")), ("11", _("Manchu")), ("12", _("Dong")),
    ("13", _("Yao")), ("14", _("Bai")), ("15", _("Tujia")), ("16", _("Hani")),
    ("17", _("Kazakh")), ("18", _("Dai")), ("19", _("Li")), ("20", _("Lisu")),
    ("21", _("Va")), ("22", _("She")), ("23", _("Gaoshan")), ("24", _("Lahu")),
    ("25", _("Sui")), ("26", _("Dongxiang")), ("27", _("Naxi")), ("28", _("Jingpo")),
    ("29", _("Kyrgyz")), ("30", _("Tu")), ("31", _("Daur")), ("32", _("Mulao")),
    ("33", _("Qiang")), ("34", _("Blang")), ("35", _("Salar")), ("36", _("Maonan")),
    ("37", _("Gelao")), ("38", _("Xibe")), ("39", _("Achang")), ("40", _("Pumi")),
    ("41", _("Tajik")), ("42", _("Nu")), ("43", _("Uzbek")), ("44", _("Russian")),
    ("45", _("Evenki")), ("46", _("De'ang")), ("47", _("Bonan")), ("48", _("Yugur")),
    ("49", _("Gin")), ("50", _("Tatar")), ("51", _("Derung")), ("52", _("Oroqen")),
    ("53", _("Hezhen")), ("54", _("Monpa")), ("55", _("Lhoba")), ("56", _("Jino")),
    ("97", _("Other (unrecognised)")), ("98", _("Chinese citizen of foreign origin")),
]  # fmt: skip


class Education(models.TextChoices):
    JUNIOR_HIGH = "junior_high", _("Junior high school or below")
    SENIOR_HIGH = "senior_high", _("Senior high / vocational school")
    COLLEGE = "college", _("Junior college")
    BACHELOR = "bachelor", _("Bachelor's degree")
    MASTER = "master", _("Master's degree")
    DOCTORATE = "doctorate", _("Doctorate")


class EmploymentType(models.TextChoices):
    FULL_TIME = "full_time", _("Full-time employee")
    PART_TIME = "part_time", _("Part-time employee")
    DISPATCHED = "dispatched", _("Agency (dispatched) worker")
    FLEXIBLE = "flexible", _("Flexible employment")
    DELIVERY_RIDER = "delivery_rider", _("Delivery rider")
    RIDE_HAILING = "ride_hailing", _("Ride-hailing driver")
    COURIER = "courier", _("Courier")
    TRUCK_DRIVER = "truck_driver", _("Truck driver")
    DOMESTIC = "domestic", _("Domestic service worker")
    OTHER_NEW_FORM = "other_new_form", _("Other new form of employment")


# New forms of employment (新就业形态) that unions are pushing to enrol.
NEW_FORMS_OF_EMPLOYMENT = frozenset(
    {
        EmploymentType.DELIVERY_RIDER,
        EmploymentType.RIDE_HAILING,
        EmploymentType.COURIER,
        EmploymentType.TRUCK_DRIVER,
        EmploymentType.DOMESTIC,
        EmploymentType.OTHER_NEW_FORM,
    }
)


class MemberStatus(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("membership status", "Active")
    RETAINED = "retained", _("Retained membership")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    EXPELLED = "expelled", _("Expelled")
    DECEASED = "deceased", _("Deceased")


# Statuses in which a person still belongs to the union (a card is valid).
CURRENT_STATUSES = frozenset({MemberStatus.ACTIVE, MemberStatus.RETAINED})


# The real-name fields as typed into a form; `members.people.clean_person` validates them.
PERSON_FIELDS = (
    "name",
    "id_number",
    "phone",
    "ethnicity",
    "education",
    "employer",
    "job",
    "employment_type",
)


class PersonalDataMixin(models.Model):
    """The real-name fields shared by a member and a join application."""

    name = models.CharField(pgettext_lazy("person", "name"), max_length=60)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices)
    birth_date = models.DateField(_("birth date"))
    ethnicity = models.CharField(_("ethnicity"), max_length=2, choices=ETHNICITIES, default="01")
    id_number_encrypted = models.TextField(editable=False)
    id_hash = models.CharField(max_length=64, editable=False, db_index=True)
    id_masked = models.CharField(_("ID number"), max_length=18, editable=False)
    phone_encrypted = models.TextField(editable=False, blank=True)
    phone_hash = models.CharField(max_length=64, editable=False, blank=True, db_index=True)
    phone_masked = models.CharField(_("mobile phone"), max_length=11, editable=False, blank=True)
    education = models.CharField(
        _("education"), max_length=20, choices=Education.choices, blank=True
    )
    employer = models.CharField(_("employer (work unit)"), max_length=200)
    job = models.CharField(_("job"), max_length=100, blank=True)
    employment_type = models.CharField(
        _("employment type"),
        max_length=20,
        choices=EmploymentType.choices,
        default=EmploymentType.FULL_TIME,
    )

    class Meta:
        abstract = True

    @property
    def id_number(self) -> str:
        """The decrypted ID number. Showing it to a person goes through an audited action."""
        return crypto.decrypt(self.id_number_encrypted)

    @property
    def phone(self) -> str:
        return crypto.decrypt(self.phone_encrypted)

    def person_data(self) -> dict:
        """The stored real-name data in the shape `clean_person` takes and returns."""
        return {field: getattr(self, field) for field in PERSON_FIELDS}

    @property
    def masked_name(self) -> str:
        return validators.mask_name(self.name)

    @property
    def is_new_form_of_employment(self) -> bool:
        return self.employment_type in NEW_FORMS_OF_EMPLOYMENT

    def set_id_number(self, number: str) -> None:
        """Store a validated, normalized ID number; derives gender and birth date."""
        self.id_number_encrypted = crypto.encrypt(number)
        self.id_hash = crypto.id_hash(number)
        self.id_masked = validators.mask_id_number(number)
        self.gender = validators.gender_of(number)
        self.birth_date = validators.birth_date_of(number)

    def set_phone(self, phone: str) -> None:
        self.phone_encrypted = crypto.encrypt(phone)
        self.phone_hash = crypto.phone_hash(phone) if phone else ""
        self.phone_masked = validators.mask_phone(phone) if phone else ""


class Member(PersonalDataMixin):
    tenant_path = "organization"

    organization = TreeForeignKey(
        Organization,
        verbose_name=_("union"),
        on_delete=models.PROTECT,
        related_name="members",
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("portal account"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="member",
    )
    membership_number = models.CharField(
        _("membership number"), max_length=16, unique=True, editable=False
    )
    join_date = models.DateField(_("join date"))
    status = models.CharField(
        _("status"), max_length=20, choices=MemberStatus.choices, default=MemberStatus.ACTIVE
    )
    status_changed_on = models.DateField(_("status changed on"), null=True, blank=True)
    # Restricted: only the union's administrators see and change it.
    wage_base = models.DecimalField(
        _("monthly wage base (yuan)"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    card_number = models.CharField(
        _("card number"), max_length=16, unique=True, null=True, blank=True, editable=False
    )
    # Bumped when a card is reissued, so that the QR codes of older cards stop verifying.
    card_serial = models.PositiveIntegerField(default=1, editable=False)
    card_issued_at = models.DateTimeField(_("card issued at"), null=True, blank=True)
    card_revoked_at = models.DateTimeField(_("card revoked at"), null=True, blank=True)
    # Anonymised on a deletion request (issue 7); a deleted person may join again.
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["-pk"]
        indexes = [
            models.Index(fields=["organization", "status"], name="member_org_status"),
        ]
        constraints = [
            # One person is one member nationwide (会员实名制).
            models.UniqueConstraint(
                fields=["id_hash"],
                condition=Q(deleted_at__isnull=True),
                name="member_one_person_one_member",
                violation_error_message=_("This person is already a member."),
            ),
        ]
        permissions = [
            ("reveal_personal_data", "Can reveal full ID numbers and phones"),
            ("change_wage_base", "Can see and change wage bases"),
        ]

    def __str__(self):
        return f"{self.name} ({self.membership_number})"

    @property
    def is_current(self) -> bool:
        return self.status in CURRENT_STATUSES

    @property
    def card_is_valid(self) -> bool:
        return self.is_current and self.card_number is not None and self.card_revoked_at is None


class EventKind(models.TextChoices):
    JOINED = "joined", _("Joined")
    REJOINED = "rejoined", _("Rejoined")
    STATUS_CHANGED = "status_changed", _("Status changed")
    TRANSFERRED = "transferred", _("Transferred")
    RETAINED = "retained", _("Membership retained")


class MembershipEvent(models.Model):
    """One step of a membership's history. Never updated or deleted."""

    # Seen by the union it happened in and, for transfers, by both unions.
    tenant_path = ("from_organization", "to_organization")

    member = models.ForeignKey(
        Member, verbose_name=_("member"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("event"), max_length=20, choices=EventKind.choices)
    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    effective_on = models.DateField(_("effective on"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    from_status = models.CharField(
        _("from status"), max_length=20, choices=MemberStatus.choices, blank=True
    )
    to_status = models.CharField(_("to status"), max_length=20, choices=MemberStatus.choices)
    from_organization = models.ForeignKey(
        Organization,
        verbose_name=_("from union"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    to_organization = models.ForeignKey(
        Organization, verbose_name=_("to union"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    transfer = models.ForeignKey(
        "Transfer",
        verbose_name=_("transfer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
    )

    class Meta:
        verbose_name = _("membership event")
        verbose_name_plural = _("membership events")
        ordering = ["member", "at", "pk"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.effective_on}"


class ApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Awaiting review")
    NEEDS_CORRECTION = "needs_correction", _("Correction requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn by the applicant")


OPEN_APPLICATION_STATUSES = frozenset(
    {ApplicationStatus.SUBMITTED, ApplicationStatus.NEEDS_CORRECTION}
)


class JoinApplication(PersonalDataMixin):
    """A worker's online application to join a grassroots union (网上入会)."""

    tenant_path = "organization"

    organization = TreeForeignKey(
        Organization,
        verbose_name=_("union applied to"),
        on_delete=models.PROTECT,
        related_name="join_applications",
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=ApplicationStatus.choices,
        default=ApplicationStatus.SUBMITTED,
    )
    privacy_consent_at = models.DateTimeField(_("privacy notice accepted at"))
    sensitive_consent_at = models.DateTimeField(_("sensitive data consent given at"))
    privacy_notice_version = models.CharField(_("privacy notice version"), max_length=20)
    # The applicant's chosen portal password (hashed); the account is made on approval.
    password_hash = models.CharField(max_length=256, editable=False, blank=True)
    # SHA-256 of the secret in the applicant's status link.
    access_key_hash = models.CharField(max_length=64, unique=True, editable=False)
    review_note = models.CharField(_("reason / note to the applicant"), max_length=500, blank=True)
    # The language the applicant applied in: their text messages are written in it.
    language = models.CharField(max_length=10, blank=True, editable=False)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    member = models.ForeignKey(
        Member,
        verbose_name=_("member"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="applications",
    )
    submitted_at = models.DateTimeField(_("submitted at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("join application")
        verbose_name_plural = _("join applications")
        ordering = ["-submitted_at", "-pk"]
        indexes = [models.Index(fields=["organization", "status"], name="joinapp_org_status")]
        constraints = [
            # One open application per person at a time.
            models.UniqueConstraint(
                fields=["id_hash"],
                condition=Q(status__in=["submitted", "needs_correction"]),
                name="joinapp_one_open_per_person",
                violation_error_message=_("An application for this ID number is already open."),
            ),
        ]

    def __str__(self):
        return f"{self.masked_name} → {self.organization}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_APPLICATION_STATUSES


class LinkRecovery(models.Model):
    """An applicant's request to get a lost status link back by ID number and phone.

    The web request only stores the keyed hashes of what was typed and queues the sending
    task, whether or not an application matches, so neither its answer nor its timing tells
    whether an ID number has applied. The task looks the application up and, if one matches,
    sends a one-time code to the phone on file and keeps the code's hash here. Rows are
    deleted a day after they expire.
    """

    id_hash = models.CharField(max_length=64, editable=False)
    phone_hash = models.CharField(max_length=64, editable=False)
    application = models.ForeignKey(
        JoinApplication, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    code_hash = models.CharField(max_length=64, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("status link recovery")
        verbose_name_plural = _("status link recoveries")
        indexes = [models.Index(fields=["expires_at"], name="linkrecovery_expiry")]

    def __str__(self):
        return f"{self.pk}: {self.created_at:%Y-%m-%d %H:%M}"


class TransferStatus(models.TextChoices):
    OPEN = "open", _("Open")
    COMPLETED = "completed", _("Completed")
    REFUSED = "refused", _("Refused")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")


class TransferSide(models.TextChoices):
    MEMBER = "member", _("Member")
    SENDING = "sending", _("Sending union")
    RECEIVING = "receiving", _("Receiving union")


class Transfer(models.Model):
    """Moving a membership from one union to another (会员关系转接), anywhere in the tree."""

    # Both unions see the transfer while it is open, and afterwards.
    tenant_path = ("from_organization", "to_organization")
    # The member follows, cancels and answers their own transfers in the portal.
    owner_path = "member__user"

    member = models.ForeignKey(
        Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="transfers"
    )
    from_organization = TreeForeignKey(
        Organization,
        verbose_name=_("sending union"),
        on_delete=models.PROTECT,
        related_name="transfers_out",
    )
    to_organization = TreeForeignKey(
        Organization,
        verbose_name=_("receiving union"),
        on_delete=models.PROTECT,
        related_name="transfers_in",
    )
    status = models.CharField(
        _("status"), max_length=20, choices=TransferStatus.choices, default=TransferStatus.OPEN
    )
    initiated_by_side = models.CharField(
        _("started by"), max_length=20, choices=TransferSide.choices
    )
    initiated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by user"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    new_employer = models.CharField(_("new employer"), max_length=200, blank=True)
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("released by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("accepted by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    refused_by_side = models.CharField(
        _("refused by"), max_length=20, choices=TransferSide.choices, blank=True
    )
    refusal_reason = models.CharField(_("reason for refusal"), max_length=500, blank=True)
    expires_at = models.DateTimeField(_("expires at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("started at"), auto_now_add=True)

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(status="open"),
                name="transfer_one_open_per_member",
                violation_error_message=_("This member already has an open transfer."),
            ),
            models.CheckConstraint(
                condition=~Q(from_organization=models.F("to_organization")),
                name="transfer_between_two_unions",
            ),
        ]

    def __str__(self):
        return f"{self.member} : {self.from_organization} → {self.to_organization}"

    @property
    def is_open(self) -> bool:
        return self.status == TransferStatus.OPEN


class PaymentMethod(models.TextChoices):
    PAYROLL = "payroll", _("Payroll deduction")
    CASH = "cash", _("Cash")
    BANK = "bank", _("Bank transfer")
    WECHAT = "wechat", _("WeChat Pay")
    ALIPAY = "alipay", _("Alipay")


class DuesRecord(models.Model):
    """One member's dues for one month (会费): due from the wage base, and what was paid."""

    tenant_path = "organization"

    member = models.ForeignKey(
        Member, verbose_name=_("member"), on_delete=models.PROTECT, related_name="dues"
    )
    # The union the member belonged to in that month: it collects and splits the money.
    organization = TreeForeignKey(
        Organization, verbose_name=_("union"), on_delete=models.PROTECT, related_name="dues"
    )
    period = models.DateField(_("month"), help_text=_("The first day of the month."))
    wage_base = models.DecimalField(
        _("wage base (yuan)"), max_digits=12, decimal_places=2, validators=[MinValueValidator(0)]
    )
    amount_due = models.DecimalField(
        _("amount due (yuan)"), max_digits=10, decimal_places=2, validators=[MinValueValidator(0)]
    )
    amount_paid = models.DecimalField(
        _("amount paid (yuan)"),
        max_digits=10,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0)],
    )
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    method = models.CharField(
        _("payment method"), max_length=20, choices=PaymentMethod.choices, blank=True
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("dues record")
        verbose_name_plural = _("dues records")
        ordering = ["-period", "member"]
        indexes = [models.Index(fields=["organization", "period"], name="dues_org_period")]
        constraints = [
            models.UniqueConstraint(fields=["member", "period"], name="dues_one_per_month"),
            models.CheckConstraint(condition=Q(period__day=1), name="dues_period_first_day"),
        ]

    def __str__(self):
        return f"{self.member} {self.period:%Y-%m}"

    @property
    def outstanding(self):
        return max(self.amount_due - self.amount_paid, 0)

    @property
    def is_paid(self) -> bool:
        return self.amount_paid >= self.amount_due


class ImportKind(models.TextChoices):
    MEMBERS = "members", _("Members")
    PAYROLL = "payroll", _("Payroll (wage bases and dues)")


class ImportJob(ImportJobBase):
    """A member or payroll spreadsheet upload into a union (`core.models.ImportJobBase`)."""

    tenant_path = "organization"

    organization = TreeForeignKey(
        Organization,
        verbose_name=_("union"),
        on_delete=models.PROTECT,
        related_name="import_jobs",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=ImportKind.choices)

    class Meta(ImportJobBase.Meta):
        verbose_name = _("spreadsheet import")
        verbose_name_plural = _("spreadsheet imports")
