"""Issue 3's "done when", end to end on PostgreSQL through the real views, plus the
privacy scan of the raw member tables."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpRequest
from django.urls import reverse

from members import validators
from members.actions import records as actions
from members.models import JoinApplication, Member
from organizations import counters
from tests.factories import make_member, person_data

pytestmark = pytest.mark.django_db

ID_PATTERN = re.compile(r"(?<!\d)\d{17}[\dX](?!\d)")


def _is_id_number(text: str) -> bool:
    try:
        validators.validate_id_number(text)
    except ValidationError:
        return False
    return True


def test_worker_finds_union_applies_is_approved_logs_in_and_shows_a_verifiable_card(
    client, tree, officers
):
    # Find the union in the directory (by pinyin initials) and open its page.
    found = client.get(reverse("directory"), {"q": "hzjkj"})
    assert tree.union_a in list(found.context["results"])
    page = client.get(tree.union_a.get_absolute_url())
    apply_url = reverse("join-apply", args=[tree.union_a.pk])
    assert apply_url in page.content.decode()

    # Apply.
    raw = person_data()
    response = client.post(
        apply_url,
        {
            **raw,
            "password1": "Gonghui-2026!",
            "password2": "Gonghui-2026!",
            "privacy_consent": "on",
            "sensitive_consent": "on",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    status_url = response["Location"]
    application = JoinApplication.objects.get()
    assert application.status == "submitted"

    # The union's officer approves in the admin.
    officer = client.__class__()
    officer.force_login(officers.a_staff)
    approve = officer.post(reverse("admin:members_joinapplication_approve", args=[application.pk]))
    assert approve.status_code == 302
    member = Member.objects.get()
    assert counters.verify(["members."]).ok

    # The applicant's status page now shows the membership number.
    assert member.membership_number in client.get(status_url).content.decode()

    # Log in with the mobile phone and show the card.
    assert client.login(request=HttpRequest(), username=raw["phone"], password="Gonghui-2026!")
    me = client.get(reverse("my-membership"))
    assert "<svg" in me.content.decode()
    verify_path = me.context["card_url"].split("testserver", 1)[1]

    # Anyone scanning it sees a valid card with the masked name.
    scanner = client.__class__()
    check = scanner.get(verify_path)
    assert check.context["valid"] is True
    assert member.masked_name in check.content.decode()


def test_no_plaintext_id_number_or_phone_in_the_member_tables(client, tree, officers):
    members = [make_member(tree.union_a) for _ in range(3)]
    actions.change_status(member=members[0], status="withdrawn", reason="离职")
    raw = person_data()
    client.post(
        reverse("join-apply", args=[tree.union_b.pk]),
        {
            **raw,
            "password1": "Gonghui-2026!",
            "password2": "Gonghui-2026!",
            "privacy_consent": "on",
            "sensitive_consent": "on",
        },
    )
    assert JoinApplication.objects.exists()
    secrets = {m.id_number for m in members} | {raw["id_number"]}
    phones = {m.phone for m in members} | {raw["phone"]}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND (table_name LIKE 'members_%%' "
            "OR table_name IN ('organizations_auditentry', 'notifications_notification'))"
        )
        tables = [row[0] for row in cursor.fetchall()]
        assert "members_member" in tables and "members_joinapplication" in tables
        dump = []
        for table in tables:
            cursor.execute(f'SELECT * FROM "{table}"')
            dump.extend(str(value) for row in cursor.fetchall() for value in row)
    text = "\n".join(dump)
    # Any run of 18 digits that is a valid ID number (hex hashes may hold digit runs).
    found = [m for m in ID_PATTERN.findall(text) if _is_id_number(m)]
    assert not found, "an 18-digit ID number in plaintext"
    assert not any(phone in text for phone in phones)
    assert not any(number in text for number in secrets)
