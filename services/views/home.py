"""Portal: the member's services home (服务大厅), linking every service of the slice."""

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import render
from django.urls import path
from django.views.decorators.cache import never_cache

from members.selectors.people import member_of

from ..models import OPEN_REQUEST_STATUSES, ConcernStatus, RegistrationStatus


@login_required
@never_cache
def services_home(request):
    member = member_of(request.user)
    context = {"member": member}
    if member is not None:
        # Three small counts so the member sees at a glance what waits for them.
        context.update(
            open_requests=member.service_requests.filter(status__in=OPEN_REQUEST_STATUSES).count(),
            open_concerns=member.concerns.filter(
                Q(status=ConcernStatus.OPEN) | Q(status=ConcernStatus.ANSWERED)
            ).count(),
            upcoming=member.registrations.exclude(status=RegistrationStatus.CANCELLED)
            .filter(checked_in_at__isnull=True)
            .count(),
        )
    return render(request, "services/home.html", context)


urlpatterns = [path("services/", services_home, name="services-home")]
