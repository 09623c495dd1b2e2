"""Daily snapshots of the subtree figures (for trends) and report files built on request."""

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from mptt.models import TreeForeignKey

from organizations.models import Organization


def report_storage() -> FileSystemStorage:
    """Report files live outside MEDIA_ROOT: they are only ever served by the download view,
    which checks the reader's scope."""
    return FileSystemStorage(location=settings.REPORTS_ROOT)


class DailySnapshot(models.Model):
    """One subtree figure of one organization (above grassroots level) at the end of a day."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    date = models.DateField(_("date"))
    key = models.CharField(max_length=100)
    value = models.BigIntegerField()

    class Meta:
        verbose_name = _("daily snapshot")
        verbose_name_plural = _("daily snapshots")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "key", "date"], name="snapshot_unique_day"
            )
        ]

    def __str__(self):
        return f"{self.organization_id} {self.date} {self.key}={self.value}"


class ReportKind(models.TextChoices):
    REQUESTED = "requested", _("On request")
    MONTHLY = "monthly", _("Monthly")


class ReportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Being built")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")


class ReportJob(models.Model):
    """A statistics report (XLSX and PDF) of one organization's subtree for one period."""

    tenant_path = "organization"

    organization = TreeForeignKey(
        Organization, verbose_name=_("organization"), on_delete=models.CASCADE, related_name="+"
    )
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    kind = models.CharField(
        _("kind"), max_length=20, choices=ReportKind.choices, default=ReportKind.REQUESTED
    )
    # Whose scope the job ran under: the requester (on request) or none (monthly job, for
    # the organization's own officers).
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=20, choices=ReportStatus.choices, default=ReportStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    error = models.CharField(_("error"), max_length=300, blank=True)
    xlsx = models.FileField(_("spreadsheet"), storage=report_storage, blank=True)
    pdf = models.FileField(_("PDF"), storage=report_storage, blank=True)
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("available until"))

    class Meta:
        verbose_name = _("statistics report")
        verbose_name_plural = _("statistics reports")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["expires_at"], name="report_expires")]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "period_start", "period_end"],
                condition=models.Q(kind="monthly"),
                name="report_one_monthly",
            )
        ]

    def __str__(self):
        return f"{self.organization} {self.period_start}–{self.period_end}"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()
