"""Webhook triggers: run a workflow by its unguessable webhookId, with no API key, from a server
or a browser (CORS). The team's request limits, execution quotas and credits still apply."""

from __future__ import annotations

import hmac
import json
import re
import uuid

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.idempotency import idempotent
from accounts.ratelimit import webhook_request_admit
from executions import plans, rows, selectors, services
from executions.api import serializers as s
from executions.models import Execution
from graph.api.serializers import public_base_url
from graph.models import Workflow
from wireflow_site.errors import ApiError, ErrorOut, NotFound
from wireflow_site.parsers import NUL_REFUSED, contains_nul

MAX_BODY = 1024 * 1024
ITERATORS = "iteratorConfigs"  # the body key that sets List nodes' items (an addition)
WEBHOOK_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Idempotency-Key",
    "Access-Control-Expose-Headers": "Location, Retry-After, X-RateLimit-Limit, "
                                     "X-RateLimit-Remaining, X-RateLimit-Reset, X-Request-Id",
    "Access-Control-Max-Age": "86400",
}


class CorsApiView(APIView):
    """No API key, no session (so no CSRF): the webhookId or the status secret is the key."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        for header, value in CORS.items():
            response[header] = value
        return response

    def options(self, request, *args, **kwargs):
        return Response(status=status.HTTP_204_NO_CONTENT)


def _workflow(webhook_id: str) -> Workflow:
    if not WEBHOOK_ID.fullmatch(webhook_id):  # ours are URL-safe tokens; a NUL is a DB error
        raise NotFound("Workflow")
    workflow = rows.workflow_by_webhook(webhook_id)
    if workflow is None:
        raise NotFound("Workflow")
    return workflow


def status_url(request: Request, execution: Execution) -> str:
    return (f"{public_base_url(request)}/api/v1/executions/{execution.pk}/status"
            f"?secret={execution.status_secret}")


class WebhookTriggerApi(CorsApiView):
    # No throttle class: the team's request limit is checked in `post` (keyed by workflow).
    rate_limited_methods = ("POST",)
    # The body is read as JSON whatever its Content-Type (senders of webhooks rarely set one
    # right): never a 415.
    parses_body_itself = True

    @extend_schema(operation_id="webhook_info", auth=[],
                   responses={200: s.WebhookInfoOut, 404: ErrorOut})
    def get(self, request: Request, webhook_id: str) -> Response:
        workflow = _workflow(webhook_id)
        return Response({
            "workflowId": str(workflow.pk), "name": workflow.name,
            "isActive": workflow.is_active,
            "message": "POST a JSON body to this URL to run the workflow"
            if workflow.is_active else "Workflow is not active",
        })

    @extend_schema(
        operation_id="webhook_trigger", auth=[],
        request={"application/json": s.WebhookTriggerIn},
        responses={202: s.WebhookTriggeredOut,
                   400: OpenApiResponse(ErrorOut, description="`Workflow is not active`, or "
                                        "a body that is not JSON"),
                   413: OpenApiResponse(ErrorOut, description="Body over 1 MB")},
    )
    def post(self, request: Request, webhook_id: str) -> Response:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > MAX_BODY or len(request.body) > MAX_BODY:
            raise ApiError("Request body too large (limit 1 MB)", code="payload_too_large",
                           status=413)
        workflow = _workflow(webhook_id)
        # Keyed by the workflow, not its webhook id: rotating the URL starts no new window.
        figures = webhook_request_admit(workflow.team, str(workflow.pk))
        request._request.rate_limit = figures
        return _trigger(self, request, workflow)


# Key-less callers share one namespace per workflow: never an API key's or a member's records.
# The workflow was found by its current webhookId, so a rotated URL replays nothing.
@idempotent(lambda request, workflow: workflow.team,
            caller_of=lambda request, workflow: f"webhook:{workflow.pk}",
            keyless_atomic=False)  # the run commits in one transaction (executions.planner)
def _trigger(view, request: Request, workflow: Workflow) -> Response:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ApiError("Malformed request body: expected JSON", code="malformed_body") from None
    if contains_nul(body):
        raise ApiError(f"Malformed request body: {NUL_REFUSED}", code="malformed_body")
    trigger_data = body if isinstance(body, dict) else {"body": body}
    plan = plans.version_plan(workflow)
    wanted = (plan.input_node_ids if plan is not None
              else selectors.workflow_input_node_ids(workflow=workflow))
    inputs = {key: value for key, value in trigger_data.items() if key in wanted}
    execution = services.workflow_execute(
        workflow=workflow, actor=None, trigger=Execution.Trigger.WEBHOOK,
        inputs=inputs or None, trigger_data=trigger_data,
        # As on execute: a List's items for this run (a node with this id is an input first).
        iterators=trigger_data.get(ITERATORS) if ITERATORS not in wanted else None,
    )
    return Response(
        {"executionId": str(execution.pk), "status": "queued",
         "message": "Workflow execution started", "statusUrl": status_url(request, execution)},
        status=status.HTTP_202_ACCEPTED,
    )


class ExecutionStatusApi(CorsApiView):
    """The read-only status of one run, for browser callers holding its secret (no API key)."""

    @extend_schema(operation_id="executions_status", auth=[],
                   responses={200: s.PollOut, 404: ErrorOut})
    def get(self, request: Request, execution_id: str) -> Response:
        secret = request.query_params.get("secret", "")
        try:
            execution = Execution.objects.filter(pk=uuid.UUID(execution_id)).first()
        except ValueError:
            execution = None
        # Bytes: compare_digest refuses a str with non-ASCII characters (a 500 otherwise).
        if execution is None or not hmac.compare_digest(secret.encode(),
                                                        execution.status_secret.encode()):
            raise NotFound("Execution")
        return Response(selectors.execution_poll_payload(execution))

