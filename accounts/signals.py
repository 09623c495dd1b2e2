from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from . import sessions


@receiver(user_logged_in, dispatch_uid="accounts.register_session")
def _register(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session") and request.session.session_key:
        sessions.register(request, user)


@receiver(user_logged_out, dispatch_uid="accounts.forget_session")
def _forget(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        sessions.forget(request.session.session_key)
