"""Read-only queries over the union tree."""

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from . import scope
from .models import Level, Organization, OrgRole, OrgStatus, Role


def chain(org: Organization) -> list[Organization]:
    """The organizations above `org`, from the national federation down to its parent.

    Two queries whatever the depth: the ancestors within its own tree, then the logical
    parent of that tree's root (the national federation) when there is one.
    """
    ancestors = list(org.get_ancestors()) if org.tree_parent_id else []
    root = ancestors[0] if ancestors else org
    if root.parent_id is not None:
        ancestors.insert(0, Organization.objects.get(pk=root.parent_id))
    return ancestors


def in_union_line(org: Organization, union: Organization) -> bool:
    """Whether `org` is in `union`'s own line: `union` itself, a union above it (the
    national federation above every tree), or the national industry union that it (or,
    for a union group, its grassroots union) belongs to. Both need their tree fields."""
    if org.level == Level.NATIONAL:
        return True
    if org.tree_id == union.tree_id and org.lft <= union.lft <= org.rght:
        return True
    grassroots = union.parent if union.level == Level.GROUP else union
    return grassroots is not None and grassroots.industry_id == org.pk


def directory(*, query: str = "", region: str = "", level: str = "") -> QuerySet[Organization]:
    """Active unions for the public directory, by name, region and level.

    A query matches the full or the short name anywhere in it. Pinyin and initials are
    matched only for a query of Latin letters (and digits): anywhere in the keys of the full
    and the short name, so that "yf" finds 云帆科技工会; a query in Chinese characters is
    matched as written, never by its initials (北京 is not 滨江, though both are "bj"). A
    union whose name or short name is the query comes first, then those starting with it.
    """
    qs = Organization.objects.filter(status=OrgStatus.ACTIVE)
    query = " ".join(query.split())
    if query:
        condition = Q(name__icontains=query) | Q(short_name__icontains=query)
        ascii_query = query.replace(" ", "").lower()
        if ascii_query.isascii() and ascii_query.isalnum():
            if not ascii_query.isdigit():
                condition |= Q(name_initials__contains=ascii_query)
                condition |= Q(name_pinyin__contains=ascii_query)
            else:
                condition |= Q(region_code__startswith=ascii_query)
            if len(ascii_query) == 18:
                # A credit code ends in a check character that may be a letter.
                condition |= Q(uscc=ascii_query.upper())
        qs = qs.filter(condition).alias(
            match=Case(
                When(Q(name=query) | Q(short_name=query), then=Value(0)),
                When(Q(name__startswith=query) | Q(short_name__startswith=query), then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
    if region:
        # Province "33" or "330000" → every code starting 33; city "3301…" likewise.
        prefix = region.rstrip("0") if region.isdigit() else ""
        if len(prefix) % 2:
            prefix += "0"
        qs = qs.filter(region_code__startswith=prefix) if prefix else qs.none()
    if level:
        qs = qs.filter(level=level)
    return qs.order_by("match", "tree_id", "lft") if query else qs.order_by("tree_id", "lft")


def industry_unions() -> QuerySet[Organization]:
    """The national industry unions any grassroots union may join (dual affiliation).

    Not another tenant's records: a public list, as in the directory, so it is the same
    for every user.
    """
    return Organization.objects.filter(
        level=Level.INDUSTRY, parent__level=Level.NATIONAL, status=OrgStatus.ACTIVE
    ).order_by("name")


def import_roots(user) -> QuerySet[Organization]:
    """The unions a user may import a spreadsheet of unions under: those where a grant of
    theirs allows changing organizations (administrators; not union groups); for operators,
    the national federation and the provincial federations. Deeper parents are named in the
    file itself."""
    if scope.is_operator(user):
        levels = (Level.NATIONAL, Level.PROVINCIAL)
        return Organization.objects.filter(level__in=levels, status=OrgStatus.ACTIVE)
    ids = [g.org_id for g in scope.grants(user) if g.allows(scope.Access.CHANGE)]
    return Organization.objects.filter(pk__in=ids, status=OrgStatus.ACTIVE).exclude(
        level=Level.GROUP
    )


def officers_of(org: Organization | int, roles=(Role.ADMIN, Role.STAFF)) -> list[int]:
    """Ids of the users holding one of `roles` at exactly `org` (not above it: the unions
    above have their own work), to tell them of work that waits on `org`."""
    org_id = getattr(org, "pk", org)
    return list(
        OrgRole.objects.filter(organization_id=org_id, role__in=list(roles))
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .distinct()
    )
