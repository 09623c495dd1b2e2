"""Sign-in defences through the real forms: lockout (django-axes), rate limits
(django-ratelimit), logout, ending other sessions, TOTP for city-level administrators."""

import math
import re

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.security import current_code
from tests.factories import UserFactory, make_member, make_token

PASSWORD = "Pass-word-123"
LOGIN = "/accounts/login/"


def post_login(client, username, password=PASSWORD, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def member_login(tree):
    member = make_member(tree.union_a)
    member.user = UserFactory(username=member.membership_number)
    member.save(update_fields=["user"])
    return member


# Lockout -----------------------------------------------------------------------------


def test_at_most_100_failed_logins_per_account_and_hour_asvs():
    # Locked after AXES_FAILURE_LIMIT failures for AXES_COOLOFF_TIME hours.
    per_hour = settings.AXES_FAILURE_LIMIT * math.ceil(1 / settings.AXES_COOLOFF_TIME)
    assert per_hour <= 100
    assert settings.AXES_LOCKOUT_PARAMETERS == ["username"]


def test_wrong_passwords_lock_the_account_even_for_the_right_one(db, member_login):
    client = Client()
    phone = member_login.phone
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = post_login(client, phone, "wrong-Pass-1")
        assert response.status_code == 200
        assert "密码" in response.content.decode() and 'class="error"' in response.content.decode()
    # The limit-th failure locks the account: even the right password is refused now.
    assert post_login(client, phone, "wrong-Pass-1").status_code == 429
    response = post_login(client, phone, PASSWORD)
    assert response.status_code == 429
    assert "登录已暂时锁定" in response.content.decode()
    assert not logged_in(client)
    # Another account is not affected.
    other = UserFactory(username="other_worker")
    assert post_login(Client(), other.username).status_code == 302


def test_lockout_ends_after_the_cool_off(db, member_login):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        post_login(client, member_login.phone, "wrong-Pass-1")
    assert post_login(client, member_login.phone).status_code == 429
    # An hour later (the attempts' time moved back instead of the clock moved on).
    from datetime import timedelta

    from django.utils import timezone

    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(hours=1))
    assert post_login(client, member_login.phone).status_code == 302
    assert logged_in(client)


def test_spelling_variants_count_as_one_account(db, member_login):
    phone = member_login.phone
    variants = [phone, f"+86{phone}", f"{phone[:3]} {phone[3:7]} {phone[7:]}", f" {phone}"]
    client = Client()
    for i in range(settings.AXES_FAILURE_LIMIT):
        post_login(client, variants[i % len(variants)], "wrong-Pass-1")
    assert post_login(client, phone).status_code == 429


def test_failed_attempts_store_no_phone_or_username(db, member_login):
    post_login(Client(), member_login.phone, "wrong-Pass-1")
    attempt = AccessAttempt.objects.get()
    stored = " ".join(str(v) for v in attempt.__dict__.values())
    assert member_login.phone not in stored
    assert re.fullmatch(r"h:[0-9a-f]{40}", attempt.username)


def test_the_admin_login_is_locked_out_too(db, tree, make_officer):
    officer = make_officer("a_admin", tree.union_a)
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": officer.username, "password": "no-Pass-1"})
    response = client.post("/admin/login/", {"username": officer.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


# Rate limits ---------------------------------------------------------------------------


def test_login_posts_are_rate_limited_per_address(db, settings):
    settings.RATELIMIT_LOGIN = "5/m"
    client = Client()
    statuses = [post_login(client, f"nobody{i}", "x").status_code for i in range(6)]
    assert statuses[:5] == [200] * 5
    assert statuses[5] == 429
    assert "请求太频繁" in post_login(client, "nobody", "x").content.decode()
    # Another address is not affected.
    assert post_login(Client(REMOTE_ADDR="10.0.0.9"), "nobody", "x").status_code == 200


def test_join_applications_are_rate_limited(db, tree, settings):
    settings.RATELIMIT_JOIN = "3/h"
    client = Client()
    url = f"/unions/{tree.union_a.pk}/join/"
    statuses = [client.post(url, {"name": "张三"}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_concerns_are_rate_limited_per_member(db, member_login, settings):
    settings.RATELIMIT_CONCERN = "2/h"
    client = Client()
    client.force_login(member_login.user)
    statuses = [client.post("/me/concerns/new/", {}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


# Sessions ------------------------------------------------------------------------------


def test_logout_ends_the_session_on_the_server(db, member_login):
    client = Client()
    assert post_login(client, member_login.phone).status_code == 302
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.get("/me/").status_code == 200
    client.post("/accounts/logout/")
    # Replaying the old cookie gets nothing: the session is gone from the store.
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = cookie
    response = replay.get("/me/")
    assert response.status_code == 302
    assert response.url.startswith(LOGIN)


def test_a_user_ends_their_other_sessions(db, member_login):
    phone, laptop, old_phone = Client(), Client(), Client()
    for client in (phone, laptop, old_phone):
        assert post_login(client, member_login.phone).status_code == 302
    page = laptop.get("/accounts/security/").content.decode()
    assert "退出其他 2 个会话" in page
    laptop.post("/accounts/security/end-others/")
    assert laptop.get("/me/").status_code == 200
    for ended in (phone, old_phone):
        response = ended.get("/me/")
        assert response.status_code == 302 and response.url.startswith(LOGIN)
    assert "您没有在其他地方登录" in laptop.get("/accounts/security/").content.decode()


def test_ending_sessions_never_touches_another_users(db, member_login, tree, make_officer):
    officer = make_officer("a_admin", tree.union_a)
    theirs = Client()
    assert post_login(theirs, officer.username).status_code == 302
    mine = Client()
    post_login(mine, member_login.phone)
    mine.post("/accounts/security/end-others/")
    assert theirs.get("/admin/").status_code == 200


# Second factor -------------------------------------------------------------------------


def test_city_admin_sets_up_totp_before_reaching_anything(db, tree, make_officer):
    officer = make_officer("hz_admin", tree.hz)
    client = Client()
    response = client.post(LOGIN, {"username": "hz_admin", "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 302
    # Everything but the sign-in pages sends them to the second step.
    for path in ("/admin/", "/dashboard/", "/me/", "/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.url.startswith("/accounts/two-factor/"), path
    api = client.get("/api/v1/organizations/")
    assert api.status_code == 403
    assert "两步验证" in api.json()["detail"]
    page = client.get("/accounts/two-factor/?next=/admin/").content.decode()
    assert "<svg" in page and "身份验证器" in page
    device = TOTPDevice.objects.get(user=officer, confirmed=False)
    wrong = client.post("/accounts/two-factor/", {"code": "000000", "next": "/admin/"})
    if current_code(device) != "000000":
        assert wrong.status_code == 200
        assert "验证码不正确" in wrong.content.decode()
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    response = client.post(
        "/accounts/two-factor/", {"code": current_code(device), "next": "/admin/"}
    )
    assert response.status_code == 302 and response.url == "/admin/"
    assert client.get("/admin/").status_code == 200
    device.refresh_from_db()
    assert device.confirmed


def test_next_login_asks_for_the_code_without_setup(db, tree, make_officer):
    officer = make_officer("zj_admin", tree.zj)
    device = TOTPDevice.objects.create(user=officer, name="phone", confirmed=True)
    client = Client()
    post_login(client, officer.username)
    page = client.get("/accounts/two-factor/").content.decode()
    assert "<svg" not in page
    assert client.get("/admin/").status_code == 302
    client.post("/accounts/two-factor/", {"code": current_code(device)})
    assert client.get("/admin/").status_code == 200


def test_the_code_must_not_be_an_open_redirect(db, tree, make_officer):
    officer = make_officer("hz_admin", tree.hz)
    device = TOTPDevice.objects.create(user=officer, name="phone", confirmed=True)
    client = Client()
    post_login(client, officer.username)
    response = client.post(
        "/accounts/two-factor/", {"code": current_code(device), "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert "evil" not in response.url


def test_grassroots_and_county_officers_and_viewers_need_no_second_factor(db, tree, make_officer):
    for username, org, role in [
        ("a_admin", tree.union_a, "admin"),
        ("xihu_admin", tree.xihu, "admin"),
        ("zj_viewer", tree.zj, "viewer"),
        ("hz_staff", tree.hz, "staff"),
    ]:
        make_officer(username, org, role)
        client = Client()
        post_login(client, username)
        assert client.get("/admin/").status_code == 200, username


def test_operators_need_the_second_factor(db):
    get_user_model().objects.create_superuser("operator", password=PASSWORD)
    client = Client()
    post_login(client, "operator")
    assert client.get("/admin/").url.startswith("/accounts/two-factor/")


def test_api_tokens_of_city_admins_need_the_second_factor_set_up(db, tree, make_officer):
    officer = make_officer("hz_admin", tree.hz)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {make_token(officer)}")
    response = client.get("/api/v1/organizations/")
    # 403, not 401: DRF answers by its first authentication class (sessions: no challenge).
    assert response.status_code == 403
    assert "两步验证" in response.json()["detail"]
    TOTPDevice.objects.create(user=officer, name="phone", confirmed=True)
    assert client.get("/api/v1/organizations/").status_code == 200


def test_nobody_reads_a_totp_secret_in_the_admin(db, tree, make_officer, client):
    officer = make_officer("hz_admin", tree.hz)
    device = TOTPDevice.objects.create(user=officer, name="phone", confirmed=True)
    client.force_login(get_user_model().objects.create_superuser("operator", password=PASSWORD))
    for view in ("config", "qrcode"):
        url = f"/admin/otp_totp/totpdevice/{device.pk}/{view}/"
        assert client.get(url).status_code == 403
        assert client.get(f"/admin/otp_totp/totpdevice/{device.pk + 99}/{view}/").status_code == 403
