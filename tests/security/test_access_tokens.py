"""API access tokens (`accounts.tokens`): made by officers on the security page and shown
once, kept only as a hash, acting as their owner and never wider, read-only or read-write,
expiring, revocable, audited; refused while the owner's required second factor is not set
up; DRF's plain-text tokens of an older database are hashed by the migration."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import tokens
from accounts.models import AccessToken
from core.models import AuditEntry
from organizations import actions as org_actions
from organizations.models import OrgRole
from tests.factories import UserFactory, make_member

pytestmark = pytest.mark.django_db

TOKENS = reverse("account-tokens")
ORGS = "/api/v1/organizations/"


def bearer(secret: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_ACCEPT_LANGUAGE="zh-hans")


def make_on_the_page(client, user, **data) -> str:
    client.force_login(user)
    response = client.post(TOKENS, {"name": "人事系统", "access": "read", "days": 90, **data})
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    return response.context["secret"]


def test_a_token_is_shown_once_and_kept_only_as_a_hash(client, officers):
    secret = make_on_the_page(client, officers.a_admin)
    assert secret.startswith("uhp_") and len(secret) >= 40
    [token] = AccessToken.objects.filter(user=officers.a_admin)
    assert (token.name, token.read_only, token.hint) == ("人事系统", True, secret[-4:])
    assert token.key_hash == tokens.key_hash(secret) != secret
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_accesstoken")
        assert not any(secret in str(value) for row in cursor.fetchall() for value in row)
    # Listed afterwards without the secret.
    page = client.get(TOKENS).content.decode()
    assert "人事系统" in page and secret not in page and f"…{secret[-4:]}" in page
    assert AuditEntry.objects.filter(action="token.created", object_id=str(token.pk)).exists()


def test_a_token_acts_as_its_owner_and_never_wider(tree, officers):
    secret = tokens.issue(user=officers.a_admin, name="同步", read_only=True, days=30)[1]
    response = bearer(secret).get(ORGS)
    assert response.status_code == 200
    names = {row["name"] for row in response.json()["results"]}
    assert tree.union_a.name in names and tree.union_b.name not in names
    assert bearer(secret).get(f"{ORGS}{tree.union_b.pk}/").status_code == 404
    # The owner loses the grant: the token reaches nothing any more.
    grant = OrgRole.objects.get(user=officers.a_admin)
    org_actions.revoke_role(grant=grant, acting_user=officers.national_admin)
    assert bearer(secret).get(f"{ORGS}{tree.union_a.pk}/").status_code == 404
    token = AccessToken.objects.get(user=officers.a_admin)
    assert token.last_used_at is not None


def test_a_read_only_token_reads_and_a_read_write_token_changes(tree, officers):
    url = f"{ORGS}{tree.union_a.pk}/"
    body = {"address": "文三路100号"}
    reader = tokens.issue(user=officers.a_admin, name="只读", read_only=True, days=30)[1]
    response = bearer(reader).patch(url, body, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["detail"] == "此令牌只能读取，不能修改数据。"
    tree.union_a.refresh_from_db()
    assert tree.union_a.address != "文三路100号"
    writer = tokens.issue(user=officers.a_admin, name="读写", read_only=False, days=30)[1]
    response = bearer(writer).patch(url, body, content_type="application/json")
    assert response.status_code == 200, response.content
    tree.union_a.refresh_from_db()
    assert tree.union_a.address == "文三路100号"


def test_expired_revoked_and_unknown_tokens_are_refused(client, officers):
    token, secret = tokens.issue(user=officers.a_admin, name="到期", read_only=True, days=30)
    assert bearer(secret).get(ORGS).status_code == 200
    AccessToken.objects.filter(pk=token.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    response = bearer(secret).get(ORGS)
    assert response.status_code in (401, 403)
    assert response.json()["detail"] == "令牌已过期或已被撤销。"

    token, secret = tokens.issue(user=officers.a_admin, name="撤销", read_only=True, days=30)
    client.force_login(officers.a_admin)
    response = client.post(reverse("account-token-revoke", args=[token.pk]))
    assert response.status_code == 302
    assert bearer(secret).get(ORGS).json()["detail"] == "令牌已过期或已被撤销。"
    assert AuditEntry.objects.filter(action="token.revoked", object_id=str(token.pk)).exists()

    assert bearer("uhp_" + "x" * 43).get(ORGS).json()["detail"] == "令牌无效。"


def test_only_the_owner_revokes_a_token(client, officers):
    token, secret = tokens.issue(user=officers.a_admin, name="甲", read_only=True, days=30)
    client.force_login(officers.b_admin)
    assert client.post(reverse("account-token-revoke", args=[token.pk])).status_code == 404
    assert bearer(secret).get(ORGS).status_code == 200


def test_a_city_admin_needs_the_second_factor_to_make_or_use_a_token(client, officers):
    with pytest.raises(ValidationError, match="两步验证"):
        tokens.issue(user=officers.hz_admin, name="市", read_only=True, days=30)
    # Logged in (with the second factor, which `force_login` completes here), the page works.
    client.force_login(officers.hz_admin)
    assert client.get(TOKENS).status_code == 200
    secret = tokens.issue(user=officers.hz_admin, name="市", read_only=True, days=30)[1]
    assert bearer(secret).get(ORGS).status_code == 200
    TOTPDevice.objects.filter(user=officers.hz_admin).delete()
    response = bearer(secret).get(ORGS)
    assert response.status_code in (401, 403) and "两步验证" in response.json()["detail"]


def test_members_have_no_tokens(client, tree):
    member = make_member(tree.union_a)
    member.user = UserFactory()
    member.save(update_fields=["user"])
    client.force_login(member.user)
    assert client.get(TOKENS).status_code == 403
    with pytest.raises(ValidationError, match="工会干部"):
        tokens.issue(user=member.user, name="我", read_only=True, days=30)


def test_bad_input_on_the_page_is_refused_in_chinese(client, officers):
    client.force_login(officers.a_admin)
    response = client.post(TOKENS, {"name": "  ", "access": "read", "days": 7})
    assert response.status_code == 200 and response.context["secret"] is None
    errors = response.context["form"].errors
    assert set(errors) == {"name", "days"}
    assert not AccessToken.objects.exists()
    for _ in range(tokens.MAX_ACTIVE):
        tokens.issue(user=officers.a_admin, name="批量", read_only=True, days=30)
    response = client.post(TOKENS, {"name": "再来", "access": "read", "days": 30})
    assert "撤销" in " ".join(response.context["form"].non_field_errors())
    assert AccessToken.objects.count() == tokens.MAX_ACTIVE


def test_the_migration_hashes_drfs_plain_tokens_and_drops_their_table(officers):
    """An older database still has `authtoken_token` (DRF's tokens in plain text): the
    migration's step makes each key a hashed token that keeps working, then drops it."""
    from importlib import import_module

    from django.apps import apps

    migration = import_module("accounts.migrations.0003_access_tokens")
    key = "0123456789abcdef0123456789abcdef01234567"
    with connection.schema_editor() as editor:
        editor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "created timestamp with time zone NOT NULL, user_id integer NOT NULL)"
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO authtoken_token VALUES (%s, now(), %s)", [key, officers.a_admin.pk]
        )
    with connection.schema_editor() as editor:
        migration.hash_plain_tokens(apps, editor)
    assert "authtoken_token" not in connection.introspection.table_names()
    [token] = AccessToken.objects.filter(user=officers.a_admin)
    assert token.key_hash == tokens.key_hash(key) and not token.read_only
    old_style = Client(HTTP_AUTHORIZATION=f"Token {key}")
    assert old_style.get(ORGS).status_code == 200
