"""The public union directory (找工会): search, and a union's public page."""

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from . import selectors
from .forms import DirectorySearchForm
from .models import Organization, OrgStatus

RESULTS_PER_PAGE = 20
CHILDREN_PER_PAGE = 50
# Only what the result and child lists show, so a long list never loads more per row.
LIST_FIELDS = ("id", "name", "short_name", "level", "region_code", "address")


def directory(request):
    form = DirectorySearchForm(request.GET or None)
    results = None
    if form.is_bound and form.is_valid() and form.has_criteria():
        results = Paginator(
            selectors.directory(
                query=form.cleaned_data["q"],
                region=form.cleaned_data["region"],
                level=form.cleaned_data["level"],
            ).only(*LIST_FIELDS),
            RESULTS_PER_PAGE,
        ).get_page(request.GET.get("page"))
    return render(request, "organizations/directory.html", {"form": form, "results": results})


def union_detail(request, pk: int):
    # The directory is public: only active unions, and only their public facts.
    org = get_object_or_404(Organization, pk=pk, status=OrgStatus.ACTIVE)
    # "parent" too: the related manager reads it on every row, one query each if deferred.
    children = Paginator(
        org.children.filter(status=OrgStatus.ACTIVE)
        .only(*LIST_FIELDS, "parent")
        .order_by("name", "pk"),
        CHILDREN_PER_PAGE,
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "organizations/union_detail.html",
        {"org": org, "chain": selectors.chain(org), "children": children},
    )
