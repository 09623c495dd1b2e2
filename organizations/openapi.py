"""The OpenAPI schema of the scoped API: the error answers every operation can give.

drf-spectacular documents only the success answer of an operation. Every scoped endpoint
also refuses a caller who is not logged in or may not act (403: the API's first
authenticator is the session, which sends no `WWW-Authenticate` challenge, so DRF never
answers 401), answers 404 for a row outside the caller's scope (or a page past the end),
and 400 for invalid input; one that takes a body answers 415 to a body of a media type it
does not parse (or none). `ScopedAutoSchema` adds those answers, with the bodies
`organizations.api.exception_handler` and DRF produce, unless a view documents its own; it
says which filters find nothing for an id the caller may not know, and gives a text field that
refuses "" its `minLength: 1`.

The schema is served as YAML 1.2 (`SchemaView`): a string that a YAML 1.2 reader would take
for a number, boolean or null (an ethnicity code `08`) is quoted.
"""

import datetime
import re
from collections import OrderedDict
from decimal import Decimal
from uuid import UUID

import yaml
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django_filters import ModelChoiceFilter, ModelMultipleChoiceFilter
from drf_spectacular import renderers
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from drf_spectacular.views import SpectacularAPIView
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

# The `?organization=` a create takes its tenant from (`ScopedGenericViewSet.tenant_for_create`).
TENANT_PARAMETER = OpenApiParameter(
    "organization",
    OpenApiTypes.INT,
    required=True,
    description=_("For POST: the union the row belongs to."),
)

DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
# A DRF validation error: field name (or `detail` / `non_field_errors`) -> messages, nested
# for nested fields; a bare list of messages when raised without a field.
VALIDATION = {
    "oneOf": [
        {"type": "object", "additionalProperties": {}},
        {"type": "array", "items": {"type": "string"}},
    ]
}

ERRORS = {
    "400": ("ValidationError", VALIDATION, "Invalid input: the messages per field."),
    "403": (
        "PermissionDenied",
        DETAIL,
        "Not logged in, an invalid token, or not allowed to do this here.",
    ),
    "404": (
        "NotFound",
        DETAIL,
        "No such object in the caller's scope (outside it nothing exists), or no such page.",
    ),
    "415": (
        "UnsupportedMediaType",
        DETAIL,
        "The body's media type is not JSON, form or multipart.",
    ),
}


def _error_response(registry, status: str) -> dict:
    name, schema, description = ERRORS[status]
    component = ResolvedComponent(
        name=name,
        type=ResolvedComponent.RESPONSE,
        object=name,
        schema={"description": description, "content": {"application/json": {"schema": schema}}},
    )
    registry.register_on_missing(component)
    return component.ref


class ScopedAutoSchema(AutoSchema):
    """drf-spectacular's schema, with the error answers of every scoped operation."""

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        for status in ERRORS:
            if status == "415" and "requestBody" not in operation:
                continue
            if status not in responses:
                responses[status] = _error_response(registry, status)
        return operation

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        # DRF refuses "" for a writable text or decimal field without allow_blank ("This
        # field may not be blank." / "A valid number is required."); say so for the input
        # serializers (their components describe request bodies only). A model
        # serializer's component also describes answers, whose rows may hold "" (written
        # by actions, not through the field).
        refuses_blank = isinstance(field, serializers.DecimalField) or (
            isinstance(field, serializers.CharField) and not field.allow_blank
        )
        if (
            refuses_blank
            and direction == "request"
            and not field.read_only
            and not isinstance(field.parent, serializers.ModelSerializer)
            and schema.get("type") == "string"
            and not schema.get("minLength")
        ):
            schema["minLength"] = 1
        return schema

    def _get_filter_parameters(self):
        parameters = super()._get_filter_parameters()
        names = self._known_id_filters()
        for parameter in parameters:
            if parameter["name"] in names:
                parameter["description"] = str(UNKNOWN_ID_FILTER)
        return parameters

    def _known_id_filters(self) -> set[str]:
        """The filters naming a related row, which find nothing for an id the caller may not
        know (`organizations.scope.api.ScopedFilterBackend`)."""
        names = set()
        queryset = getattr(self.view, "queryset", None)
        for backend in self.get_filter_backends():
            get_class = getattr(backend(), "get_filterset_class", None)
            if get_class is None or queryset is None:
                continue
            filterset = get_class(self.view, queryset)
            if filterset is None:
                continue
            for name, choice in filterset.base_filters.items():
                if isinstance(choice, (ModelChoiceFilter, ModelMultipleChoiceFilter)):
                    names.add(name)
        return names


UNKNOWN_ID_FILTER = _(
    "Id of a related row. An id that does not exist or lies outside your scope finds "
    "nothing (an empty page), the same for both."
)

# What a YAML 1.2 core-schema reader resolves a plain scalar to, other than a string.
_YAML12_NOT_STRING = re.compile(
    r"""^(?:
        ~|null|Null|NULL|
        true|True|TRUE|false|False|FALSE|
        [-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|
        [-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|
        [-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)
    )$""",
    re.VERBOSE,
)


class Yaml12Dumper(renderers.SafeDumper):
    """PyYAML's dumper knows YAML 1.1 only, so it writes `08` plain (1.1 reads it as a
    string, 1.2 as the integer 8). Teaching its resolver the YAML 1.2 core schema makes
    it quote every string a YAML 1.2 reader would not read back as a string."""


Yaml12Dumper.add_implicit_resolver(
    "tag:yaml.org,2002:yaml12", _YAML12_NOT_STRING, list("-+0123456789.~nNtTfF")
)


class OpenApiYamlRenderer(renderers.OpenApiYamlRenderer):
    """drf-spectacular's YAML renderer (no aliases, `|` blocks for multi-line text), writing
    YAML that reads the same under 1.1 and 1.2."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        class Dumper(Yaml12Dumper):
            def ignore_aliases(self, data):
                return True

        def text(dumper, value):
            scalar = dumper.represent_str(str(value))
            scalar.style = "|" if "\n" in value else None
            return scalar

        def decimal(dumper, value):
            digits = f"{value:f}"
            tag = "float" if "." in digits else "int"
            return dumper.represent_scalar(f"tag:yaml.org,2002:{tag}", digits)

        def mapping(dumper, value):
            return dumper.represent_dict(dict(value))

        def error_detail(dumper, value):
            return dumper.represent_dict({"string": str(value), "code": value.code})

        for kind, represent in [
            (str, text),
            (SafeString, text),
            (Decimal, decimal),
            (OrderedDict, mapping),
            (ErrorDetail, error_detail),
            (datetime.timedelta, lambda d, v: d.represent_str(str(v.total_seconds()))),
            (datetime.time, lambda d, v: d.represent_str(v.isoformat())),
            (UUID, lambda d, v: d.represent_str(str(v))),
        ]:
            Dumper.add_representer(kind, represent)
        return yaml.dump(
            data, default_flow_style=False, sort_keys=False, allow_unicode=True, Dumper=Dumper
        ).encode("utf-8")


class OpenApiYamlRenderer2(OpenApiYamlRenderer):
    media_type = "application/yaml"


class SchemaView(SpectacularAPIView):
    """/api/schema/: the OpenAPI schema, as YAML 1.2 or (`?format=json`) JSON."""

    renderer_classes = [
        OpenApiYamlRenderer,
        OpenApiYamlRenderer2,
        renderers.OpenApiJsonRenderer,
        renderers.OpenApiJsonRenderer2,
    ]


def drop_parameter_titles(result, generator, request, public):
    """A query parameter's schema carries its filter's label as `title` ("学历"), which
    client generators turn into type names (`MembersList学历`); the parameter's name and
    description say the same, so the title goes and the types are named after the
    parameter (`MembersListEducation`)."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                parameter.get("schema", {}).pop("title", None)
    return result
