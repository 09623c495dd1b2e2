from organizations import scope


def dashboard_link(request):
    """Whether the header shows the dashboard: grants above grassroots level, no query
    beyond the user's grants (cached on the user for the request)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"show_dashboard": scope.has_statistics(user)}
