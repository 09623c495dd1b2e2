"""Headers and configuration: CSP without inline script on every kind of page, CSRF on
every form, secure cookies and HSTS in production."""

import json
import re
from pathlib import Path

import pytest
from django.test import Client

from tests.test_settings import PRODUCTION, manage

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATES = ROOT / "templates"


def csp(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/admin/login/", "/api/docs/"])
def test_every_kind_of_page_is_under_a_strict_csp(client, path, tree):
    response = client.get(path)
    assert response.status_code == 200
    policy = csp(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    # And the page itself needs none: no inline script, handler or style attribute.
    html = response.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"
    assert not re.search(r"<style[\s>]|\sstyle=", html), "inline style"


def test_no_template_has_an_inline_script_or_handler():
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        if "email" in path.parts:
            continue  # emails are not pages; mail clients need inline styles
        text = path.read_text(encoding="utf-8")
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+=\"|\sstyle=\"|<style", text):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_every_post_form_in_the_templates_carries_the_csrf_token():
    missing = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for form in re.finditer(
            r"<form\b[^>]*method=\"post\"[^>]*>(.*?)</form>", text, re.S | re.I
        ):
            if "{% csrf_token %}" not in form.group(1):
                missing.append(
                    f"{path.relative_to(ROOT)}:{text[: form.start()].count(chr(10)) + 1}"
                )
    assert missing == []


@pytest.mark.django_db
def test_a_post_without_the_csrf_token_is_refused(tree):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    response = client.post(f"/unions/{tree.union_a.pk}/join/", {"name": "张三"})
    assert response.status_code == 403


def test_production_cookies_are_secure_and_hsts_is_on():
    script = (
        "import json; from django.conf import settings as s; print(json.dumps({k: getattr(s, k)"
        " for k in ['SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY',"
        " 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_SSL_REDIRECT',"
        " 'SECURE_CONTENT_TYPE_NOSNIFF', 'X_FRAME_OPTIONS']}))"
    )
    result = manage("shell", "-c", script, env_extra=PRODUCTION)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "X_FRAME_OPTIONS": "DENY",
    }


@pytest.mark.django_db
def test_a_refusal_is_a_page_in_the_sites_style_and_language(client, tree, make_officer):
    client.force_login(make_officer("a_admin", tree.union_a))
    response = client.get("/admin/auth/group/")
    assert response.status_code == 403
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html and "没有权限" in html
    assert 'class="site-footer"' in html
