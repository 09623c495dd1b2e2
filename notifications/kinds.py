"""The kinds of notification and their messages. Apps register theirs at start-up."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Kind:
    title: str
    body: str = ""


KINDS: dict[str, Kind] = {
    "welcome": Kind(_("Welcome to UnionHub"), _("Find your union and see what it offers.")),
    "role.granted": Kind(
        _("You are now %(role)s of %(organization)s"),
        _("You can manage %(organization)s in the administration."),
    ),
}


def register(kind: str, title, body="") -> None:
    KINDS[kind] = Kind(title, body)


def render(kind: str, context: dict) -> tuple[str, str]:
    """Title and body in the active language; a missing value never breaks the inbox."""
    spec = KINDS.get(kind)
    if spec is None:
        return str(context.get("title", kind)), str(context.get("body", ""))
    try:
        return str(spec.title) % context, (str(spec.body) % context if spec.body else "")
    except (KeyError, TypeError, ValueError):
        return str(spec.title), str(spec.body)
