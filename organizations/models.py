"""The union tree: organizations, the roles users hold in them, and the audit log.

Every provincial-level federation and every national industry union roots its own MPTT tree
(`tree_parent` is empty for them), so a write in one province shifts only that province's
lft/rght values. The national federation is linked above them through `parent`, the logical
parent that the rest of the code uses. `organizations.scope` treats a grant at the national
federation as covering every tree.
"""

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from mptt.models import MPTTModel, TreeForeignKey

from core.models import ImportJobBase
from core.text import validate_plain_text

from . import validators


class Level(models.TextChoices):
    NATIONAL = "national", _("National federation")
    PROVINCIAL = "provincial", _("Provincial federation")
    INDUSTRY = "industry", _("Industry union")
    CITY = "city", _("City federation")
    COUNTY = "county", _("County federation")
    TOWNSHIP = "township", _("Township / subdistrict federation")
    GRASSROOTS = "grassroots", _("Grassroots union")
    GROUP = "group", _("Union group")


# A child's rank must be greater than its parent's. Industry unions sit between provincial
# and city level: a provincial federation may have an industry union, which may have
# city-level and grassroots unions under it.
LEVEL_RANK = {
    Level.NATIONAL: 0,
    Level.PROVINCIAL: 10,
    Level.INDUSTRY: 15,
    Level.CITY: 20,
    Level.COUNTY: 30,
    Level.TOWNSHIP: 40,
    Level.GRASSROOTS: 50,
    Level.GROUP: 60,
}


class OrgStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    DISSOLVED = "dissolved", _("Dissolved")


class Organization(MPTTModel):
    # Printed on cards, reports and every screen above: no control or bidi characters.
    name = models.CharField(_("name"), max_length=200, validators=[validate_plain_text])
    short_name = models.CharField(
        _("short name"), max_length=60, blank=True, validators=[validate_plain_text]
    )
    level = models.CharField(_("level"), max_length=20, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent organization"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    # The MPTT parent: equal to `parent`, except for the roots of provincial and industry
    # trees, whose logical parent (the national federation) lives in another tree.
    tree_parent = TreeForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="tree_children",
    )
    uscc = models.CharField(
        _("unified social credit code"),
        max_length=18,
        blank=True,
        validators=[validators.validate_uscc],
        help_text=_("18 characters. Leave empty for unions without legal-person status."),
    )
    region_code = models.CharField(
        _("region code"),
        max_length=6,
        blank=True,
        validators=[validators.validate_region_code],
        help_text=_("Six-digit administrative division code (GB/T 2260), e.g. 330106."),
    )
    address = models.CharField(
        _("address"), max_length=255, blank=True, validators=[validate_plain_text]
    )
    contact_phone = models.CharField(
        _("contact phone"),
        max_length=32,
        blank=True,
        validators=[validators.validate_contact_phone],
    )
    founded_on = models.DateField(_("founded on"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=OrgStatus.choices, default=OrgStatus.ACTIVE
    )
    dissolved_on = models.DateField(_("dissolved on"), null=True, blank=True)
    # Dues: the percentage of the dues collected in this organization's subtree that is
    # remitted to it. A grassroots union keeps what its ancestors do not take.
    dues_share_percent = models.DecimalField(
        _("share of dues received (%)"),
        max_digits=5,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_(
            "Percentage of the dues collected by the grassroots unions below that is "
            "remitted to this organization."
        ),
    )
    keeps_retained_members = models.BooleanField(
        _("keeps retained memberships"),
        default=False,
        help_text=_(
            "Members who leave their employer without a new union may be parked here "
            "(township and subdistrict federations always may)."
        ),
    )
    # Dual affiliation: a grassroots union may also belong to a national industry union
    # (产业工会) beside its regional parent. Figures roll up both ways (see `rollups`).
    industry = models.ForeignKey(
        "self",
        verbose_name=_("national industry union"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="affiliates",
        limit_choices_to={"level": Level.INDUSTRY, "parent__level": Level.NATIONAL},
        help_text=_("Grassroots unions only: the national industry union it also belongs to."),
    )
    employees = models.PositiveIntegerField(
        _("employees"),
        null=True,
        blank=True,
        help_text=_("Grassroots unions: the number of employees, for the membership rate."),
    )
    # Search keys for the directory, derived from the name.
    name_pinyin = models.CharField(max_length=800, blank=True, editable=False)
    name_initials = models.CharField(max_length=200, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # Declared here rather than by django-mptt, to leave out its single-column index:
    # ("tree_id", "lft") covers it, and every index costs a write per shifted row.
    tree_id = models.PositiveIntegerField(editable=False)

    class MPTTMeta:
        parent_attr = "tree_parent"
        level_attr = "depth"

    class Meta:
        verbose_name = _("union organization")
        verbose_name_plural = _("union organizations")
        indexes = [
            models.Index(fields=["tree_id", "lft"], name="org_tree_lft"),
            models.Index(fields=["level", "status"], name="org_level_status"),
            models.Index(fields=["region_code"], name="org_region"),
            # Pattern ops so that `startswith` (LIKE 'abc%') can use it in any collation.
            models.Index(
                fields=["name_initials"], name="org_initials", opclasses=["varchar_pattern_ops"]
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["uscc"],
                condition=~Q(uscc=""),
                name="org_uscc_unique",
                violation_error_message=_("Another organization already uses this credit code."),
                violation_error_code="uscc_taken",
            ),
            models.UniqueConstraint(
                fields=["level"],
                condition=Q(level="national"),
                name="org_one_national_federation",
            ),
            models.CheckConstraint(
                condition=(Q(level="national") & Q(parent__isnull=True))
                | (~Q(level="national") & Q(parent__isnull=False)),
                name="org_only_national_has_no_parent",
            ),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.fill_search_keys()
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("union-detail", args=[self.pk])

    def fill_search_keys(self) -> None:
        """Derive the pinyin search keys from the names (also for bulk loads)."""
        self.name_pinyin, self.name_initials = validators.search_keys(self.name, self.short_name)

    @property
    def rank(self) -> int:
        return LEVEL_RANK[self.level]

    @property
    def is_active(self) -> bool:
        return self.status == OrgStatus.ACTIVE

    @property
    def region_name(self) -> str:
        return validators.region_name(self.region_code)

    def validate_constraints(self, exclude=None):
        """Report a taken credit code on its field, not on the form as a whole."""
        try:
            super().validate_constraints(exclude)
        except ValidationError as error:
            errors = error.update_error_dict({})
            general = errors.pop(NON_FIELD_ERRORS, [])
            taken = [e for e in general if getattr(e, "code", None) == "uscc_taken"]
            if taken:
                errors.setdefault("uscc", []).extend(taken)
            rest = [e for e in general if e not in taken]
            if rest:
                errors[NON_FIELD_ERRORS] = rest
            raise ValidationError(errors) from None

    def clean(self):
        self.uscc = validators.normalize_uscc(self.uscc)
        self.name = (self.name or "").strip()
        errors = {}
        if self.industry_id is not None:
            industry = self.industry
            if self.level != Level.GRASSROOTS:
                errors["industry"] = _("Only a grassroots union can join an industry union.")
            elif (
                industry.level != Level.INDUSTRY
                or industry.parent_id is None
                or (industry.parent.level != Level.NATIONAL)
            ):
                errors["industry"] = _("Choose a national industry union.")
        if self.employees is not None and self.level != Level.GRASSROOTS:
            errors["employees"] = _("Employee numbers are kept by grassroots unions.")
        if errors:
            raise ValidationError(errors)


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    STAFF = "staff", _("Staff")
    VIEWER = "viewer", _("Viewer (statistics only)")
    AID = "aid", _("Hardship aid officer")


class OrgRole(models.Model):
    """A user's grant in an organization; it covers the organization's whole subtree."""

    tenant_path = "organization"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="org_roles",
    )
    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organization"),
        on_delete=models.CASCADE,
        related_name="roles",
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("granted by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("granted at"), auto_now_add=True)

    class Meta:
        verbose_name = _("organization role")
        verbose_name_plural = _("organization roles")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization", "role"], name="orgrole_unique_grant"
            )
        ]

    def __str__(self):
        return f"{self.user} · {self.get_role_display()} · {self.organization}"


class OrgCounter(models.Model):
    """One statistics counter of one organization, fed by other apps through `counters`.

    Keys are dotted names owned by the app that feeds them (e.g. ``members.status.active``).
    A subtree's figure is the SUM over the organizations in its MPTT range.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="counters"
    )
    key = models.CharField(max_length=80)
    value = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("statistics counter")
        verbose_name_plural = _("statistics counters")
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="orgcounter_unique_key")
        ]

    def __str__(self):
        return f"{self.organization_id} {self.key}={self.value}"


class CounterDelta(models.Model):
    """Journal of counter changes not yet folded into the subtree roll-ups (`rollups`).

    Written beside every `OrgCounter` change in the same transaction; insert-only, so
    writers never wait for each other on a shared ancestor's row. A background job folds
    the journal into `OrgRollup` and deletes what it folded; readers add what is still
    waiting, so a figure is exact at every moment.
    """

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    key = models.CharField(max_length=80)
    delta = models.BigIntegerField()

    def __str__(self):
        return f"{self.organization_id} {self.key}{self.delta:+d}"


class OrgRollup(models.Model):
    """A counter summed over an organization's whole subtree (itself included).

    Keys are the counter keys, plus ``industry.<id>.<key>`` (the part of the subtree
    affiliated with a national industry union) on regional organizations and
    ``affiliated.<key>`` (the grassroots unions affiliated from any region) on national
    industry unions.
    """

    # The unique (organization, key) index serves lookups by organization.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    key = models.CharField(max_length=100)
    value = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("subtree roll-up")
        verbose_name_plural = _("subtree roll-ups")
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="orgrollup_unique_key")
        ]

    def __str__(self):
        return f"{self.organization_id} {self.key}={self.value}"


class UnionImport(ImportJobBase):
    """A union spreadsheet upload (unions, and officers in a second sheet) into a subtree
    (`core.models.ImportJobBase`); the errors may name their sheet."""

    tenant_path = "organization"

    organization = TreeForeignKey(
        Organization,
        verbose_name=_("import under"),
        on_delete=models.PROTECT,
        related_name="union_imports",
    )

    class Meta(ImportJobBase.Meta):
        verbose_name = _("union import")
        verbose_name_plural = _("union imports")
