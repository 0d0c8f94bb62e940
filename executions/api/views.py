"""Execution endpoints of /api/v1: execute, run, poll, cancel and history."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.idempotency import idempotent
from accounts.permissions import require_scope
from accounts.roles import Scope
from executions import planner, selectors, services
from executions.api import serializers as s
from executions.models import Execution, ExecutionStatus
from graph.api.serializers import webhook_url
from graph.selectors import workflow_get
from graph.services import workflow_rotate_webhook
from wireflow_site.errors import ApiError, ErrorOut

EXECUTE = Scope.WORKFLOWS_EXECUTE
READ = Scope.EXECUTIONS_READ
MAX_OFFSET = 2**31 - 1
# Upper or lower case; empty means any status.
STATUS_FILTERS = [*ExecutionStatus.values, *(value.lower() for value in ExecutionStatus.values),
                  ""]


def page_params(params) -> tuple[int, int]:
    """`limit` (1–100, 20 by default) and `offset` of a list endpoint's query."""
    try:
        limit = max(1, min(100, int(params.get("limit", 20))))
        offset = max(0, int(params.get("offset", 0)))
    except ValueError:
        raise ApiError("limit and offset must be integers", code="invalid_request") from None
    if offset > MAX_OFFSET:  # past what a database can skip (a 500 from it otherwise)
        raise ApiError(f"offset must be at most {MAX_OFFSET}", code="invalid_request")
    return limit, offset


def _body(serializer_class, data):
    if not isinstance(data, dict):
        raise ApiError("The request body must be a JSON object", code="invalid_request")
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _poll_url(request: Request, execution: Execution) -> str:
    return request.build_absolute_uri(f"/api/v1/workflows/executions/{execution.pk}/poll")


def _trigger_of(request: Request) -> str:
    return Execution.Trigger.API if request.principal.api_key else Execution.Trigger.EDITOR


def _workflow_team(request: Request, workflow_id: str):
    """The team a run of this workflow acts on, if the caller may run it there (else 404/403):
    checked on replays too, so a caller who lost the right gets no stored answer."""
    workflow = workflow_get(principal=request.principal, workflow_id=workflow_id)
    require_scope(request.principal, workflow.team_id, EXECUTE)
    return workflow.team


def _batch_team(request: Request, batch_id: str):
    batch = selectors.batch_get(principal=request.principal, batch_id=batch_id)
    require_scope(request.principal, batch.team_id, EXECUTE)
    return batch.team


def _start(request: Request, workflow, **options) -> Execution:
    return services.workflow_execute(workflow=workflow, actor=request.principal,
                                     trigger=_trigger_of(request), **options)


class WorkflowExecuteApi(APIView):
    """Start a run of the saved graph (or of `nodes`/`edges` sent in the body)."""

    required_scopes = {"POST": EXECUTE}

    @extend_schema(operation_id="workflows_execute", request=s.ExecuteIn,
                   responses={201: s.ExecuteOut, 400: ErrorOut, 404: ErrorOut,
                              422: OpenApiResponse(ErrorOut, description="Invalid graph")})
    @idempotent(_workflow_team)
    def post(self, request: Request, workflow_id: str) -> Response:
        workflow = workflow_get(principal=request.principal, workflow_id=workflow_id)
        require_scope(request.principal, workflow.team_id, EXECUTE)
        data = _body(s.ExecuteIn, request.data)
        if data.get("batch"):
            items = data["batch"]
            if data.get("iteratorConfigs"):  # the same List items for every run of the batch
                listed = planner.iterators_read(data["iteratorConfigs"], workflow.nodes,
                                                workflow.edges)
                items = [{**listed, **item} for item in items]
            batch, runs = services.batch_start(workflow=workflow, items=items,
                                      actor=request.principal, trigger=Execution.Trigger.BATCH,
                                      webhook_url=data.get("webhookUrl", ""))
            return _started(request, workflow, runs, batch_id=str(batch.pk))
        trigger_data = data.get("triggerData")
        execution = _start(
            request, workflow,
            nodes=data.get("nodes"), edges=data.get("edges"),
            inputs=data.get("inputs") or None,
            iterators=data.get("iteratorConfigs") or None,
            target_node_id=data.get("targetNodeId") or None,
            force=data.get("force", False),
            trigger_data=trigger_data if isinstance(trigger_data, dict) else None,
            webhook_url=data.get("webhookUrl", ""),
        )
        return _started(request, workflow, [execution], batch_id=None)


def _started(request: Request, workflow, runs: list[Execution], *, batch_id) -> Response:
    first = runs[0]
    body = {
        "executionId": str(first.pk),
        "status": first.status,
        "workflowId": str(workflow.pk),
        "batchId": batch_id,
        "executionRuns": [selectors.execution_run_summary(run, batch_id) for run in runs],
    }
    body["staleDependencies"] = body["executionRuns"][0]["staleDependencies"]
    return Response(body, status=status.HTTP_201_CREATED,
                    headers={"Location": _poll_url(request, first)})


class WorkflowRunApi(APIView):
    """GET: the inputs a run takes. POST: run with `{"inputs": {nodeId: value}}` → 202."""

    required_scopes = {"GET": Scope.WORKFLOWS_READ, "POST": EXECUTE}

    @extend_schema(operation_id="workflows_run_inputs",
                   responses={200: s.RunInputsOut, 404: ErrorOut})
    def get(self, request: Request, workflow_id: str) -> Response:
        workflow = workflow_get(principal=request.principal, workflow_id=workflow_id)
        inputs = selectors.workflow_run_inputs(workflow=workflow)
        return Response({"inputs": inputs})

    @extend_schema(operation_id="workflows_run", request=s.RunIn,
                   responses={202: s.RunStartedOut, 400: ErrorOut, 404: ErrorOut})
    @idempotent(_workflow_team)
    def post(self, request: Request, workflow_id: str) -> Response:
        workflow = workflow_get(principal=request.principal, workflow_id=workflow_id)
        require_scope(request.principal, workflow.team_id, EXECUTE)
        data = _body(s.RunIn, request.data)
        execution = _start(request, workflow, inputs=data.get("inputs") or None,
                           iterators=data.get("iteratorConfigs") or None)
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


class ExecutionGraphApi(APIView):
    """(addition) The graph a run ran, as it was when it started (its snapshot): a past run
    opened from the history or the gallery shows on it, not on today's graph."""

    required_scopes = {"GET": READ}

    @extend_schema(operation_id="executions_graph",
                   responses={200: s.ExecutionGraphOut, 404: ErrorOut})
    def get(self, request: Request, execution_id: str) -> Response:
        execution = selectors.execution_get(principal=request.principal,
                                            execution_id=execution_id)
        return Response({"data": {
            "executionId": str(execution.pk),
            "workflowId": str(execution.workflow_id) if execution.workflow_id else None,
            "nodes": execution.nodes, "edges": execution.edges,
            "createdAt": execution.created_at,
        }})


class ExecutionDeleteApi(APIView):
    """(addition) Delete a finished run and its files (those favourites or saved workflows
    still reference stay among the team's assets)."""

    required_scopes = {"DELETE": Scope.WORKFLOWS_WRITE}

    @extend_schema(operation_id="executions_delete", request=None,
                   responses={204: None, 404: ErrorOut,
                              409: OpenApiResponse(ErrorOut, description="Still running: "
                                                   "cancel it first")})
    def delete(self, request: Request, execution_id: str) -> Response:
        execution = selectors.execution_get(principal=request.principal,
                                            execution_id=execution_id)
        require_scope(request.principal, execution.team_id, Scope.WORKFLOWS_WRITE)
        services.execution_delete(execution=execution)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ExecutionCancelApi(APIView):
    required_scopes = {"POST": EXECUTE}

    @extend_schema(operation_id="executions_cancel", request=None,
                   responses={200: s.PollOut, 404: ErrorOut})
    def post(self, request: Request, execution_id: str) -> Response:
        execution = selectors.execution_get(principal=request.principal,
                                            execution_id=execution_id)
        require_scope(request.principal, execution.team_id, EXECUTE)
        execution = services.execution_cancel(execution=execution, actor=request.principal)
        return Response(selectors.execution_poll_payload(execution))


class ExecutionListApi(APIView):
    """History: the caller's runs, newest first, filtered by workflow and status."""

    required_scopes = {"GET": READ}

    @extend_schema(
        operation_id="executions_list",
        parameters=[
            OpenApiParameter("workflowId", str),
            OpenApiParameter("status", str, enum=STATUS_FILTERS,
                             description="Upper or lower case; empty: any"),
            OpenApiParameter("limit", int, description="At most 100 (larger asks get 100, "
                             "smaller than 1 get 1); 20 if not given"),
            OpenApiParameter("offset", {"type": "integer", "maximum": MAX_OFFSET},
                             description="Runs to skip (below 0 counts as 0)"),
        ],
        responses={200: s.ExecutionListOut},
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        state = params.get("status")
        if state is not None and state not in STATUS_FILTERS:
            raise ApiError(f"status must be one of {', '.join(ExecutionStatus.values)}",
                           code="invalid_request")
        limit, offset = page_params(params)
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
        data = _body(s.ExecuteIn, request.data)  # no body: {}; a JSON null: 400
        sent = data.get("nodes") is not None
        nodes = data["nodes"] if sent else workflow.nodes
        inputs = dict(data.get("inputs") or {})
        if data.get("iteratorConfigs"):
            inputs.update(planner.iterators_read(
                data["iteratorConfigs"], nodes, data.get("edges") if sent else workflow.edges))
        if inputs:
            nodes = planner.inputs_apply(nodes, inputs)
        return Response({"data": selectors.workflow_estimate(
            principal=request.principal, workflow=workflow, nodes=nodes,
            edges=data.get("edges") if sent else workflow.edges,
            target_node_id=data.get("targetNodeId") or None)})


class WorkflowWebhookRotateApi(APIView):
    """A new webhookId: the old trigger URL stops working at once."""

    required_scopes = {"POST": Scope.WORKFLOWS_WRITE}

    @extend_schema(operation_id="workflows_webhook_rotate", request=None,
                   responses={200: s.WebhookRotatedOut, 404: ErrorOut})
    def post(self, request: Request, workflow_id: str) -> Response:
        workflow = workflow_get(principal=request.principal, workflow_id=workflow_id)
        require_scope(request.principal, workflow.team_id, Scope.WORKFLOWS_WRITE)
        # The new URL runs the workflow without a key: only for those who may run it.
        require_scope(request.principal, workflow.team_id, EXECUTE)
        workflow = workflow_rotate_webhook(workflow=workflow, actor=request.principal)
        return Response({"data": {"webhookId": workflow.webhook_id,
                                  "webhookUrl": webhook_url(request, workflow)}})


class BatchDetailApi(APIView):
    required_scopes = {"GET": READ}

    @extend_schema(operation_id="batches_retrieve",
                   responses={200: s.BatchDetailOut, 404: ErrorOut})
    def get(self, request: Request, batch_id: str) -> Response:
        batch = selectors.batch_get(principal=request.principal, batch_id=batch_id)
        return Response({"data": selectors.batch_summary(batch)})


class BatchRetryApi(APIView):
    required_scopes = {"POST": EXECUTE}

    @extend_schema(operation_id="batches_retry", request=s.BatchRetryIn,
                   responses={201: s.BatchRetryOut, 400: ErrorOut, 404: ErrorOut,
                              409: OpenApiResponse(ErrorOut,
                                                   description="The workflow was deleted")})
    @idempotent(_batch_team)
    def post(self, request: Request, batch_id: str) -> Response:
        batch = selectors.batch_get(principal=request.principal, batch_id=batch_id)
        require_scope(request.principal, batch.team_id, EXECUTE)
        extra = sorted(set(request.data) - {"runIndexes"}) if isinstance(request.data, dict) \
            else []
        if extra:
            raise ApiError(f"Unknown field: {extra[0]}", code="invalid_request", fields=extra)
        body = _body(s.BatchRetryIn, request.data or {})
        runs = services.batch_retry(batch=batch, actor=request.principal,
                                    trigger=Execution.Trigger.BATCH,
                                    indexes=body.get("runIndexes"))
        retried = [selectors.execution_run_summary(run, str(batch.pk)) for run in runs]
        return Response({"data": {**selectors.batch_summary(batch), "retried": retried}},
                        status=status.HTTP_201_CREATED)
