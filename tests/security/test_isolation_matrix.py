"""The isolation matrix: every admin, API and portal URL, as each role of union A, against
the objects of its sibling B, of B's parent (the county federation) and of union C in
another province; and as the administrator of a federation reaching sideways (`SIDEWAYS`):
the neighbouring county against A's county and B, the city of the other province against
A's city, the other province against A's province, and a national industry union (B is
affiliated to it) against A's province and B. A self-test widens the neighbouring county's
scope behind the matrix's back and requires the run to report it.

The URL patterns come from `django.urls.get_resolver()`, walked recursively; `plan()` turns
each pattern into probes (requests) with its kwargs filled from the seeded world
(`tests.security.world`): a pk is the target tenant's object of the model the pattern
belongs to. A pattern the planner does not know fails `test_every_url_pattern_is_covered`
unless it is listed in `EXEMPT` with a reason.

What a probe expects:

- an object out of the reader's scope does not exist: 404 (not 403). In the admin,
  Django's "does not exist" redirect to the index or the changelist counts as not found,
  and a member without any grant is sent to the admin's login page;
- a page without an object in its URL (lists, forms, dashboards) may answer as it likes
  (200, 302, 403, 404) but not fail;
- no response body carries a canary of an object the reader may not see
  (`World.canaries_outside`), nor a numeric canary (a distinctive dues amount, as printed:
  grouped, plain or in fen) of a tenant outside the reader's subtree and not affiliated to
  it (`World.numbers_outside`): pages of figures carry no strings;
- tool pages that show data only with their parameters (`TOOLS`: the dues split, the
  dashboard, the statistics API) are probed with complete parameters for the reader's own
  tenant and for each target;
- a report request that makes a job (the reader's own organization; any other is refused)
  has the job built as the worker would and its spreadsheet downloaded: no cell may carry
  a canary or numeric canary the reader may not see (the PDF is drawn from the same
  tables, `reports.files.tables`);
- self-tests plant an unscoped aggregate view each (the dues split offered every union, a
  dashboard breakdown listing the unions below every organization of the reader's level,
  a report builder taking any organization) and require the probes to report B's numeric
  canaries;
- writes (POST, PUT, PATCH, DELETE) to out-of-scope objects change nothing: the rows of
  every tenant outside the reader's scope (their count per model, and every seeded row's
  values) are the same before and after.

Failures are collected and reported together; the summary line gives the figures (URL
patterns covered, requests made, (role, target tenant) pairs).
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q
from django.forms.models import model_to_dict
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from core import todo
from members import cards
from members.models import Member
from organizations import scope
from organizations.models import Level, Organization, OrgRole, Role
from reports import actions as report_actions
from reports.models import ReportJob
from tests.security.world import (
    MODELS,
    NUMERIC_CANARIES,
    NUMERIC_EMPLOYEES,
    World,
    build_world,
    count_forms,
)

READER = "a"
ROLES = ("admin", "staff", "viewer", "aid", "member")
TARGETS = ("b", "county", "c")
# Where a target lacks a model (union C's province keeps the reports), its chain gives one.
TARGET_FALLBACK = {
    "b": (),
    "county": (),
    "c": ("other_city", "other_province"),
    "city": (),
    "province": (),
}
# Federation officers reaching sideways, each against the federations beside it: reader ->
# targets. B is also affiliated to the national industry union (dual affiliation), which may
# see B's figures aggregated but none of its rows. These officers hold no membership: the
# member role is A's alone.
SIDEWAYS = {
    "other_county": ("county", "b"),  # county to county, under the same city
    "other_city": ("city",),  # city to city, in another province
    "other_province": ("province",),  # province to province
    "industry": ("province", "b"),  # an industry union reading a region and its affiliate
}
# The administrator holds every access but hardship aid (view, handle, change, personal
# data): the widest officer of a federation. A's viewer, staff and aid officer stay in the
# grassroots runs.
SIDEWAYS_ROLES = ("admin",)

# Patterns that are not probed, with the reason. Public pages among them are still free of
# tenant data by construction (static files, the schema of the API).
EXEMPT = {
    "admin/jsi18n/": "static JavaScript translation catalogue, no data",
    "admin/logout/": "ends the session the matrix runs in; no object, no data",
    "accounts/logout/": "ends the session the matrix runs in; no object, no data",
    "api/schema/": "the OpenAPI schema: generated from code, no rows (tests/security/"
    "test_schemathesis.py exercises it)",
    "api/docs/": "Swagger UI page that loads the schema; no rows",
    "api/guide/": "the integrators' guide: a static page, no rows",
    "healthz/": "operations: the state of the database, Redis and workers, no rows; 503 "
    "without a worker by design (tests/test_health.py)",
    "metrics": "operations: Prometheus counters by view name, no rows (tests/test_health.py)",
    "accounts/first-login/<uidb64>/<token>/": "a signed one-account link (Django's password "
    "reset token): without the token of that account it shows only 'used or expired'; "
    "tests/organizations/test_union_import_officers.py",
}
# Exempt patterns that exist only in some configurations.
CONDITIONAL: set[str] = set()

CANARY = re.compile(r"CANARY-[a-z_]+-[a-z_]+-[0-9a-f]{8}")

# Generic form values for writes: if a view wrongly accepted an out-of-scope object, these
# are enough for most actions to go through, and the snapshot would show it.
WRITE_DATA = {
    "post": "yes",
    "apply": "1",
    "reason": "isolation",
    "text": "isolation",
    "note": "isolation",
    "result": "isolation",
    "answer": "isolation",
    "comment": "isolation",
    "rating": "5",
    "field": "id_number",
    "wage_base": "1",
    "status": "suspended",
    "grade": "urgent",
    "side": "sending",
    "accept": "1",
    "amount": "1",
    "method": "cash",
    "title": "isolation",
    "name": "isolation",
    "description": "isolation",
    "category": "other",
    "period": "this_month",
    "token": "isolation",
}


@dataclass(frozen=True)
class Pattern:
    route: str
    name: str | None
    callback: object
    keys: tuple[str, ...]


def url_patterns() -> list[Pattern]:
    """Every URL pattern of the project, with the kwargs it takes."""
    result = []

    def walk(patterns, prefix, namespace):
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = namespace
                if p.namespace:
                    ns = f"{namespace}:{p.namespace}" if namespace else p.namespace
                walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern):
                name = f"{namespace}:{p.name}" if namespace and p.name else p.name
                regex = p.pattern.regex
                result.append(
                    Pattern(prefix + str(p.pattern), name, p.callback, tuple(regex.groupindex))
                )

    walk(get_resolver().url_patterns, "", None)
    return result


@dataclass
class Probe:
    route: str
    surface: str  # admin, api, portal
    method: str
    path: str
    target: str | None = None  # tenant of the object named in the URL
    model: str | None = None  # key of tests.security.world.MODELS
    not_found: bool = False  # the object is outside the reader's view: must not be found
    data: dict | None = None
    json: bool = False
    changelist: str | None = None  # the model's admin changelist (a not-found redirect)
    # A model outside the tenancy (users, tokens, beat schedules...): officers hold no
    # permission on it at all, so Django refuses every id alike (403) and nothing leaks.
    unscoped: bool = False
    # Autocomplete: the ids a JSON answer may list (the organizations in the reader's scope).
    allowed_ids: frozenset[str] | None = None


@dataclass
class Figures:
    patterns: set[str] = field(default_factory=set)
    requests: int = 0
    pairs: set[tuple[str, str, str]] = field(default_factory=set)  # (reader, role, target)
    by_surface: Counter = field(default_factory=Counter)
    seconds: float = 0.0


FIGURES = Figures()


# Tool pages that render data only with their parameters: URL name -> the query string
# that makes them show the figures of a tenant (`tool_query`). Each is probed with the
# reader's own tenant (the page renders its figures) and with every target (a refusal, or
# an empty form: none of the target's canaries, strings or numbers, in the body).
TOOLS = {
    "admin:members_duesrecord_split": lambda org, today: {
        "organization": org.pk,
        "period": today.strftime("%Y-%m"),
    },
    "reports:dashboard": lambda org, today: {"org": org.pk, "period": "12m"},
    "stats-dashboard": lambda org, today: {
        "from": today.replace(day=1).isoformat(),
        "to": today.isoformat(),
    },
}


def tool_org(world: World, name: str, key: str) -> Organization:
    """The organization a tool page is asked about for tenant `key`: for the dues split a
    grassroots union of its subtree (one with a numeric canary first), else the tenant."""
    org = world.orgs[key]
    if name != "admin:members_duesrecord_split" or org.level == Level.GRASSROOTS:
        return org
    unions = sorted(
        (k for k in world.subtree(key) if world.orgs[k].level == Level.GRASSROOTS),
        key=lambda k: (k not in NUMERIC_CANARIES, k),
    )
    return world.orgs[unions[0]] if unions else org


def tool_query(world: World, name: str, key: str) -> dict:
    return TOOLS[name](tool_org(world, name, key), timezone.localdate())


# --- The world, once per module ----------------------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    media = tmp_path_factory.mktemp("media")
    hashers = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=media, PASSWORD_HASHERS=hashers),
        transaction.atomic(),
    ):
        world = build_world()
        # Rows of the unscoped third-party admins, so that their object URLs name a row.
        for key in {*TARGETS, *(t for targets in SIDEWAYS.values() for t in targets)}:
            user = world.users[key]["admin"]
            TOTPDevice.objects.create(user=user, name=key, confirmed=True)
        yield world
        transaction.set_rollback(True)


@pytest.fixture(scope="module", autouse=True)
def _report_files(tmp_path_factory):
    """Reports built by the probes are written to a temporary directory."""
    with override_settings(REPORTS_ROOT=tmp_path_factory.mktemp("reports")):
        yield


@pytest.fixture(scope="module", autouse=True)
def summary(request):
    yield
    if not FIGURES.requests:
        return
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    line = (
        f"isolation matrix: {len(FIGURES.patterns)} URL patterns covered "
        f"({len(EXEMPT)} exempt), {FIGURES.requests} requests "
        f"({', '.join(f'{k} {v}' for k, v in sorted(FIGURES.by_surface.items()))}), "
        f"{len({r for r, _, _ in FIGURES.pairs})} readers, {len(FIGURES.pairs)} (reader, role, "
        f"target tenant) triples, {FIGURES.seconds:.1f} s"
    )
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    # Fixture teardown runs under output capture: step out of it to reach the terminal.
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        reporter.write_line(line)


@contextlib.contextmanager
def reading_as(reader_key: str, targets: tuple[str, ...]):
    """Plan, run and check as the officers of `reader_key` against `targets`: the planner
    reads the module's READER and TARGETS, switched here for the time of one run."""
    global READER, TARGETS
    saved = READER, TARGETS
    READER, TARGETS = reader_key, targets
    try:
        yield
    finally:
        READER, TARGETS = saved


# --- Planning ----------------------------------------------------------------------------


def model_key(model) -> str | None:
    for key, cls in MODELS.items():
        if cls is model:
            return key
    return None


def target_object(world: World, target: str, key: str):
    for tenant in (target, *TARGET_FALLBACK[target]):
        obj = world.objects[tenant].get(key)
        if obj is not None:
            return tenant, obj
    return None, None


def seed_of(world: World, obj):
    for seed in world.seeds:
        if seed.obj is not None and type(seed.obj) is type(obj) and seed.obj.pk == obj.pk:
            return seed
    return None


def visible_in_portal(world: World, role: str, tenant: str, key: str) -> bool:
    """Whether the reader may see the object in the portal (a member sees their chain's
    published items)."""
    seed = seed_of(world, world.objects[tenant][key])
    if seed.visible_in & world.subtree(READER):
        return True
    return role == "member" and seed.exposure == "chain" and seed.tenant in world.chain(READER)


def fill(route: str, **values) -> str:
    """The path of `route` with its converters / named groups replaced by `values`."""
    path = route
    for name, value in values.items():
        path, n = re.subn(
            rf"<(?:[a-z_]+:)?{name}>|\(\?P<{name}>[^)]*\)(?:\?)?",
            str(value),
            path,
        )
        assert n, (route, name)
    path = path.replace("^", "").replace("$", "").replace("\\.", ".").replace("/?", "/")
    return "/" + path


ADMIN_MODEL_ROUTE = re.compile(r"^admin/(?P<app>[a-z_]+)/(?P<model>[a-z]+)/(?P<rest>.*)$")

# Custom admin routes whose pk names another model than the admin's own.
ADMIN_PK_MODEL = {
    "admin/services/activity/session/<int:pk>/": "activitysession",
    "admin/members/duesrecord/payroll/<int:job_id>/": "payrolljob",
    "admin/members/duesrecord/payroll/<int:job_id>/confirm/": "payrolljob",
    "admin/members/transfer/retain/<int:member_pk>/": "member",
}
AIDCASE_STEPS = ("review", "visit", "approve", "notice", "resolve", "disburse", "yearly_review")
REQUEST_STEPS = ("accept", "start", "complete", "reject", "cancel", "note")


def admin_probes(world: World, role: str, pattern: Pattern) -> list[Probe]:
    route = pattern.route
    a = world.orgs[READER]
    if route in ("admin/", "admin/password_change/", "admin/password_change/done/"):
        return [Probe(route, "admin", "GET", "/" + route)]
    if route == "admin/todo/":  # the to-do, of every kind and a kind at a time
        kinds = ["", *(f"?kind={source.key}" for source in todo.sources())]
        return [Probe(route, "admin", "GET", f"/admin/todo/{kind}") for kind in kinds]
    if route == "admin/login/":
        return [Probe(route, "admin", "GET", "/admin/login/?next=/admin/")]
    if route.startswith("admin/^(?P<app_label>"):
        labels = re.search(r"\(\?P<app_label>([^)]*)\)", route).group(1).split("|")
        return [Probe(route, "admin", "GET", f"/admin/{label}/") for label in labels]
    if route == "admin/(?P<url>.*)$":
        return [Probe(route, "admin", "GET", "/admin/no-such-page/")]
    if route == "admin/autocomplete/":
        return autocomplete_probes(world, route)
    if route == "admin/r/<path:content_type_id>/<path:object_id>/":
        probes = []
        for target in TARGETS:
            org = world.orgs[target]
            ct = ContentType.objects.get_for_model(Organization)
            # An organization's page is public: the redirect to it may happen.
            probes.append(
                Probe(route, "admin", "GET", fill(route, content_type_id=ct.pk, object_id=org.pk))
            )
            # A member has no page of their own: nothing to redirect to.
            member = target_object(world, target, "member")[1]
            if member is not None:
                ct = ContentType.objects.get_for_model(Member)
                probes.append(
                    Probe(
                        route,
                        "admin",
                        "GET",
                        fill(route, content_type_id=ct.pk, object_id=member.pk),
                        target=target,
                        model="member",
                        not_found=True,
                    )
                )
        return probes
    match = ADMIN_MODEL_ROUTE.match(route)
    assert match, route
    model = apps.get_model(match["app"], match["model"])
    model_admin = admin.site._registry[model]
    changelist = reverse(f"admin:{match['app']}_{match['model']}_changelist")
    key = ADMIN_PK_MODEL.get(route) or model_key(model)
    rest = match["rest"]
    probes: list[Probe] = []

    def probe(method, path, **kw):
        probes.append(Probe(route, "admin", method, path, changelist=changelist, **kw))

    object_keys = [k for k in pattern.keys if k in ("object_id", "pk", "job_id", "member_pk")]
    # A model outside the tenancy answers every officer alike: one target is enough.
    targets = TARGETS if key is not None else TARGETS[:1]
    if not object_keys:
        base = "/" + route
        if rest != "add/":
            probe("GET", base)
        if rest == "":
            probe("GET", base + "?_popup=1&_to_field=id")
            for target in targets:
                org = world.orgs[target]
                for canary in sorted(world.canaries_of(target))[:1]:
                    probe("GET", base + "?" + urlencode({"q": canary}))
                for param in changelist_filters(world, model, model_admin, target):
                    probe("GET", base + "?" + param)
                # Changelist actions on a selected out-of-scope row change nothing.
                _, obj = target_object(world, target, key) if key else (None, None)
                if obj is not None and obj._meta.model is model:
                    for action in admin_actions(model_admin):
                        probe(
                            "POST",
                            base,
                            target=target,
                            data={
                                "action": action,
                                "_selected_action": [obj.pk],
                                "index": "0",
                                "post": "yes",
                                "apply": "1",
                                "reason": "isolation",
                            },
                        )
        elif rest == "add/":
            probe("GET", base + "?_popup=1")
            for target in targets:
                org = world.orgs[target]
                member = target_object(world, target, "member")[1]
                query = {"organization": org.pk, "parent": org.pk}
                if member is not None:
                    query["member"] = member.pk
                probe("GET", base + "?" + urlencode(query))
                probe(
                    "POST",
                    base,
                    target=target,
                    data={**WRITE_DATA, **query, "to_organization": a.pk, "level": "grassroots"},
                )
        else:
            # Tools without an object: imports, exports, dues, figures, search.
            if pattern.name in TOOLS:
                for key in (READER, *targets):
                    probe("GET", base + "?" + urlencode(tool_query(world, pattern.name, key)))
            for target in targets:
                org = world.orgs[target]
                query = {"organization": org.pk, "organization__id__exact": org.pk}
                probe("GET", base + "?" + urlencode(query))
                if rest.endswith("export/"):
                    probe("GET", base + "?" + urlencode({**query, "_format": "csv"}))
                probe(
                    "POST",
                    base,
                    target=target,
                    data={**WRITE_DATA, "organization": org.pk, "period": "2025-01"},
                )
        return probes

    if rest == "<path:object_id>/":
        targets = TARGETS[:1]  # Django's redirect to `change/`, which looks nothing up
    for target in targets:
        if key is None:
            tenant, obj = target, unscoped_row(world, model, target)
        else:
            tenant, obj = target_object(world, target, key)
        if obj is None:
            continue
        values = {object_keys[0]: obj.pk}
        steps = [None]
        if "step" in pattern.keys:
            steps = AIDCASE_STEPS if match["model"] == "aidcase" else REQUEST_STEPS
        for step in steps:
            path = fill(route, **values, **({"step": step} if step else {}))
            kw = {"target": tenant, "model": key, "not_found": True, "unscoped": key is None}
            if step in (None, steps[0]):
                probe("GET", path, **kw)
                if rest.endswith("change/") and target == TARGETS[0]:
                    probe("GET", path + "?_popup=1", **kw)
            # The history page and Django's `<object_id>/` redirect take no writes.
            if rest not in ("<path:object_id>/", "<path:object_id>/history/"):
                data = {**WRITE_DATA, "organization": a.pk, "to_organization": a.pk}
                probe("POST", path, data=data, **kw)
    return probes


def unscoped_row(world: World, model, target: str):
    """A row of a model outside the tenancy (users, tokens, devices, beat schedules, lockout
    records): the target's administrator's where it has one, else any row, else a pk that
    does not exist."""
    from django.contrib.auth import get_user_model

    user = world.users[target]["admin"]
    if model is get_user_model():
        return user
    user_field = next(
        (f for f in model._meta.concrete_fields if f.is_relation and f.related_model is type(user)),
        None,
    )
    rows = model._default_manager.order_by("pk")
    if user_field is not None:
        rows = rows.filter(**{user_field.name: user})
    row = rows.first()
    return row if row is not None else SimpleNamespace(pk=999999)


def admin_actions(model_admin) -> list[str]:
    names = ["delete_selected"]
    for action in model_admin.actions or ():
        names.append(action if isinstance(action, str) else action.__name__)
    return names


def changelist_filters(world: World, model, model_admin, target: str) -> list[str]:
    """`?<fk>__id__exact=<target's row>` for every related list filter of the admin."""
    params = []
    for item in model_admin.list_filter:
        if not isinstance(item, str) or "__" in item:
            continue
        field_ = model._meta.get_field(item)
        if not field_.is_relation:
            continue
        related = field_.related_model
        if related is Organization:
            pk = world.orgs[target].pk
        else:
            key = model_key(related)
            obj = target_object(world, target, key)[1] if key else None
            if obj is None:
                continue
            pk = obj.pk
        params.append(urlencode({f"{item}__id__exact": pk}))
    return params


def autocomplete_probes(world: World, route: str) -> list[Probe]:
    """Every autocomplete field of every admin, unfiltered and searching for each target."""
    inside = world.subtree(READER)
    allowed = frozenset(str(world.orgs[key].pk) for key in inside)
    probes = []
    for model, model_admin in admin.site._registry.items():
        for name in model_admin.autocomplete_fields:
            remote = model._meta.get_field(name).related_model
            ids = allowed if remote is Organization else None
            base = {
                "app_label": model._meta.app_label,
                "model_name": model._meta.model_name,
                "field_name": name,
            }
            terms = ["", *(world.orgs[target].name[:2] for target in TARGETS)]
            for term in terms:
                path = "/admin/autocomplete/?" + urlencode({**base, "term": term})
                probes.append(Probe(route, "admin", "GET", path, allowed_ids=ids))
    return probes


API_ROUTE = re.compile(r"^api/v1/\^(?P<prefix>[a-z/\-]+?)(?:/\(\?P<pk>\[\^/\.\]\+\))?")


def api_probes(world: World, role: str, pattern: Pattern) -> list[Probe]:
    route = pattern.route
    a = world.orgs[READER]
    formats = {"format": "json"} if "format" in pattern.keys else {}
    if route.startswith("api/v1/") and pattern.name == "api-root":
        return [Probe(route, "api", "GET", fill(route, **formats) if formats else "/api/v1/")]
    view = pattern.callback
    actions_map = getattr(view, "actions", {})
    model = view.cls.queryset.model
    key = model_key(model)
    probes = []
    json_body = {
        "name": "isolation",
        "title": "isolation",
        "text": "isolation",
        "reason": "isolation",
        "organization": a.pk,
        "to_organization": a.pk,
        "parent": a.pk,
        "status": "suspended",
        "field": "id_number",
        "amount": "1",
        "result": "isolation",
        "answer": "isolation",
        "grade": "urgent",
        "side": "sending",
    }
    if "pk" not in pattern.keys:
        path = fill(route, **formats)
        probes.append(Probe(route, "api", "GET", path))
        for target in TARGETS:
            org = world.orgs[target]
            query = urlencode({"organization": org.pk, "org": org.pk, "search": "CANARY"})
            probes.append(Probe(route, "api", "GET", f"{path}?{query}"))
            if "post" in actions_map:
                probes.append(
                    Probe(
                        route,
                        "api",
                        "POST",
                        f"{path}?{urlencode({'organization': org.pk})}",
                        target=target,
                        data={**json_body, "organization": org.pk, "member": _member_pk(world)},
                        json=True,
                    )
                )
        return probes
    tool = pattern.name in TOOLS and not formats
    if tool:  # the reader's own organization, with the tool's parameters
        query = urlencode(tool_query(world, pattern.name, READER))
        probes.append(Probe(route, "api", "GET", f"{fill(route, pk=a.pk)}?{query}"))
    for target in TARGETS:
        if model is Organization:
            tenant, obj = target, world.orgs[target]
        else:
            tenant, obj = target_object(world, target, key)
        if obj is None:
            continue
        path = fill(route, pk=obj.pk, **formats)
        if tool:
            path += "?" + urlencode(tool_query(world, pattern.name, tenant))
        for method in actions_map:
            if method in ("head", "options"):
                continue
            probes.append(
                Probe(
                    route,
                    "api",
                    method.upper(),
                    path,
                    target=tenant,
                    model=key,
                    not_found=True,
                    data=None if method == "get" else json_body,
                    json=method != "get",
                )
            )
    return probes


def _member_pk(world: World) -> int:
    return world.members["b"].pk


# Portal patterns: name -> (model key of the kwarg, kwarg, kind). Kind "object": the object
# must not be found unless the reader may see it; "public": a public page of any union
# or station (any answer, no private data); "capability": a secret link (a wrong secret
# must not be found).
PORTAL = {
    "union-detail": ("organization", "pk", "public"),
    "join-apply": ("organization", "pk", "public"),
    "transfer-request": ("organization", "pk", "public"),
    "card-verify": ("member", "token", "capability"),
    "join-status": ("joinapplication", "key", "capability"),
    "transfer-cancel": ("transfer", "pk", "object"),
    "transfer-confirm": ("transfer", "pk", "object"),
    "transfer-decline": ("transfer", "pk", "object"),
    "services-menu-detail": ("service", "pk", "object"),
    "services-request-cancel": ("servicerequest", "pk", "object"),
    "services-request-rate": ("servicerequest", "pk", "object"),
    "services-wish-vote": ("servicewish", "pk", "object"),
    "services-wish-unvote": ("servicewish", "pk", "object"),
    "activities-detail": ("activity", "pk", "object"),
    "activities-register": ("activitysession", "pk", "object"),
    "activities-checkin": ("activitysession", "code", "object"),
    "activities-cancel": ("registration", "pk", "object"),
    "aid-object": ("aidcase", "pk", "object"),
    "voice-detail": ("concern", "pk", "object"),
    "voice-rate": ("concern", "pk", "object"),
    "voice-reopen": ("concern", "pk", "object"),
    "voice-attachment": ("concern", "pk", "object"),
    "stations-detail": ("station", "pk", "public"),
    "stations-rate": ("station", "pk", "public"),
    "announcement-detail": ("announcement", "pk", "object"),
    "reports:detail": ("reportjob", "pk", "object"),
    "reports:download": ("reportjob", "pk", "object"),
    "inbox-read": ("notification", "pk", "object"),
    "account-token-revoke": ("accesstoken", "pk", "object"),
}
# Portal pages without an object in the URL: the query strings and writes tried on them.
PORTAL_LISTS = {
    "directory": [{"q": "杭州"}, {"q": "工会", "level": "grassroots"}],
    "stations-list": [{"union": "{org}"}],
    "reports:dashboard": [{"org": "{org}"}],
    "reports:list": [{"org": "{org}"}],
    "reports:request": [{"org": "{org}"}],
    "services-menu": [{"organization": "{org}"}],
    "services-wishes": [{"organization": "{org}"}],
    "activities-list": [{"organization": "{org}"}],
    "announcement-list": [{"organization": "{org}"}],
}
# The report builder: a request that makes a job is followed to its file (`_built_reports`).
REPORT_REQUEST = "reports:request"
# Writes on object-less portal pages that name an out-of-scope organization in the body.
PORTAL_WRITES = {
    "services-wishes": {"organization": "{org}", "title": "isolation", "category": "other"},
    "reports:request": {"org": "{org}", "organization": "{org}", "period": "12m"},
    "reports:dashboard": {"org": "{org}"},
}
# Writes that only touch the reader's own rows (their inbox, session, language) or that a
# member may make anywhere by design (asking to transfer to any union, joining any union):
# GET only.
PORTAL_NO_WRITE = {
    "inbox-read-all",
    "account-tokens",
    "account-end-others",
    "set_language",
    "transfer-request",
    "join-apply",
    "voice-new",
    "inbox-settings",
    "account-security",
    "two-factor",
    "login",
}


def portal_probes(world: World, role: str, pattern: Pattern) -> list[Probe]:
    route, name = pattern.route, pattern.name
    probes = []
    if name in PORTAL:
        key, kwarg, kind = PORTAL[name]
        for target in TARGETS:
            if key == "organization":
                tenant, obj = target, world.orgs[target]
            else:
                tenant, obj = target_object(world, target, key)
            if obj is None:
                continue
            if kwarg == "token":
                value = cards.card_token(obj)
            elif kwarg == "key":
                # The status link's secret is the capability: a wrong one finds nothing.
                value = world.join_keys[tenant][::-1]
            elif kwarg == "code":
                value = obj.checkin_code
            else:
                value = obj.pk
            extra = {"fmt": "xlsx"} if "fmt" in pattern.keys else {}
            path = fill(route, **{kwarg: value}, **extra)
            visible = kind == "public" or (
                kind == "object" and visible_in_portal(world, role, tenant, key)
            )
            if kind == "capability" and kwarg == "token":
                visible = True  # anyone holding a card may show it: masked facts only
            kw = {"target": tenant, "model": key, "not_found": not visible}
            probes.append(Probe(route, "portal", "GET", path, **kw))
            if extra:
                probes.append(Probe(route, "portal", "GET", fill(route, pk=value, fmt="pdf"), **kw))
            if not visible and name not in PORTAL_NO_WRITE:
                probes.append(Probe(route, "portal", "POST", path, data=dict(WRITE_DATA), **kw))
            elif (
                kind == "public"
                and name not in PORTAL_NO_WRITE
                and not (role == "member" and tenant in world.chain(READER))
            ):
                # A public page (a station, say): a write must still change nothing of a
                # target outside the member's chain (whose stations they may rate).
                probes.append(
                    Probe(route, "portal", "POST", path, data=dict(WRITE_DATA), target=tenant)
                )
        return probes
    if pattern.keys:
        return []  # unknown: reported by the coverage test
    path = "/" + route
    probes.append(Probe(route, "portal", "GET", path))
    if name in TOOLS:
        for key in (READER, *TARGETS):
            query = urlencode(tool_query(world, name, key))
            probes.append(Probe(route, "portal", "GET", f"{path}?{query}"))
    for target in TARGETS:
        org = world.orgs[target]
        for query in PORTAL_LISTS.get(name, []):
            values = {k: str(v).replace("{org}", str(org.pk)) for k, v in query.items()}
            probes.append(Probe(route, "portal", "GET", f"{path}?{urlencode(values)}"))
        if name in PORTAL_WRITES and org.pk not in chain_pks(world):
            body = {k: str(v).replace("{org}", str(org.pk)) for k, v in PORTAL_WRITES[name].items()}
            probes.append(Probe(route, "portal", "POST", path, data=body, target=target))
    if name == REPORT_REQUEST:  # the reader's own report, built and read (`_built_reports`)
        own = str(world.orgs[READER].pk)
        body = {k: str(v).replace("{org}", own) for k, v in PORTAL_WRITES[name].items()}
        probes.append(Probe(route, "portal", "POST", path, data=body))
    return probes


def chain_pks(world: World) -> set[int]:
    return {world.orgs[key].pk for key in world.chain(READER)}


def plan(world: World, role: str, patterns: list[Pattern]) -> list[Probe]:
    probes = []
    for pattern in patterns:
        if pattern.route in EXEMPT:
            continue
        if pattern.route.startswith("admin/"):
            probes += admin_probes(world, role, pattern)
        elif pattern.route.startswith("api/v1/"):
            probes += api_probes(world, role, pattern)
        else:
            probes += portal_probes(world, role, pattern)
    return probes


# --- Running -----------------------------------------------------------------------------


def reader(world: World, role: str):
    return world.member_user if role == "member" else world.users[READER][role]


def outside_orgs(world: World) -> list[int]:
    inside = world.subtree(READER)
    return [o.pk for key, o in world.orgs.items() if key not in inside]


def snapshot(world: World) -> dict:
    """Rows outside the reader's scope: counts per tenant-owned model, and seeded values."""
    orgs = Organization.objects.filter(pk__in=outside_orgs(world))
    counts = {}
    for model in apps.get_models():
        try:
            paths = scope.tenant_paths(model)
        except TypeError:
            continue
        for path in paths:
            lookup = {f"{path}__in" if path else "pk__in": orgs}
            counts[f"{model._meta.label}:{path}"] = model._default_manager.filter(**lookup).count()
    inside = world.subtree(READER)
    wanted: dict[type, list] = {}
    for seed in world.seeds:
        if seed.obj is not None and not seed.visible_in & inside:
            wanted.setdefault(type(seed.obj), []).append(seed)
    values = {}
    for model, seeds in wanted.items():
        rows = model._default_manager.in_bulk([seed.obj.pk for seed in seeds])
        for seed in seeds:
            row = rows.get(seed.obj.pk)
            values[f"{seed.tenant}:{seed.model}:{seed.obj.pk}"] = row and _row(row)
    return {"counts": counts, "values": values}


def _row(obj) -> dict:
    data = model_to_dict(obj)
    for f in obj._meta.concrete_fields:
        data[f.attname] = getattr(obj, f.attname)
    data.pop("updated_at", None)
    return {k: str(v) for k, v in data.items()}


def diff(before: dict, after: dict) -> list[str]:
    changes = []
    for part in ("counts", "values"):
        for k in sorted(set(before[part]) | set(after[part])):
            if before[part].get(k) != after[part].get(k):
                if part == "values" and before[part].get(k) and after[part].get(k):
                    fields = {
                        f for f in before[part][k] if before[part][k][f] != after[part][k].get(f)
                    }
                    changes.append(f"{k} changed: {sorted(fields)}")
                else:
                    changes.append(f"{part} {k}: {before[part].get(k)} -> {after[part].get(k)}")
    return changes


ADMIN_NOT_FOUND_REDIRECTS = ("/admin/",)


def number_pattern(numbers: set[str]) -> re.Pattern | None:
    """The numeric canaries as printed figures: not a part of a longer number or word."""
    if not numbers:
        return None
    alternatives = "|".join(re.escape(n) for n in sorted(numbers, key=len, reverse=True))
    return re.compile(rf"(?<![\w.,])(?:{alternatives})(?![\w]|[.,]\d)")


def check(
    probe: Probe, role: str, response, forbidden: set[str], numbers: re.Pattern | None = None
) -> list[str]:
    problems = []
    status = response.status_code
    if status >= 500:
        problems.append(f"server error {status}")
    if probe.not_found:
        location = response.get("Location", "") if status in (301, 302) else ""
        # 405: the view takes no such method, whatever the object (nothing is looked up).
        ok = status in (404, 405)
        if probe.surface == "admin" and location:
            path = location.split("?")[0]
            ok = path in (*ADMIN_NOT_FOUND_REDIRECTS, probe.changelist) or (
                role == "member" and path == "/admin/login/"
            )
            # Django's `<object_id>/` pattern redirects to `change/` without a lookup.
            ok = ok or (
                probe.route.endswith("<path:object_id>/")
                and path == probe.path.split("?")[0] + "change/"
            )
        # The inbox answers someone else's notification exactly as one that does not exist:
        # back to the inbox (tests/notifications/test_inbox.py).
        if probe.route == "inbox/<int:pk>/read/" and location == reverse("inbox"):
            ok = True
        if probe.unscoped and status == 403:
            ok = True
        if probe.surface == "portal" and role != "member" and status == 200:
            # An officer without a membership gets the "you are not a member" page.
            ok = any("no_member" in (t.name or "") for t in response.templates)
        if not ok:
            problems.append(f"expected not found, got {status} {location}".rstrip())
    body = _body(response)
    if probe.allowed_ids is not None and status == 200:
        listed = {str(row["id"]) for row in response.json()["results"]}
        if listed - probe.allowed_ids:
            problems.append(
                f"autocomplete lists out-of-scope ids {sorted(listed - probe.allowed_ids)}"
            )
    # A canary the request itself sent (a search term) may be echoed back.
    sent = set(CANARY.findall(probe.path + repr(probe.data)))
    return problems + leaks("body", body, forbidden - sent, numbers)


def leaks(where: str, text: str, forbidden: set[str], numbers: re.Pattern | None) -> list[str]:
    """The canaries and numeric canaries in `text` that the reader may not see."""
    problems = []
    leaked = set(CANARY.findall(text)) & forbidden
    if leaked:
        problems.append(f"out-of-scope canaries in {where}: {sorted(leaked)[:4]}")
    figures = set(numbers.findall(text)) if numbers is not None else set()
    if figures:
        problems.append(f"out-of-scope numeric canaries in {where}: {sorted(figures)[:4]}")
    return problems


def _xlsx_text(content: bytes) -> str:
    """Every cell of a workbook as text, one per line."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content), read_only=True)
    return "\n".join(
        str(value)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value is not None
    )


def _built_reports(
    client, since: int, forbidden: set[str], numbers: re.Pattern | None
) -> list[str]:
    """The report jobs a request made (pk above `since`): each is built as the worker
    would, and its spreadsheet, downloaded by the reader, must show nothing out of scope."""
    problems = []
    for pk in ReportJob.objects.filter(pk__gt=since).order_by("pk").values_list("pk", flat=True):
        report_actions.build_report(pk)
        response = client.get(reverse("reports:download", args=[pk, "xlsx"]))
        if response.status_code != 200:
            problems.append(f"report {pk}: the spreadsheet answered {response.status_code}")
            continue
        text = _xlsx_text(b"".join(response.streaming_content))
        problems += leaks(f"report {pk}'s spreadsheet", text, forbidden, numbers)
    return problems


def _body(response) -> str:
    if getattr(response, "streaming", False):
        content = b"".join(response.streaming_content)
    else:
        content = response.content
    return content.decode("utf-8", errors="replace")


def send(client: Client, probe: Probe):
    method = probe.method.lower()
    if probe.json:
        import json

        return getattr(client, method)(
            probe.path, data=json.dumps(probe.data or {}), content_type="application/json"
        )
    if method == "get":
        return client.get(probe.path)
    if method == "post":
        return client.post(probe.path, data=probe.data or {})
    return getattr(client, method)(probe.path)


def run(world: World, role: str, surface: str) -> list[str]:
    patterns = url_patterns()
    probes = [p for p in plan(world, role, patterns) if p.surface == surface]
    user = reader(world, role)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    scope.forget(user)
    forbidden = world.canaries_outside(
        READER,
        as_member=role == "member" and surface == "portal",
        include_public=surface != "portal",
    )
    numbers = number_pattern(world.numbers_outside(READER))
    failures = []
    started = time.monotonic()
    reads = [p for p in probes if p.method == "GET"]
    writes = [p for p in probes if p.method != "GET"]
    before = snapshot(world)
    for probe in reads:
        failures += _run_one(client, probe, role, forbidden, numbers)
    after = snapshot(world)
    failures += [f"{role} {surface} reads changed rows: {c}" for c in diff(before, after)]
    for target in TARGETS:
        batch = [p for p in writes if p.target == target or p.target in TARGET_FALLBACK[target]]
        before = snapshot(world)
        for probe in batch:
            failures += _run_one(client, probe, role, forbidden, numbers)
        after = snapshot(world)
        failures += [
            f"{role} {surface} writes against {target} changed rows: {c}"
            for c in diff(before, after)
        ]
        FIGURES.pairs.add((READER, role, target))
    rest = [p for p in writes if p.target is None]
    for probe in rest:
        failures += _run_one(client, probe, role, forbidden, numbers)
    FIGURES.seconds += time.monotonic() - started
    return failures


def _run_one(
    client, probe: Probe, role: str, forbidden: set[str], numbers: re.Pattern | None = None
) -> list[str]:
    FIGURES.requests += 1
    FIGURES.by_surface[probe.surface] += 1
    FIGURES.patterns.add(probe.route)
    try:
        # A savepoint per request: a view that fails half-way leaves nothing behind.
        with transaction.atomic():
            report = probe.method == "POST" and "/" + probe.route == reverse(REPORT_REQUEST)
            since = ReportJob.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            response = send(client, probe)
            problems = check(probe, role, response, forbidden, numbers)
            if report:
                problems += _built_reports(client, since, forbidden, numbers)
    except Exception as error:  # every failure goes into the report
        problems = [f"raised {type(error).__name__}: {str(error)[:200]}"]
    where = f"{probe.target or '-'}:{probe.model or '-'}"
    return [f"{role:7} {probe.method:6} {probe.path} [{where}] {p}" for p in problems]


# --- Tests -------------------------------------------------------------------------------


@pytest.mark.parametrize("surface", ["admin", "api", "portal"])
@pytest.mark.parametrize("role", ROLES)
def test_union_a_never_reaches_another_tenant(world, db, role, surface):
    failures = run(world, role, surface)
    assert not failures, f"{len(failures)} isolation failures:\n" + "\n".join(failures)


@pytest.mark.parametrize("surface", ["admin", "api", "portal"])
@pytest.mark.parametrize("role", SIDEWAYS_ROLES)
@pytest.mark.parametrize("reader_key", SIDEWAYS)
def test_federations_never_reach_sideways(world, db, reader_key, role, surface):
    with reading_as(reader_key, SIDEWAYS[reader_key]):
        failures = run(world, role, surface)
    assert not failures, f"{len(failures)} isolation failures:\n" + "\n".join(failures)


def test_the_sideways_run_fails_when_a_county_reaches_its_neighbour(world, db, monkeypatch):
    """Self-test: the neighbouring county's administrator is given a grant at A's county
    behind the matrix's back (its expectations still place that county beside it), so its
    scope leaks sideways; the API run must report B's and the county's rows as found and
    their canaries in the bodies."""
    monkeypatch.setattr(sys.modules[__name__], "FIGURES", Figures())  # figures of the real runs
    user = world.users["other_county"]["admin"]
    OrgRole.objects.create(user=user, organization=world.orgs["county"], role=Role.VIEWER)
    with reading_as("other_county", SIDEWAYS["other_county"]):
        failures = run(world, "admin", "api")
    found = [f for f in failures if "expected not found, got 200" in f]
    leaked = [f for f in failures if re.search(r"canaries in body: .*CANARY-(county|b)-", f)]
    assert found and leaked, failures[:20]


def test_every_url_pattern_is_covered(world, db):
    patterns = url_patterns()
    planned = set()
    for role in ROLES:
        planned |= {p.route for p in plan(world, role, patterns)}
    missing = [p.route for p in patterns if p.route not in planned and p.route not in EXEMPT]
    routes = {p.route for p in patterns}
    stale = [route for route in EXEMPT if route not in routes and route not in CONDITIONAL]
    assert not missing, (
        "URL patterns not covered by the isolation matrix (add them to the planner, or to "
        "EXEMPT with a reason):\n" + "\n".join(missing)
    )
    assert not stale, f"EXEMPT names patterns that no longer exist: {stale}"


def test_the_world_seeds_a_canary_of_every_model_in_each_tenant(world, db):
    """Every tenant-scoped model with pages has a seeded row in the target tenants."""
    for target in TARGETS:
        assert world.canaries_of(target)
    for key in MODELS:
        assert any(key in world.objects[t] for t in (*TARGETS, "other_city")), key


def _tool_probes(world: World, role: str, name: str) -> list[Probe]:
    patterns = [p for p in url_patterns() if p.name == name]
    return [p for p in plan(world, role, patterns) if "?" in p.path and name in TOOLS]


def test_tool_pages_render_the_readers_own_figures(world, db):
    """The tool probes are not empty forms: with the reader's own parameters the dues split
    shows union A's payment, and the industry union's dashboard, statistics and a report
    it requests show its affiliate B's figures (its own numeric canaries, which the others
    must not see)."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(world.users["a"]["admin"])
    query = urlencode(tool_query(world, "admin:members_duesrecord_split", "a"))
    response = client.get(f"/admin/members/duesrecord/split/?{query}")
    assert response.status_code == 200
    assert "25.13" in _body(response)
    with reading_as("industry", SIDEWAYS["industry"]):
        client.force_login(world.users["industry"]["admin"])
        for name in ("reports:dashboard", "stats-dashboard"):
            own = next(p for p in _tool_probes(world, "admin", name) if p.target is None)
            response = client.get(own.path)
            assert response.status_code == 200, (own.path, response.status_code)
            numbers = number_pattern(set(world.numeric_canaries["b"]))
            assert numbers.search(_body(response)), own.path
        # The report request probe is followed to a built spreadsheet of the same figures.
        since = ReportJob.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        own = next(
            p
            for p in plan(world, "admin", [p for p in url_patterns() if p.name == REPORT_REQUEST])
            if p.method == "POST" and p.target is None
        )
        assert send(client, own).status_code == 302
        assert _built_reports(client, since, set(), None) == []
        job = ReportJob.objects.get(pk__gt=since)
        assert job.organization_id == world.orgs["industry"].pk
        text = _xlsx_text(job.xlsx.read())
        assert numbers.search(text), text[:2000]


def test_the_run_fails_when_the_dues_split_offers_every_union(world, db, monkeypatch):
    """Self-test: the dues split page's unions (`members.selectors.dues.summary_unions`)
    are every grassroots union, unscoped; union A's administrator then reads union B's split
    by `?organization=<B>&period=<this month>`, and the probes of that page must report B's
    numeric canary (no string canary is on that page)."""
    from members.models import DuesRecord
    from members.selectors import dues

    monkeypatch.setattr(
        dues,
        "summary_unions",
        lambda user: Organization.objects.filter(level=Level.GRASSROOTS).order_by("name", "pk"),
    )
    monkeypatch.setattr(sys.modules[__name__], "FIGURES", Figures())
    assert DuesRecord.objects.filter(organization=world.orgs["b"]).exists()
    probes = _tool_probes(world, "admin", "admin:members_duesrecord_split")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(world.users["a"]["admin"])
    numbers = number_pattern(world.numbers_outside("a"))
    failures = []
    for probe in probes:
        failures += _run_one(client, probe, "admin", world.canaries_outside("a"), numbers)
    b = world.orgs["b"].pk
    forms = world.numeric_canaries["b"]
    leaked = [f for f in failures if f"organization={b}&" in f and any(n in f for n in forms)]
    assert leaked, failures
    # Scoped as it is, the same probes find nothing.
    monkeypatch.undo()
    monkeypatch.setattr(sys.modules[__name__], "FIGURES", Figures())
    clean = []
    for probe in probes:
        clean += _run_one(client, probe, "admin", world.canaries_outside("a"), numbers)
    assert not clean, clean


def _breakdown_probes(world: World) -> list[Probe]:
    """The dashboard's tool probes (page and statistics API) of the reader's own union."""
    return [
        p
        for name in ("reports:dashboard", "stats-dashboard")
        for p in _tool_probes(world, "admin", name)
        if p.path.endswith(urlencode(tool_query(world, name, READER)))
        and (name != "stats-dashboard" or f"/{world.orgs[READER].pk}/" in p.path)
    ]


def test_the_run_fails_when_a_dashboard_breakdown_lists_every_union_of_its_level(
    world, db, monkeypatch
):
    """Self-test: the dashboard's breakdown by child union (`reports.selectors.child_unions`)
    lists the unions below every organization of the reader's level, not only its own. The
    neighbouring county's administrator then sees B (a grassroots union of A's county) among
    its children, by name only and with B's figures; the probes of its own dashboard (page
    and statistics API) must report B's employees, a numeric canary."""
    from reports import selectors

    monkeypatch.setattr(
        selectors,
        "child_unions",
        lambda org: Organization.objects.filter(parent__level=org.level),
    )
    monkeypatch.setattr(sys.modules[__name__], "FIGURES", Figures())
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(world.users["other_county"]["admin"])
    numbers = number_pattern(world.numbers_outside("other_county"))
    forbidden = world.canaries_outside("other_county", include_public=True)
    employees = set(count_forms(NUMERIC_EMPLOYEES["b"]))
    with reading_as("other_county", SIDEWAYS["other_county"]):
        probes = _breakdown_probes(world)
        assert {p.surface for p in probes} == {"portal", "api"}, probes
        for probe in probes:
            failures = _run_one(client, probe, "admin", forbidden, numbers)
            assert any(any(n in f for n in employees) for f in failures), (probe.path, failures)
        monkeypatch.undo()
        monkeypatch.setattr(sys.modules[__name__], "FIGURES", Figures())
        clean = [f for p in probes for f in _run_one(client, p, "admin", forbidden, numbers)]
    assert not clean, clean


def test_the_run_fails_when_the_report_builder_takes_any_union(world, db, monkeypatch):
    """Self-test: the report pages and the report builder take the organization they are
    given without the statistics scope (`scope.statistics_organizations` and
    `scope.statistics_q`, as the reports app sees them, reach every organization). The
    neighbouring county's administrator then has a report of B built; the matrix follows
    the request to the built spreadsheet and must report B's employees in it. Scoped again,
    the same requests build nothing of B."""
    from reports import actions as actions_module
    from reports import views as views_module

    unscoped = SimpleNamespace(
        **{name: getattr(scope, name) for name in dir(scope) if not name.startswith("__")}
    )
    unscoped.statistics_organizations = lambda user: Organization.objects.all()
    unscoped.statistics_q = lambda user, prefix="": Q()
    monkeypatch.setattr(views_module, "scope", unscoped)
    monkeypatch.setattr(actions_module, "scope", unscoped)
    monkeypatch.setattr(sys.modules[__name__], "FIGURES", Figures())
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(world.users["other_county"]["admin"])
    numbers = number_pattern(world.numbers_outside("other_county"))
    forbidden = world.canaries_outside("other_county")
    employees = set(count_forms(NUMERIC_EMPLOYEES["b"]))
    with reading_as("other_county", SIDEWAYS["other_county"]):
        patterns = [p for p in url_patterns() if p.name == REPORT_REQUEST]
        probes = [p for p in plan(world, "admin", patterns) if p.method == "POST"]
        b = str(world.orgs["b"].pk)
        assert any(p.data["org"] == b for p in probes), probes
        failures = [f for p in probes for f in _run_one(client, p, "admin", forbidden, numbers)]
        leaked = [f for f in failures if "spreadsheet" in f and any(n in f for n in employees)]
        assert leaked, failures
        monkeypatch.undo()
        monkeypatch.setattr(sys.modules[__name__], "FIGURES", Figures())
        clean = [f for p in probes for f in _run_one(client, p, "admin", forbidden, numbers)]
    assert not clean, clean
