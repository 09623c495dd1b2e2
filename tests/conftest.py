"""Shared fixtures: a small real tree with a sibling tenant for every isolation test.

中华全国总工会 (national)
├── 浙江省总工会 (provincial, tree 2)
│   └── 杭州市总工会 (city)
│       └── 西湖区总工会 (county)
│           ├── 甲公司工会 union_a (grassroots) ── 研发部工会小组 group_a
│           └── 乙公司工会 union_b (grassroots, sibling of A)
└── 广东省总工会 (provincial, tree 3)
    └── 深圳市总工会 (city) ── 丙公司工会 union_c (grassroots)
"""

from types import SimpleNamespace

import pytest

from organizations import actions
from organizations.models import Level
from tests.factories import OrganizationFactory, UserFactory, make_uscc


@pytest.fixture
def tree(db):
    national = OrganizationFactory(name="中华全国总工会", short_name="全总", level=Level.NATIONAL)
    zj = OrganizationFactory(
        name="浙江省总工会",
        short_name="浙江",
        level=Level.PROVINCIAL,
        parent=national,
        region_code="330000",
    )
    hz = OrganizationFactory(name="杭州市总工会", level=Level.CITY, parent=zj, region_code="330100")
    xihu = OrganizationFactory(
        name="西湖区总工会", level=Level.COUNTY, parent=hz, region_code="330106"
    )
    union_a = OrganizationFactory(
        name="杭州甲科技有限公司工会",
        level=Level.GRASSROOTS,
        parent=xihu,
        region_code="330106",
        uscc=make_uscc("330106"),
    )
    group_a = OrganizationFactory(name="甲公司研发部工会小组", level=Level.GROUP, parent=union_a)
    union_b = OrganizationFactory(
        name="杭州乙物流有限公司工会",
        level=Level.GRASSROOTS,
        parent=xihu,
        region_code="330106",
        uscc=make_uscc("330106"),
    )
    gd = OrganizationFactory(
        name="广东省总工会",
        short_name="广东",
        level=Level.PROVINCIAL,
        parent=national,
        region_code="440000",
    )
    sz = OrganizationFactory(name="深圳市总工会", level=Level.CITY, parent=gd, region_code="440300")
    union_c = OrganizationFactory(
        name="深圳丙电子有限公司工会", level=Level.GRASSROOTS, parent=sz, region_code="440305"
    )
    return SimpleNamespace(
        national=national,
        zj=zj,
        hz=hz,
        xihu=xihu,
        union_a=union_a,
        group_a=group_a,
        union_b=union_b,
        gd=gd,
        sz=sz,
        union_c=union_c,
    )


@pytest.fixture
def make_officer(db):
    """A user holding `role` at `org` (one grant), logged-in-able with Pass-word-123."""

    def make(username, org, role="admin"):
        user = UserFactory(username=username)
        actions.grant_role(user=user, organization=org, role=role)
        return user

    return make


@pytest.fixture
def officers(tree, make_officer):
    return SimpleNamespace(
        national_admin=make_officer("national_admin", tree.national),
        zj_admin=make_officer("zj_admin", tree.zj),
        zj_viewer=make_officer("zj_viewer", tree.zj, "viewer"),
        hz_admin=make_officer("hz_admin", tree.hz),
        a_admin=make_officer("a_admin", tree.union_a),
        a_staff=make_officer("a_staff", tree.union_a, "staff"),
        b_admin=make_officer("b_admin", tree.union_b),
        gd_admin=make_officer("gd_admin", tree.gd),
        c_admin=make_officer("c_admin", tree.union_c),
    )


def tree_dump(orgs) -> str:
    """A readable dump of tree fields, as django-mptt's assertTreeEqual compares them."""
    lines = []
    for o in sorted(orgs, key=lambda o: (o.tree_id, o.lft)):
        lines.append(
            f"{o.name} parent={o.parent.name if o.parent else '-'} "
            f"tree={o.tree_id} depth={o.depth} {o.lft}-{o.rght}"
        )
    return "\n".join(lines)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Fixtures set many passwords; the production hasher would dominate the run time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def eager_celery(request):
    """Tasks run in-process unless a test asks for the real worker (marker `real_worker`)."""
    from unionhub.celery import app

    eager = request.node.get_closest_marker("real_worker") is None
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = eager
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def sms_outbox(settings):
    """SMS go to an in-process outbox (notifications.backends.outbox), emptied per test."""
    from notifications import backends

    settings.SMS_BACKEND = "notifications.backends.LocmemSmsBackend"
    backends.outbox.clear()
    yield backends.outbox
    backends.outbox.clear()


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate-limit counters live in the cache; every test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed(): <acting code>` runs the code's on-commit work (notifications, queued
    tasks) at the block's end, as a commit would; work registered inside a transaction that
    rolled back is dropped, as Django drops it. The test's own transaction never commits."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def verify_second_factor(client, user) -> None:
    """What a TOTP login leaves in the session (django_otp.login), for a user who needs it.

    `force_login` stands for a completed login, and for these users a login is complete
    only with the second factor; tests/security/test_auth.py goes through the real forms.
    """
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.security import needs_second_factor
    from organizations import scope

    scope.forget(user)
    if not needs_second_factor(user):
        return
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    scope.forget(user)


@pytest.fixture(autouse=True)
def api_rate_limits_off(settings):
    """Tests send thousands of API requests a minute from one address and user; the limits
    have tests of their own (tests/security/test_rate_limits.py), which set them."""
    settings.API_RATE_LIMITS = {"credential": None, "address": None}


@pytest.fixture(autouse=True)
def force_login_completes_second_factor(monkeypatch):
    from django.test import Client

    original = Client.force_login

    def force_login(self, user, backend=None):
        original(self, user, backend)
        verify_second_factor(self, user)

    monkeypatch.setattr(Client, "force_login", force_login)
