"""State changes of the union tree and of roles. Every surface calls these; none re-implements them.

Tree writes are serialized per MPTT tree: on PostgreSQL with a transaction-scoped advisory
lock per tree id (taken in ascending order, so two writers never deadlock), on SQLite by
the write lock that `BEGIN IMMEDIATE` takes (see settings). Node positions are re-read after
the lock is held, so a writer never shifts lft/rght from stale values.
"""

from __future__ import annotations

import copy
import datetime
import functools
import random
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import record_audit
from notifications.actions import link_for, notify_on_commit

from .. import counters, rollups, scope
from ..models import LEVEL_RANK, Level, Organization, OrgRole, OrgStatus

# First key of every advisory lock taken here; the second is the tree id. Tree id 0 never
# exists, so (namespace, 0) guards the allocation of new tree ids.
TREE_LOCK_NAMESPACE = 20_260_001
NEW_TREE_KEY = 0

# Fields a union may edit about itself; structure (parent) changes go through moves.
EDITABLE_FIELDS = (
    "name",
    "short_name",
    "level",
    "uscc",
    "region_code",
    "address",
    "contact_phone",
    "founded_on",
    "dues_share_percent",
    "keeps_retained_members",
    "industry",
    "employees",
)


def editable_data(values) -> dict:
    """The editable fields present in `values` (cleaned form or serializer data)."""
    return {k: values[k] for k in EDITABLE_FIELDS if k in values}


def _reject_unknown_fields(data: dict) -> None:
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")


# Other apps register checks that may refuse dissolving a union (e.g. active members).
# A guard returns a message explaining the refusal, or None.
DissolveGuard = Callable[[Organization], str | None]
DISSOLVE_GUARDS: list[DissolveGuard] = []


def register_dissolve_guard(guard: DissolveGuard) -> None:
    if guard not in DISSOLVE_GUARDS:
        DISSOLVE_GUARDS.append(guard)


# --- Locking ---------------------------------------------------------------------------


class TreeRace(Exception):
    """A concurrent move changed a node's tree between reading and locking; retry."""


def _acquire(keys: Iterable[int], locked: set[int]) -> None:
    """Take the advisory locks of `keys`, never waiting out of ascending order.

    Waiting only for keys above every lock already held makes a cycle of waiters, and so a
    deadlock, impossible. A key below one already held is only tried; if it is taken, the
    transaction gives up with TreeRace and the action starts over.
    """
    if connection.vendor != "postgresql":
        locked.update(keys)
        return
    with connection.cursor() as cursor:
        for key in sorted(keys):
            if locked and key < max(locked):
                cursor.execute(
                    "SELECT pg_try_advisory_xact_lock(%s, %s)", [TREE_LOCK_NAMESPACE, key]
                )
                if not cursor.fetchone()[0]:
                    raise TreeRace
            else:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [TREE_LOCK_NAMESPACE, key])
            locked.add(key)


@contextmanager
def tree_write(*orgs: Organization | None, new_tree: bool = False):
    """Open a transaction holding the locks of the trees of `orgs`; yield fresh copies.

    `new_tree` also takes the lock that guards allocating a new tree id. The tree ids are
    read again once locked: if a concurrent move changed one in between, its new tree is
    locked as well before anything is read for writing.
    """
    pks = [o.pk for o in orgs if o is not None]
    with transaction.atomic():
        locked: set[int] = set()
        wanted = {NEW_TREE_KEY} if new_tree else set()
        for _attempt in range(5):
            current = set(Organization.objects.filter(pk__in=pks).values_list("tree_id", flat=True))
            missing = (current | wanted) - locked
            if not missing:
                break
            _acquire(missing, locked)
        else:
            raise TreeRace
        fresh = Organization.objects.in_bulk(pks)
        if len(fresh) != len(set(pks)):
            raise ValidationError(_("The organization no longer exists."))
        yield [fresh[pk] if pk else None for pk in (o.pk if o else None for o in orgs)]


def retry_on_tree_race(action):
    """Run a tree-writing action again (fresh transaction) when it lost a race for a lock."""

    @functools.wraps(action)
    def wrapper(*args, **kwargs):
        for attempt in range(10):
            try:
                return action(*args, **kwargs)
            except TreeRace:
                # Inside an outer transaction the locks stay held: retrying could not help.
                if connection.in_atomic_block or attempt == 9:
                    raise ValidationError(
                        _("The union tree changed while saving; please try again.")
                    ) from None
                time.sleep(random.uniform(0, 0.02 * (attempt + 1)))  # noqa: S311 - jitter
        raise AssertionError("unreachable")

    return wrapper


# --- Rules -----------------------------------------------------------------------------


def check_placement(*, level: str, parent: Organization) -> None:
    """Raise ValidationError unless an organization of `level` may sit under `parent`."""
    if level == Level.NATIONAL:
        raise ValidationError(
            {"level": _("There is only one national federation, at the top of the tree.")}
        )
    if parent.status != OrgStatus.ACTIVE:
        raise ValidationError(
            {
                "parent": _("%(parent)s is dissolved; nothing can be placed under it.")
                % {"parent": parent.name}
            }
        )
    if parent.level == Level.GRASSROOTS and level != Level.GROUP:
        raise ValidationError(
            {"level": _("Only union groups can be placed under a grassroots union.")}
        )
    if LEVEL_RANK[level] <= LEVEL_RANK[parent.level]:
        raise ValidationError(
            {
                "level": _(
                    "A %(child)s cannot be placed under a %(parent)s: an organization must "
                    "be at a lower level than its parent."
                )
                % {"child": Level(level).label, "parent": Level(parent.level).label}
            }
        )


def check_not_into_own_subtree(*, org: Organization, parent: Organization) -> None:
    """Raise ValidationError if `parent` is `org` itself or one of its descendants."""
    if org.pk and parent.tree_id == org.tree_id and org.lft <= parent.lft <= org.rght:
        raise ValidationError(
            {"parent": _("An organization cannot be moved into its own subtree.")}
        )


def _check_children_below(org: Organization, level: str) -> None:
    child_levels = set(org.children.values_list("level", flat=True))
    if any(LEVEL_RANK[c] <= LEVEL_RANK[level] for c in child_levels):
        raise ValidationError(
            {"level": _("Its subordinate organizations must stay below the new level.")}
        )


def _check_can_change(acting_user, org: Organization | None) -> None:
    if (
        acting_user is not None
        and org is not None
        and not scope.can(acting_user, scope.Access.CHANGE, org)
    ):
        raise PermissionDenied(_("This organization is outside your area of responsibility."))


def _tree_parent_for(parent: Organization | None) -> Organization | None:
    """Children of the national federation root trees of their own."""
    if parent is None or parent.level == Level.NATIONAL:
        return None
    return parent


def _jsonable(value):
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Organization):
        return value.pk
    if isinstance(value, Decimal):
        return str(value)
    return value


# --- Organizations ---------------------------------------------------------------------


@retry_on_tree_race
def create_organization(*, parent: Organization, data: dict, acting_user=None) -> Organization:
    """Create an organization under `parent` after checking the tree rules."""
    _check_can_change(acting_user, parent)
    level = data.get("level")
    _reject_unknown_fields(data)
    with tree_write(parent, new_tree=parent.level == Level.NATIONAL) as (parent,):
        check_placement(level=level, parent=parent)
        org = Organization(parent=parent, tree_parent=_tree_parent_for(parent), **data)
        org.full_clean(exclude=["tree_parent", "lft", "rght", "tree_id", "depth"])
        org.save()
        counters.adjust(counters.organization_delta(None, org))
        record_audit(
            actor=acting_user,
            action="organization.create",
            obj=org,
            organization=org,
            changes={k: _jsonable(v) for k, v in data.items()},
        )
    return org


@retry_on_tree_race
def create_national_federation(*, data: dict, acting_user=None) -> Organization:
    _reject_unknown_fields({k: v for k, v in data.items() if k != "level"})
    with tree_write(new_tree=True):
        org = Organization(**{**data, "level": Level.NATIONAL})
        org.full_clean(exclude=["tree_parent", "lft", "rght", "tree_id"])
        org.save()
        counters.adjust(counters.organization_delta(None, org))
        record_audit(actor=acting_user, action="organization.create", obj=org, organization=org)
    return org


def update_organization(
    *, organization: Organization, data: dict, acting_user=None
) -> Organization:
    """Change an organization's own details (not its place in the tree)."""
    _check_can_change(acting_user, organization)
    _reject_unknown_fields(data)
    with transaction.atomic():
        org = Organization.objects.select_for_update().get(pk=organization.pk)
        changes = {
            k: [_jsonable(getattr(org, k)), _jsonable(v)]
            for k, v in data.items()
            if getattr(org, k) != v
        }
        if "level" in changes:
            # The place of a union in the tree belongs to whoever manages its parent.
            _check_can_change(acting_user, org.parent)
            if org.parent is None:
                raise ValidationError({"level": _("The national federation stays national.")})
            check_placement(level=data["level"], parent=org.parent)
            _check_children_below(org, data["level"])
        before = copy.copy(org)
        for key, value in data.items():
            setattr(org, key, value)
        org.full_clean(exclude=["tree_parent", "parent", "lft", "rght", "tree_id"])
        if changes:
            fields = [f"{k}_id" if k == "industry" else k for k in changes]
            org.save(update_fields=[*fields, "name_pinyin", "name_initials", "updated_at"])
            counters.adjust(counters.organization_delta(before, org))
            if before.industry_id != org.industry_id:
                rollups.change_industry(org, before.industry_id)
            record_audit(
                actor=acting_user,
                action="organization.update",
                obj=org,
                organization=org,
                changes=changes,
            )
    return org


@retry_on_tree_race
def move_organization(
    *, organization: Organization, new_parent: Organization, acting_user=None
) -> Organization:
    """Move an organization with its whole subtree under `new_parent`."""
    if organization.parent_id is None:
        raise ValidationError(_("The national federation cannot be moved."))
    _check_can_change(acting_user, organization.parent)
    _check_can_change(acting_user, new_parent)
    # A move between trees, or out of or into the national level, may allocate a tree id.
    new_tree = new_parent.level == Level.NATIONAL or organization.tree_parent_id is None
    with tree_write(organization, new_parent, new_tree=new_tree) as (org, parent):
        if org.parent_id == parent.pk:
            return org
        check_not_into_own_subtree(org=org, parent=parent)
        check_placement(level=org.level, parent=parent)
        old_parent_id = org.parent_id
        org.parent = parent
        org.tree_parent = _tree_parent_for(parent)
        org.save()
        rollups.move_subtree(org, old_parent_id)
        record_audit(
            actor=acting_user,
            action="organization.move",
            obj=org,
            organization=org,
            changes={"parent": [old_parent_id, parent.pk]},
        )
    return org


@retry_on_tree_race
def dissolve_organization(
    *, organization: Organization, acting_user=None, on: datetime.date | None = None
) -> Organization:
    """Mark a union dissolved; refused while it has active subordinates or members.

    Holds its tree's lock, as every writer of children does: a union being added or
    imported under it waits, then sees it dissolved (without the lock, both could pass
    their checks and leave an active union under a dissolved one)."""
    _check_can_change(acting_user, organization.parent or organization)
    with tree_write(organization) as (locked,):
        org = Organization.objects.select_for_update().get(pk=locked.pk)
        if org.status == OrgStatus.DISSOLVED:
            return org
        active_children = org.children.filter(status=OrgStatus.ACTIVE).count()
        if active_children:
            raise ValidationError(
                _(
                    "%(name)s still has %(count)d active subordinate organization(s); "
                    "dissolve or move them first."
                )
                % {"name": org.name, "count": active_children}
            )
        for guard in DISSOLVE_GUARDS:
            message = guard(org)
            if message:
                raise ValidationError(message)
        before = copy.copy(org)
        org.status = OrgStatus.DISSOLVED
        org.dissolved_on = on or timezone.localdate()
        org.save(update_fields=["status", "dissolved_on", "updated_at"])
        counters.adjust(counters.organization_delta(before, org))
        record_audit(
            actor=acting_user,
            action="organization.dissolve",
            obj=org,
            organization=org,
            changes={"dissolved_on": org.dissolved_on.isoformat()},
        )
    return org


@retry_on_tree_race
def delete_organization(*, organization: Organization, acting_user=None) -> None:
    """Delete an organization entered by mistake: only one with nothing under or in it."""
    if organization.parent_id is None:
        raise ValidationError(_("The national federation cannot be deleted."))
    _check_can_change(acting_user, organization.parent)
    with tree_write(organization) as (org,):
        if org.children.exists():
            raise ValidationError(
                _("%(name)s has subordinate organizations; it cannot be deleted.")
                % {"name": org.name}
            )
        record_audit(
            actor=acting_user,
            action="organization.delete",
            obj=org,
            organization=org.parent,
            changes={"name": org.name, "level": org.level},
        )
        try:
            with transaction.atomic():
                rollups.forget_leaf(org)
                org.delete()
        except ProtectedError:
            raise ValidationError(
                _("%(name)s still has records (members, services …); dissolve it instead.")
                % {"name": org.name}
            ) from None


# --- Roles -----------------------------------------------------------------------------


def grant_role(*, user, organization: Organization, role: str, acting_user=None) -> OrgRole:
    """Give `user` the role at `organization`; a new grant is audited and the user told."""
    _check_can_change(acting_user, organization)
    with transaction.atomic():
        grant, created = OrgRole.objects.get_or_create(
            user=user, organization=organization, role=role, defaults={"granted_by": acting_user}
        )
        if created:
            record_audit(
                actor=acting_user,
                action="role.grant",
                obj=grant,
                organization=organization,
                changes={"user": user.pk, "role": role},
            )
            notify_on_commit(
                [user.pk],
                "role.granted",
                {"role": str(grant.get_role_display()), "organization": organization.name},
                link_for("admin:index"),
                dedupe_key=f"role:{grant.pk}:granted",
            )
    scope.forget(user)
    return grant


def revoke_role(*, grant: OrgRole, acting_user=None) -> None:
    _check_can_change(acting_user, grant.organization)
    with transaction.atomic():
        record_audit(
            actor=acting_user,
            action="role.revoke",
            obj=grant,
            organization=grant.organization,
            changes={"user": grant.user_id, "role": grant.role},
        )
        grant.delete()
    scope.forget(grant.user)
