"""The audit log (who changed or read what, when, why, with what result) and the states of a
spreadsheet import job, which the member and union imports share."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    VALIDATING = "validating", _("Checking")
    INVALID = "invalid", _("Errors found")
    VALIDATED = "validated", _("Ready to import")
    IMPORTING = "importing", _("Importing")
    DONE = "done", _("Imported")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class ImportJobBase(models.Model):
    """A spreadsheet upload (members, payroll, unions): checked whole first, written in one
    transaction when an officer confirms. The concrete job adds its tenant (`organization`)
    and what else it needs; `core.imports` holds the steps every job shares."""

    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    status = models.CharField(
        _("status"), max_length=20, choices=ImportStatus.choices, default=ImportStatus.UPLOADED
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("rows processed"), default=0)
    # Row errors: [{"row": 7, "column": "身份证号", "message": "...", "sheet"?: ...}].
    errors = models.JSONField(_("errors"), default=list, blank=True)
    # Counts of the check and of the run.
    result = models.JSONField(_("result"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.original_name} ({self.get_status_display()})"

    @property
    def progress_percent(self) -> int:
        return int(100 * self.processed_rows / self.total_rows) if self.total_rows else 0


class AuditResult(models.TextChoices):
    DONE = "done", _("Done")
    REFUSED = "refused", _("Refused")


class AuditEntry(models.Model):
    """One recorded change or sensitive read (who, what, when, why, result).

    Append-only: on PostgreSQL a trigger refuses every UPDATE and DELETE, except the
    database's own ON DELETE SET NULL when an actor's account or an organization is
    removed (organizations migration 0005, which created the table).
    """

    tenant_path = "organization"

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=60)
    object_type = models.CharField(_("object type"), max_length=60)
    object_id = models.CharField(_("object id"), max_length=40)
    organization = models.ForeignKey(
        settings.TENANT_MODEL,
        verbose_name=_("organization"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    result = models.CharField(
        _("result"), max_length=10, choices=AuditResult.choices, default=AuditResult.DONE
    )

    class Meta:
        # The table keeps the name it had under organizations (its append-only trigger too).
        db_table = "organizations_auditentry"
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type}#{self.object_id}"
