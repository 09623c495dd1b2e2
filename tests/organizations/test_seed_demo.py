"""`manage.py seed_demo`: the demo tree, its users, idempotency and the production guard."""

import io
from collections import defaultdict

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from core.demo import DEVELOPMENT_PASSWORD
from organizations import demo_data, validators
from organizations.models import Level, Organization, OrgRole

TREE_FIELDS = ["tree_parent", "lft", "rght", "tree_id", "depth"]


def seed(*args) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded(db):
    return seed()


def assert_mptt_consistent():
    """Every tree is a valid nested set whose MPTT parent agrees with the logical parent."""
    nodes = {o.pk: o for o in Organization.objects.all()}
    trees = defaultdict(list)
    for org in nodes.values():
        trees[org.tree_id].append(org)
    for tree_id, orgs in trees.items():
        roots = [o for o in orgs if o.tree_parent_id is None]
        assert len(roots) == 1, tree_id
        assert (roots[0].lft, roots[0].rght, roots[0].depth) == (1, 2 * len(orgs), 0)
        edges = sorted(v for o in orgs for v in (o.lft, o.rght))
        assert edges == list(range(1, 2 * len(orgs) + 1)), tree_id
        for org in orgs:
            if org.tree_parent_id is None:
                continue
            parent = nodes[org.tree_parent_id]
            assert org.parent_id == org.tree_parent_id, org.name
            assert parent.tree_id == org.tree_id, org.name
            assert parent.lft < org.lft < org.rght < parent.rght, org.name
            assert org.depth == parent.depth + 1, org.name


@pytest.mark.django_db
def test_one_national_federation(seeded):
    national = Organization.objects.get(level=Level.NATIONAL)
    assert national.name == "中华全国总工会"
    assert national.short_name == "全总"
    assert national.region_code == ""
    assert national.parent is None


@pytest.mark.django_db
def test_provincial_federations_have_their_real_codes(seeded):
    provinces = Organization.objects.filter(level=Level.PROVINCIAL)
    assert provinces.count() == 31
    codes = {o.name: o.region_code for o in provinces}
    assert codes["浙江省总工会"] == "330000"
    assert codes["广东省总工会"] == "440000"
    assert codes["北京市总工会"] == "110000"
    assert codes["新疆维吾尔自治区总工会"] == "650000"
    assert len(set(codes.values())) == 31
    for name, code in codes.items():
        # The GB/T 2260 table names the province the federation is named after.
        assert name == f"{validators.region_name(code)}总工会"


@pytest.mark.django_db
def test_provincial_and_industry_federations_root_their_own_trees(seeded):
    national = Organization.objects.get(level=Level.NATIONAL)
    tops = Organization.objects.filter(level__in=[Level.PROVINCIAL, Level.INDUSTRY])
    assert tops.filter(level=Level.INDUSTRY).count() >= 4
    for org in tops:
        assert org.tree_parent is None, org.name
        assert org.parent == national, org.name
        assert org.tree_id != national.tree_id, org.name
    assert len({o.tree_id for o in tops}) == tops.count()


@pytest.mark.django_db
def test_demo_subtrees_reach_down_to_union_groups(seeded):
    group = Organization.objects.get(name="研发部工会小组")
    chain = [o.name for o in group.get_ancestors()]
    assert chain == [
        "浙江省总工会",
        "杭州市总工会",
        "西湖区总工会",
        "西湖区文新街道总工会",
        "杭州云帆信息科技有限公司工会委员会",
    ]
    haidian = Organization.objects.get(name="海淀区总工会")
    assert haidian.level == Level.COUNTY
    assert haidian.parent.name == "北京市总工会"
    assert 40 <= Organization.objects.count() <= 80
    assert_mptt_consistent()


@pytest.mark.django_db
def test_every_organization_is_valid(seeded):
    for org in Organization.objects.all():
        org.full_clean(exclude=TREE_FIELDS)
        assert org.name_pinyin and org.name_initials, org.name


@pytest.mark.django_db
def test_grassroots_unions_have_union_credit_codes_of_their_region(seeded):
    grassroots = Organization.objects.filter(level=Level.GRASSROOTS)
    assert grassroots.count() >= 5
    for org in grassroots:
        assert org.uscc.startswith(f"81{org.region_code}"), org.name
        assert org.region_code == org.parent.region_code, org.name
        assert org.contact_phone and org.founded_on and org.address, org.name
    assert len({o.uscc for o in grassroots}) == grassroots.count()


@pytest.mark.django_db
def test_demo_users_hold_their_roles(seeded):
    users = get_user_model().objects
    for demo in demo_data.DEMO_USERS:
        user = users.get(username=demo.username)
        assert user.check_password(DEVELOPMENT_PASSWORD)
        if demo.role == demo_data.OPERATOR:
            assert user.is_superuser
            continue
        assert not user.is_superuser
        assert OrgRole.objects.filter(
            user=user, organization__name=demo.organization, role=demo.role
        ).exists(), demo
    assert OrgRole.objects.get(user__username="zj_viewer").role == "viewer"
    assert OrgRole.objects.get(user__username="xihu_staff").organization.name == "西湖区总工会"
    assert "development-only credentials" in seeded


@pytest.mark.django_db
def test_second_run_duplicates_nothing(seeded):
    orgs = set(Organization.objects.values_list("pk", flat=True))
    roles = OrgRole.objects.count()
    users = get_user_model().objects.count()
    out = seed("--password", "another-pass-2026")
    assert "already present" in out
    assert set(Organization.objects.values_list("pk", flat=True)) == orgs
    assert OrgRole.objects.count() == roles
    assert get_user_model().objects.count() == users
    # Only the users are refreshed, with the password given now.
    assert get_user_model().objects.get(username="zj_admin").check_password("another-pass-2026")


@pytest.mark.django_db
def test_generated_grassroots_are_bulk_added_once(seeded):
    before = Organization.objects.count()
    seed("--grassroots", "15")
    assert Organization.objects.count() == before + 15
    seed("--grassroots", "20")
    assert Organization.objects.count() == before + 20
    assert_mptt_consistent()
    township_names = set(demo_data.township_names())
    generated = Organization.objects.filter(uscc__contains="MD")
    assert generated.count() == 20
    for org in generated:
        assert org.level == Level.GRASSROOTS
        assert org.parent.name in township_names
        org.full_clean(exclude=TREE_FIELDS)
    assert len({o.parent_id for o in generated}) == len(township_names)


@pytest.mark.django_db
def test_reset_rebuilds_the_tree(seeded):
    seed("--grassroots", "5")
    out = seed("--reset")
    assert "Reset: deleted" in out
    assert Organization.objects.filter(uscc__contains="MD").count() == 0
    assert Organization.objects.filter(level=Level.NATIONAL).count() == 1
    assert OrgRole.objects.filter(user__username="hz_admin").count() == 1
    assert_mptt_consistent()


@pytest.mark.django_db
def test_refuses_in_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        seed()
    assert not Organization.objects.exists()


@pytest.mark.django_db
def test_demo_officers_who_need_a_second_factor_log_in_with_the_printed_code(seeded):
    from django.test import Client

    assert "totp_code" in seeded
    client = Client()
    client.post(
        "/accounts/login/",
        {"username": "zj_admin", "password": DEVELOPMENT_PASSWORD},
    )
    assert client.get("/admin/").url.startswith("/accounts/two-factor/")
    out = io.StringIO()
    call_command("totp_code", "zj_admin", stdout=out)
    client.post("/accounts/two-factor/", {"code": out.getvalue().strip()})
    assert client.get("/admin/").status_code == 200
    # A grassroots officer needs none, so has no demo device.
    with pytest.raises(CommandError, match="no authenticator"):
        call_command("totp_code", "yunfan_admin", stdout=io.StringIO())


@pytest.mark.django_db
def test_the_output_is_a_short_summary_with_the_member_first_in_the_logins(seeded, settings):
    """No emails, task logs or step-by-step lines (those go to var/seed_demo.log): a summary,
    then one table of logins whose first row is the member's."""
    from pathlib import Path

    lines = seeded.strip().splitlines()
    assert len(lines) < 40, seeded
    assert "Content-Type" not in seeded and "celery" not in seeded
    header = next(
        i for i, line in enumerate(lines) if line.split()[:3] == ["who", "username", "where"]
    )
    assert lines[header + 1].split()[:4] == ["member", "(portal", "/me/)", "demo_member"]
    assert "totp_code" in seeded
    log = Path(settings.BASE_DIR) / "var" / "seed_demo.log"
    assert "Demo member login" in log.read_text(encoding="utf-8")
