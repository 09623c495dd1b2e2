"""Portal views of hardship aid: a member applies and follows their case; people of a
grassroots union read its public notice (公示) and may object."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from core.forms import add_action_errors
from core.portal import no_member_page
from members.models import CURRENT_STATUSES
from members.selectors.people import member_of

from ..actions import aid as actions
from ..forms.aid import ApplicationForm, ObjectionForm
from ..models import AidStepKind
from ..selectors import aid as selectors
from ..selectors.aid import MEMBER_STEP_TEXT


@login_required
@never_cache
def my_aid(request):
    member = member_of(request.user)
    if member is None:
        return no_member_page(
            request,
            title=_("Hardship aid"),
            heading=_("Hardship aid is for union members"),
            text=_(
                "Members whose household is in difficulty can apply to their grassroots union "
                "for hardship aid. Find the union of your workplace and join it first."
            ),
        )
    cases = list(selectors.cases_of(member))
    open_case = next((c for c in cases if c.status in actions.OPEN_STATUSES), None)
    can_apply = open_case is None and member.status in CURRENT_STATUSES
    form = ApplicationForm(request.POST or None) if can_apply else None
    if request.method == "POST" and form is not None and form.is_valid():
        try:
            actions.apply_for_aid(member=member, data=form.cleaned_data)
        except ValidationError as error:
            add_action_errors(form, error)
        else:
            messages.success(
                request,
                _("Your application was sent. Your union's aid officer will contact you."),
            )
            return redirect("aid-mine")
    rows = [
        {
            "case": case,
            "steps": [
                (step, step.text if step.kind in MEMBER_STEP_TEXT else "")
                for step in case.steps.all()
            ],
            "paid": next(
                (s.amount for s in case.steps.all() if s.kind == AidStepKind.DISBURSED), None
            ),
        }
        for case in cases
    ]
    return render(
        request,
        "services/aid_mine.html",
        {"member": member, "rows": rows, "form": form, "open_case": open_case},
    )


@login_required
@never_cache
def aid_notices(request):
    unions = list(selectors.unions_of(request.user))
    cases = list(selectors.notices_for(request.user))
    return render(
        request,
        "services/aid_notices.html",
        {"unions": unions, "cases": cases, "form": ObjectionForm()},
    )


@login_required
@require_POST
def aid_object(request, pk: int):
    case = selectors.notices_for(request.user).filter(pk=pk).first()
    if case is None:
        raise Http404(_("Not found."))
    form = ObjectionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Write what you object to."))
        return redirect("aid-notices")
    try:
        actions.object_to_case(case=case, text=form.cleaned_data["text"], acting_user=request.user)
    except PermissionDenied as error:
        messages.error(request, str(error))
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _(
                "Your objection was sent to the union's aid officers. "
                "The case is held until they decide."
            ),
        )
    return redirect("aid-notices")


urlpatterns = [
    path("me/aid/", my_aid, name="aid-mine"),
    path("aid/notices/", aid_notices, name="aid-notices"),
    path("aid/notices/<int:pk>/object/", aid_object, name="aid-object"),
]
