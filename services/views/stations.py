"""Portal views: service stations (职工之家 / 驿站) and members' ratings of their visits.

Station pages are public (anyone may look up a venue); they show members only by masked
name. A logged-in member sees the stations serving their union and may rate a visit.
"""

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from core.forms import add_action_errors
from members.models import CURRENT_STATUSES
from members.selectors.people import member_of
from organizations.models import Organization, OrgStatus

from ..actions import stations as actions
from ..forms.stations import RateVisitForm
from ..models import Station
from ..selectors import stations as selectors

# How far (in degrees, about 55 km) to look for other stations near one.
NEARBY_BOX = Decimal("0.5")


@never_cache
def station_list(request):
    """The stations of a union's chain (`?union=`), the member's own, or all of them."""
    member = member_of(request.user) if request.user.is_authenticated else None
    union = None
    union_id = request.GET.get("union", "")
    if union_id:
        union = get_object_or_404(
            Organization, pk=union_id if union_id.isdigit() else 0, status=OrgStatus.ACTIVE
        )
        stations = selectors.stations_of_chain(union)
        page = None
    elif member is not None:
        union = member.organization
        stations = selectors.stations_for(member)
        page = None
    else:
        stations = selectors.active_stations().order_by("organization__tree_id", "name", "pk")
        page = Paginator(stations, 30).get_page(request.GET.get("page"))
        stations = page.object_list
    return render(
        request,
        "services/stations_list.html",
        {
            "union": union,
            "own": member is not None and not union_id,
            "stations": stations,
            "page": page,
        },
    )


def _detail(request, station: Station, form: RateVisitForm | None = None, status: int = 200):
    member = member_of(request.user) if request.user.is_authenticated else None
    current = member is not None and member.status in CURRENT_STATUSES
    serves_member = current and selectors.may_rate(member, station)
    can_rate = serves_member and station.is_active
    activities = list(selectors.upcoming_activities(station))
    starts = selectors.next_session_starts(activities)
    context = {
        "station": station,
        "services": selectors.services_at(station),
        "activities": [(a, starts.get(a.pk)) for a in activities],
        "comments": selectors.recent_comments(station),
        "member": member,
        "can_rate": can_rate,
        "serves_member": serves_member,
        "form": form if form is not None else (RateVisitForm() if can_rate else None),
        "my_visits": selectors.visits_of(member, station) if member is not None else [],
        "nearby": [],
    }
    if station.latitude is not None and station.longitude is not None:
        context["geo_uri"] = f"geo:{station.latitude},{station.longitude}"
        candidates = selectors.active_stations().filter(
            latitude__range=(station.latitude - NEARBY_BOX, station.latitude + NEARBY_BOX),
            longitude__range=(station.longitude - NEARBY_BOX, station.longitude + NEARBY_BOX),
        )
        context["nearby"] = selectors.nearby(
            station.latitude, station.longitude, 3, candidates.exclude(pk=station.pk)
        )
    return render(request, "services/stations_detail.html", context, status=status)


@never_cache
def station_detail(request, pk: int):
    station = get_object_or_404(Station.objects.select_related("organization"), pk=pk)
    return _detail(request, station)


@login_required
@require_POST
def station_rate(request, pk: int):
    station = get_object_or_404(Station.objects.select_related("organization"), pk=pk)
    member = member_of(request.user)
    if member is None:
        messages.error(request, _("Only union members can rate a station."))
        return redirect("stations-detail", pk=station.pk)
    form = RateVisitForm(request.POST)
    if form.is_valid():
        try:
            actions.rate_visit(
                station=station,
                member=member,
                rating=form.cleaned_data["rating"],
                comment=form.cleaned_data["comment"],
                visited_on=form.cleaned_data["visited_on"],
            )
        except ValidationError as error:
            add_action_errors(form, error)
        else:
            messages.success(request, _("Thank you, your rating was saved."))
            return redirect("stations-detail", pk=station.pk)
    station.refresh_from_db()
    return _detail(request, station, form=form, status=200)


urlpatterns = [
    path("stations/", station_list, name="stations-list"),
    path("stations/<int:pk>/", station_detail, name="stations-detail"),
    path("stations/<int:pk>/rate/", station_rate, name="stations-rate"),
]
