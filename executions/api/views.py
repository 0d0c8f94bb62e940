"""Execution endpoints of /api/v1: execute, run, poll, cancel and history."""

from __future__ import annotations

import uuid

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.idempotency import idempotent
from accounts.permissions import require_scope
from accounts.ratelimit import executions_admit, executions_refund
from accounts.roles import Scope
from executions import selectors, services
from executions.api import serializers as s
from executions.batches import batch_latest_runs, batch_retry, batch_start
from executions.models import Batch, Execution, ExecutionStatus
from executions.pricing import estimate
from graph.api.serializers import ErrorOut
from graph.catalog import catalog
from graph.selectors import workflow_get
from wireflow_site.errors import ApiError, NotFound

EXECUTE = Scope.WORKFLOWS_EXECUTE
READ = Scope.EXECUTIONS_READ


def _body(serializer_class, data):
    if not isinstance(data, dict):
        raise ApiError("The request body must be a JSON object", code="invalid_request")
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _poll_url(request: Request, execution: Execution) -> str:
    return request.build_absolute_uri(f"/api/v1/workflows/executions/{execution.pk}/poll")


def _trigger(request: Request) -> str:
    return Execution.Trigger.API if request.principal.api_key else Execution.Trigger.EDITOR


def _start(request: Request, workflow, *, inputs=None, **options) -> Execution:
    if not workflow.is_active:
        raise ApiError("Workflow is not active", code="workflow_inactive", status=400)
    nodes = options.pop("nodes", None)
    edges = options.pop("edges", None)
    windows = executions_admit(workflow.team)
    try:
        return _create(request, workflow, nodes, edges, inputs, options)
    except Exception:
        executions_refund(windows)
        raise


def _create(request, workflow, nodes, edges, inputs, options) -> Execution:
    return services.execution_start(
        team=workflow.team,
        workflow=workflow,
        version=workflow.versions.order_by("-number").first() if nodes is None else None,
        nodes=workflow.nodes if nodes is None else nodes,
        edges=workflow.edges if edges is None else (edges or []),
        actor=request.principal,
        trigger=_trigger(request),
        inputs=inputs,
        **options,
    )


class WorkflowExecuteApi(APIView):
    """Start a run of the saved graph (or of `nodes`/`edges` sent in the body)."""

    required_scopes = {"POST": EXECUTE}

    @extend_schema(operation_id="workflows_execute", request=s.ExecuteIn,
                   responses={201: s.ExecuteOut, 400: ErrorOut, 404: ErrorOut,
                              422: OpenApiResponse(ErrorOut, description="Invalid graph")})
    @idempotent
    def post(self, request: Request, workflow_id: str) -> Response:
        workflow = workflow_get(principal=request.principal, workflow_id=workflow_id)
        require_scope(request.principal, workflow.team_id, EXECUTE)
        data = _body(s.ExecuteIn, request.data)
        if data.get("batch"):
            if not workflow.is_active:
                raise ApiError("Workflow is not active", code="workflow_inactive", status=400)
            batch, runs = batch_start(workflow=workflow, items=data["batch"],
                                      actor=request.principal, trigger=Execution.Trigger.BATCH,
                                      webhook_url=data.get("webhookUrl", ""))
            return _started(request, workflow, runs, batch_id=str(batch.pk))
        trigger_data = data.get("triggerData")
        execution = _start(
            request, workflow,
            nodes=data.get("nodes"), edges=data.get("edges"),
            inputs=data.get("inputs") or None,
            target_node_id=data.get("targetNodeId") or None,
            force=data.get("force", False),
            trigger_data=trigger_data if isinstance(trigger_data, dict) else None,
            webhook_url=data.get("webhookUrl", ""),
        )
        return _started(request, workflow, [execution], batch_id=None)


def _run_out(execution: Execution, batch_id: str | None) -> dict:
    payload = selectors.execution_poll_payload(execution)
    return {
        "id": str(execution.pk), "status": execution.status,
        "startTime": payload["startTime"], "endTime": payload["endTime"],
        "error": payload["error"], "batchId": batch_id,
        "runIndexInBatch": execution.run_index_in_batch,
        "nodeRuns": payload["nodeResults"]["nodeRuns"],
    }


def _started(request: Request, workflow, runs: list[Execution], *, batch_id) -> Response:
    first = runs[0]
    body = {
        "executionId": str(first.pk),
        "status": first.status,
        "workflowId": str(workflow.pk),
        "batchId": batch_id,
        "executionRuns": [_run_out(run, batch_id) for run in runs],
    }
    return Response(body, status=status.HTTP_201_CREATED,
                    headers={"Location": _poll_url(request, first)})


class WorkflowRunApi(APIView):
    """GET: the inputs a run takes. POST: run with `{"inputs": {nodeId: value}}` → 202."""

    required_scopes = {"GET": Scope.WORKFLOWS_READ, "POST": EXECUTE}

    @extend_schema(operation_id="workflows_run_inputs",
                   responses={200: s.RunInputsOut, 404: ErrorOut})
    def get(self, request: Request, workflow_id: str) -> Response:
        workflow = workflow_get(principal=request.principal, workflow_id=workflow_id)
        inputs = []
        for node in workflow.nodes:
            data = node.get("data") or {}
            spec = catalog.get(data.get("nodeType"))
            if spec is None or spec.category != "input" or not spec.settings():
                continue
            main = spec.settings()[0]
            config = {**(data.get("params") or {}), **(data.get("config") or {})}
            inputs.append({
                "nodeId": node.get("id"), "label": data.get("label") or spec.label,
                "type": spec.outputs[0].type if spec.outputs else main.type,
                "required": main.required, "description": main.description or spec.description,
                "default": config.get(main.id, main.default),
            })
        return Response({"inputs": inputs})

    @extend_schema(operation_id="workflows_run", request=s.RunIn,
                   responses={202: s.RunStartedOut, 400: ErrorOut, 404: ErrorOut})
    @idempotent
    def post(self, request: Request, workflow_id: str) -> Response:
        workflow = workflow_get(principal=request.principal, workflow_id=workflow_id)
        require_scope(request.principal, workflow.team_id, EXECUTE)
        data = _body(s.RunIn, request.data)
        execution = _start(request, workflow, inputs=data.get("inputs") or None)
        return Response({"data": {"executionId": str(execution.pk), "status": execution.status}},
                        status=status.HTTP_202_ACCEPTED,
                        headers={"Location": _poll_url(request, execution)})


class ExecutionPollApi(APIView):
    required_scopes = {"GET": READ}

    @extend_schema(operation_id="executions_poll", responses={200: s.PollOut, 404: ErrorOut})
    def get(self, request: Request, execution_id: str) -> HttpResponse:
        # Already JSON: the cached bytes go out as they are, not parsed and rendered again.
        return HttpResponse(selectors.execution_poll(principal=request.principal,
                                                     execution_id=execution_id),
                            content_type="application/json")


class ExecutionCancelApi(APIView):
    required_scopes = {"POST": EXECUTE}

    @extend_schema(operation_id="executions_cancel", request=None,
                   responses={200: s.PollOut, 404: ErrorOut})
    def post(self, request: Request, execution_id: str) -> Response:
        execution = selectors.execution_get(principal=request.principal,
                                            execution_id=execution_id)
        require_scope(request.principal, execution.team_id, EXECUTE)
        execution = services.execution_cancel(execution=execution)
        return Response(selectors.execution_poll_payload(execution))


class ExecutionListApi(APIView):
    """History: the caller's runs, newest first, filtered by workflow and status."""

    required_scopes = {"GET": READ}

    @extend_schema(
        operation_id="executions_list",
        parameters=[OpenApiParameter("workflowId", str), OpenApiParameter("status", str),
                    OpenApiParameter("limit", int), OpenApiParameter("offset", int)],
        responses={200: s.ExecutionListOut},
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        state = params.get("status")
        if state and state.upper() not in ExecutionStatus.values:
            raise ApiError(f"status must be one of {', '.join(ExecutionStatus.values)}",
                           code="invalid_request")
        try:
            limit = max(1, min(100, int(params.get("limit", 20))))
            offset = max(0, int(params.get("offset", 0)))
        except ValueError:
            raise ApiError("limit and offset must be integers", code="invalid_request") from None
        executions, total = selectors.execution_list(
            principal=request.principal, workflow_id=params.get("workflowId"),
            status=state.upper() if state else None, limit=limit, offset=offset,
        )
        return Response({"executions": executions, "total": total, "limit": limit,
                         "offset": offset})


class WorkflowEstimateApi(APIView):
    """What a run would cost, and whether the team's balance covers it."""

    required_scopes = {"POST": Scope.WORKFLOWS_READ}

    @extend_schema(operation_id="workflows_estimate", request=s.ExecuteIn,
                   responses={200: s.EstimateOut, 404: ErrorOut})
    def post(self, request: Request, workflow_id: str) -> Response:
        workflow = workflow_get(principal=request.principal, workflow_id=workflow_id)
        data = _body(s.ExecuteIn, request.data or {})
        nodes = data.get("nodes") if data.get("nodes") is not None else workflow.nodes
        if data.get("inputs"):
            nodes = services.apply_inputs(nodes, data["inputs"])
        price = estimate_for(nodes, data.get("edges") if data.get("nodes") is not None
                             else workflow.edges, data.get("targetNodeId") or None)
        available = workflow.team.credit_balance
        return Response({"data": {
            "workflowId": str(workflow.pk),
            "estimatedCredits": price["estimatedCredits"],
            "availableCredits": available,
            "sufficient": available >= price["estimatedCredits"],
            "estimateComplete": price["estimateComplete"],
            "breakdown": price["breakdown"],
            "warnings": price["warnings"],
        }})


def estimate_for(nodes, edges, target_node_id):
    """Price the nodes a run would execute (only the target's ancestors with targetNodeId)."""
    only = None
    if target_node_id:
        only = services.ancestors_and_self(nodes, edges or [], target_node_id)
    return estimate(nodes, only=only)


class WorkflowWebhookRotateApi(APIView):
    """A new webhookId: the old trigger URL stops working at once."""

    required_scopes = {"POST": Scope.WORKFLOWS_WRITE}

    @extend_schema(operation_id="workflows_webhook_rotate", request=None,
                   responses={200: s.WebhookRotatedOut, 404: ErrorOut})
    def post(self, request: Request, workflow_id: str) -> Response:
        from graph.api.serializers import webhook_url
        from graph.services import workflow_rotate_webhook

        workflow = workflow_get(principal=request.principal, workflow_id=workflow_id)
        require_scope(request.principal, workflow.team_id, Scope.WORKFLOWS_WRITE)
        workflow = workflow_rotate_webhook(workflow=workflow)
        return Response({"data": {"webhookId": workflow.webhook_id,
                                  "webhookUrl": webhook_url(request, workflow)}})


def _batch_get(request: Request, batch_id: str) -> Batch:
    try:
        batch = Batch.objects.filter(pk=uuid.UUID(batch_id),
                                     team_id__in=request.principal.team_ids()).first()
    except ValueError:
        batch = None
    if batch is None:
        raise NotFound("Batch")
    return batch


def _batch_out(batch: Batch) -> dict:
    latest = batch_latest_runs(batch)
    counts: dict[str, int] = {}
    for run in latest.values():
        counts[run.status] = counts.get(run.status, 0) + 1
    active = counts.get("QUEUED", 0) + counts.get("RUNNING", 0)
    overall = "RUNNING" if active else ("COMPLETED" if counts.get("COMPLETED", 0) == len(latest)
                                        else "FAILED")
    return {
        "batchId": str(batch.pk),
        "workflowId": str(batch.workflow_id) if batch.workflow_id else None,
        "status": overall,
        "total": len(batch.items),
        "counts": counts,
        "runs": [{"id": str(run.pk), "runIndexInBatch": index, "status": run.status,
                  "error": run.error or None} for index, run in sorted(latest.items())],
    }


class BatchDetailApi(APIView):
    required_scopes = {"GET": READ}

    @extend_schema(operation_id="batches_retrieve",
                   responses={200: s.BatchDetailOut, 404: ErrorOut})
    def get(self, request: Request, batch_id: str) -> Response:
        return Response({"data": _batch_out(_batch_get(request, batch_id))})


class BatchRetryApi(APIView):
    required_scopes = {"POST": EXECUTE}

    @extend_schema(operation_id="batches_retry", request=None,
                   responses={201: s.BatchRetryOut, 400: ErrorOut, 404: ErrorOut,
                              409: OpenApiResponse(ErrorOut,
                                                   description="The workflow was deleted")})
    def post(self, request: Request, batch_id: str) -> Response:
        batch = _batch_get(request, batch_id)
        require_scope(request.principal, batch.team_id, EXECUTE)
        runs = batch_retry(batch=batch, actor=request.principal, trigger=Execution.Trigger.BATCH)
        return Response({"data": {**_batch_out(batch),
                                  "retried": [_run_out(r, str(batch.pk)) for r in runs]}},
                        status=status.HTTP_201_CREATED)
