"""The dashboard (数据看板) and the report pages (统计报表), for officers above grassroots level.

Which organizations a user may look at comes from `scope.statistics_organizations`; any
other organization, report or file answers 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from organizations import scope
from organizations.models import Organization
from organizations.selectors import chain

from . import actions, selectors
from .models import ReportJob, ReportStatus
from .replica import replica_reads


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _organization(request) -> Organization:
    """The organization asked for (?org=), or the user's own highest one; 404 outside scope."""
    allowed = scope.statistics_organizations(request.user)
    org_param = request.GET.get("org") or request.POST.get("org")
    if org_param:
        pk = _int(org_param)
        if pk is None:
            raise Http404
        return get_object_or_404(allowed, pk=pk)
    home = scope.statistics_home(request.user)
    if home is None:
        raise PermissionDenied(
            _("The dashboard is for officers of federations above grassroots unions.")
        )
    return home


def _trail(request, org: Organization) -> list[Organization]:
    """The organization's ancestors the user may also look at, top first (breadcrumbs)."""
    above = chain(org)
    allowed = set(
        scope.statistics_organizations(request.user)
        .filter(pk__in=[o.pk for o in above])
        .values_list("pk", flat=True)
    )
    return [o for o in above if o.pk in allowed]


def _period(request) -> tuple[selectors.Period, str | None]:
    try:
        return (
            selectors.parse_period(
                request.GET.get("period"), request.GET.get("from"), request.GET.get("to")
            ),
            None,
        )
    except selectors.PeriodError as error:
        return selectors.parse_period("30d"), str(error)


def _chart_data(data: dict) -> dict:
    """What the charts draw; the page shows the same numbers in tables."""
    return {
        "trend": data["trend"]["points"],
        "children": [
            {"name": row["name"], "members": row["members"]}
            for row in data["children"]["rows"][:15]
        ],
        "industry": [{"name": r["label"], "value": r["members"]} for r in data["by_industry"]],
        "employment": [{"name": r["label"], "value": r["value"]} for r in data["by_employment"]],
        "gender": [{"name": r["label"], "value": r["value"]} for r in data["by_gender"]],
        "age": [{"name": r["label"], "value": r["value"]} for r in data["by_age"]],
        "labels": {
            "members": _("Members"),
            "joined": _("Joined"),
            "withdrawn": _("Withdrew"),
        },
    }


@login_required
@replica_reads
def dashboard(request):
    org = _organization(request)
    period, period_error = _period(request)
    data = selectors.dashboard(org, period, child_page=_int(request.GET.get("page")) or 1)
    headline = [
        {"key": key, "label": label, "text": selectors.shown(data["headline"][key], kind)}
        for key, label, kind in selectors.HEADLINE
    ]
    flows = [
        {"label": label, "value": data["flows"]["values"][key]}
        for key, label in selectors.PERIOD_FLOWS
    ]
    return render(
        request,
        "reports/dashboard.html",
        {
            "org": org,
            "trail": _trail(request, org),
            "data": data,
            "headline": headline,
            "flows": flows,
            # Said once wherever a "—" is shown: why the figure cannot be given.
            "unknown_note": selectors.UNKNOWN_NOTE
            if any(h["text"] == selectors.UNKNOWN_TEXT for h in headline)
            or any(f["value"] is None for f in flows)
            or any(r["membership_rate"] is None for r in data["children"]["rows"])
            else "",
            "chart_data": _chart_data(data),
            # For the shared pager include: the page of child unions shown.
            "page": Paginator(range(data["children"]["count"]), selectors.CHILD_PAGE).page(
                data["children"]["page"]
            ),
            "period": period,
            "period_error": period_error,
            "period_choices": selectors.PERIOD_CHOICES,
            "from_value": request.GET.get("from", ""),
            "to_value": request.GET.get("to", ""),
        },
    )


def _visible_reports(request):
    """Reports of organizations in the user's statistics scope (not only their own)."""
    return ReportJob.objects.filter(scope.statistics_q(request.user, "organization__"))


@login_required
def report_list(request):
    org = _organization(request)
    jobs = _visible_reports(request).filter(organization=org).select_related("organization")[:50]
    return render(
        request,
        "reports/report_list.html",
        {"org": org, "jobs": jobs, "period_choices": selectors.PERIOD_CHOICES},
    )


@login_required
@require_POST
def report_request(request):
    org = _organization(request)
    try:
        period = selectors.parse_period(
            request.POST.get("period"), request.POST.get("from"), request.POST.get("to")
        )
        job = actions.request_report(user=request.user, organization=org, period=period)
    except (selectors.PeriodError, ValidationError) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
        return redirect(f"{reverse('reports:list')}?org={org.pk}")
    messages.success(request, _("The report is being built; this page shows its progress."))
    return redirect("reports:detail", job.pk)


@login_required
def report_detail(request, pk: int):
    job = get_object_or_404(_visible_reports(request).select_related("organization"), pk=pk)
    if request.GET.get("format") == "json":
        return JsonResponse(
            {"status": job.status, "progress": job.progress, "ready": job.status == "done"}
        )
    return render(request, "reports/report_detail.html", {"job": job})


@login_required
def report_download(request, pk: int, fmt: str):
    job = get_object_or_404(_visible_reports(request), pk=pk)
    stored = {"xlsx": job.xlsx, "pdf": job.pdf}.get(fmt)
    if stored is None or job.status != ReportStatus.DONE or not stored or job.is_expired:
        raise Http404
    content_type = {
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pdf": "application/pdf",
    }[fmt]
    name = f"{job.organization.name}-{job.period_start:%Y%m%d}-{job.period_end:%Y%m%d}.{fmt}"
    return FileResponse(
        stored.open("rb"), as_attachment=True, filename=name, content_type=content_type
    )
