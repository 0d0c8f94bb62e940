"""Schema post-processing: what every operation shares, said once.

Adds the `Idempotency-Key` header to creating POSTs, the `X-Request-Id` and `X-RateLimit-*`
response headers, and the documented 401 / 429 error responses, so the schema tells the truth
about headers and errors without repeating them on every view.
"""

from __future__ import annotations

IDEMPOTENT_OPERATIONS = {"workflows_create", "workflows_execute", "workflows_run",
                         "webhook_trigger"}
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
            if not keyless:
                operation["responses"].setdefault("401", UNAUTHORIZED)
            operation["responses"].setdefault("429", TOO_MANY)
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
