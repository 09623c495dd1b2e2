from .actions import unread_count


def inbox(request):
    """The unread count for the header badge: one COUNT, only for logged-in users."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"inbox_unread": unread_count(user)}
