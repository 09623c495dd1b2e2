from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = _("Members")

    def ready(self):
        from django.db.models.signals import post_migrate

        from core.demo import register_seeder
        from notifications import channels, kinds
        from organizations.actions import register_dissolve_guard
        from organizations.models import Role
        from organizations.scope import register_role_permissions

        # Importing these registers the counter source and notification kinds.
        from . import counters, demo  # noqa: F401
        from .actions import dues_reminders, joining, privacy, spreadsheets, transfers  # noqa: F401
        from .contacts import applicants, phones_of
        from .guards import union_has_current_members
        from .schedules import ensure_schedules
        from .selectors import todo as todo_sources

        register_dissolve_guard(union_has_current_members)
        register_seeder("members", demo.seed, demo.reset)
        todo_sources.register()  # what waits on officers (core.todo)
        post_migrate.connect(ensure_schedules, sender=self, dispatch_uid="members-schedules")
        models = ("member", "joinapplication", "transfer", "duesrecord", "importjob")
        register_role_permissions(
            Role.ADMIN,
            {f"members.{verb}_{m}" for m in models for verb in ("view", "add", "change")}
            | {
                "members.view_membershipevent",
                "members.reveal_personal_data",
                "members.change_wage_base",
            },
        )
        register_role_permissions(
            Role.STAFF,
            {
                "members.view_member",
                "members.view_membershipevent",
                "members.view_joinapplication",
                "members.change_joinapplication",
                "members.view_transfer",
                "members.view_duesrecord",
            },
        )
        for kind, title, body in NOTIFICATION_KINDS:
            kinds.register(kind, title, body)
        channels.register_resolver(channels.SMS, phones_of)
        channels.register_contact("members.joinapplication", applicants)
        # What a member must not miss reaches their phone too, unless they turn it off.
        for kind in SMS_BY_DEFAULT:
            kinds.set_defaults(kind, sms=True)
        kinds.mark_work("join.submitted", "join.resubmitted", "transfer.expiring")


SMS_BY_DEFAULT = (
    "join.approved",
    "transfer.completed",
    "transfer.refused",
    "dues.reminder",
)

NOTIFICATION_KINDS = [
    (
        "member.status_changed",
        _("Your membership status is now: %(status)s"),
        _("Contact your union if you have questions."),
    ),
]
