"""Pieces of the member-facing pages (the portal) that every app's views share."""

from django.shortcuts import render
from django.utils.translation import gettext_lazy

NO_MEMBER_TEMPLATE = "portal/no_member.html"
# The button a page without a membership offers unless it names another: the union
# directory (找工会), where a worker finds their union and applies to join.
FIND_A_UNION = ("directory", gettext_lazy("Find a union"))


def no_member_page(request, *, title: str, heading: str, text: str, link=FIND_A_UNION):
    """The friendly page (200) that a logged-in user without a current membership gets
    instead of a member's page: what the page is for and where to go next. `link` is a
    URL name and its label, or None for no button."""
    link_name, link_label = link or ("", "")
    context = {
        "title": title,
        "heading": heading,
        "text": text,
        "link_name": link_name,
        "link_label": link_label,
    }
    return render(request, NO_MEMBER_TEMPLATE, context)
