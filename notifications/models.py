from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .kinds import render


class Notification(models.Model):
    """One message in a user's in-app inbox; rendered in the reader's language."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("kind"), max_length=60)
    # Values for the kind's message template: ids, names and figures, never ID numbers.
    context = models.JSONField(_("context"), default=dict, blank=True)
    link = models.CharField(_("link"), max_length=500, blank=True)
    # One notification per event and recipient, so a retried delivery never doubles it.
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notif_unread")]

    def __str__(self):
        return self.title

    @property
    def title(self) -> str:
        return render(self.kind, self.context)[0]

    @property
    def body(self) -> str:
        return render(self.kind, self.context)[1]

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
