"""A user's open sessions: registered at login, listed on the security page, ended there."""

from importlib import import_module

from django.conf import settings

from .models import UserSession

REGISTERED_KEY = "_unionhub_registered"


def _store(session_key=None):
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)


def register(request, user=None) -> None:
    user = user or request.user
    session = request.session
    key = session.session_key
    previous = session.get(REGISTERED_KEY)
    agent = request.META.get("HTTP_USER_AGENT", "")[:200]
    if previous and previous != key:
        UserSession.objects.filter(session_key=previous, user=user).delete()
    UserSession.objects.update_or_create(
        session_key=key, defaults={"user": user, "user_agent": agent}
    )
    session[REGISTERED_KEY] = key


def forget(session_key: str | None) -> None:
    if session_key:
        UserSession.objects.filter(session_key=session_key).delete()


def open_sessions(user) -> list[UserSession]:
    """The user's sessions that still exist in the store (ended or expired ones pruned)."""
    rows = list(UserSession.objects.filter(user=user).order_by("-started_at"))
    gone = [row.pk for row in rows if not _store().exists(row.session_key)]
    if gone:
        UserSession.objects.filter(pk__in=gone).delete()
    return [row for row in rows if row.pk not in gone]


def end_other_sessions(user, current_key: str | None) -> int:
    """Log the user out everywhere but here; returns how many sessions were ended."""
    ended = 0
    for row in UserSession.objects.filter(user=user).exclude(session_key=current_key or ""):
        if _store().exists(row.session_key):
            _store(row.session_key).delete()
            ended += 1
        row.delete()
    return ended


def end_all_sessions(user) -> None:
    """Every session of the user, registered or not (deleted or anonymised accounts)."""
    end_other_sessions(user, None)
