"""The OpenAPI schema of the scoped API: the error answers every operation can give.

drf-spectacular documents only the success answer of an operation. Every scoped endpoint
also refuses a caller who is not logged in or may not act (403: the API's first
authenticator is the session, which sends no `WWW-Authenticate` challenge, so DRF never
answers 401), answers 404 for a row outside the caller's scope (or a page past the end),
and 400 for invalid input; one that takes a body answers 415 to a body of a media type it
does not parse (or none). `ScopedAutoSchema` adds those answers, with the bodies
`organizations.api.exception_handler` and DRF produce, unless a view documents its own.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

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
