"""Portal: the member's services home (服务大厅), linking every service of the slice."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import path
from django.views.decorators.cache import never_cache

from members.selectors.people import member_of

from ..selectors.home import waiting_for


@login_required
@never_cache
def services_home(request):
    member = member_of(request.user)
    context = {"member": member}
    if member is not None:
        # Three small counts so the member sees at a glance what waits for them.
        context.update(waiting_for(member))
    return render(request, "services/home.html", context)


urlpatterns = [path("services/", services_home, name="services-home")]
