"""Settings come from the environment; production is strict, development self-contained."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

ROOT = Path(__file__).resolve().parent.parent


def manage(*args, env_extra=None, env_drop=()):
    # Only what a deployment would have: no test-only switches such as async-unsafe mode.
    dropped = {*env_drop, "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "x7!" + "k2Jq9vR4pL8mN3tW6yB1cF5hD0gS" * 2,
    "ALLOWED_HOSTS": "union.example.org",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
    "FIELD_ENCRYPTION_KEYS": "QUIRL-Jb8fRZ1mNw7pV3xTy9cK2hD5sL0aE4gU6iO8w=",
    "ID_HASH_KEY": "h4Kq" * 11,
}


# What the README says production requires ("Settings and processes").
REQUIRED = (
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "FIELD_ENCRYPTION_KEYS",
    "ID_HASH_KEY",
)


def production_env() -> dict:
    """Every setting production requires; the database and broker are the test plugin's."""
    return {
        **PRODUCTION,
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "CELERY_BROKER_URL": os.environ["CELERY_BROKER_URL"],
    }


def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env_extra=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_readme_and_the_settings_name_the_same_required_settings():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sentence = re.search(r"`DJANGO_ENV=production` requires (.*?), and turns on", readme, re.S)
    assert sentence, "the README's sentence on what production requires is gone"
    assert tuple(re.findall(r"`([A-Z_]+)`", sentence.group(1))) == REQUIRED
    assert settings.REQUIRED_IN_PRODUCTION == REQUIRED
    assert set(production_env()) == {"DJANGO_ENV", *REQUIRED}


@pytest.mark.parametrize("name", REQUIRED)
@pytest.mark.parametrize("how", ["unset", "empty"])
def test_production_refuses_to_start_without_each_required_setting(name, how):
    env = production_env()
    if how == "unset":
        del env[name]
    else:
        env[name] = ""
    result = manage("check", "--deploy", env_extra=env, env_drop=(name,))
    assert result.returncode != 0, result.stdout
    assert result.stderr.strip().splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: "
        f"DJANGO_ENV=production needs these environment variables: {name}"
    ), result.stderr[-2000:]


def test_models_and_migrations_agree():
    result = manage("makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr


def test_development_secrets_are_generated_into_an_ignored_file(tmp_path):
    from unionhub.settings import _write_development_env

    target = tmp_path / ".env"
    _write_development_env(target)
    text = target.read_text()
    assert "SECRET_KEY=" in text and "FIELD_ENCRYPTION_KEYS=" in text
    assert target.stat().st_mode & 0o077 == 0  # readable by the owner only
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT)
    assert ignored.returncode == 0, ".env must be git-ignored"


def test_chinese_is_the_default_language_and_shanghai_the_time_zone():
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert [code for code, _ in settings.LANGUAGES] == ["zh-hans", "en"]
    assert settings.TIME_ZONE == "Asia/Shanghai" and settings.USE_TZ


def test_chinese_translations_are_compiled_and_complete():
    po = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    assert po.with_suffix(".mo").exists(), "compile the catalogue and commit django.mo"
    stats = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po)],
        capture_output=True,
        text=True,
    )
    assert stats.returncode == 0, stats.stderr
    assert "fuzzy" not in stats.stderr and "untranslated" not in stats.stderr, stats.stderr
    with translation.override("zh-hans"):
        assert translation.gettext("Grassroots union") == "基层工会"
    with translation.override("en"):
        assert translation.gettext("Grassroots union") == "Grassroots union"
