import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from . import channels
from .kinds import render

CHANNEL_CHOICES = [(c, channels.LABELS[c]) for c in channels.EXTERNAL]


class Notification(models.Model):
    """One message in a user's in-app inbox; rendered in the reader's language.

    Or, for a person without an account (an applicant), a message to a `contact`: a
    reference ("members.joinapplication:12") that the owning app resolves to an address when
    the message is sent (`channels.register_contact`). Such a message has no inbox; it goes
    out on the channels the contact can be reached on.
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
        null=True,
        blank=True,
    )
    contact = models.CharField(_("contact"), max_length=80, blank=True, default="")
    kind = models.CharField(_("kind"), max_length=60)
    # Values for the kind's message template: ids, names and figures, never ID numbers.
    context = models.JSONField(_("context"), default=dict, blank=True)
    link = models.CharField(_("link"), max_length=500, blank=True)
    # "<event>:<recipient id>": one notification per event and recipient, so a retried
    # delivery or a second firing of the same event never doubles it.
    dedupe_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notif_unread"),
            models.Index(fields=["contact"], name="notif_contact", condition=~Q(contact="")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(recipient__isnull=False) & Q(contact=""))
                | (Q(recipient__isnull=True) & ~Q(contact="")),
                name="notif_user_or_contact",
            )
        ]

    def __str__(self):
        return self.title

    @property
    def addressee(self) -> int | str:
        """The user id, or the contact reference for a person without an account."""
        return self.recipient_id if self.recipient_id is not None else self.contact

    @property
    def title(self) -> str:
        return render(self.kind, self.context)[0]

    @property
    def body(self) -> str:
        return render(self.kind, self.context)[1]

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENT = "sent", _("Sent")
    SKIPPED = "skipped", _("Not sent")
    FAILED = "failed", _("Failed")


class Delivery(models.Model):
    """One notification on one channel beside the inbox (email, SMS): sent at most once.

    The row is locked while its message is sent and marked sent in the same transaction, so
    a retried or redelivered task never sends it again. The address is looked up when it is
    sent and never stored here.
    """

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=CHANNEL_CHOICES)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.PENDING,
    )
    # Not before this time: the end of the recipient's quiet hours, or the next retry.
    not_before = models.DateTimeField(_("not before"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # The kind of failure (exception class, provider code), never an address or a text.
    last_error = models.CharField(_("last error"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "channel"], name="delivery_one_per_channel"
            )
        ]
        indexes = [
            models.Index(
                fields=["not_before", "created_at"],
                name="delivery_pending",
                condition=Q(status="pending"),
            )
        ]

    def __str__(self):
        return f"{self.notification_id}/{self.channel}: {self.status}"


class Preference(models.Model):
    """A user's choice for one kind on one channel; without a row the kind's default holds."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_prefs"
    )
    kind = models.CharField(_("kind"), max_length=60)
    channel = models.CharField(_("channel"), max_length=10, choices=CHANNEL_CHOICES)
    enabled = models.BooleanField(_("enabled"))

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "channel"], name="pref_unique")
        ]

    def __str__(self):
        return f"{self.user_id} {self.kind} {self.channel}={self.enabled}"


def default_quiet_start() -> datetime.time:
    return datetime.time(settings.NOTIFICATIONS_QUIET_HOURS[0])


def default_quiet_end() -> datetime.time:
    return datetime.time(settings.NOTIFICATIONS_QUIET_HOURS[1])


class RecipientSettings(models.Model):
    """How a user is written to: language, and the hours in which no SMS reaches them."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_settings"
    )
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    quiet_start = models.TimeField(_("no SMS from"), default=default_quiet_start)
    quiet_end = models.TimeField(_("no SMS until"), default=default_quiet_end)
    digest = models.BooleanField(
        _("daily digest of new work"),
        default=False,
        help_text=_(
            "Officers: new work for your unions comes to the inbox at once, and by email and "
            "SMS once a day instead of one message each."
        ),
    )
    digest_sent_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")

    def __str__(self):
        return f"{self.user_id}: {self.language}"


class CapturedMessage(models.Model):
    """A message the capture backends kept instead of sending (tests and trial sites).

    Written in the sending transaction, so it shows exactly what was sent. The address is
    masked; `reference` is the delivery id.
    """

    channel = models.CharField(max_length=10, choices=CHANNEL_CHOICES)
    reference = models.CharField(max_length=40, db_index=True)
    to = models.CharField(max_length=120)
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField()
    language = models.CharField(max_length=10, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("captured message")
        verbose_name_plural = _("captured messages")

    def __str__(self):
        return f"{self.channel} {self.reference}"
