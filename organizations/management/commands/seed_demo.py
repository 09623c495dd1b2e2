"""`manage.py seed_demo`: a realistic union tree and demo users for development."""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from django.db import connection, transaction
from django.db.models import ProtectedError

from core import demo as registry
from core.models import AuditEntry
from organizations import actions, counters, demo_data
from organizations.models import LEVEL_RANK, Level, Organization, OrgRole

TREE_FIELDS = ["parent", "tree_parent", "lft", "rght", "tree_id", "depth"]
BULK_BATCH_SIZE = 1000


class Command(BaseCommand):
    help = (
        "Build the demo union tree (national federation, 31 provincial federations, industry "
        "unions, demo subtrees down to union groups) and demo users. Development only."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete all organizations, roles and audit entries first.",
        )
        parser.add_argument(
            "--grassroots",
            type=int,
            default=0,
            metavar="N",
            help="Also ensure N generated grassroots unions spread over the demo townships.",
        )
        parser.add_argument(
            "--password",
            default=registry.DEVELOPMENT_PASSWORD,
            help="The password of every demo user (default: %(default)s).",
        )

    def handle(self, *args, reset=False, grassroots=0, password=None, **options):
        if getattr(settings, "PRODUCTION", False):
            raise CommandError(
                "seed_demo creates development data with published passwords; it refuses to "
                "run in production (DJANGO_ENV=production)."
            )
        if not 0 <= grassroots <= demo_data.MAX_GENERATED:
            raise CommandError(f"--grassroots must be between 0 and {demo_data.MAX_GENERATED}.")
        password = password or registry.DEVELOPMENT_PASSWORD
        with _quiet():
            self._seed(reset, grassroots, password)

    def _seed(self, reset: bool, grassroots: int, password: str) -> None:
        if reset:
            self._reset()
        national = Organization.objects.filter(level=Level.NATIONAL).first()
        if national is None:
            created = self._build_tree()
            self.stdout.write(
                self.style.SUCCESS(f"Created the demo tree: {created} organizations.")
            )
        else:
            self.stdout.write(
                f"Demo data is already present ({national.name} exists); the tree is left as "
                "it is. Use --reset to rebuild it."
            )
        if grassroots:
            self._ensure_generated_grassroots(grassroots)
        self._print_summary()
        registry.LOGINS.clear()
        registry.NOTES.clear()
        log_path = Path(settings.BASE_DIR) / "var" / "seed_demo.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("w", encoding="utf-8") as log:
            details = OutputWrapper(log)
            users = self._ensure_users(password)
            for _name, (seed, _reset) in registry.SEEDERS.items():
                seed(details, password)
        where = log_path.relative_to(settings.BASE_DIR)
        self.stdout.write(
            "Demo members, services and statistics are in place; what each step did, and the "
            f"messages it sent (to the inbox only), is in {where}."
        )
        self._print_credentials(users, password)

    # --- Phases --------------------------------------------------------------------------

    def _reset(self) -> None:
        with transaction.atomic():
            for _name, (_seed, reset) in reversed(registry.SEEDERS.items()):
                reset()
            audit_count = AuditEntry.objects.count()
            if connection.vendor == "postgresql":
                # The append-only trigger refuses DELETE, rightly; demo data is wiped by
                # the table owner's TRUNCATE, which a production role must not hold.
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks
                    cursor.execute("TRUNCATE organizations_auditentry")
            else:
                AuditEntry.objects.all().delete()
            role_count, _ = OrgRole.objects.all().delete()
            org_count = 0
            try:
                # `parent` and `tree_parent` protect parents, so delete leaves until none remain.
                while True:
                    leaves = Organization.objects.filter(
                        children__isnull=True, tree_children__isnull=True
                    )
                    deleted, by_model = leaves.delete()
                    if not deleted:
                        break
                    org_count += by_model.get(Organization._meta.label, 0)
            except ProtectedError as exc:
                models = sorted({obj._meta.label for obj in exc.protected_objects})
                raise CommandError(
                    f"Cannot reset: records of {', '.join(models)} still refer to the "
                    "organizations. Delete those first or start from a fresh database."
                ) from exc
            if Organization.objects.exists():
                raise CommandError("Cannot reset: some organizations could not be deleted.")
        self.stdout.write(
            self.style.WARNING(
                f"Reset: deleted {org_count} organizations, {role_count} roles and "
                f"{audit_count} audit entries."
            )
        )

    def _build_tree(self) -> int:
        """Create the demo tree through the actions, so every placement rule is checked."""
        root = demo_data.demo_tree()
        with transaction.atomic():
            national = actions.create_national_federation(data=root.data())
            created = 1
            for child in root.children:
                created += self._create_subtree(national, child)
        return created

    def _create_subtree(self, parent: Organization, spec: demo_data.OrgSpec) -> int:
        org = actions.create_organization(parent=parent, data=spec.data())
        return 1 + sum(self._create_subtree(org, child) for child in spec.children)

    def _ensure_generated_grassroots(self, count: int) -> None:
        """Bulk-create the missing ones of generated unions 1..count, then fix their trees.

        The unions are keyed by their credit code, so a rerun adds only what is missing.
        """
        names = demo_data.township_names()
        by_name = {
            org.name: org
            for org in Organization.objects.filter(level=Level.TOWNSHIP, name__in=names)
        }
        townships = [by_name[name] for name in names if name in by_name]
        if not townships:
            self.stdout.write(
                self.style.WARNING("No demo townships found; --grassroots adds nothing.")
            )
            return
        with actions.tree_write(*townships) as townships:
            for township in townships:
                actions.check_placement(level=Level.GRASSROOTS, parent=township)
            taken = set(Organization.objects.exclude(uscc="").values_list("uscc", flat=True))
            new = []
            for index in range(1, count + 1):
                township = townships[(index - 1) % len(townships)]
                data = demo_data.generated_grassroots(index, township.region_code, township.address)
                if data["uscc"] in taken:
                    continue
                # Inserted with placeholder positions; the partial rebuild below numbers them.
                org = Organization(
                    parent=township,
                    tree_parent=township,
                    tree_id=township.tree_id,
                    depth=township.depth + 1,
                    lft=0,
                    rght=0,
                    **data,
                )
                org.fill_search_keys()
                # Uniqueness holds by construction; a query per row would dominate large runs.
                org.full_clean(exclude=TREE_FIELDS, validate_constraints=False)
                new.append(org)
            Organization.objects.bulk_create(new, batch_size=BULK_BATCH_SIZE)
            for tree_id in sorted({org.tree_id for org in new}):
                Organization.objects.partial_rebuild(tree_id, batch_size=BULK_BATCH_SIZE)
            # Bulk rows bypass the actions: count them from the rows.
            counters.repair(counters.verify(["organizations."]))
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated grassroots unions: {len(new)} added, {count - len(new)} already "
                f"present, spread over {len(townships)} townships."
            )
        )

    def _ensure_users(self, password: str) -> list[tuple[str, str, str]]:
        """Create or refresh the demo users and their grants; returns table rows."""
        user_model = get_user_model()
        rows = []
        with transaction.atomic():
            for demo in demo_data.DEMO_USERS:
                user, _ = user_model.objects.get_or_create(
                    username=demo.username,
                    defaults={"email": f"{demo.username}@example.com"},
                )
                user.is_active = True
                is_operator = demo.role == demo_data.OPERATOR
                user.is_superuser = user.is_staff = is_operator
                user.set_password(password)
                user.save()
                if is_operator:
                    rows.append((demo.username, "platform operator (superuser)", "—"))
                    continue
                org = Organization.objects.filter(name=demo.organization).order_by("pk").first()
                if org is None:
                    self.stdout.write(
                        self.style.WARNING(
                            f"{demo.username}: {demo.organization} does not exist; no role granted."
                        )
                    )
                    rows.append((demo.username, "(none)", demo.organization))
                    continue
                actions.grant_role(user=user, organization=org, role=demo.role)
                rows.append((demo.username, demo.role, org.name))
        return rows

    # --- Output --------------------------------------------------------------------------

    def _print_summary(self) -> None:
        counts = Counter(Organization.objects.values_list("level", flat=True))
        by_level = ", ".join(
            f"{level.label} {counts[level.value]}"
            for level in sorted(Level, key=LEVEL_RANK.__getitem__)
            if counts.get(level.value)
        )
        self.stdout.write(f"Organizations: {sum(counts.values())} ({by_level}).")

    def _print_credentials(self, rows, password: str) -> None:
        """One table of every login to try, the member's first; then the password."""
        headers = ("who", "username", "where")
        officers = [
            ("platform operator" if role.startswith("platform") else f"officer: {role}", user, org)
            for user, role, org in rows
        ]
        table = [*registry.LOGINS, *officers]
        widths = [max(_width(r[i]) for r in [headers, *table]) for i in range(2)]
        self.stdout.write(
            self.style.SUCCESS(
                "\nLog in at http://127.0.0.1:8000/ (members) or /admin/ (officers), every "
                f"user with the password {password}:"
            )
        )
        for row in [headers, *table]:
            cells = [_pad(cell, width) for cell, width in zip(row, widths, strict=False)]
            self.stdout.write("  " + "  ".join([*cells, row[2]]).rstrip())
        for line in registry.NOTES:
            self.stdout.write(line)
        self.stdout.write(
            self.style.WARNING(
                "These are development-only credentials. Never use them on a reachable server."
            )
        )


def _width(text: str) -> int:
    # CJK characters take two terminal columns.
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


@contextlib.contextmanager
def _quiet():
    """While seeding: the messages the demo sends reach the inbox only (no email or SMS
    printed to the console), and the eager tasks' INFO logs are not shown."""
    backends = settings.EMAIL_BACKEND, settings.SMS_BACKEND
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SMS_BACKEND = "notifications.backends.LocmemSmsBackend"
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)
        settings.EMAIL_BACKEND, settings.SMS_BACKEND = backends
