"""The OpenAPI document as the platform really answers: every refusal in the one error shape the exception
handler writes (trading.errors), under the statuses a route can give; and every integer parameter bounded
to the 64 bits the database holds (trading.input_checks refuses any other with a 400).

Litestar documents its own validation error for a 400; the platform answers every 4xx with
``{"error": {"code", "message", "message_zh", "message_en", "rule"?, "details"?}}`` instead, for refusals
from the authorisation (401, 403), the input checks (400, 413, 415), the rules (409, 422) and the sign-in
limits (429 with Retry-After). Schemathesis checks the answers against this document in the test suite.
"""

from __future__ import annotations

import copy
from typing import Any

from litestar import Request
from litestar.openapi.plugins import JsonRenderPlugin

from trading.input_checks import INT64_MAX, INT64_MIN
from trading.policy import ROUTES

ERROR = {
    "type": "object",
    "description": "A refusal: a stable code, a message in Chinese and English, the rule it comes from.",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "message_zh", "message_en"],
            "properties": {
                "code": {"type": "string", "description": "stable, for programs (e.g. deadline_passed)"},
                "message": {"type": "string", "description": "message_zh / message_en"},
                "message_zh": {"type": "string"},
                "message_en": {"type": "string"},
                "rule": {"type": "string", "description": "the law or rule refusing it (e.g. 20号令 §27)"},
                "details": {"type": "object"},
            },
        }
    },
}

STATUSES = {
    400: "Bad input: wrong type, number out of range, NUL, date out of range, malformed JSON",
    401: "Not signed in, or the token is invalid or expired",
    403: "The caller's role or jurisdiction does not reach this (wrong_role, other_centre, not_on_panel, …), or a "
    "cosignature from a witness the platform does not know (bad_cosignature)",
    404: "Nothing there (or nothing the caller may see)",
    409: "The state forbids it now (already done, published, superseded, …)",
    413: "The body is larger than the limit",
    415: "The body's type is not accepted: not JSON, or an attachment's type or content (see the route)",
    422: "A rule or statutory period refuses it (the rule is named)",
    429: "Too many failed sign-ins: wait Retry-After seconds",
}
#: Routes where wrong passwords are counted.
SIGN_IN = {"createToken"}
#: Public routes that refuse by what is sent rather than who sends it: a witness's cosignature is taken only from
#: a witness the platform knows (403 bad_cosignature).
PUBLIC_BUT_VOUCHED = {"addCosignature"}


def statuses_for(operation_id: str, method: str) -> list[int]:
    rule = ROUTES.get(operation_id)
    found = {400, 401, 404, 409, 422}
    if rule is None or not rule.public or operation_id in PUBLIC_BUT_VOUCHED:
        found.add(403)
    if method in ("post", "put", "patch"):
        found |= {413, 415}
    if operation_id in SIGN_IN:
        found.add(429)
    return sorted(found)


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every operation's error answers as the platform gives them."""
    schema = copy.deepcopy(schema)
    schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for item in schema.get("paths", {}).values():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete") or not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                _bound_integers(parameter.get("schema") or {})
            responses = operation.setdefault("responses", {})
            for status in [s for s in responses if s.startswith("4")]:
                del responses[status]  # Litestar's own validation shape, which the platform never sends
            for status in statuses_for(operation.get("operationId", ""), method):
                responses[str(status)] = {"description": STATUSES[status], "content": error}
                if status == 429:
                    responses["429"]["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
    return schema


def _bound_integers(schema: dict[str, Any]) -> None:
    if schema.get("type") == "integer":
        schema.setdefault("minimum", INT64_MIN)
        schema.setdefault("maximum", INT64_MAX)
    for option in schema.get("oneOf", []) + schema.get("anyOf", []):
        _bound_integers(option)


class DocumentedJsonRenderPlugin(JsonRenderPlugin):
    """/schema/openapi.json with the platform's error answers documented."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return self.render_json(request, document_errors(openapi_schema))
