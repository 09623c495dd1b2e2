"""Schemathesis against the API's own OpenAPI schema, as six roles and anonymous.

The schema is the one the running app serves at `/api/schema/` (drf-spectacular), loaded
through the WSGI app; every request goes in-process through the whole middleware stack to
the views, on the test database, with the seeded world of `tests.security.world` (tenants
A, sibling B, their county, city and province, union C in another province, a canary
string in every free-text field).

Callers, each with an API access token (`Authorization: Bearer <token>`) set by a schemathesis auth
provider: union A's administrator, staff and aid officer, a member of A (a portal account
without grants), the county federation's administrator above A, the city federation's
viewer, and an anonymous caller (whose credentials, if any, are schemathesis' random ones).

Each response is checked for:

- no server error (`not_a_server_error`);
- conformance to the schema: a documented status code, content type and body
  (`status_code_conformance`, `content_type_conformance`, `response_schema_conformance`);
- authentication really enforced (`ignored_auth`: a 2xx answer is sent again without the
  token and with an invalid one, and must then be refused);
- no canary of a tenant outside the caller's scope in the body (`no_foreign_canary`,
  `World.canaries_outside`; the member and the anonymous caller may see none at all: the
  API is for officers).

Phases, per operation and role: the schema's explicit examples (drf-spectacular writes
none today), fuzzing (positive and negative data, `MAX_EXAMPLES` cases) and, for union
A's administrator, who reaches furthest into the validation of inputs, schemathesis'
coverage phase (boundary values, missing and wrong fields). Path ids, organization ids
in queries and ids in bodies are drawn from random values and from the world's rows of
every tenant, in and out of the caller's scope.

The stateful phase runs over OpenAPI links that schemathesis' dependency analysis infers
from the schema (`as_state_machine()`: a list or create answer's `id` feeds the detail,
update and action operations of the same resource); drf-spectacular emits no links of its
own. It runs for the five officers: `SCENARIOS` scenarios of up to `STEPS` steps each.

The world is built once per module in a transaction rolled back at its end; each test (one
operation and role) runs in a savepoint of it, so what fuzzing writes (new organizations,
dissolved unions, paid dues...) stays within that test. Runs are reproducible: a fixed
seed, derandomized Hypothesis, no example database (the stateful figures still vary a
little, as the world's tokens, canaries and membership numbers are random and links
follow the values in the answers). The summary line gives the figures.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field

import hypothesis
import pytest
import schemathesis
import werkzeug.test
from django.core import signals
from django.core.cache import cache
from django.db import close_old_connections, connection, transaction
from django.test import override_settings
from hypothesis import HealthCheck
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
)

from tests.security.world import World, build_world
from unionhub.wsgi import application

MAX_EXAMPLES = 12
SCENARIOS = 12
STEPS = 8
SEED = 20260707

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
        "phases": {"coverage": {"enabled": False}, "stateful": {"max-steps": STEPS}},
    }
)
SCHEMA = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, config=CONFIG)
# The coverage phase alone, for union A's administrator (see the module docstring).
COVERAGE_SCHEMA = schemathesis.openapi.from_wsgi(
    "/api/schema/?format=json",
    application,
    config=schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"deterministic": True, "database": "none"},
            "phases": {"examples": {"enabled": False}, "fuzzing": {"enabled": False}},
        }
    ),
)
# Built once: the dependency analysis adds the inferred links to SCHEMA's document.
APIWorkflow = SCHEMA.as_state_machine()
LINKS = sum(
    len(response.get("links", {}))
    for item in SCHEMA.raw_schema["paths"].values()
    for operation in item.values()
    if isinstance(operation, dict)
    for response in operation.get("responses", {}).values()
)

OFFICERS = {
    "a_admin": ("a", "admin"),
    "a_staff": ("a", "staff"),
    "a_aid": ("a", "aid"),
    "county_admin": ("county", "admin"),
    "city_viewer": ("city", "viewer"),
}
ROLES = (*OFFICERS, "a_member", "anonymous")

CANARY = re.compile(r"CANARY-[a-z_]+-[a-z_]+-[0-9a-f]{8}")

# Which seeded rows an id names: the resource of a path, or a parameter or body field.
PATH_MODELS = {
    "organizations": "organization",
    "stats": "organization",
    "members": "member",
    "join-applications": "joinapplication",
    "transfers": "transfer",
    "dues": "duesrecord",
    "services": "service",
    "service-requests": "servicerequest",
    "service-wishes": "servicewish",
    "activities": "activity",
    "activity-sessions": "activitysession",
    "registrations": "registration",
    "aid-cases": "aidcase",
    "concerns": "concern",
    "stations": "station",
    "service-settings": "servicesettings",
}
FIELD_MODELS = {
    "organization": "organization",
    "parent": "organization",
    "to_organization": "organization",
    "from_organization": "organization",
    "member_union": "organization",
    "origin": "organization",
    "member": "member",
    "service": "service",
    "station": "station",
    "activity": "activity",
    "session": "activitysession",
}


@dataclass
class Caller:
    authorization: str | None
    forbidden: frozenset[str]


@dataclass
class Figures:
    cases: Counter = field(default_factory=Counter)  # by role
    phases: Counter = field(default_factory=Counter)  # by schemathesis phase
    statuses: Counter = field(default_factory=Counter)  # by role and status class
    scenarios: Counter = field(default_factory=Counter)  # stateful, by role
    steps: Counter = field(default_factory=Counter)  # stateful, by role
    steps_ok: Counter = field(default_factory=Counter)  # stateful 2xx answers, by role
    operations: set = field(default_factory=set)


FIGURES = Figures()
# Filled by the `callers` fixture: the caller of each Authorization header, the seeded ids.
CALLERS: dict[str | None, Caller] = {}
KNOWN_IDS: dict[str, list[int]] = {}
# The caller of the running test, read by the auth provider when a case is generated.
CURRENT: dict[str, Caller] = {}


# --- Schemathesis extensions ------------------------------------------------------------


@schemathesis.check
def no_foreign_canary(ctx, response, case):
    """The body names nothing of a tenant outside the caller's scope."""
    caller = CALLERS.get(response.request.headers.get("Authorization"), CALLERS[None])
    leaked = sorted(set(CANARY.findall(response.text or "")) & caller.forbidden)
    if leaked:
        raise AssertionError(f"Response shows another tenant's data: {', '.join(leaked[:5])}")
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    ignored_auth,
    no_foreign_canary,
]


class RoleToken:
    """The running test's caller's token; none for the anonymous caller."""

    def get(self, case, context):
        caller = CURRENT.get("caller")
        return caller.authorization if caller else None

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": data}


for loaded in (SCHEMA, COVERAGE_SCHEMA):
    # No caching: the token changes from test to test.
    loaded.auth(refresh_interval=None)(RoleToken)


def _with_known_ids(values: dict | None, names: dict[str, str]) -> st.SearchStrategy:
    """`values` as generated, or with the ids named in `names` replaced by seeded ones."""
    keys = {k: m for k, m in names.items() if isinstance(values, dict) and k in values}
    keys = {k: m for k, m in keys.items() if KNOWN_IDS.get(m)}
    if not keys:
        return st.just(values)
    known = st.fixed_dictionaries({k: st.sampled_from(KNOWN_IDS[m]) for k, m in keys.items()})
    return st.one_of(st.just(values), known.map(lambda ids: {**values, **ids}))


def flatmap_path_parameters(context, path_parameters):
    resource = context.operation.path.split("/")[3]
    return _with_known_ids(path_parameters, {"id": PATH_MODELS.get(resource, "")})


def flatmap_query(context, query):
    return _with_known_ids(query, FIELD_MODELS)


def flatmap_body(context, body):
    return _with_known_ids(body, FIELD_MODELS)


for loaded in (SCHEMA, COVERAGE_SCHEMA):
    for hook in (flatmap_path_parameters, flatmap_query, flatmap_body):
        loaded.hook(hook)


# --- The world, once per module ----------------------------------------------------------


WORLD_IDS = 1_000_000
SCENARIO_IDS = 2_000_000


def _restart_sequences(start: int) -> None:
    """Start every id sequence at the same value whatever ran before this module.

    Sequences are not rolled back with the tests' transactions, so without this the seeded
    world's ids, and with them which generated ids hit a row, would depend on the tests that
    ran earlier, and the stateful phase would not replay the same scenario in a full run as
    when this module runs alone. Far above any id in use, so nothing collides.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(c.oid, %s, false) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind = 'S' AND n.nspname = current_schema()",
            [start],
        )


@pytest.fixture(scope="module")
def callers(django_db_setup, django_db_blocker, tmp_path_factory) -> dict[str, Caller]:
    """The seeded world, once for the module; the caller of each role in it."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    media = tmp_path_factory.mktemp("media")
    hashers = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    _keep_connection()
    try:
        with (
            django_db_blocker.unblock(),
            override_settings(MEDIA_ROOT=media, PASSWORD_HASHERS=hashers),
            transaction.atomic(),
        ):
            _restart_sequences(WORLD_IDS)
            world = build_world()
            every = frozenset(c for seed in world.seeds for c in seed.canaries)
            by_role = {}
            for role, (tenant, grant) in OFFICERS.items():
                user = world.users[tenant][grant]
                # Token auth is refused to those who need a second factor without one.
                TOTPDevice.objects.create(user=user, name=role, confirmed=True)
                outside = world.canaries_outside(tenant, include_public=True)
                by_role[role] = Caller(_token(user), frozenset(outside))
            by_role["a_member"] = Caller(_token(world.member_user), every)
            by_role["anonymous"] = Caller(None, every)
            CALLERS.update({c.authorization: c for c in by_role.values()})
            _collect_known_ids(world)
            yield by_role
            transaction.set_rollback(True)
    finally:
        CALLERS.clear()
        KNOWN_IDS.clear()
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _keep_connection() -> None:
    # Django closes the connection after each request, which would end the world's
    # transaction; the test client stops that too (and connects the handlers again after
    # each of its requests, hence a call per test).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)


def _token(user) -> str:
    from tests.factories import make_token

    return f"Bearer {make_token(user)}"


def _collect_known_ids(world: World) -> None:
    for objects in world.objects.values():
        for key, obj in objects.items():
            KNOWN_IDS.setdefault("member" if key == "mover" else key, []).append(obj.pk)
    for ids in KNOWN_IDS.values():
        ids.sort()


@pytest.fixture
def caller(callers, db, role):
    _keep_connection()
    CURRENT["caller"] = callers[role]
    yield CURRENT["caller"]
    CURRENT.clear()


@pytest.fixture(scope="module", autouse=True)
def summary(request):
    started = time.monotonic()
    yield
    if not FIGURES.cases and not FIGURES.steps:
        return
    statuses = Counter()
    for (_role, status), count in FIGURES.statuses.items():
        statuses[status] += count
    line = (
        f"schemathesis: {len(FIGURES.operations)} of {len(SCHEMA)} operations, "
        f"{len(FIGURES.cases)} roles, {sum(FIGURES.cases.values())} cases "
        f"({', '.join(f'{k} {v}' for k, v in sorted(FIGURES.phases.items()))}); "
        f"stateful: {LINKS} inferred links, "
        f"{sum(FIGURES.scenarios.values())} scenarios, {sum(FIGURES.steps.values())} steps "
        f"({sum(FIGURES.steps_ok.values())} answered 2xx) for {len(FIGURES.steps)} roles; "
        f"all responses "
        f"{', '.join(f'{k} {v}' for k, v in sorted(statuses.items()))}; "
        f"{time.monotonic() - started:.1f} s"
    )
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    # Fixture teardown runs under output capture: step out of it to reach the terminal.
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        reporter.write_line(line)


def _record(role: str, case, response) -> None:
    FIGURES.cases[role] += 1
    FIGURES.phases[case.meta.phase.name.value if case.meta else "explicit"] += 1
    FIGURES.statuses[role, f"{response.status_code // 100}xx"] += 1
    FIGURES.operations.add(case.operation.label)


# --- The tests ---------------------------------------------------------------------------

FIXTURE_SETTINGS = hypothesis.settings(
    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.mark.parametrize("role", ROLES)
def test_each_token_reaches_what_its_role_should(role, caller):
    """The tokens work (e.g. second-factor rules have not locked an officer out), and the
    anonymous caller and the member reach nothing: otherwise the checks above prove little."""
    # Through the WSGI app, as schemathesis calls it.
    headers = {"Authorization": caller.authorization} if caller.authorization else {}
    response = werkzeug.test.Client(application).get("/api/v1/organizations/", headers=headers)
    if role == "anonymous":
        assert response.status_code == 403
    elif role == "a_member":
        assert response.status_code == 200 and response.json["count"] == 0
    else:
        assert response.status_code == 200 and response.json["count"] > 0


@pytest.mark.parametrize("role", ROLES)
@SCHEMA.parametrize()
@FIXTURE_SETTINGS
def test_api_conforms_and_stays_in_scope(case, role, caller):
    response = case.call_and_validate(checks=CHECKS)
    _record(role, case, response)


@pytest.mark.parametrize("role", ["a_admin"])
@COVERAGE_SCHEMA.parametrize()
@FIXTURE_SETTINGS
def test_api_boundary_inputs(case, role, caller):
    response = case.call_and_validate(checks=CHECKS)
    _record(role, case, response)


@pytest.mark.parametrize("role", list(OFFICERS))
def test_api_workflows_stay_in_scope(role, caller):
    class Workflow(APIWorkflow):
        def setup(self):
            # Each scenario starts from the same world (rows, ids, rate-limit counters), so
            # Hypothesis can replay a failing one and report it instead of FlakyStrategyDefinition.
            FIGURES.scenarios[role] += 1
            cache.clear()
            _restart_sequences(SCENARIO_IDS)
            self.savepoint = transaction.savepoint()

        def teardown(self):
            transaction.savepoint_rollback(self.savepoint)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            FIGURES.steps[role] += 1
            FIGURES.steps_ok[role] += 200 <= response.status_code < 300
            FIGURES.statuses[role, f"{response.status_code // 100}xx"] += 1
            case.validate_response(
                response, checks=CHECKS, transport_kwargs=kwargs or None, recorder=self.recorder
            )

    Workflow.run(
        settings=hypothesis.settings(
            max_examples=SCENARIOS,
            stateful_step_count=STEPS,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    # Workflows that never got past a refusal would follow no link.
    assert FIGURES.steps_ok[role] > 0, f"{FIGURES.steps[role]} steps, none answered 2xx"
