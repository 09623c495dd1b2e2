"""Which sessions a user has open, so they can see them and end the others."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import crypto


class UserSession(models.Model):
    """One logged-in session of a user (the session itself lives in Django's store)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=40, unique=True)
    started_at = models.DateTimeField(_("logged in at"), auto_now_add=True)
    # The browser's own description, cut short; no address is kept.
    user_agent = models.CharField(_("browser"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("login session")
        verbose_name_plural = _("login sessions")
        indexes = [models.Index(fields=["user", "started_at"], name="usersession_user")]

    def __str__(self):
        return f"{self.user_id} {self.started_at:%Y-%m-%d %H:%M}"


class AccountPhone(models.Model):
    """An account's own mobile number (officers; members' numbers live on their record).

    Encrypted like every personal identifier (`core.crypto`) and found by its keyed hash:
    officers sign in with it (`backends.AccountPhoneBackend`) and get their SMS on it.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account_phone"
    )
    phone_encrypted = models.TextField(_("mobile phone (encrypted)"))
    phone_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("account mobile phone")
        verbose_name_plural = _("account mobile phones")

    def __str__(self):
        return str(self.user_id)

    @property
    def phone(self) -> str:
        return crypto.decrypt(self.phone_encrypted)

    def set_phone(self, phone: str) -> None:
        self.phone_encrypted = crypto.encrypt(phone)
        self.phone_hash = crypto.phone_hash(phone)


class AccessToken(models.Model):
    """A personal access token for the API (`accounts.tokens`): named, with an expiry,
    read-only or read-write, revocable. It acts as its owner, so it reaches no more than
    the owner's grants at the time of each request. Only a SHA-256 hash of the secret is
    kept (the secret is 256 random bits, shown once when the token is made)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_tokens"
    )
    name = models.CharField(_("name"), max_length=60)
    key_hash = models.CharField(max_length=64, unique=True)
    # The secret's last characters, so the owner can tell tokens apart.
    hint = models.CharField(_("ends with"), max_length=8)
    read_only = models.BooleanField(_("read-only"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API access token")
        verbose_name_plural = _("API access tokens")
        indexes = [models.Index(fields=["user", "created_at"], name="accesstoken_user")]

    def __str__(self):
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
