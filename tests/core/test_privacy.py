"""The privacy registry (core.privacy): every app registers its own parts of a person's copy
of their data and of an erasure, and reads or deletes only its own tables."""

import ast
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings

from core import privacy

ROOT = Path(__file__).resolve().parent.parent.parent
DOMAIN_APPS = ("organizations", "accounts", "members", "services", "reports", "notifications")


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)
    return names


def test_the_copy_has_every_apps_sections_in_the_order_it_always_had():
    assert [section.key for section in privacy.sections()] == [
        "member",  # members
        "account",  # accounts, with notifications' message settings
        "notification_preferences",  # notifications
        "login_sessions",  # accounts
        "membership_history",  # members
        "join_applications",
        "transfers",
        "dues",
        "notifications",  # notifications
        "service_requests",  # services
        "service_request_history",
        "service_wishes",
        "wish_votes",
        "activity_registrations",
        "station_visits",
        "aid_cases",
        "aid_case_history",
        "aid_objections",
        "concerns",
        "concern_history",
    ]
    (account,) = [s for s in privacy.sections() if s.key == "account"]
    assert [key for key, _label in account.columns] == [
        "username",
        "email",
        "first_name",
        "last_name",
        "date_joined",
        "last_login",
        "phone",
        "language",
        "quiet_start",
        "quiet_end",
    ]


def test_erasers_run_the_members_parts_before_the_accounts_and_the_login_last():
    assert [eraser.__module__ for eraser in privacy.erasers()] == [
        "services.actions.privacy",
        "notifications.privacy",
        "accounts.privacy",
    ]


def test_every_app_with_rows_of_a_person_takes_part_in_the_erasure():
    """An app whose tables point at the login or the member record has an eraser (members'
    own part is `erase_member` itself)."""
    people = {apps.get_model(settings.AUTH_USER_MODEL), apps.get_model("members", "Member")}
    erasing = {eraser.__module__.split(".")[0] for eraser in privacy.erasers()}
    for label in ("accounts", "notifications", "services"):
        holds = any(
            field.related_model in people
            for model in apps.get_app_config(label).get_models()
            for field in model._meta.concrete_fields
            if field.is_relation
        )
        assert not holds or label in erasing, label


def test_core_privacy_imports_no_domain_app():
    imported = imported_modules(ROOT / "core" / "privacy.py")
    assert not {name for name in imported if name.split(".")[0] in DOMAIN_APPS}


@pytest.mark.parametrize("path", ["members/actions/privacy.py", "members/selectors/privacy.py"])
def test_members_privacy_does_not_reach_into_the_accounts_and_notifications_tables(path):
    roots = {name.split(".")[0] for name in imported_modules(ROOT / path)}
    assert not roots & {"notifications", "accounts", "rest_framework", "django_otp"}


@pytest.fixture
def empty_registry(monkeypatch):
    monkeypatch.setattr(privacy, "_SECTIONS", {})
    monkeypatch.setattr(privacy, "_FIELDS", {})


def section(key, rows, *, single=False):
    columns = [(name, name.title()) for name in (rows[0] if rows else {"a": 1})]
    return privacy.Section(
        key=key, title=key, columns=columns, rows=lambda subject: rows, single=single
    )


def test_sections_follow_their_order_then_their_registration(empty_registry):
    privacy.register_section(section("late", [{"a": 1}]), order=20)
    privacy.register_section(section("first", [{"a": 2}]), order=10)
    privacy.register_section(section("second", [{"a": 3}]), order=10)
    data = privacy.export_personal_data(privacy.Subject(user=None))
    assert list(data) == ["format", "generated_at", "first", "second", "late"]
    sheets = privacy.personal_data_sheets(data)
    assert [title for title, _headers, _rows in sheets][1:] == ["first", "second", "late"]


def test_fields_of_another_app_join_a_record_only_when_it_exists(empty_registry):
    subject = privacy.Subject(user="someone")
    # Registered before the section it extends, as an app listed earlier would.
    privacy.register_fields(
        "login",
        privacy.Fields(columns=[("language", "Language")], values=lambda s: {"language": "en"}),
    )
    privacy.register_fields(
        "nobody",
        privacy.Fields(columns=[("language", "Language")], values=lambda s: {"language": "en"}),
    )
    privacy.register_section(section("login", [{"name": "x"}], single=True), order=1)
    privacy.register_section(section("nobody", [], single=True), order=2)

    data = privacy.export_personal_data(subject)
    assert data["login"] == {"name": "x", "language": "en"}
    assert data["nobody"] == {}
    _about, login, nobody = privacy.personal_data_sheets(data)
    assert login[2] == [["Name", "x"], ["Language", "en"]]
    assert nobody[2] == [["A", None], ["Language", None]]
