"""The schema tells the truth about errors and headers without repeating them on every view.

`WireflowAutoSchema` adds to each operation the error responses it really gives, read from the
view (its authentication, scopes, throttles, path, body and query parameters); the
postprocessing hook adds the `Idempotency-Key` header to creating POSTs and the `X-Request-Id`
and `X-RateLimit-*` response headers. Schemathesis, with all its checks, holds both to it
(tests/api/test_schema_fuzz.py).
"""

from __future__ import annotations

import copy

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse

from wireflow_site.errors import ErrorOut, InsufficientCreditsOut

# Operations that start runs, so reserve credits: short → 402.
CHARGING_OPERATIONS = {"workflows_execute", "workflows_run", "webhook_trigger", "batches_retry"}
IDEMPOTENT_OPERATIONS = {"workflows_create", "workflows_execute", "workflows_run",
                         "workflows_merge", "webhook_trigger"}
KEYLESS_OPERATIONS = {"webhook_info", "webhook_trigger", "executions_status"}
LOCATION = {"Location": {"schema": {"type": "string", "format": "uri"},
                         "description": "The poll URL of the (first) run"}}

ERROR = {"$ref": "#/components/schemas/ErrorOut"}
RATE_HEADERS = {
    "X-RateLimit-Limit": {"schema": {"type": "integer"},
                          "description": "The window's limit (requests, or executions for the "
                                         "browser)"},
    "X-RateLimit-Remaining": {"schema": {"type": "integer"}},
    "X-RateLimit-Reset": {"schema": {"type": "integer"},
                          "description": "Unix seconds when the window resets"},
}
REQUEST_ID = {"X-Request-Id": {"schema": {"type": "string"},
                               "description": "Echoed, or made up; quote it when asking for "
                                              "help"}}
TOO_MANY = {
    "description": "Over a plan limit: `Too many requests. Please try again later.` or `Too "
                   "many workflow executions. Please try again later.`",
    "headers": {"Retry-After": {"schema": {"type": "integer"}}, **RATE_HEADERS},
    "content": {"application/json": {"schema": {
        "type": "object", "required": ["error", "retryAfter"],
        "properties": {"error": {"type": "string"}, "code": {"type": "string"},
                       "retryAfter": {"type": "integer",
                                      "description": "Unix seconds"}}}}},
}
UNAVAILABLE = {
    "description": "Redis or the broker cannot be reached and nothing was committed: "
                   "`service_unavailable`; the same request may succeed in a few seconds",
    "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    "content": {"application/json": {"schema": ERROR}},
}
# **+** (our addition to Wireflow's API): back-pressure on the operations that start runs.
OVERLOADED = {
    "description": UNAVAILABLE["description"] + "; or **+** back-pressure: `overloaded` "
                   "(`Too many runs are waiting for a worker. Please try again later.`, "
                   "`retryAfter` in Unix seconds) when more node runs wait for a worker than "
                   "the deployment's INTAKE_QUEUE_LIMIT: nothing was started or counted; "
                   "retry after `Retry-After` seconds",
    "headers": {"Retry-After": {"schema": {"type": "integer"},
                                "description": "Seconds to wait before trying again"}},
    "content": {"application/json": {"schema": ERROR}},
}
UNAUTHORIZED = {
    "description": "`Missing Authorization header`, `Invalid API key format. Expected: Bearer "
                   "sk-...`, `Invalid API key` or `API key has expired`",
    "content": {"application/json": {"schema": ERROR}},
}


def add_shared_parts(result, generator, request, public):
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            keyless = operation.get("operationId") in KEYLESS_OPERATIONS
            if keyless:
                operation["security"] = []
            elif "security" in operation:  # one entry per scheme
                unique = []
                for entry in operation["security"]:
                    if entry not in unique:
                        unique.append(entry)
                operation["security"] = unique
            for code in ("201", "202"):
                if code in operation["responses"] and operation.get("operationId") in (
                        "workflows_execute", "workflows_run"):
                    operation["responses"][code].setdefault("headers", {}).update(LOCATION)
            for response in operation["responses"].values():
                response.setdefault("headers", {}).update(REQUEST_ID)
                if not keyless:
                    response["headers"].update(RATE_HEADERS)
            if operation.get("operationId") in IDEMPOTENT_OPERATIONS:
                responses = operation["responses"]
                reused = "The Idempotency-Key was used with another body"
                if "422" in responses:  # a graph error, or a reused key
                    schema = responses["422"]["content"]["application/json"]["schema"]
                    responses["422"]["content"]["application/json"]["schema"] = {
                        "anyOf": [schema, ERROR]}
                    responses["422"]["description"] += f"; or: {reused}"
                else:
                    responses["422"] = {"description": reused,
                                        "content": {"application/json": {"schema": ERROR}}}
                in_flight = "A request with this Idempotency-Key is still in flight"
                if "409" in responses:  # e.g. a stale write, or a key in flight
                    content = responses["409"]["content"]["application/json"]
                    content["schema"] = {"anyOf": [content["schema"], ERROR]}
                    responses["409"]["description"] += f"; or: {in_flight}"
                else:
                    responses["409"] = {"description": in_flight,
                                        "content": {"application/json": {"schema": ERROR}}}
                operation.setdefault("parameters", []).append({
                    "name": "Idempotency-Key", "in": "header", "required": False,
                    "schema": {"type": "string", "maxLength": 255},
                    "description": "Repeat within 24 h to get the first response again "
                                   "(`Idempotent-Replayed: true`); another body → 422; while "
                                   "the first is in flight → 409.",
                })
    return result


def _error(description: str, serializer=ErrorOut) -> OpenApiResponse:
    return OpenApiResponse(serializer, description=description)


class WireflowAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, plus the error responses each operation really gives, in
    the error shape. A view's own `@extend_schema(responses=…)` entry for a code wins."""

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if getattr(serializer, "closed", False):  # the operation refuses keys it lacks
            schema["additionalProperties"] = False
        return schema

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code, response in self._error_responses().items():
            if code in responses:
                continue
            if isinstance(response, dict):  # a shape of its own (429)
                responses[code] = copy.deepcopy(response)
            else:
                responses[code] = self._get_response_for_code(response, code,
                                                              direction=direction)
        return dict(sorted(responses.items()))

    def _has_body(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() \
            is not None

    def _error_responses(self) -> dict:
        view, method = self.view, self.method
        keyed = bool(view.get_authenticators())
        errors: dict = {}
        body, query = self._has_body(), bool(self.get_override_parameters())
        if body or query:
            errors["400"] = _error("Malformed or invalid request: `invalid_request` (with "
                                   "`fields`), `malformed_body`, or a business rule the "
                                   "message names")
        if keyed:
            errors["401"] = UNAUTHORIZED
            if getattr(view, "required_scopes", {}).get(method):
                errors["403"] = _error("`Missing required scope: …` (API keys), or the "
                                       "member's role does not allow it")
        if "{" in self.path:
            errors["404"] = _error("Not found, or another team's (never its data)")
        if self.get_operation_id() in CHARGING_OPERATIONS:
            errors["402"] = _error("`Insufficient credits. Required: N, Available: M`: "
                                   "nothing was started", InsufficientCreditsOut)
        if body:
            errors["413"] = _error("Request body too large")
            if not getattr(view, "parses_body_itself", False):
                errors["415"] = _error("Unsupported media type: send "
                                       + " or ".join(self.map_parsers()))
        if view.get_throttles() or method in getattr(view, "rate_limited_methods", ()):
            errors["429"] = TOO_MANY
        errors["503"] = OVERLOADED if self.get_operation_id() in CHARGING_OPERATIONS \
            else UNAVAILABLE
        return errors
