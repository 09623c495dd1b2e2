"""No ID number, no full phone number and no API token in plaintext: not in any database
table, not in the log output, not in any Celery message.

Personal data goes through the real paths on a real worker and Redis: enrolment, an
online application and its approval (SMS to the phone), logins by phone (and a wrong one
that django-axes records), a spreadsheet import checked and written by the worker, a union
workbook with an officer (account, encrypted phone, first-login SMS), a
transfer found by ID number, a reveal, an announcement sent by SMS, an export, an API
token made and used. Then every row of every table is read raw, and every log record and
published message is searched for each of those values in every spelling (and the token),
and for any valid 18-digit ID.
"""

import json
import logging
import os
import re
import time

import pytest
import redis
from celery.signals import before_task_publish
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from core.spreadsheets import write_workbook
from members import exports
from members.actions import joining, transfers
from members.actions import spreadsheets as sheet_actions
from members.models import ImportStatus, JoinApplication, Member
from notifications.models import CapturedMessage, Delivery
from organizations.actions import import_jobs as union_import_jobs
from organizations.importing.columns import HEADERS, OFFICER_HEADERS
from services.actions import announcements
from tests.factories import UserFactory, make_member, person_data
from tests.members.test_spreadsheets import csv_bytes, row_for
from tests.test_worker import worker  # noqa: F401  (fixture)

pytestmark = [pytest.mark.real_worker, pytest.mark.django_db(transaction=True)]

ANY_ID = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")


def spellings(person: dict) -> set[str]:
    """Every way the values could appear: as typed, lower-case x, +86, spaced phone."""
    id_number, phone = person["id_number"], person["phone"]
    return {
        id_number,
        id_number.lower(),
        phone,
        f"+86{phone}",
        f"86{phone}",
        f"{phone[:3]} {phone[3:7]} {phone[7:]}",
        f"{phone[:3]}-{phone[3:7]}-{phone[7:]}",
    }


def is_id_number(candidate: str) -> bool:
    """18 characters with a real birth date and a matching check digit: an ID number.

    Not `ric.is_valid`, which also refuses a region code newer than the birth date (西湖区
    330106 exists from 1983, so everyone born there before is "invalid") and so missed them.
    """
    number = candidate.upper()
    try:
        ric.get_birth_date(number)
    except ValidationError:
        return False
    return ric.calc_check_digit(number) == number[-1]


def findings(text: str, secrets: set[str]) -> list[str]:
    found = [s for s in secrets if s in text]
    found += [m for m in ANY_ID.findall(text) if is_id_number(m)]
    return found


class Capture(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record):
        text = self.format(record)
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.lines.append(text)


@pytest.fixture
def log_output():
    handler = Capture()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler.lines
    root.removeHandler(handler)
    root.setLevel(previous)


@pytest.fixture
def published():
    messages = []

    def record(sender=None, body=None, headers=None, **kwargs):
        messages.append(json.dumps({"task": sender, "body": body, "headers": headers}, default=str))

    before_task_publish.connect(record, weak=False)
    yield messages
    before_task_publish.disconnect(record)


def wait_for(job, statuses, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in statuses:
            return job
        time.sleep(0.2)
    raise AssertionError(f"import job stuck in {job.status}")


def every_table_as_text() -> dict[str, str]:
    tables = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # table names from the catalogue
            cells = []
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, memoryview | bytes):
                        value = bytes(value).decode("latin-1")
                    cells.append(str(value))
            tables[table] = "\n".join(cells)
    return tables


def table_leaks(tables: dict[str, str], secrets: set[str]) -> dict[str, list[str]]:
    """What `findings` finds in each table, for the tables where it finds anything."""
    return {table: found for table, text in tables.items() if (found := findings(text, secrets))}


def report(request, line: str) -> None:
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        reporter.write_line(line)


def test_no_id_number_or_phone_in_plaintext_anywhere(
    request,
    worker,  # noqa: F811
    tree,
    officers,
    settings,
    tmp_path,
    log_output,
    published,
):
    settings.MEDIA_ROOT = tmp_path
    settings.SMS_BACKEND = "notifications.backends.CaptureSmsBackend"
    settings.EMAIL_BACKEND = "notifications.backends.CaptureEmailBackend"
    settings.NOTIFICATIONS_QUIET_HOURS = (0, 0)  # SMS go out now, whatever the hour
    people = []

    # Enrolled by an officer, with a portal login by phone.
    enrolled = [person_data() for _ in range(3)]
    people += enrolled
    members = [make_member(tree.union_a, acting_user=officers.a_admin, **p) for p in enrolled]
    for member in members:
        member.user = UserFactory(
            username=member.membership_number, email=f"{member.membership_number}@example.cn"
        )
        member.save(update_fields=["user"])
    client = Client()
    assert (
        client.post(
            "/accounts/login/", {"username": enrolled[0]["phone"], "password": "Pass-word-123"}
        ).status_code
        == 302
    )
    # A wrong password typed with a phone and one with an ID number (axes records both).
    Client().post("/accounts/login/", {"username": enrolled[1]["phone"], "password": "x"})
    Client().post("/accounts/login/", {"username": enrolled[1]["id_number"], "password": "x"})

    # An online application, approved: member, login and an SMS to the phone.
    applicant = person_data()
    people.append(applicant)
    application, _key = joining.submit_join_application(
        organization=tree.union_a,
        data=applicant,
        password="Gonghui-2026!",
        privacy_consent=True,
        sensitive_consent=True,
    )
    joining.approve_join_application(
        application=JoinApplication.objects.get(pk=application.pk), acting_user=officers.a_admin
    )

    # A spreadsheet of 5 members, checked and written by the worker.
    sheet = [person_data() for _ in range(5)]
    people += sheet
    job = sheet_actions.start_member_import(
        organization=tree.union_b,
        uploaded_file=SimpleUploadedFile("members.csv", csv_bytes([row_for(p) for p in sheet])),
        acting_user=officers.b_admin,
    )
    job = wait_for(job, {ImportStatus.VALIDATED, ImportStatus.INVALID, ImportStatus.FAILED})
    assert job.status == ImportStatus.VALIDATED, job.errors
    sheet_actions.confirm_member_import(job=job, acting_user=officers.b_admin)
    wait_for(job, {ImportStatus.DONE, ImportStatus.FAILED})
    assert Member.objects.filter(organization=tree.union_b).count() == 5

    # A union workbook with an officer, checked and written by the worker: the officer's
    # account and encrypted phone, the role and the first-login SMS.
    officer = person_data()
    people.append(officer)
    workbook = write_workbook(
        [
            ("工会", HEADERS, [["S1", "扫描新建工会", "", "", "", str(tree.xihu.pk), "基层工会"]]),
            (
                "工会干部",
                OFFICER_HEADERS,
                [[officer["name"], officer["phone"], "S1", "管理员"]],
            ),
        ]
    )
    unions_job = union_import_jobs.start_union_import(
        organization=tree.zj,
        uploaded_file=SimpleUploadedFile("unions.xlsx", workbook),
        acting_user=officers.zj_admin,
    )
    unions_job = wait_for(unions_job, {ImportStatus.VALIDATED, ImportStatus.INVALID})
    assert unions_job.status == ImportStatus.VALIDATED, unions_job.errors
    union_import_jobs.confirm_union_import(job=unions_job, acting_user=officers.zj_admin)
    unions_job = wait_for(unions_job, {ImportStatus.DONE, ImportStatus.FAILED})
    assert unions_job.result["accounts_created"] == 1, unions_job.errors

    # The receiving union finds a worker by ID number and name, and asks for them.
    mover = Member.objects.filter(organization=tree.union_b).first()
    moving = next(p for p in sheet if p["name"] == mover.name)
    found = transfers.find_member_for_receiving(id_number=moving["id_number"], name=mover.name)
    transfers.request_transfer(
        member=found, to_organization=tree.union_a, side="receiving", acting_user=officers.a_admin
    )

    # A full phone shown to an officer, an export, an announcement by SMS to everyone.
    api = APIClient()
    api.force_authenticate(officers.a_admin)
    assert (
        api.post(
            f"/api/v1/members/{members[0].pk}/reveal/", {"field": "phone", "reason": "回访"}
        ).json()["value"]
        == enrolled[0]["phone"]
    )
    exports.export_members(queryset=Member.objects.all(), acting_user=officers.a_admin, fmt="csv")
    note = announcements.create_announcement(
        organization=tree.union_a, title="通知", body="周五体检", acting_user=officers.a_admin
    )
    announcements.publish_announcement(announcement=note, acting_user=officers.a_admin)
    deadline = time.monotonic() + 20  # let the worker send what was queued
    while time.monotonic() < deadline and Delivery.objects.filter(sent_at__isnull=True).exists():
        time.sleep(0.2)
    sent = CapturedMessage.objects.count()
    assert CapturedMessage.objects.filter(channel="sms").exists(), "no SMS went out"

    # An API token made on the security page and used: only its hash may be kept.
    page = Client()
    page.force_login(officers.a_admin)
    made = page.post("/accounts/security/tokens/", {"name": "扫描", "access": "read", "days": 30})
    token = made.context["secret"]
    user_of_token = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert user_of_token.get("/api/v1/organizations/").status_code == 200

    secrets = set().union(*(spellings(p) for p in people)) | {token}
    assert len(people) == 10

    tables = every_table_as_text()
    leaks = table_leaks(tables, secrets)
    assert leaks == {}, f"plaintext personal data in tables: {leaks}"

    logged = "\n".join(log_output)
    assert logged, "the log capture saw nothing"
    assert findings(logged, secrets) == [], "plaintext personal data in the log output"

    assert len(published) >= 3, "expected the import and notification tasks on the broker"
    messages = "\n".join(published)
    assert findings(messages, secrets) == [], "plaintext personal data in Celery messages"

    report(
        request,
        f"plaintext scan: {len(people)} people, {len(secrets)} spellings, {len(tables)} tables "
        f"({sum(t.count(chr(10)) + 1 for t in tables.values() if t)} cells), "
        f"{len(log_output)} log records, {len(published)} Celery messages, {sent} SMS or emails "
        "sent: nothing found",
    )
    # The scan would have seen them: the decrypted values are what was enrolled.
    assert {m.phone for m in Member.objects.filter(pk__in=[m.pk for m in members])} == {
        p["phone"] for p in enrolled
    }


PLANT_QUEUE = "plaintext-scan-self-test"


@pytest.fixture
def plant_queue():
    """A broker queue no worker reads, emptied afterwards: the planted message goes there."""
    client = redis.Redis.from_url(os.environ["CELERY_BROKER_URL"])
    yield PLANT_QUEUE
    client.delete(PLANT_QUEUE, f"_kombu.binding.{PLANT_QUEUE}")


@pytest.mark.django_db
def test_the_scan_reports_a_value_planted_in_each_channel(tree, log_output, published, plant_queue):
    """The scan above can fail: a phone in a database row, ID numbers in a log line and a
    spaced phone in a task message published to the broker are each reported where they are."""
    from django.contrib.auth import get_user_model

    from unionhub.celery import app

    person, stranger = person_data(), person_data()
    secrets = spellings(person)
    assert stranger["id_number"] not in secrets  # found only as a valid ID number
    assert table_leaks(every_table_as_text(), secrets) == {}

    # A database row: an account named after the phone number.
    UserFactory(username=person["phone"])
    # A log line: the person's ID number in lower case, and a stranger's.
    logging.getLogger("members.actions").warning(
        "looked up %s and %s", person["id_number"].lower(), stranger["id_number"]
    )
    # A task message on the broker: the phone, spaced, as an argument.
    phone = person["phone"]
    spaced = f"{phone[:3]} {phone[3:7]} {phone[7:]}"
    app.send_task("plaintext_scan.planted", args=[spaced], queue=plant_queue)

    user_table = get_user_model()._meta.db_table
    assert table_leaks(every_table_as_text(), secrets) == {user_table: [phone]}
    assert set(findings("\n".join(log_output), secrets)) == {
        person["id_number"].lower(),
        stranger["id_number"],
    }
    assert set(findings("\n".join(published), secrets)) == {spaced}
