"""The integrators' guide (/api/guide/): public, Chinese by default, English on request,
and what it says matches the running system (credential page, limits, page size)."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_guide_is_chinese_by_default_and_names_the_real_settings(client, settings):
    settings.API_RATE_LIMITS = {"credential": "600/m", "address": "1800/m"}
    response = client.get(reverse("api-guide"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "网上工会 API 对接指南" in page
    assert reverse("account-tokens") in page and "Authorization: Bearer uhp_" in page
    assert "600/m" in page and "1800/m" in page
    assert f"每页 {settings.REST_FRAMEWORK['PAGE_SIZE']} 条" in page
    assert "/api/schema/?format=json" in page and "Retry-After" in page


def test_the_guide_in_english(client):
    client.cookies["django_language"] = "en"
    page = client.get(reverse("api-guide")).content.decode()
    assert "a guide for integrators" in page and "Retry-After" in page
    assert "对接指南" not in page.split("<article", 1)[1]


def test_the_api_documentation_links_the_guide(client):
    schema = client.get("/api/schema/?format=json").json()
    assert "/api/guide/" in schema["info"]["description"]
