"""The API's error answers: one JSON shape, in the caller's language, whatever failed.

Every error of `/api/` answers `{"detail": "..."}` (a validation error keeps DRF's
field -> messages shape). DRF's own errors have that shape; what answers before or beside
DRF does not: Django's 404 page for a path no route matches (in DEBUG a technical HTML page
that bypasses `handler404`), its 500 page. `ApiErrorMiddleware` turns any such non-JSON
error under `/api/` into the JSON shape (the CSRF refusal, worded in English by Django, is
translated by `accounts.authentication.SessionAuthentication`); `JSONParser` refuses bodies
that would make the parser itself fail (nesting deeper than the stack, numbers no float
holds) with a 400 instead of a server error.
"""

from __future__ import annotations

import codecs
import json
import math
import re

from django.conf import settings
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, parsers
from rest_framework.settings import api_settings

API_PREFIX = "/api/"

# What an error answer of each status says when the view gave no JSON body of its own.
STATUS_MESSAGES = {
    400: gettext_lazy("Bad request."),
    401: gettext_lazy("Authentication credentials were not provided."),
    403: gettext_lazy("You do not have permission to perform this action."),
    404: gettext_lazy("Not found."),
    405: gettext_lazy("Method not allowed."),
    413: gettext_lazy("The request is too large."),
    415: gettext_lazy("Unsupported media type."),
    429: gettext_lazy("Request was throttled."),
}
SERVER_ERROR = gettext_lazy("A server error occurred.")
CLIENT_ERROR = gettext_lazy("The request cannot be answered.")


def _is_json(response) -> bool:
    content_type = response.get("Content-Type", "")
    return content_type.split(";")[0].strip().endswith(("/json", "+json"))


class ApiErrorMiddleware:
    """Under `/api/`, an error answered in anything but JSON (Django's HTML 404 or 500
    page, a plain-text refusal) becomes `{"detail": <the status's message>}`, translated,
    with the same status and headers such as `Allow`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path_info.startswith(API_PREFIX)
            or getattr(response, "streaming", False)
            or _is_json(response)
        ):
            return response
        status = response.status_code
        message = STATUS_MESSAGES.get(status) or (SERVER_ERROR if status >= 500 else CLIENT_ERROR)
        answer = JsonResponse({"detail": str(message)}, status=status)
        for header in ("Allow", "Retry-After", "WWW-Authenticate", "Content-Language", "Vary"):
            if header in response:
                answer[header] = response[header]
        return answer


# Arrays and objects nested deeper than this are refused (no API body needs more than a few).
MAX_JSON_DEPTH = 64
# A JSON string (its escapes included), and the brackets that open or close a level.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


def json_depth(raw: bytes) -> int:
    """How deeply the arrays and objects of a JSON text nest, counted without recursion
    (brackets inside strings do not count)."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_JSON_STRING.sub(b'""', raw)):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def _refuse_constant(text: str):
    raise ValueError(f"invalid literal {text}")


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser that answers 400, never a server error, to a body nested deeper
    than `MAX_JSON_DEPTH`, to a number no float or integer holds (1e400, thousands of
    digits), and to bytes that are not text in the declared encoding."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read() if stream is not None else b""
        if json_depth(raw) > MAX_JSON_DEPTH:
            raise exceptions.ParseError(
                _("JSON parse error: nested more than %(depth)d levels deep.")
                % {"depth": MAX_JSON_DEPTH}
            )
        try:
            text = codecs.decode(raw, encoding)
            strict = api_settings.STRICT_JSON
            return json.loads(
                text,
                parse_float=_finite_float,
                parse_constant=_refuse_constant if strict else None,
            )
        except (ValueError, RecursionError) as error:
            raise exceptions.ParseError(
                _("JSON parse error: %(error)s") % {"error": error}
            ) from None
