"""Portal views of a member's rights over their own data: download a copy (JSON or XLSX)
and delete their account.

Only for the logged-in member themself: no member id in any URL, and a user without a
member record (an officer, an applicant) gets 404. Downloads are never cached.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from django_ratelimit.decorators import ratelimit

from ..actions import privacy as actions
from ..forms.privacy import DeleteAccountForm
from ..models import Member
from ..selectors.people import member_of

CONTENT_TYPES = {
    "json": "application/json; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _own_member(request) -> Member:
    member = member_of(request.user)
    if member is None:
        raise Http404(_("Not found."))
    return Member.objects.select_related("organization", "user").get(pk=member.pk)


def _download(request, fmt: str) -> HttpResponse:
    member = _own_member(request)
    content = actions.export_my_data(member=member, fmt=fmt, acting_user=request.user)
    response = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
    filename = f"unionhub-my-data-{timezone.localdate():%Y%m%d}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@never_cache
@require_GET
def export_json(request):
    return _download(request, "json")


@login_required
@never_cache
@require_GET
def export_xlsx(request):
    return _download(request, "xlsx")


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@ratelimit(key="user", rate=lambda group, request: settings.RATELIMIT_LOGIN, method="POST")
def delete_account(request):
    """Explain what is deleted and kept; on the password, delete at once and log out."""
    member = _own_member(request)
    refusals = actions.erasure_refusals(member)
    form = DeleteAccountForm(request.POST or None, user=request.user)
    if request.method == "POST" and not refusals and form.is_valid():
        try:
            actions.erase_member(member=member, acting_user=request.user)
        except ValidationError as error:
            refusals = error.messages
        else:
            logout(request)
            messages.success(
                request,
                _("Your account and your personal data were deleted. Thank you for your trust."),
            )
            return redirect("directory")
    return render(
        request,
        "members/privacy_delete.html",
        {"member": member, "form": form, "refusals": refusals},
    )


urlpatterns = [
    path("me/data/export.json", export_json, name="my-data-export-json"),
    path("me/data/export.xlsx", export_xlsx, name="my-data-export-xlsx"),
    path("me/data/delete/", delete_account, name="my-data-delete"),
]
