"""The API's contract: what the served OpenAPI schema promises and how every error answers.

- A: the YAML schema reads the same under YAML 1.2 as the JSON one (`08` stays a string).
- B: a default is one of its field's values.
- C: every success answer is typed; the dashboard documents its `page`.
- D: every /api/ error is JSON `{"detail": ...}` in the caller's language, DEBUG or not.
- E: `Allow` lists only the methods a view takes.
- F: hostile bodies answer 4xx, never 5xx.
- G: fields that refuse "" say `minLength: 1`; coordinates and months their limits.
- H: filters naming a related row document the 400 an unknown id answers.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re

import pytest
import yaml
from django.test import Client
from rest_framework import serializers

from core.api_errors import MAX_JSON_DEPTH, json_depth
from tests.factories import make_token

SCHEMA = "/api/schema/"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
API_MODULES = [
    "organizations.api",
    "reports.api",
    "members.api.members",
    "members.api.joining",
    "members.api.transfers",
    "members.api.dues",
    "services.api.menu",
    "services.api.stations",
    "services.api.voice",
    "services.api.aid",
    "services.api.activities",
]


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker) -> dict:
    """The JSON schema as served, in English."""
    with django_db_blocker.unblock():
        response = Client().get(SCHEMA, {"format": "json"}, **EN)
    assert response.status_code == 200
    return json.loads(response.content)


@pytest.fixture(scope="module")
def schema_yaml(django_db_setup, django_db_blocker) -> bytes:
    with django_db_blocker.unblock():
        response = Client().get(SCHEMA, **EN)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    return response.content


def resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


# --- A: YAML 1.2 -------------------------------------------------------------------------


class NotAString:
    """A plain scalar that YAML 1.2's core schema reads as a number, boolean or null."""

    def __init__(self, text):
        self.text = text


class Yaml12CoreLoader(yaml.SafeLoader):
    """PyYAML reads YAML 1.1; this one also marks what 1.2's core schema would not read
    as a string (`08` is the integer 8 there)."""


Yaml12CoreLoader.add_implicit_resolver(
    "tag:test,2026:yaml12",
    re.compile(
        r"^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|[-+]?[0-9]+|0o[0-7]+"
        r"|0x[0-9a-fA-F]+|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789.~nNtTfF"),
)
Yaml12CoreLoader.add_constructor(
    "tag:test,2026:yaml12", lambda loader, node: NotAString(loader.construct_scalar(node))
)


def test_served_yaml_reads_as_yaml_1_2_like_the_json(schema, schema_yaml):
    as_yaml12 = yaml.load(schema_yaml, Loader=Yaml12CoreLoader)
    for name, component in schema["components"]["schemas"].items():
        if "enum" not in component:
            continue
        values = as_yaml12["components"]["schemas"][name]["enum"]
        assert all(isinstance(value, str) for value in component["enum"] if value is not None)
        assert [v.text if isinstance(v, NotAString) else v for v in values] == component["enum"]
        assert not [v.text for v in values if isinstance(v, NotAString)], name
    assert "08" in as_yaml12["components"]["schemas"]["EthnicityEnum"]["enum"]
    assert yaml.safe_load(schema_yaml)["components"] == schema["components"]


# --- B: defaults -------------------------------------------------------------------------


def _enum_values(schema: dict, node: dict) -> list | None:
    """The values a property may take when they are listed (its enum, or those of the
    choices it refers to), else None."""
    node = resolve(schema, node)
    if "enum" in node:
        return list(node["enum"])
    found = None
    for key in ("allOf", "oneOf", "anyOf"):
        for part in node.get(key, []):
            values = _enum_values(schema, part)
            if values is not None:
                found = (found or []) + values
    return found


def test_every_default_is_one_of_its_fields_values(schema):
    wrong = []
    for name, component in schema["components"]["schemas"].items():
        for field, prop in component.get("properties", {}).items():
            if "default" not in prop:
                continue
            values = _enum_values(schema, prop)
            if values is None:
                continue
            default = prop["default"]
            if default is None and (prop.get("nullable") or None in values):
                continue
            if default not in values:
                wrong.append(f"{name}.{field}: {default!r} not in {values}")
    assert not wrong


def test_a_blank_education_is_accepted_as_the_schema_says(client, tree, officers):
    from members.api.members import PersonInputSerializer

    body = PersonInputSerializer(
        data={"name": "张三", "id_number": "x", "phone": "1", "employer": "甲", "education": ""}
    )
    assert body.is_valid(), body.errors
    assert body.validated_data["education"] == ""


# --- C: typed answers --------------------------------------------------------------------


def _untyped_object(schema: dict, node: dict) -> bool:
    node = resolve(schema, node)
    if node.get("type") != "object":
        return False
    extra = node.get("additionalProperties")
    typed_extra = isinstance(extra, dict) and extra != {}
    return not node.get("properties") and not typed_extra


def test_every_success_answer_is_typed(schema):
    untyped = []
    for path, method, operation in operations(schema):
        for status, response in operation["responses"].items():
            if not status.startswith("2") or "$ref" in response:
                continue
            for content in response.get("content", {}).values():
                body = content.get("schema", {})
                if _untyped_object(schema, body):
                    untyped.append(f"{method.upper()} {path} {status}")
    assert not untyped


def test_the_dashboard_documents_its_child_page(schema):
    operation = schema["paths"]["/api/v1/stats/organizations/{id}/dashboard/"]["get"]
    assert "page" in {p["name"] for p in operation["parameters"]}
    body = resolve(schema, operation["responses"]["200"]["content"]["application/json"]["schema"])
    assert {"headline", "flows", "trend", "children"} <= set(body["properties"])


# --- D: errors as JSON -------------------------------------------------------------------


@pytest.fixture(params=[True, False], ids=["debug", "no-debug"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def _detail(response) -> str:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    assert set(body) == {"detail"}, body
    return body["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/concerns/abc/",
        "/api/v1/concerns/999999/",
        "/api/v1/organizations/abc/",
        "/api/v1/no-such-thing/",
        "/api/v2/",
        "/api/v1/organizations/1/no-such-action/",
    ],
)
def test_not_found_answers_json_in_the_callers_language(client, tree, officers, debug, path):
    client.force_login(officers.a_admin)

    zh = client.get(path, **ZH)
    en = client.get(path, **EN)

    assert zh.status_code == en.status_code == 404
    assert _detail(zh) == "未找到。"
    assert _detail(en) == "Not found."


def test_an_anonymous_unknown_api_path_answers_json(client, db, debug):
    assert _detail(client.get("/api/nothing/here/", **ZH)) == "未找到。"


def test_a_missing_csrf_token_is_refused_in_the_callers_language(tree, officers, debug):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(officers.hz_admin)
    path = f"/api/v1/organizations/{tree.xihu.pk}/dissolve/"

    zh = browser.post(path, "{}", content_type="application/json", **ZH)
    en = browser.post(path, "{}", content_type="application/json", **EN)

    assert zh.status_code == en.status_code == 403
    assert "CSRF" in _detail(zh) and re.search(r"[\u4e00-\u9fff]", _detail(zh))
    assert "CSRF token missing" not in _detail(en)
    assert "CSRF" in _detail(en)


def test_a_server_error_under_api_answers_json(client, tree, officers, settings, monkeypatch):
    from django.test.client import Client as TestClient

    settings.DEBUG = False
    monkeypatch.setattr(
        "organizations.api.OrganizationViewSet.list",
        lambda self, request: 1 / 0,
    )
    quiet = TestClient(raise_request_exception=False)
    quiet.force_login(officers.a_admin)

    response = quiet.get("/api/v1/organizations/", **EN)

    assert response.status_code == 500
    assert _detail(response) == "A server error occurred."


# --- E: Allow ----------------------------------------------------------------------------


def test_the_organizations_collection_does_not_offer_post(client, tree, officers):
    client.force_login(officers.hz_admin)

    options = client.options("/api/v1/organizations/", **EN)
    refused = client.post("/api/v1/organizations/", "{}", content_type="application/json", **EN)

    assert "POST" not in options["Allow"]
    assert refused.status_code == 405
    assert "POST" not in refused["Allow"]
    assert "children" in refused.json()["detail"]


def _list_routes():
    from unionhub.urls import router

    return [(prefix, basename) for prefix, _viewset, basename in router.registry]


@pytest.mark.parametrize(("prefix", "basename"), _list_routes())
def test_a_method_a_collection_allows_is_not_refused_as_not_allowed(
    client, tree, officers, prefix, basename
):
    client.force_login(officers.national_admin)
    path = f"/api/v1/{prefix}/"

    options = client.options(path, **EN)
    if options.status_code == 404:  # no collection route (only detail actions)
        assert "Allow" not in options
        return
    allow = options["Allow"]

    for method in [m.strip() for m in allow.split(",")]:
        if method in ("GET", "HEAD", "OPTIONS"):
            continue
        response = client.generic(method, path, "{}", content_type="application/json", **EN)
        assert response.status_code != 405, (method, path)


# --- F: hostile bodies -------------------------------------------------------------------

HOSTILE_BODIES = {
    "deep-arrays": ("[" * 1000 + "]" * 1000).encode(),
    "deep-objects": ('{"a":' * 1000 + "1" + "}" * 1000).encode(),
    "float-overflow": b'{"name": 1e400, "parent": 1e400}',
    "five-thousand-digits": b'{"parent": ' + b"9" * 5000 + b"}",
    "invalid-utf8": b'{"name": "\xff\xfe\xfa"}',
    "truncated": b'{"name": ',
}


@pytest.mark.parametrize("body", list(HOSTILE_BODIES.values()), ids=list(HOSTILE_BODIES))
@pytest.mark.parametrize("action", ["children", "move"])
def test_hostile_json_answers_400(client, tree, officers, body, action):
    client.force_login(officers.hz_admin)

    response = client.post(
        f"/api/v1/organizations/{tree.xihu.pk}/{action}/",
        body,
        content_type="application/json",
        **EN,
    )

    assert response.status_code == 400, response.content[:300]
    assert "detail" in response.json()


def test_hostile_json_through_a_token_answers_400(client, tree, officers):
    token = make_token(officers.a_admin)

    response = client.post(
        "/api/v1/concerns/",
        HOSTILE_BODIES["deep-arrays"],
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        **EN,
    )

    assert 400 <= response.status_code < 500


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "application/octet-stream"]
)
def test_a_body_of_another_media_type_answers_415(client, tree, officers, content_type):
    client.force_login(officers.hz_admin)

    response = client.post(
        f"/api/v1/organizations/{tree.xihu.pk}/move/", b"<a/>", content_type=content_type
    )

    assert response.status_code == 415


def test_json_depth_counts_without_recursion_and_ignores_strings():
    assert json_depth(b'{"a": "[[[[{{{{", "b": [1, {"c": "\\"]]]"}]}') == 3
    assert json_depth(b"[" * 100_000) == 100_000
    assert json_depth(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH) == MAX_JSON_DEPTH


def test_nesting_up_to_the_limit_is_still_parsed(client, tree, officers):
    client.force_login(officers.hz_admin)
    body = '{"parent": ' + "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1) + "}"

    response = client.post(
        f"/api/v1/organizations/{tree.xihu.pk}/move/", body, content_type="application/json"
    )

    assert response.status_code == 400
    assert "parent" in response.json()


# --- G: blank, coordinates, months -------------------------------------------------------


def _serializer_classes():
    for module_name in API_MODULES:
        module = importlib.import_module(module_name)
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, serializers.Serializer) and cls.__module__ == module_name:
                yield cls


def _request_components(schema: dict) -> set[str]:
    names = set()
    for _path, _method, operation in operations(schema):
        for content in operation.get("requestBody", {}).get("content", {}).values():
            ref = content.get("schema", {}).get("$ref")
            if ref:
                names.add(ref.rsplit("/", 1)[-1])
    return names


def test_every_input_field_that_refuses_blank_has_min_length(schema):
    components = schema["components"]["schemas"]
    bodies = _request_components(schema)
    missing = []
    checked = 0
    for cls in _serializer_classes():
        if issubclass(cls, serializers.ModelSerializer):
            continue  # their components describe answers too, whose rows may hold ""
        name = cls.__name__.removesuffix("Serializer")
        if name not in bodies and f"Patched{name}" not in bodies:
            continue
        component = components.get(name) or components[f"Patched{name}"]
        try:
            fields = cls().fields
        except Exception:  # serializers that need a context are skipped
            continue
        for name, field in fields.items():
            prop = component.get("properties", {}).get(name)
            refuses_blank = isinstance(field, serializers.DecimalField) or (
                isinstance(field, serializers.CharField) and not field.allow_blank
            )
            if prop is None or field.read_only or not refuses_blank:
                continue
            if prop.get("type") != "string":
                continue
            checked += 1
            if not prop.get("minLength"):
                missing.append(f"{cls.__name__}.{name}")
    assert checked > 20
    assert not missing
    assert components["Payment"]["properties"]["amount"]["minLength"] == 1
    assert components["Status"]["properties"]["reason"]["minLength"] == 1


def test_coordinates_document_their_limits(schema):
    components = schema["components"]["schemas"]
    for name in ("StationInput", "PatchedStationUpdate"):
        props = components[name]["properties"]
        assert (props["latitude"]["minimum"], props["latitude"]["maximum"]) == (-90, 90)
        assert (props["longitude"]["minimum"], props["longitude"]["maximum"]) == (-180, 180)
    nearby = schema["paths"]["/api/v1/stations/nearby/"]["get"]["parameters"]
    limits = {p["name"]: (p["schema"].get("minimum"), p["schema"].get("maximum")) for p in nearby}
    assert limits["lat"] == (-90, 90)
    assert limits["lon"] == (-180, 180)


def test_a_latitude_out_of_range_is_refused(client, tree, officers):
    client.force_login(officers.a_admin)

    response = client.get("/api/v1/stations/nearby/", {"lat": "91", "lon": "120"}, **EN)

    assert response.status_code == 400
    assert "lat" in response.json()


def test_dues_months_document_their_format(schema):
    pattern = schema["components"]["schemas"]["DuesRecord"]["properties"]["month"]["pattern"]
    for path in ("/api/v1/dues/", "/api/v1/dues/summary/"):
        parameters = schema["paths"][path]["get"]["parameters"]
        period = next(p for p in parameters if p["name"] == "period")
        assert period["schema"]["pattern"] == pattern
    assert re.match(pattern, "2025-01") and not re.match(pattern, "2025-13")
    summary = schema["components"]["schemas"]["DuesSplit"]["properties"]["period"]
    assert summary["pattern"] == pattern


def test_the_dues_list_takes_a_month_only_as_the_schema_says(client, tree, officers):
    """`?period=` is a month, YYYY-MM: given empty or as a day it is refused, not ignored
    (schemathesis sent `?period=` and saw every record). Only the list takes it."""
    client.force_login(officers.a_admin)
    assert client.get("/api/v1/dues/", {"period": "2025-01"}, **EN).status_code == 200
    for value in ("", "2025-01-01", "2025-13", "202501", "0000-01"):
        response = client.get("/api/v1/dues/", {"period": value}, **EN)
        assert response.status_code == 400 and "period" in response.json(), value
    schema = client.get("/api/schema/?format=json").json()
    for path in ("/api/v1/dues/{id}/", "/api/v1/dues/{id}/pay/"):
        for operation in schema["paths"][path].values():
            names = {p["name"] for p in operation.get("parameters", [])}
            assert not names & {"period", "arrears"}, path


# --- H: unknown ids in filters -----------------------------------------------------------


def test_filters_naming_related_rows_document_what_an_unknown_id_finds(schema):
    documented = []
    for path, _method, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            if "finds nothing" in (parameter.get("description") or ""):
                documented.append((path, parameter["name"]))
                assert parameter["schema"]["type"] == "integer", (path, parameter)
                assert "400" in operation["responses"], path
    assert ("/api/v1/service-requests/", "service") in documented
    assert ("/api/v1/members/", "organization") in documented


def test_an_unknown_service_filter_finds_nothing_and_a_non_id_answers_400(
    client, tree, officers, schema
):
    """A schema-valid id that names nothing the caller knows is accepted and finds nothing
    (as schemathesis's positive-data check expects); a value that is not an id is not."""
    client.force_login(officers.a_admin)

    response = client.get("/api/v1/service-requests/", {"service": 999999}, **EN)
    assert response.status_code == 200 and response.json()["results"] == []

    response = client.get("/api/v1/service-requests/", {"service": "abc"}, **EN)
    assert response.status_code == 400 and "service" in response.json()
    assert "400" in schema["paths"]["/api/v1/service-requests/"]["get"]["responses"]
