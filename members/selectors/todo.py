"""What waits on a union's officers in the members app (`core.todo`): join applications to
review, and transfers to release or to accept."""

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import todo
from organizations import scope

from ..models import ApplicationStatus, JoinApplication, Transfer, TransferStatus

Access = scope.Access


def _applications(user):
    # Reviewing needs the right to handle work and to read personal data.
    return JoinApplication.objects.filter(
        scope.served_q(user, "organization", Access.HANDLE, Access.PERSONAL),
        status=ApplicationStatus.SUBMITTED,
    ).select_related("organization")


def _application_item(application: JoinApplication) -> todo.Item:
    return todo.Item(
        source="join",
        label=str(_("Join application")),
        title=_("Application no. %(number)d") % {"number": application.pk},
        union=application.organization.name,
        since=application.submitted_at,
        url=reverse("admin:members_joinapplication_change", args=[application.pk]),
        # Sent back for a correction and resubmitted: the review is not the first.
        note=str(_("corrected and resubmitted")) if application.reviewed_at else "",
    )


def _open_transfers():
    return Transfer.objects.filter(
        status=TransferStatus.OPEN, expires_at__gt=timezone.now()
    ).select_related("from_organization", "to_organization")


def _to_release(user):
    return _open_transfers().filter(
        scope.served_q(user, "from_organization", Access.CHANGE, Access.PERSONAL),
        released_at__isnull=True,
    )


def _to_accept(user):
    return _open_transfers().filter(
        scope.served_q(user, "to_organization", Access.CHANGE, Access.PERSONAL),
        accepted_at__isnull=True,
    )


def _transfer_item(source: str, label, union_field: str):
    def item(transfer: Transfer) -> todo.Item:
        return todo.Item(
            source=source,
            label=str(label),
            title=_("Transfer no. %(number)d") % {"number": transfer.pk},
            union=getattr(transfer, union_field).name,
            since=transfer.created_at,
            due=transfer.expires_at,
            url=reverse("admin:members_transfer_change", args=[transfer.pk]),
        )

    return item


def register() -> None:
    todo.register(
        todo.Source(
            key="join",
            label=_("Join applications"),
            waiting=_applications,
            item=_application_item,
            due_field=None,
            since_field="submitted_at",
            more_url=lambda: (
                reverse("admin:members_joinapplication_changelist") + "?status__exact=submitted"
            ),
        )
    )
    todo.register(
        todo.Source(
            key="transfer_out",
            label=_("Transfers to release"),
            waiting=_to_release,
            item=_transfer_item("transfer_out", _("Transfer to release"), "from_organization"),
            due_field="expires_at",
            since_field="created_at",
            more_url=lambda: reverse("admin:members_transfer_changelist") + "?status__exact=open",
        )
    )
    todo.register(
        todo.Source(
            key="transfer_in",
            label=_("Transfers to accept"),
            waiting=_to_accept,
            item=_transfer_item("transfer_in", _("Transfer to accept"), "to_organization"),
            due_field="expires_at",
            since_field="created_at",
            more_url=lambda: reverse("admin:members_transfer_changelist") + "?status__exact=open",
        )
    )
