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
